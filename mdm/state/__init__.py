"""state: the durable store (steward decisions, golden id registry, manual tags, run history).

The nightly run reads it and adds to it; it never rebuilds it.
"""

from mdm.state.store import StateStore

__all__ = ["StateStore"]
