"""``Connection`` and ``ScopedConnection``: one slot's link to one signal.

A connection owns the cell its signal's emits walk (see ``_emit``);
disconnecting or blocking it overwrites that cell's call, under the signal's
lock, which ``Signal`` provides.
"""

# Connection and Signal work as one, each using the other's private state.
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast, final

from ..callbacks import describe
from ..checks import kind_of
from ._slots import Call, same_slot

if TYPE_CHECKING:
    from ._signal import Signal


@final
class Connection:
    """One slot connected to one signal: disconnect it, block it, ask if it is still on.

    ``connected`` turns False once it is disconnected, once a ``once=True``
    slot has fired, or once an object it holds weakly (a method's object, a
    ``track=`` object) is garbage-collected.
    """

    __slots__ = (
        "__weakref__",
        "_blocks",
        "_call",
        "_cell",
        "_key",
        "_key_ref",
        "_live",
        "_priority",
        "_refs",
        "_signal",
    )

    def __init__(self, signal: Signal[...], fitted: Call, priority: int) -> None:
        """Made by ``Signal.connect``."""
        given = cast("object", fitted)  # as called, whatever the annotations say
        if not isinstance(given, Call) or type(priority) is not int:
            raise TypeError(
                "a Connection is made by Signal.connect(), not by hand: connect the slot instead"
            )
        self._signal = signal
        self._call = fitted.call  # what the cell holds while the connection is not blocked
        self._cell: list[Any] = [fitted.call, fitted.ref]
        self._refs = fitted.refs
        self._key = fitted.key
        self._key_ref = fitted.key_ref
        self._priority = priority
        self._live = True
        self._blocks = 0

    @property
    def connected(self) -> bool:
        """Whether the slot will be called by the next emit (blocked or not)."""
        return self._live and all(ref() is not None for ref in self._refs)

    @property
    def priority(self) -> int:
        """Its priority: higher ones are called first."""
        return self._priority

    def disconnect(self) -> None:
        """Stop calling the slot, from now on, even within an emit already running. Idempotent."""
        self._signal._remove(self)

    def block(self) -> None:
        """Skip the slot until as many ``unblock()`` calls."""
        self._signal._adjust_block(self, 1)

    def unblock(self) -> None:
        """Undo one ``block()``.

        Raises:
            RuntimeError: the connection is not blocked.
        """
        self._signal._adjust_block(self, -1)

    @contextmanager
    def blocked(self) -> Generator[Self, None, None]:
        """Skip the slot inside the ``with`` block."""
        self.block()
        try:
            yield self
        finally:
            self.unblock()

    def _matches(self, slot: object) -> bool:
        return same_slot(self._key, self._key_ref, slot)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        if self._blocks:
            state += ", blocked"
        return f"<Connection {describe(self._call)} to {self._signal!r}: {state}>"


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
        """Take charge of ``connection``: it is disconnected when the block ends."""
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


def make_once(connection: Connection) -> None:
    """Make the connection's call claim the connection first, so it runs only once."""
    call = connection._call
    claim = connection._signal._claim

    def once(*args: Any, **kwargs: Any) -> Any:
        if claim(connection):
            return call(*args, **kwargs)
        return None

    once.__wrapped__ = call  # type: ignore[attr-defined]
    connection._call = connection._cell[0] = once
