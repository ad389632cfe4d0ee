"""publish: build the DuckDB master in a new file and swap it in atomically."""

from mdm.publish.atomic import publish_master

__all__ = ["publish_master"]
