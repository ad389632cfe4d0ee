"""`python -m mdm.cli`: the `mdm` command of this checkout."""

import sys

from mdm.cli import main

sys.exit(main())
