"""The one base of every error the product raises on purpose.

Bad input, a broken configuration file, a refused steward action, a failed run: each is an
`MdmError` whose message says what is wrong and how to fix it. The CLI catches `MdmError` once
(in `mdm.cli.main`) and prints the message as one line; any other exception is a bug and keeps
its traceback.
"""

from __future__ import annotations


class MdmError(Exception):
    """An error the user can act on; its message is complete on its own (no traceback needed)."""
