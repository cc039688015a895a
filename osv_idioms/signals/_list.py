"""The slot list: every connection's state, and the one lock that changes any of it.

A signal's connections live here, each as an ``Entry``. Only ``SlotList``
changes an entry or the list, always under its lock; ``Signal`` and
``Connection`` ask it.

What an emit walks is a tuple of cells, read from one attribute of the
signal. Rebuilding that tuple on every change made connecting n slots cost
O(n²): so a change only hands the signal a ``Stale`` marker (``publish``),
and the first emit after it makes the tuple (a C-level copy of the cells in
call order, under the lock, briefly) and hands that over instead. The
entries are kept in a dict in call order, so connecting at the lowest
priority so far (the common case) and disconnecting are O(1).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..forks import free_lock, reset_in_child
from ..interrupts import deferred
from ._emit import skipped
from ._slots import Call, same_slot

__all__ = ("Cells", "Entry", "SlotList", "Stale", "Walked")

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

    def show_blocks(self) -> None:
        """Make the cell skip the slot while the entry is blocked, and call it otherwise."""
        self.cell[0] = skipped if self.blocks else self.call

    def matches(self, slot: object) -> bool:
        """Whether this entry was made by connecting ``slot``."""
        return same_slot(self.key, self.key_ref, slot)


class Stale:
    """What the signal holds after a change: walking it makes (and hands over) the new cells."""

    __slots__ = ("_cells",)

    def __init__(self, cells: Callable[[], Cells]) -> None:
        self._cells = cells

    def __iter__(self) -> Iterator[list[Any]]:
        return iter(self._cells())


Walked = Cells | Stale
"""What an emit walks: the cells in call order, or the marker that makes them."""


class SlotList:
    """The entries of one signal, in call order (priority, then connection order)."""

    __slots__ = ("__weakref__", "_blocks", "_entries", "_lowest", "_publish", "_stale", "lock")

    def __init__(self, publish: Callable[[Walked], None]) -> None:
        # Reentrant: dropping a slot can run a finaliser that connects, or
        # emits (and so makes the cells), on this same signal.
        self.lock: threading.RLock = threading.RLock()
        self._entries: dict[Entry, list[Any]] = {}  # each entry's cell, in call order
        self._lowest = 0  # at most the last entry's priority: below it, a new one is appended
        self._blocks = 0
        self._publish = publish
        self._stale = Stale(self.cells)
        reset_in_child(self, SlotList._after_fork_in_child)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The live entries now, in call order (a snapshot)."""
        with self.lock:
            return tuple(self._entries)

    @property
    def blocked(self) -> int:
        """How many ``block()`` calls are not yet undone."""
        return self._blocks

    @deferred  # the lock is held only for copying a tuple, never for a slot
    def cells(self) -> Cells:
        """What an emit walks now (nothing while blocked), handed to the signal until a change."""
        with self.lock:
            cells: Cells = () if self._blocks else tuple(self._entries.values())
            self._publish(cells)
            return cells

    @deferred  # every change below updates the entries and the signal's marker, together
    def add(self, fitted: Call, priority: int, *, once: bool) -> Entry:
        """A new entry, called after those of higher or equal priority."""
        entry = Entry(fitted, priority)
        if once:
            self._make_once(entry)
        with self.lock:
            if not self._entries or priority <= self._lowest:
                self._entries[entry] = entry.cell
                self._lowest = priority
            else:
                self._insert(entry)
            self._changed()
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
                self._drop(entry)
                self._changed()

    @deferred
    def remove_all(self, entries: Iterable[Entry] | None = None) -> int:
        """End ``entries`` (default: every one); return how many were still live."""
        with self.lock:
            ending = [e for e in (self._entries if entries is None else entries) if e.live]
            for entry in ending:
                self._drop(entry)
            self._changed()
        return len(ending)

    @deferred
    def claim(self, entry: Entry) -> bool:
        """For ``once``: end the entry and say True, for exactly one caller."""
        with self.lock:
            if not entry.live:
                return False
            self._drop(entry)
            self._changed()
            return True

    @deferred
    def prune(self) -> None:
        """End the entries whose weakly held objects are gone."""
        with self.lock:
            for entry in [e for e in self._entries if not e.connected]:
                self._drop(entry)
            self._changed()

    @deferred
    def adjust_block(self, entry: Entry, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) one entry; False if it was not blocked."""
        with self.lock:
            blocks = entry.blocks + step
            if blocks < 0:
                return False
            entry.blocks = blocks
            if entry.live:
                entry.show_blocks()
            return True

    @deferred
    def block_all(self, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) every emit; False if nothing was blocked."""
        with self.lock:
            blocks = self._blocks + step
            if blocks < 0:
                return False
            self._blocks = blocks
            self._changed()
            return True

    def _after_fork_in_child(self) -> None:
        """Free the lock, and finish any change a thread the fork left behind was making.

        Each step of a change leaves the entries readable, so finishing is
        redoing the steps that follow from them: no dropped entry kept, each
        cell's call as its blocks say, the lowest priority the last entry's,
        and the cells made again by the next emit.
        """
        if not free_lock(self.lock):
            return  # the forking thread itself is inside a change: it finishes it
        for entry in [e for e in self._entries if not e.live]:
            self._entries.pop(entry, None)
        for entry in self._entries:
            entry.show_blocks()
        last = next(reversed(self._entries), None)
        self._lowest = 0 if last is None else last.priority
        self._changed()

    # -- under the lock ------------------------------------------------------------

    def _drop(self, entry: Entry) -> None:
        """End the entry and take it out; an emit walking older cells skips it from now on."""
        entry.live = False
        entry.cell[0] = skipped
        self._entries.pop(entry, None)  # a finaliser run by the line above may have been first

    def _insert(self, entry: Entry) -> None:
        """Put ``entry`` after every entry of higher or equal priority: a rebuild, O(n)."""
        order = list(self._entries.items())
        at = len(order)
        while at and order[at - 1][0].priority < entry.priority:
            at -= 1
        order.insert(at, (entry, entry.cell))
        self._entries = dict(order)
        self._lowest = order[-1][0].priority

    def _changed(self) -> None:
        """The next emit makes the cells again: O(1) here, however many changes come first."""
        self._publish(self._stale)
