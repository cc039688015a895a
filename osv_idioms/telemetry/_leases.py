"""What each pattern's bridges share on one exporter: made for the first, ended with the last.

Two bridges on one destination asking for one pattern share what counts or
watches it; the oldest pattern comes first, which is how a tracepoint that
two patterns match is given to one of them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..forks import free_lock, reset_in_child
from ..interrupts import deferred

__all__ = ("PatternLeases",)

T = TypeVar("T")


@dataclass
class _Lease(Generic[T]):
    pattern: str
    value: T
    users: int = 1


class PatternLeases(Generic[T]):
    """A value per pattern, made by ``start`` for its first bridge and ended by ``stop``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while leases change, and by subclasses' readers
        self._leases: list[_Lease[T]] = []  # oldest first
        reset_in_child(self, type(self)._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        """Free the lock; what a thread the fork left behind changed under it is looked at anew."""
        free_lock(self.lock)
        self.changed()

    @property
    def empty(self) -> bool:
        """Whether no pattern is leased any more."""
        return not self._leases

    def leased(self) -> list[tuple[str, T]]:
        """Each pattern and its value, oldest first."""
        return [(lease.pattern, lease.value) for lease in self._leases]

    @deferred
    def add(self, patterns: tuple[str, ...]) -> None:
        """Lease ``patterns`` for one more bridge (each already checked)."""
        with self.lock:
            for pattern in patterns:
                lease = self._find(pattern)
                if lease is not None:
                    lease.users += 1
                else:
                    self._leases.append(_Lease(pattern, self.start(pattern)))
                    self.changed()

    @deferred
    def remove(self, patterns: tuple[str, ...]) -> None:
        """Give ``patterns`` back for one bridge; the last user's leaving stops each."""
        with self.lock:
            for pattern in patterns:
                lease = self._find(pattern)
                assert lease is not None, f"{pattern!r} was never leased"
                lease.users -= 1
                if lease.users == 0:
                    self._leases.remove(lease)
                    self.stop(pattern, lease.value)
                    self.changed()

    def _find(self, pattern: str) -> _Lease[T] | None:
        return next((lease for lease in self._leases if lease.pattern == pattern), None)

    # -- what a subclass does, with ``lock`` held -------------------------------------

    def start(self, pattern: str) -> T:
        """Make the value of a newly leased pattern."""
        raise NotImplementedError

    def stop(self, pattern: str, value: T) -> None:
        """End the value of a pattern no bridge leases any more (already out of ``leased()``)."""
        raise NotImplementedError

    def changed(self) -> None:
        """The leased patterns changed."""
