"""Counts per tracepoint for one exporter, from any number of overlapping bridges.

Each pattern a bridge asks for is counted once per exporter (one
``Counters`` per distinct pattern, shared by the bridges that asked for it).
A tracepoint two patterns match is read from one of them, its *owner*: the
oldest open one. When the owner closes, what it counted is kept and the next
open pattern takes over from its count at that moment, so the exported
counter never goes down and never counts a hit twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import trace
from ..interrupts import deferred
from ._leases import PatternLeases

__all__ = ("Tally",)


@dataclass
class _Owned:
    """Where one tracepoint's exported count comes from now."""

    counters: trace.Counters | None  # None: no open pattern matches it any more
    base: int  # that source's count when it took over
    carried: int = 0  # what earlier owners counted


class Tally(PatternLeases[trace.Counters]):
    """The counts one exporter shows: each tracepoint once, monotonic while the exporter lives."""

    def __init__(self) -> None:
        super().__init__()
        self._owned: dict[str, _Owned] = {}

    def start(self, pattern: str) -> trace.Counters:
        return trace.count(pattern)

    @deferred
    def read(self) -> dict[str, int]:
        """Each tracepoint an open pattern matches, by name, and its count."""
        with self.lock:
            counts = {id(c): c.by_tracepoint() for _, c in self.leased()}
            for _, counters in self.leased():
                for name in counts[id(counters)]:
                    self._adopt(name, counters, 0)
            return {
                name: owned.carried + counts[id(owned.counters)][name] - owned.base
                for name, owned in self._owned.items()
                if owned.counters is not None
            }

    def _adopt(self, name: str, counters: trace.Counters, base: int) -> None:
        """Make ``counters`` the owner of ``name`` unless an open one owns it already."""
        owned = self._owned.get(name)
        if owned is None:
            self._owned[name] = _Owned(counters, base)
        elif owned.counters is None:
            owned.counters, owned.base = counters, base

    def stop(self, pattern: str, value: trace.Counters) -> None:
        """Close a pattern's counts; keep what they counted and hand their tracepoints on.

        A tracepoint another open pattern matches is handed over while both
        still count it, at one instant (see ``_read_together``), so no hit
        is lost or counted twice; the rest are read once ``value`` is closed,
        when its counts are final.
        """
        heirless: list[str] = []
        for name, owned in self._owned.items():
            if owned.counters is not value:
                continue
            heir = next((c for _, c in self.leased() if name in c.by_tracepoint()), None)
            if heir is None:
                heirless.append(name)
                continue
            mine, theirs = _read_together(value, heir, name)
            owned.carried += mine - owned.base
            owned.counters, owned.base = heir, theirs
        value.close()
        final = value.by_tracepoint()
        for name in heirless:
            owned = self._owned[name]
            owned.carried += final.get(name, 0) - owned.base
            owned.counters = None


def _read_together(mine: trace.Counters, heir: trace.Counters, name: str) -> tuple[int, int]:
    """Both sources' counts of ``name`` at one instant (``trace.read_together``)."""
    counted, heirs = trace.read_together(mine, heir)
    return counted[name], heirs[name]
