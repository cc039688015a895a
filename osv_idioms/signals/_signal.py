"""``Signal[P]``: connecting, blocking, emitting, and one signal per instance.

Emitting reads one attribute, ``_entries``: a tuple of ``[call, ref]`` cells
(see ``_emit``) that the slot list (``_list``) makes and hands over, and
never changes in place except to overwrite a cell's ``call`` with
``skipped``. After a change it holds a marker instead, and the first emit
makes the new tuple under the slot list's lock, briefly; every other emit
takes no lock, and no slot ever runs under one.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from ..callbacks.generics import declared_count, specialise
from ..checks import flag, kind_of
from ..interrupts import deferred
from ._connection import Connection
from ._emit import emitter, results
from ._list import SlotList, Walked
from ._slots import fit

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

Errors = Literal["raise", "group"]
_grouping_variants: dict[type[Any], type[Any]] = {}  # each class's errors="group" variant


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

    __slots__ = ("__weakref__", "_attribute", "_entries", "_name", "_per_instance", "_slots")

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
        return super().__new__(cls._grouping_variant() if errors == "group" else cls)

    @classmethod
    def _grouping_variant(cls) -> type[Self]:
        """The class of this class's signals made with ``errors="group"``."""
        made = _grouping_variants.get(cls)
        if made is None:
            emit = emitter(cls._passes, grouping=True)
            body: dict[str, Any] = {
                "__slots__": (),
                "_grouping": True,
                "emit": emit,
                "__call__": emit,
                "__qualname__": cls.__qualname__,
                "__module__": cls.__module__,
            }
            made = _grouping_variants.setdefault(cls, type(cls.__name__, (cls,), body))
        return made

    def __init__(self, *, name: str | None = None, errors: Errors = "raise") -> None:
        """A signal with no slots; ``name`` is shown in messages and notes.

        Args:
            name: what messages and exception notes call the signal.
            errors: ``"raise"`` (the default) lets the first failing slot's
                exception stop the emit; ``"group"`` calls every slot, then
                raises an ``ExceptionGroup`` of the failures.
        """
        self._name = name
        self._entries: Walked = ()  # what emits walk: set by the slot list only
        self._slots = SlotList(self._publish)
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
        entry = self._slots.entry_for(fitted, priority, once=once)
        connection = Connection(self._slots, entry, self)  # before the add: a handle for it
        self._slots.add(entry)
        return connection

    def _decorator(self, **options: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
        def connect_and_return(slot: Callable[P, R]) -> Callable[P, R]:
            self.connect(slot, **options)
            return slot

        return connect_and_return

    def disconnect(self, slot: Callable[..., object]) -> int:
        """Disconnect every connection of ``slot``; returns how many there were.

        The slot is compared (``==``, which may be user code) with no lock
        held; the matching connections are then disconnected together. A
        method matches the connections of that method of that object, and a
        ``bind_weak`` of it matches them too.

        Args:
            slot: what was connected.

        Returns:
            How many connections it ended.

        Examples:
            >>> from osv_idioms.signals import Signal
            >>> changed = Signal[[int]]()
            >>> _ = changed.connect(print), changed.connect(print)
            >>> changed.disconnect(print), len(changed)
            (2, 0)
        """
        return self._slots.remove_all([e for e in self._slots.entries if e.matches(slot)])

    def disconnect_all(self) -> int:
        """Disconnect every slot; returns how many there were.

        >>> from osv_idioms.signals import Signal
        >>> changed = Signal[[int]]()
        >>> _ = changed.connect(print), changed.connect(repr)
        >>> changed.disconnect_all(), len(changed)
        (2, 0)
        """
        return self._slots.remove_all()

    def __len__(self) -> int:
        """How many slots are connected (blocked ones included)."""
        return sum(1 for entry in self._slots.entries if entry.connected)

    # -- blocking -------------------------------------------------------------

    def block(self) -> None:
        """Make emits do nothing until as many ``unblock()`` calls."""
        self._slots.block_all(1)

    def unblock(self) -> None:
        """Undo one ``block()``.

        Raises:
            RuntimeError: the signal is not blocked.
        """
        if not self._slots.block_all(-1):
            raise RuntimeError(f"can't unblock {self!r}: it is not blocked")

    @contextmanager
    def blocked(self) -> Generator[Self, None, None]:
        """Make emits do nothing inside the ``with`` block; they call the slots again after it.

        Blocks nest, with ``block()`` and ``unblock()`` too: emits resume
        when every block has ended.

        >>> from osv_idioms.signals import Signal
        >>> changed = Signal[[int]]()
        >>> _ = changed.connect(print)
        >>> with changed.blocked():
        ...     changed.emit(1)          # nothing is called
        >>> changed.emit(2)
        2
        """
        self.block()
        try:
            yield self
        finally:
            self.unblock()

    def statistics(self) -> SignalStatistics:
        """What the signal holds now: its connected and blocked slots, and its own blocks.

        >>> from osv_idioms.signals import Signal
        >>> changed = Signal[[int]](name="changed")
        >>> connection = changed.connect(print)
        >>> connection.block()
        >>> changed.statistics()
        SignalStatistics(name='changed', connected=1, blocked_slots=1, blocks=0, walked=1)
        """
        walked = self._slots.entries
        entries = [entry for entry in walked if entry.connected]
        return SignalStatistics(
            name=self._name,
            connected=len(entries),
            blocked_slots=sum(1 for entry in entries if entry.blocks),
            blocks=self._slots.blocked,
            walked=len(walked),
        )

    # -- results and async ------------------------------------------------------

    def collect(self, *args: P.args, **kwargs: P.kwargs) -> list[Any]:
        """Emit, and return the slots' results in call order (boost's combiners, the common case).

        Args:
            *args: what the signal passes.
            **kwargs: keyword arguments, for a ``Signal[...]`` only.

        Returns:
            Each called slot's result, in the order the slots ran.

        Raises:
            TypeError: the arguments are not what the signal passes.

        Examples:
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

        Args:
            combiner: takes an iterator of the slots' results.

        Returns:
            A function that emits with its arguments and returns what the
            combiner makes of the results.

        Examples:
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

        Args:
            *args: what the signal passes.
            **kwargs: keyword arguments, for a ``Signal[...]`` only.

        Raises:
            TypeError: the arguments are not what the signal passes.

        Examples:
            >>> import asyncio
            >>> from osv_idioms.signals import Signal
            >>> ready = Signal[[str]]()
            >>> async def greet(name: str) -> None:
            ...     await asyncio.sleep(0)
            ...     print("hello", name)
            >>> _ = ready.connect(greet), ready.connect(lambda name: print("bye", name))
            >>> asyncio.run(ready.aemit("osv"))
            hello osv
            bye osv
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
        return results(self, args, kwargs, failures)

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

    def _prune(self) -> None:
        """Drop the connections whose weakly held objects are gone."""
        self._slots.prune()

    def _publish(self, entries: Walked) -> None:
        """Take the slot list's new cells, or its marker: what the next emit walks."""
        self._entries = entries

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
        with self._slots.lock:
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


@final
@dataclass(frozen=True, slots=True)
class SignalStatistics:
    """What ``Signal.statistics()`` reports, at one moment.

    Attributes:
        name: the signal's name, if it has one.
        connected: how many slots are connected, blocked ones included.
        blocked_slots: how many of those are blocked.
        blocks: how many ``block()`` calls on the signal itself are not yet
            undone.
        walked: how many entries an emit walks: the connected slots, and any
            whose weakly held object was collected but which no emit has
            dropped yet.

    Examples:
        >>> from osv_idioms.signals import Signal
        >>> with Signal[[]](name="idle").blocked() as idle:
        ...     idle.statistics()
        SignalStatistics(name='idle', connected=0, blocked_slots=0, blocks=1, walked=0)
    """

    name: str | None
    connected: int
    blocked_slots: int
    blocks: int
    walked: int
