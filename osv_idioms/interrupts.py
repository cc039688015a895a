"""Ctrl-C held back while library code changes state, and delivered right after.

Python raises ``KeyboardInterrupt`` between any two bytecodes of the main
thread. CPython's C locks do their work in C, so ``with a, b:`` can't be torn;
this library's operations are Python, and an interrupt between taking a lock
and noting that it was taken leaves the lock held for ever. So, as trio does
for its own internals, the functions that change state in several steps are
marked ``deferred``: the SIGINT handler this module installs looks at the
frame the interrupt arrived in and, walking outwards, at the first marked
frame. A ``deferred`` one means the interrupt is held back and delivered
again a moment later, when the main thread has left the marked code; an
``interruptible`` one (or none at all) means it is raised there and then,
as Python's own handler would.

Blocking waits are never inside deferred code (Ctrl-C must still break a
wait that never ends): they go through ``acquire_into``, which takes a lock
and records it in one C-level step, so that an interrupt during or after the
wait leaves no doubt about what was taken. User code called from deferred
code (a deleter, a slot, a callback) is called through ``call_interruptibly``.

Nothing here runs on a hot path: marking a function adds its code object to a
set, once, and the handler runs only when an interrupt arrives.

A handler of the program's own that raises (a SIGTERM handler raising
``SystemExit``, say) cuts library code as Ctrl-C would: ``deferring(handler)``
makes one that waits the same way.

The handler is installed when this module is imported, in the main thread,
if SIGINT still has Python's default handler; ``signal.default_int_handler``
then names it too, so code that checks for the default handler (asyncio's
runner does) or restores it keeps working. ``OSV_IDIOMS_DEFER_INTERRUPTS=0``
in the environment leaves SIGINT alone.
"""

from __future__ import annotations

import _thread
import functools
import itertools
import os
import signal
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, ClassVar, ParamSpec, Protocol, TypeVar, final

from . import environment
from .checks import accepts, check_callable, kind_of
from .checks import timeout as timeout_seconds

__all__ = (
    "acquire_into",
    "call_interruptibly",
    "call_into",
    "deferred",
    "deferring",
    "installed",
    "interruptible",
)


class _Acquirable(Protocol):
    """What ``acquire_into`` takes: a lock whose type has ``acquire(blocking, timeout)``."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...


P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

_DEFERRED: set[CodeType] = set()
_INTERRUPTIBLE: set[CodeType] = set()


def deferred(fn: F) -> F:
    """Mark ``fn``: an interrupt arriving while its code runs waits until the caller has it back.

    Only for code that never blocks: an interrupt during a wait inside it
    would wait as long as the wait does.

    Args:
        fn: a function written in Python.

    Returns:
        ``fn`` itself, marked.

    Raises:
        TypeError: ``fn`` has no Python code object (a builtin, say).

    Examples:
        >>> from osv_idioms.interrupts import deferred
        >>> @deferred
        ... def move(source: list[int], target: list[int]) -> None:
        ...     target.append(source.pop())   # never half done by Ctrl-C
        >>> a, b = [1], []
        >>> move(a, b)
        >>> a, b
        ([], [1])
    """
    _DEFERRED.add(_code_of(fn, "deferred"))
    return fn


def interruptible(fn: F) -> F:
    """Mark ``fn``: an interrupt while it runs is raised at once, even when deferred code called it.

    Args:
        fn: a function written in Python.

    Returns:
        ``fn`` itself, marked.

    Raises:
        TypeError: ``fn`` has no Python code object.

    Examples:
        >>> from osv_idioms.interrupts import interruptible
        >>> @interruptible
        ... def run_user_callback(callback: object) -> None: ...
    """
    _INTERRUPTIBLE.add(_code_of(fn, "interruptible"))
    return fn


def _code_of(fn: object, mark: str) -> CodeType:
    code = getattr(fn, "__code__", None)
    if not isinstance(code, CodeType):
        raise TypeError(f"@{mark} marks a function written in Python, got {kind_of(fn)}")
    return code


@interruptible
def call_interruptibly(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``fn`` so that an interrupt reaches it, from code that is itself deferred.

    Args:
        fn: what to call.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Returns:
        What ``fn`` returns.

    Raises:
        TypeError: ``fn`` is not callable.

    Examples:
        >>> from osv_idioms.interrupts import call_interruptibly
        >>> call_interruptibly(max, 3, 7)
        7
    """
    if not callable(fn):
        raise TypeError(f"call_interruptibly() calls a callable, got {kind_of(fn)}")
    return fn(*args, **kwargs)


@interruptible
def acquire_into(
    held: list[Any],
    lock: _Acquirable,
    timeout: float = -1,
    acquire: Callable[..., bool] | None = None,
) -> bool:
    """Wait for ``lock``, appending it to ``held`` in the same C-level step; say if it was taken.

    An interrupt while it waits is raised here with the lock not taken; one
    raised after the lock was taken finds it in ``held``. Either way,
    releasing what ``held`` lists is exactly right.

    Args:
        held: the list the lock is appended to once taken.
        lock: the lock to wait for.
        timeout: seconds, by the library's one rule; -1 (the default) waits
            for ever, as ``acquire()`` takes it.
        acquire: the method to call as ``acquire(lock, True, timeout)``;
            ``type(lock).acquire`` by default.

    Returns:
        Whether the lock was taken.

    Raises:
        TypeError: ``held`` is not a list, or ``lock`` has no ``acquire``.
        ValueError: ``timeout`` is negative (other than -1) or nan.

    Examples:
        >>> import threading
        >>> from osv_idioms.interrupts import acquire_into
        >>> lock, held = threading.Lock(), []
        >>> acquire_into(held, lock), held == [lock], lock.locked()
        (True, True, True)
        >>> lock.release()
    """
    if not isinstance(held, list):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"acquire_into() notes the lock in a list, got {kind_of(held)}")
    method: Callable[..., bool] | None = (
        getattr(type(lock), "acquire", None) if acquire is None else acquire
    )
    if not callable(method):
        raise TypeError(f"acquire_into() takes a lock with acquire(), got {kind_of(lock)}")
    if timeout != -1 or isinstance(timeout, bool):  # -1 waits for ever, as acquire() takes it
        seconds = timeout_seconds(timeout)
        timeout = -1 if seconds is None else seconds
    before = len(held)
    # map() calls acquire, compress() keeps the lock when it said True, extend()
    # appends it: all in C, with no point between them where Python checks for
    # an interrupt.
    held.extend(itertools.compress((lock,), map(method, (lock,), (True,), (timeout,))))
    return len(held) > before


@interruptible
def call_into(results: list[R], fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> None:
    """Call ``fn(*args, **kwargs)`` and append what it returns to ``results``, in one C-level step.

    For deferred code that must let an interrupt stop a long call (a factory,
    say) yet never lose what the call made: an interrupt during the call is
    raised with ``results`` unchanged; one raised after it finds the result
    already in ``results``.

    Args:
        results: the list the result is appended to.
        fn: what to call.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Raises:
        TypeError: ``results`` is not a list, or ``fn`` is not callable.

    Examples:
        >>> from osv_idioms.interrupts import call_into
        >>> made = []
        >>> call_into(made, dict, a=1)
        >>> made
        [{'a': 1}]
    """
    if not isinstance(results, list):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"call_into() puts the result in a list, got {kind_of(results)}")
    if not callable(fn):
        raise TypeError(f"call_into() calls a callable, got {kind_of(fn)}")
    call = functools.partial(fn, **kwargs) if kwargs else fn
    results.extend(itertools.starmap(call, (args,)))


# --- the handler ---------------------------------------------------------------------


def _held_back(frame: FrameType | None) -> bool:
    """Whether the nearest marked frame, walking out from ``frame``, is deferred."""
    while frame is not None:
        code = frame.f_code
        if code in _DEFERRED:
            return True
        if code in _INTERRUPTIBLE:
            return False
        frame = frame.f_back
    return False


class _Redelivery:
    """The signals held back and on their way back; at most one of each kind is.

    Each is sent from another thread, as a real signal to the main thread,
    so that it arrives after the handler has returned (a signal tripped
    inside the handler would call it again at once) and wakes a main thread
    that has meanwhile started to sleep or wait. The set takes no lock: a
    handler may interrupt another handler, and the worst a race does is send
    one signal more, which is held back again or raised as one interrupt.
    """

    pending: ClassVar[set[int]] = set()


def _redeliver(signum: int) -> None:
    _Redelivery.pending.discard(signum)
    if not callable(signal.getsignal(signum)):
        # The program has let the signal go since (SIG_DFL, SIG_IGN, or a handler not set
        # from Python): CPython drops one that comes too late for its handler, and so does
        # this, rather than let SIG_DFL end a program that chose to handle it when it came.
        return
    main = threading.main_thread().ident
    if main is not None and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(main, signum)
    else:  # pragma: no cover - no pthread_kill (Windows)
        _thread.interrupt_main(signal.Signals(signum))


def _hold_back(signum: int) -> bool:
    """Arrange for ``signum`` to come again from a helper thread; False if none can start."""
    if signum in _Redelivery.pending:
        return True
    _Redelivery.pending.add(signum)
    try:
        _thread.start_new_thread(_redeliver, (signum,))
    except RuntimeError:  # out of threads, or CPython 3.12.1 at exit: nothing would send it
        _Redelivery.pending.discard(signum)
        return False
    return True


_python_default: Callable[[int, FrameType | None], object] = signal.default_int_handler


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler: Python's, except inside deferred library code."""
    if _held_back(frame) and _hold_back(signum):
        return
    _python_default(signum, frame)  # outside deferred code, or in it if unsendable


Handler = Callable[[int, FrameType | None], object]
"""A signal handler, as ``signal.signal`` calls it: ``handler(signum, frame)``."""


def deferring(handler: Handler) -> Handler:
    """``handler``, held back inside deferred library code as the library's SIGINT handler is.

    For a handler of one's own that raises, such as a SIGTERM handler that
    raises ``SystemExit`` to shut down: installed as
    ``signal.signal(signal.SIGTERM, deferring(handler))``, it is called once
    the main thread has left the marked code, never in the middle of a
    library operation, so what it raises unwinds through code with nothing
    half done. Python's own handler for SIGINT gets this when the library is
    imported; any other is the program's to wrap. A handler that only notes
    the signal loses nothing by it: it runs a moment later.

    Args:
        handler: a signal handler, callable as ``handler(signum, frame)``.

    Returns:
        A handler that calls ``handler`` outside deferred code, whose
        ``__wrapped__`` is ``handler``; or ``handler`` itself, if it holds
        back already (the library's SIGINT handler, or one ``deferring()``
        made).

    Raises:
        TypeError: ``handler`` is not callable as ``handler(signum, frame)``;
            ``signal.SIG_DFL`` and ``signal.SIG_IGN`` are not, since Python
            runs no code of its own for them.

    Examples:
        >>> import signal
        >>> from osv_idioms.interrupts import deferring
        >>> def stop(signum, frame):
        ...     raise SystemExit(128 + signum)
        >>> previous = signal.signal(signal.SIGTERM, deferring(stop))
        >>> signal.getsignal(signal.SIGTERM).__wrapped__ is stop
        True
        >>> _ = signal.signal(signal.SIGTERM, previous)
    """
    if isinstance(handler, signal.Handlers):
        raise TypeError(
            f"deferring() wraps a handler that Python calls; signal.{handler.name} is not "
            "one: Python runs no code for it, so there is nothing to hold back"
        )
    if isinstance(handler, _Deferring) or handler is _on_interrupt:
        return handler
    check_callable(handler, "deferring()'s handler", "handler(signum, frame)")
    if accepts(handler, 2) is False:
        name = getattr(handler, "__qualname__", handler)
        raise TypeError(
            "deferring()'s handler must be callable as handler(signum, frame); "
            f"{name!r} can't take two arguments"
        )
    return _Deferring(handler)


@final
class _Deferring:
    """What ``deferring()`` makes: a handler that calls the one it wraps outside deferred code."""

    __slots__ = ("__wrapped__",)

    def __init__(self, handler: Handler) -> None:
        self.__wrapped__ = handler

    def __call__(self, signum: int, frame: FrameType | None) -> object:
        if _held_back(frame) and _hold_back(signum):
            return None
        return self.__wrapped__(signum, frame)  # outside deferred code, or in it if unsendable

    def __repr__(self) -> str:
        return f"deferring({self.__wrapped__!r})"


def installed() -> bool:
    """Whether this module's SIGINT handler is the one Python calls now.

    >>> from osv_idioms.interrupts import installed
    >>> isinstance(installed(), bool)
    True
    """
    return signal.getsignal(signal.SIGINT) is _on_interrupt


def _install() -> None:
    if not environment.interrupts_deferred():
        return
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not _python_default:
        return  # someone chose another handler (or SIG_IGN): theirs it stays
    signal.signal(signal.SIGINT, _on_interrupt)
    signal.default_int_handler = _on_interrupt  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]


def _after_fork_in_child() -> None:
    _Redelivery.pending.clear()  # the threads that would have sent them are not in the child


os.register_at_fork(after_in_child=_after_fork_in_child)
_install()
