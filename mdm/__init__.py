"""Customer master data: ingest, standardize, match, cluster, golden records, publish.

The public surface is small: `run_pipeline` runs the nightly job; stages live in subpackages
named after them, in the order data moves through them, each stage's body in
`mdm/<stage>/stage.py` (docs/architecture.md, "The stage flow").
"""

from importlib.metadata import version

__version__ = version("mdm-customer-master")  # one source: pyproject.toml

__all__ = ["__version__", "run_pipeline"]


def __getattr__(name: str) -> object:
    if name == "run_pipeline":
        from mdm.pipeline import run_pipeline

        return run_pipeline
    raise AttributeError(name)
