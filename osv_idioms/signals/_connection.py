"""``Connection`` and ``ScopedConnection``: one slot's link to one signal.

A connection is a handle: its state is an ``Entry`` of the signal's slot
list, which changes it (see ``_list``); the connection only asks.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from types import TracebackType
from typing import Self, cast, final

from ..callbacks import describe
from ..checks import kind_of
from ._list import Entry, SlotList

__all__ = ("Connection", "ScopedConnection")


@final
class Connection:
    """One slot connected to one signal: disconnect it, block it, ask if it is still on.

    ``connected`` turns False once it is disconnected, once a ``once=True``
    slot has fired, or once an object it holds weakly (a method's object, a
    ``track=`` object) is garbage-collected.

    >>> from osv_idioms.signals import Signal
    >>> changed = Signal[[int]](name="changed")
    >>> connection = changed.connect(print)
    >>> with connection.blocked():
    ...     changed.emit(1)      # skipped
    >>> changed.emit(2)
    2
    >>> connection.disconnect(); connection.connected
    False
    """

    __slots__ = ("__weakref__", "_entry", "_signal", "_slots")

    def __init__(self, slots: SlotList, entry: Entry, signal: object) -> None:
        """Made by ``Signal.connect``, from the signal's own state; by hand it is refused.

        Args:
            slots: the signal's slot list.
            entry: the connection's entry in it.
            signal: the signal, shown in messages.

        Raises:
            TypeError: not made by ``Signal.connect``.
        """
        given = cast("object", entry)  # as called, whatever the annotations say
        if not isinstance(given, Entry) or not isinstance(cast("object", slots), SlotList):
            raise TypeError(
                "a Connection is made by Signal.connect(), not by hand: connect the slot instead"
            )
        self._slots = slots
        self._entry = entry
        self._signal = signal

    @property
    def connected(self) -> bool:
        """Whether the slot will be called by the next emit (blocked or not)."""
        return self._entry.connected

    @property
    def priority(self) -> int:
        """Its priority: higher ones are called first."""
        return self._entry.priority

    @property
    def blocks(self) -> int:
        """How many ``block()`` calls are not yet undone: 0 when not blocked."""
        return self._entry.blocks

    def disconnect(self) -> None:
        """Stop calling the slot, from now on, even within an emit already running. Idempotent."""
        self._slots.remove(self._entry)

    def block(self) -> None:
        """Skip the slot until as many ``unblock()`` calls."""
        self._slots.adjust_block(self._entry, 1)

    def unblock(self) -> None:
        """Undo one ``block()``.

        Raises:
            RuntimeError: the connection is not blocked.
        """
        if not self._slots.adjust_block(self._entry, -1):
            raise RuntimeError(f"can't unblock {self!r}: it is not blocked")

    @contextmanager
    def blocked(self) -> Generator[Self, None, None]:
        """Skip the slot inside the ``with`` block."""
        self.block()
        try:
            yield self
        finally:
            self.unblock()

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        if self._entry.blocks:
            state += ", blocked"
        return f"<Connection {describe(self._entry.call)} to {self._signal!r}: {state}>"


@final
class ScopedConnection:
    """A connection that ends with its ``with`` block: boost's ``scoped_connection``.

    >>> from osv_idioms.signals import ScopedConnection, Signal
    >>> changed = Signal[[int]](name="changed")
    >>> with ScopedConnection(changed.connect(print)):
    ...     changed.emit(1)
    1
    >>> changed.emit(2)          # nothing is connected any more
    """

    __slots__ = ("connection",)

    def __init__(self, connection: Connection) -> None:
        """Take charge of ``connection``: it is disconnected when the block ends.

        Args:
            connection: what ``Signal.connect`` returned.

        Raises:
            TypeError: ``connection`` is not a ``Connection``.
        """
        if not isinstance(connection, Connection):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"ScopedConnection takes a Connection, got {kind_of(connection)}")
        self.connection: Connection = connection

    def __enter__(self) -> Connection:
        return self.connection

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.connection.disconnect()
