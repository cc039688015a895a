"""A function to probe, in a module of its own as ``py:MODULE:QUALNAME`` needs."""

from __future__ import annotations


def target(m: int) -> int:
    """A small function: the probe's cost is what shows."""
    return m + 1
