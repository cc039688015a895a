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

The thread holding the lock can itself change the signal, or emit it, in
the middle of a change: letting go of a call, or an allocation that starts
the garbage collector, can free an object whose ``__del__`` does so, and a
signal handler runs between any two bytecodes. So the lock is reentrant,
and a change is made in this order:

1. everything that calls, and so may be interrupted or raise (a copy of the
   entries, a rebuilt dict, a ``RecursionError`` near the limit);
2. ``_changed()``, last: it bumps ``_changes`` and marks the signal stale;
3. the stores, with no call among them.

A copy made while ``_changes`` moved is made again, so no change made in
between is lost or undone; anything that emits before the stores finds the
marker put back after it; and a change that raises in step 1 or 2 leaves the
signal as it was. Dropping an entry is the one change that calls in step 3
(its call is let go, which may run a finaliser): each of its steps ends the
entry at once, in the cell every emit walks, so any order is safe.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..forks import free_lock, reset_in_child
from ..interrupts import deferred
from ._emit import skipped
from ._slots import Call, same_slot

__all__ = ("Cells", "Entry", "SlotList", "Stale", "Walked")

Cells = tuple[list[Any], ...]
_Copy = TypeVar("_Copy")


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

    __slots__ = (
        "__weakref__",
        "_blocks",
        "_changes",
        "_entries",
        "_lowest",
        "_publish",
        "_stale",
        "lock",
    )

    def __init__(self, publish: Callable[[Walked], None]) -> None:
        # Reentrant: see the module's docstring.
        self.lock: threading.RLock = threading.RLock()
        self._entries: dict[Entry, list[Any]] = {}  # each entry's cell, in call order
        self._changes = 0  # bumped by every change: a copy made across one is stale
        self._lowest = 0  # at most the last entry's priority: below it, a new one is appended
        self._blocks = 0
        self._publish = publish
        self._stale = Stale(self.cells)
        reset_in_child(self, SlotList._after_fork_in_child)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The live entries now, in call order (a snapshot)."""
        with self.lock:
            return self._copy(tuple)

    @property
    def blocked(self) -> int:
        """How many ``block()`` calls are not yet undone."""
        return self._blocks

    @deferred  # the lock is held only for copying a tuple, never for a slot
    def cells(self) -> Cells:
        """What an emit walks now (nothing while blocked), handed to the signal until a change."""
        with self.lock:
            while True:
                seen = self._changes
                cells: Cells = () if self._blocks else self._copy(_cells_of)
                self._publish(cells)
                if self._changes == seen:  # else a change came meanwhile: make them again
                    return cells

    def entry_for(self, fitted: Call, priority: int, *, once: bool) -> Entry:
        """A new entry for ``add``: nothing changes until it is added."""
        entry = Entry(fitted, priority)
        if once:
            self._make_once(entry)
        return entry

    @deferred  # every change below updates the entries and the signal's marker, together
    def add(self, entry: Entry) -> None:
        """Add ``entry`` (from ``entry_for``), called after those of higher or equal priority."""
        priority = entry.priority
        with self.lock:
            while True:
                seen = self._changes
                appended = not self._entries or priority <= self._lowest
                rebuilt = None if appended else self._rebuilt_with(entry)
                self._changed()
                if self._changes == seen + 1:  # nothing else changed since the look
                    break
            if rebuilt is None:
                self._entries[entry] = entry.cell
                self._lowest = priority
            else:
                self._entries, self._lowest = rebuilt

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
                self._drop((entry,))

    @deferred
    def remove_all(self, entries: Iterable[Entry] | None = None) -> int:
        """End ``entries`` (default: every one); return how many were still live."""
        with self.lock:
            ending = [e for e in (self._copy(tuple) if entries is None else entries) if e.live]
            self._drop(ending)
        return len(ending)

    @deferred
    def claim(self, entry: Entry) -> bool:
        """For ``once``: end the entry and say True, for exactly one caller."""
        with self.lock:
            if not entry.live:
                return False
            self._drop((entry,))
            return True

    @deferred
    def prune(self) -> None:
        """End the entries whose weakly held objects are gone."""
        with self.lock:
            self._drop([e for e in self._copy(tuple) if not e.connected])

    @deferred
    def adjust_block(self, entry: Entry, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) one entry; False if it was not blocked."""
        with self.lock:
            blocks = entry.blocks + step
            if blocks < 0:
                return False
            if entry.live:  # show_blocks(), inline: no call among the stores
                entry.cell[0] = skipped if blocks else entry.call
            entry.blocks = blocks
            return True

    @deferred
    def block_all(self, step: int) -> bool:
        """Block (``step`` 1) or unblock (-1) every emit; False if nothing was blocked."""
        with self.lock:
            self._changed()  # if nothing is blocked after all, the next emit makes the same cells
            blocks = self._blocks + step
            if blocks < 0:
                return False
            self._blocks = blocks
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
        for entry in self._copy(tuple):
            if entry.live:
                entry.show_blocks()
            else:
                self._entries.pop(entry, None)
        last = next(reversed(self._entries), None)
        self._lowest = 0 if last is None else last.priority
        self._changed()

    # -- under the lock ------------------------------------------------------------

    def _drop(self, ending: Iterable[Entry]) -> None:
        """End the entries and take them out; an emit walking older cells skips them from now on."""
        self._changed()
        for entry in ending:
            entry.live = False
            entry.cell[0] = skipped
            # Looked up each time: a finaliser run by the line above may have
            # rebuilt the dict, or taken the entry out first.
            self._entries.pop(entry, None)

    def _rebuilt_with(self, entry: Entry) -> tuple[dict[Entry, list[Any]], int]:
        """The entries with ``entry`` after every one of higher or equal priority, and the lowest.

        A rebuild, O(n): for a priority above the lowest so far.
        """
        order = self._copy(_items_of)
        at = len(order)
        while at and order[at - 1][0].priority < entry.priority:
            at -= 1
        order.insert(at, (entry, entry.cell))
        return dict(order), order[-1][0].priority

    def _copy(self, make: Callable[[dict[Entry, list[Any]]], _Copy]) -> _Copy:
        """``make(entries)`` as the entries were at one instant, however it was interrupted.

        A finaliser or a signal handler run inside ``make`` may change the
        entries: then the copy is made again (iterating raises if the size
        changed, and that is the change's doing, not an error).
        """
        while True:
            seen = self._changes
            try:
                made = make(self._entries)
            except RuntimeError:
                if self._changes == seen:
                    raise
                continue
            if self._changes == seen:
                return made

    def _changed(self) -> None:
        """The next emit makes the cells again: O(1) here, however many changes come first."""
        self._changes += 1
        self._publish(self._stale)


def _cells_of(entries: dict[Entry, list[Any]]) -> Cells:
    return tuple(entries.values())


def _items_of(entries: dict[Entry, list[Any]]) -> list[tuple[Entry, list[Any]]]:
    return list(entries.items())
