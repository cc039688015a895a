"""The slot list: every connection's state, and the one lock that changes any of it.

A signal's connections live here, each as an ``Entry``. Only ``SlotList``
changes an entry or the list, always under its lock; ``Signal`` and
``Connection`` ask it. After each change it hands the signal the new tuple
of cells to walk (``publish``), so an emit reads one attribute of the signal
and takes no lock.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ..interrupts import deferred
from ._emit import skipped
from ._slots import Call, same_slot

__all__ = ("Entry", "SlotList")

Cells = tuple[list[Any], ...]


class Entry:
    """One connection's state: the cell the emits walk, and whether it is live or blocked.

    Written only by ``SlotList``, under its lock; read by anyone.
    """

    __slots__ = ("blocks", "call", "cell", "key", "key_ref", "live", "priority", "refs")

    def __init__(self, fitted: Call, priority: int) -> None:
        self.call: Callable[..., Any] = fitted.call  # the cell's, while not blocked
        self.cell: list[Any] = [fitted.call, fitted.ref]
        self.refs: tuple[weakref.ref[Any], ...] = fitted.refs
        self.key: object = fitted.key
        self.key_ref: weakref.ref[Any] | None = fitted.key_ref
        self.priority: int = priority
        self.live: bool = True
        self.blocks: int = 0

    @property
    def connected(self) -> bool:
        """Live, and every object it holds weakly still alive."""
        return self.live and all(ref() is not None for ref in self.refs)

    def matches(self, slot: object) -> bool:
        """Whether this entry was made by connecting ``slot``."""
        return same_slot(self.key, self.key_ref, slot)


class SlotList:
    """The entries of one signal, in call order (priority, then connection order)."""

    __slots__ = ("_blocks", "_entries", "_publish", "lock")

    def __init__(self, publish: Callable[[Cells], None]) -> None:
        self.lock: threading.Lock = threading.Lock()
        self._entries: tuple[Entry, ...] = ()
        self._blocks = 0
        self._publish = publish

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The live entries now, in call order (a snapshot)."""
        return self._entries

    @property
    def blocked(self) -> int:
        """How many ``block()`` calls are not yet undone."""
        return self._blocks

    @deferred  # every change below updates two snapshots, which must agree
    def add(self, fitted: Call, priority: int, *, once: bool) -> Entry:
        """A new entry, called after those of higher or equal priority."""
        entry = Entry(fitted, priority)
        if once:
            self._make_once(entry)
        with self.lock:
            entries = self._entries
            at = len(entries)
            while at and entries[at - 1].priority < priority:
                at -= 1
            self._set((*entries[:at], entry, *entries[at:]))
        return entry

    def _make_once(self, entry: Entry) -> None:
        """Make the entry's call claim the entry first, so that it runs only once."""
        call, claim = entry.call, self.claim

        def once(*args: Any, **kwargs: Any) -> Any:
            if claim(entry):
                return call(*args, **kwargs)
            return None

        once.__wrapped__ = call  # type: ignore[attr-defined]  # for describe()
        entry.call = entry.cell[0] = once

    @deferred
    def remove(self, entry: Entry) -> None:
        """End ``entry``, from now on, even within an emit already running. Idempotent."""
        with self.lock:
            if entry.live:
                self._end(entry)
                self._set(tuple([e for e in self._entries if e is not entry]))

    @deferred
    def remove_all(self, entries: Iterable[Entry] | None = None) -> int:
        """End ``entries`` (default: every one); return how many were still live."""
        with self.lock:
            ending = [e for e in (self._entries if entries is None else entries) if e.live]
            for entry in ending:
                self._end(entry)
            self._set(self._live())
        return len(ending)

    @deferred
    def claim(self, entry: Entry) -> bool:
        """For ``once``: end the entry and say True, for exactly one caller."""
        with self.lock:
            if not entry.live:
                return False
            self._end(entry)
            self._set(self._live())
            return True

    @deferred
    def prune(self) -> None:
        """End the entries whose weakly held objects are gone."""
        with self.lock:
            for entry in self._entries:
                if not entry.connected:
                    self._end(entry)
            self._set(self._live())

    @deferred
    def adjust_block(self, entry: Entry, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) one entry; False if it was not blocked."""
        with self.lock:
            blocks = entry.blocks + step
            if blocks < 0:
                return False
            entry.blocks = blocks
            if entry.live:
                entry.cell[0] = skipped if blocks else entry.call
            return True

    @deferred
    def block_all(self, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) every emit; False if nothing was blocked."""
        with self.lock:
            blocks = self._blocks + step
            if blocks < 0:
                return False
            self._blocks = blocks
            self._set(self._entries)
            return True

    # -- under the lock ------------------------------------------------------------

    def _end(self, entry: Entry) -> None:
        entry.live = False
        entry.cell[0] = skipped

    def _live(self) -> tuple[Entry, ...]:
        return tuple([e for e in self._entries if e.live])

    def _set(self, entries: tuple[Entry, ...]) -> None:
        self._entries = entries
        self._publish(() if self._blocks else tuple([e.cell for e in entries]))
