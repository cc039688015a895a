"""``Signal[P]``: connecting, blocking, emitting, and one signal per instance.

Emitting reads one attribute, ``_entries``: a tuple of ``[call, ref]`` cells
(see ``_emit``) that writers replace, under the signal's lock, and never
change in place except to overwrite a cell's ``call`` with ``skipped``. So
an emit takes no lock, and no slot ever runs under one.
"""

# Signal and Connection (in _connection) work as one, each using the other's
# private state; the callbacks package's _shape is shared with Function.
# pyright: reportPrivateUsage=false

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    ParamSpec,
    Self,
    TypeVar,
    final,
    overload,
)

from ..callbacks import describe
from ..callbacks._shape import declared_count, specialise
from ..checks import flag, kind_of
from ..interrupts import deferred
from ._connection import Connection, make_once
from ._emit import emitter, skipped
from ._slots import fit

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

Errors = Literal["raise", "group"]


@final
class Signal(Generic[P]):
    """A typed signal: slots connected to it are called, in a defined order, when it is emitted.

    Declare what it passes with a subscript, which the type checkers read and
    which the signal also keeps at run time: ``Signal[[int]]()`` passes one
    argument, ``Signal[[]]()`` none, ``Signal[...]()`` anything. Declared as a
    class attribute, it gives every instance a signal of its own.

    >>> from osv_idioms.signals import Signal
    >>> system_reset = Signal[[]](name="system_reset")
    >>> @system_reset.connect()
    ... def reset_bar0() -> None:
    ...     print("bar0 reset")
    >>> system_reset()
    bar0 reset
    """

    __slots__ = (
        "__weakref__",
        "_attribute",
        "_blocks",
        "_connections",
        "_entries",
        "_lock",
        "_name",
        "_per_instance",
    )

    # Set on the subscripted subclasses: the arguments passed (None: any), and
    # whether failures are grouped.
    _passes: ClassVar[int | None] = None
    _declared: ClassVar[bool] = False
    _grouping: ClassVar[bool] = False

    if TYPE_CHECKING:

        def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
            """Call every connected slot with these arguments, by priority then connection order.

            A slot connected during the emit is not called by it; a slot
            disconnected or blocked during it is not called after that, and
            no other slot is skipped. By default the first slot that raises
            stops the emit, and its exception carries a note naming the signal
            and the slot; with ``errors="group"`` every slot is called and then
            an ``ExceptionGroup`` of the failures is raised.
            """

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
            """``emit``, so that a signal is itself a slot (chaining) and reads as on the slide."""

    else:

        def __class_getitem__(cls, params):
            alias = super().__class_getitem__(params)
            passes = declared_count(alias.__args__[0])
            emit = emitter(passes, grouping=False)
            return specialise(cls, alias, _passes=passes, _declared=True, emit=emit, __call__=emit)

    def __new__(cls, *, name: str | None = None, errors: Errors = "raise") -> Self:
        """Check the declaration; ``errors="group"`` picks the emit that calls every slot."""
        if not cls._declared:
            raise TypeError(
                "declare what the signal passes: Signal[[int]]() for one int, "
                "Signal[[]]() for nothing, Signal[...]() for anything"
            )
        if name is not None and not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a signal's name must be a str or None, got {kind_of(name)}")
        if errors not in ("raise", "group"):
            raise ValueError(f"errors must be 'raise' or 'group', got {errors!r}")
        return super().__new__(_grouping_variant(cls) if errors == "group" else cls)

    def __init__(self, *, name: str | None = None, errors: Errors = "raise") -> None:
        """A signal with no slots; ``name`` is shown in messages and notes.

        Args:
            name: what messages and exception notes call the signal.
            errors: ``"raise"`` (the default) lets the first failing slot's
                exception stop the emit; ``"group"`` calls every slot, then
                raises an ``ExceptionGroup`` of the failures.
        """
        self._name = name
        self._lock = threading.Lock()
        self._connections: tuple[Connection, ...] = ()
        self._entries: tuple[list[Any], ...] = ()
        self._blocks = 0
        self._attribute: str | None = None  # set when declared in a class body
        self._per_instance: dict[int, Self] | None = None

    # -- connecting ---------------------------------------------------------

    @overload
    def connect(
        self,
        slot: None = None,
        *,
        once: bool = False,
        weak: bool | None = None,
        priority: int = 0,
        track: object = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
    @overload
    def connect(
        self,
        slot: Callable[P, object] | Callable[[], object],
        *,
        once: bool = False,
        weak: bool | None = None,
        priority: int = 0,
        track: object = None,
    ) -> Connection: ...
    @deferred  # the signal lock is taken by a with statement (see docs/threads.md)
    def connect(
        self,
        slot: Callable[..., object] | None = None,
        *,
        once: bool = False,
        weak: bool | None = None,
        priority: int = 0,
        track: object = None,
    ) -> Connection | Callable[[Callable[P, R]], Callable[P, R]]:
        """Call ``slot`` on every emit from now on, until the returned connection ends.

        A slot may take fewer arguments than the signal passes: it gets the
        first ones. That is checked here, once. Bound methods are held weakly
        (the connection ends when their object is collected); functions,
        lambdas and other callables strongly, so nothing vanishes unnoticed.
        The same slot connected twice is called twice.

        Called without a slot, it is a decorator that connects the function
        and returns it unchanged.

        Args:
            slot: what to call; a ``Signal`` chains this one to it.
            once: disconnect the slot just before its first call.
            weak: hold the slot (a method's object) weakly; None decides by
                kind, as above.
            priority: higher runs first; equal priorities run in connection
                order.
            track: end the connection when this object is collected.

        Raises:
            TypeError: the slot is not callable or cannot take the signal's
                arguments, or cannot be held weakly as asked, or the signal is
                the one declared on a class rather than an instance's.
        """
        flag(once, "once")
        if weak is not None:
            flag(weak, "weak (or None, to decide by the kind of slot)")
        if type(priority) is not int:
            raise TypeError(f"priority must be an int, got {priority!r}")
        if slot is None:
            return self._decorator(once=once, weak=weak, priority=priority, track=track)
        if self._attribute is not None:
            raise TypeError(
                f"can't connect to {self!r}: it is declared on the class; "
                "connect to an instance's signal"
            )
        fitted = fit(slot, self._passes, weak, track, self)
        connection = Connection(self, fitted, priority)
        if once:
            make_once(connection)
        with self._lock:
            self._insert(connection)
        return connection

    def _decorator(self, **options: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
        def connect_and_return(slot: Callable[P, R]) -> Callable[P, R]:
            self.connect(slot, **options)
            return slot

        return connect_and_return

    def disconnect(self, slot: Callable[..., object]) -> int:
        """Disconnect every connection of ``slot``; returns how many there were.

        The slot is compared (``==``, which may be user code) with no lock
        held; the matching connections are then disconnected together.
        """
        matching = [c for c in self._connections if c._matches(slot)]
        return self._drop_all(matching)

    @deferred
    def _drop_all(self, connections: list[Connection]) -> int:
        with self._lock:
            dropped = [c for c in connections if c._live]
            for connection in dropped:
                self._drop(connection)
            self._publish(self._live_connections())
        return len(dropped)

    @deferred
    def disconnect_all(self) -> None:
        """Disconnect every slot."""
        with self._lock:
            for connection in self._connections:
                self._drop(connection)
            self._publish(())

    def __len__(self) -> int:
        """How many slots are connected (blocked ones included)."""
        return sum(1 for connection in self._connections if connection.connected)

    # -- blocking -------------------------------------------------------------

    @deferred
    def block(self) -> None:
        """Make emits do nothing until as many ``unblock()`` calls."""
        with self._lock:
            self._blocks += 1
            self._entries = ()

    @deferred
    def unblock(self) -> None:
        """Undo one ``block()``.

        Raises:
            RuntimeError: the signal is not blocked.
        """
        with self._lock:
            if not self._blocks:
                raise RuntimeError(f"can't unblock {self!r}: it is not blocked")
            self._blocks -= 1
            self._publish(self._connections)

    @contextmanager
    def blocked(self) -> Generator[Self, None, None]:
        """Make emits do nothing inside the ``with`` block."""
        self.block()
        try:
            yield self
        finally:
            self.unblock()

    # -- results and async ------------------------------------------------------

    def collect(self, *args: P.args, **kwargs: P.kwargs) -> list[Any]:
        """Emit, and return the slots' results in call order (boost's combiners, the common case).

        >>> from osv_idioms.signals import Signal
        >>> ask = Signal[[int]]()
        >>> _ = ask.connect(lambda n: n + 1), ask.connect(lambda n: n * 10)
        >>> ask.collect(4)
        [5, 40]
        """
        return list(self._results(args, kwargs))

    def combine(self, combiner: Callable[[Iterator[Any]], T]) -> Callable[P, T]:
        """An emit whose slots' results go through ``combiner``, lazily, as boost's combiners.

        The combiner gets an iterator: a slot is called when the combiner asks
        for its result, so a combiner that stops early (``next``, ``any``)
        leaves the later slots uncalled.

        >>> from osv_idioms.signals import Signal
        >>> quote = Signal[[str]]()
        >>> _ = quote.connect(lambda item: 30), quote.connect(lambda item: 25)
        >>> best_price = quote.combine(min)
        >>> best_price("disk")
        25
        """

        def emit_combined(*args: P.args, **kwargs: P.kwargs) -> T:
            return combiner(self._results(args, kwargs))

        return emit_combined

    async def aemit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Emit, awaiting each slot that returns an awaitable before calling the next.

        Plain slots are called directly; the order and error rules are
        ``emit``'s.
        """
        failures: list[Exception] = []
        for call, result in self._call_each(args, kwargs, failures):
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception as error:
                    self._record(error, call, failures)
        self._finish(failures)

    def _results(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[Any]:
        failures: list[Exception] = []
        for _, result in self._call_each(args, kwargs, failures):
            yield result
        self._finish(failures)

    def _call_each(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], failures: list[Exception]
    ) -> Iterator[tuple[Callable[..., Any], Any]]:
        """Call the slots one by one, as the caller asks for the next: each call and its result.

        A slot that raises is recorded in ``failures`` (grouping) or raises.
        """
        self._check_call(args, kwargs)
        for call, target in self._live_calls():
            try:
                result = (
                    call(*args, **kwargs) if target is _NO_TARGET else call(target, *args, **kwargs)
                )
            except Exception as error:
                self._record(error, call, failures)
                continue
            yield call, result

    def _live_calls(self) -> Iterator[tuple[Callable[..., Any], Any]]:
        """The slots to call now: each call and its target (``_NO_TARGET`` if held strongly)."""
        for call, ref in self._entries:
            if call is skipped:
                continue
            if ref is None:
                yield call, _NO_TARGET
            elif (target := ref()) is not None:
                yield call, target
            else:
                self._prune()

    def _check_call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        passes = self._passes
        if passes is not None and (len(args) != passes or kwargs):
            given = f"{len(args)} positional" + (f" and {len(kwargs)} keyword" if kwargs else "")
            plural = "" if passes == 1 else "s"
            raise TypeError(f"{self!r} passes {passes} positional argument{plural}, got {given}")

    def _record(
        self, error: Exception, call: Callable[..., Any], failures: list[Exception]
    ) -> None:
        self._annotate(error, call)
        if not self._grouping:
            raise error
        failures.append(error)

    def _finish(self, failures: list[Exception]) -> None:
        if failures:
            self._raise_group(failures)

    # -- what the generated emit calls ------------------------------------------------

    def _annotate(self, error: Exception, call: Callable[..., Any]) -> None:
        note = f"raised by slot {describe(call)} of {self!r}"
        if note not in getattr(error, "__notes__", ()):  # a recursive emit notes it once
            error.add_note(note)

    def _raise_group(self, failures: list[Exception]) -> None:
        count = len(failures)
        raise ExceptionGroup(
            f"{count} slot{'' if count == 1 else 's'} of {self!r} raised", failures
        )

    @deferred
    def _prune(self) -> None:
        """Drop the connections whose weakly held objects are gone."""
        with self._lock:
            for connection in self._connections:
                if not connection.connected:
                    self._drop(connection)
            self._publish(self._live_connections())

    # -- writers: all under self._lock ---------------------------------------------

    @deferred  # every writer below changes two snapshots, which must agree
    def _insert(self, connection: Connection) -> None:
        connections = self._connections
        priority = connection.priority
        at = len(connections)
        while at and connections[at - 1].priority < priority:
            at -= 1
        self._publish((*connections[:at], connection, *connections[at:]))

    def _drop(self, connection: Connection) -> None:
        connection._live = False
        connection._cell[0] = skipped

    def _publish(self, connections: tuple[Connection, ...]) -> None:
        self._connections = connections
        self._entries = () if self._blocks else tuple([c._cell for c in connections])

    def _live_connections(self) -> tuple[Connection, ...]:
        return tuple([c for c in self._connections if c._live])

    @deferred
    def _remove(self, connection: Connection) -> None:
        with self._lock:
            if connection._live:
                connection._live = False  # _drop(), inlined: half of connect+disconnect
                connection._cell[0] = skipped
                self._publish(tuple([c for c in self._connections if c is not connection]))

    @deferred
    def _claim(self, connection: Connection) -> bool:
        """For ``once``: disconnect and say True, for exactly one caller."""
        with self._lock:
            if not connection._live:
                return False
            self._drop(connection)
            self._publish(self._live_connections())
            return True

    @deferred
    def _adjust_block(self, connection: Connection, step: int) -> None:
        with self._lock:
            blocks = connection._blocks + step
            if blocks < 0:
                raise RuntimeError(f"can't unblock {connection!r}: it is not blocked")
            connection._blocks = blocks
            if connection._live:
                connection._cell[0] = skipped if blocks else connection._call

    # -- one signal per instance -------------------------------------------------

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._attribute = name
        if self._name is None:
            self._name = f"{owner.__qualname__}.{name}"

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Self: ...
    def __get__(self, instance: object, owner: type[Any] | None = None) -> Self:
        """On an instance, that instance's own signal, made on first use."""
        if instance is None or self._attribute is None:
            return self
        try:
            namespace = instance.__dict__
        except AttributeError:
            return self._registered_for(instance)
        # A signal is a non-data descriptor, so once the instance's own one is
        # in its __dict__, attribute lookup finds it there without calling this.
        own: Self | None = namespace.get(self._attribute)
        return namespace.setdefault(self._attribute, self._sibling()) if own is None else own

    def _sibling(self) -> Self:
        return type(self)(name=self._name)

    @deferred
    def _registered_for(self, instance: object) -> Self:
        """An instance without ``__dict__`` (``__slots__``): its signal lives here, by id."""
        key = id(instance)
        with self._lock:
            registry = self._per_instance
            if registry is None:
                registry = self._per_instance = {}
            own = registry.get(key)
            if own is None:
                try:
                    weakref.finalize(instance, registry.pop, key, None)
                except TypeError:
                    kind = type(instance).__qualname__
                    raise TypeError(
                        f"can't give each {kind} its own {self._name}: {kind} has __slots__ "
                        "without '__dict__' or '__weakref__'; add '__weakref__' to its __slots__"
                    ) from None
                own = registry[key] = self._sibling()
        return own

    def __repr__(self) -> str:
        name = f" {self._name!r}" if self._name else f" at {id(self):#x}"
        return f"<{type(self).__name__}{name}>"


_NO_TARGET = object()


_S = TypeVar("_S", bound="Signal[...]")
_grouping_variants: dict[type[Any], type[Any]] = {}


def _grouping_variant(cls: type[_S]) -> type[_S]:
    """The class of ``cls``'s signals made with ``errors="group"``."""
    made = _grouping_variants.get(cls)
    if made is None:
        emit = emitter(cls._passes, grouping=True)
        body: dict[str, Any] = {"__slots__": (), "_grouping": True, "emit": emit, "__call__": emit}
        body |= {"__qualname__": cls.__qualname__, "__module__": cls.__module__}
        made = _grouping_variants.setdefault(cls, type(cls.__name__, (cls,), body))
    return made
