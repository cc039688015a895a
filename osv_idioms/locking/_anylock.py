"""Every ``threading`` lock checked: ``check_lock_order(True, all_locks=True)``.

``threading.Lock`` and ``threading.RLock`` are swapped for factories of
checked locks while it is on, so every lock made from then on, by any
module (``queue``, ``logging``, ``concurrent.futures``, the program's own, a
library's), joins lock-order checking; ``threading.Condition`` makes its
default lock with ``threading.RLock``, so conditions are covered too. A
checked ``RLock`` is a ``Mutex`` classed as ``RLock@<where it was made>``; a
checked ``Lock`` is a ``CheckedLock``, a thin wrapper, because the C lock
cannot be subclassed.

What it cannot see: locks made before it was switched on, locks a module
took by name at import (``from threading import Lock``), and locks inside C
extensions.
"""

from __future__ import annotations

import sys
import threading
from _thread import RLock as _CRLock
from _thread import get_ident
from types import FrameType, TracebackType
from typing import Any, final

from ..interrupts import acquire_into, deferred
from . import _lockdep
from ._mutex import Mutex

_checking = _lockdep.state
_ORIGINAL_LOCK = threading.Lock
_ORIGINAL_RLOCK = threading.RLock
_C_LOCK_TYPE = type(_ORIGINAL_LOCK())


class _Validator(threading.local):
    """A private lock per thread, to refuse bad ``acquire`` arguments exactly as the C lock does."""

    def __init__(self) -> None:
        self.lock = _ORIGINAL_LOCK()


_validator = _Validator()

SELF_WAIT_S = 1.0
"""How long a thread may wait for a ``Lock`` it holds itself before that is reported."""


@final
class CheckedLock:
    """A non-recursive lock that takes part in lock-order checking, for ``threading.Lock``.

    It has the ``threading.Lock`` protocol (``acquire(blocking, timeout)``,
    ``release()``, ``locked()``, ``with``, the same refusals and the same
    ``repr``). A blocking acquisition, with no timeout, of a lock the thread
    itself holds is reported: it waits for ever unless another thread releases
    it. ``check_lock_order(True, all_locks=True)`` makes every new
    ``threading.Lock`` one of these.

    >>> lock = CheckedLock()
    >>> with lock:
    ...     lock.locked(), lock.held_here()
    (True, True)
    >>> lock.locked()
    False
    """

    __slots__ = ("__weakref__", "_holder", "_lock", "lock_class")

    def __init__(self) -> None:
        self._lock = _ORIGINAL_LOCK()
        self._holder = 0  # the thread that took it, 0 when free: for this thread's held list
        self.lock_class: str = f"Lock@{_lockdep.creation_site(1)}"

    @deferred
    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock, as ``threading.Lock.acquire`` does, checking its order first.

        Args:
            blocking: wait for it (True) or only try (False).
            timeout: seconds to wait; -1 for ever.

        Returns:
            Whether it was taken.

        Raises:
            ValueError: as ``threading.Lock.acquire``, for a timeout with
                ``blocking=False`` or a negative timeout other than -1.
            LockOrderError: with ``action="raise"``, taking it would invert an
                order seen before; it is not taken.
        """
        lock = self._lock
        if not _checking.enabled:
            got = bool(lock.acquire(blocking, timeout))
        elif blocking is not True or timeout != -1:
            got = self._acquire_trying(blocking, timeout)
        else:
            key = _lockdep.check(self, self.lock_class, recursive=None)
            got = bool(lock.acquire(False)) or self._wait_reporting_self_waits()
            if got:
                _lockdep.push(self, key)
        if got:
            self._holder = get_ident()
        return got

    def _acquire_trying(self, blocking: bool, timeout: float) -> bool:
        """A trylock or a timed acquire: it can't wait for ever, so it is never reported."""
        check = _validator.lock
        if check.acquire(blocking, timeout):  # the C lock's own refusals, for the same arguments
            check.release()
        got = bool(self._lock.acquire(False)) or (bool(blocking) and self._wait(timeout))
        if got:
            _lockdep.push_unchecked(self)
        return got

    def _wait_reporting_self_waits(self) -> bool:
        """Wait for ever; if this thread holds the lock itself, say so after a second of it.

        Python lets another thread release a ``Lock``, and taking it again is how
        a thread waits for that, so holding it is no report by itself; but one
        still held by this thread after a second of waiting very likely never
        comes back.
        """
        if self._holder != get_ident():  # another thread holds it: wait, as for any lock
            return self._wait(-1)
        if self._wait(SELF_WAIT_S):
            return True
        if self.held_here():  # a raise here leaves it held, as the caller found it
            _lockdep.report_self_wait(self, self.lock_class, SELF_WAIT_S)
        return self._wait(-1)

    def _wait(self, timeout: float) -> bool:
        held: list[Any] = []
        try:
            return acquire_into(held, self._lock, timeout)  # Ctrl-C can end the wait
        except BaseException:
            for taken in held:
                taken.release()
            raise

    @deferred
    def release(self) -> None:
        """Release the lock (from any thread, as ``threading.Lock`` allows)."""
        self._lock.release()  # first: a lock not held raises, and nothing else changes
        self._holder = 0
        if _checking.enabled:
            _lockdep.pop(self)

    def locked(self) -> bool:
        """Whether the lock is held, by any thread."""
        return self._lock.locked()

    def held_here(self) -> bool:
        """Whether this thread took the lock and it was not released since (by anyone)."""
        return self._holder == get_ident() and self._lock.locked()

    def _at_fork_reinit(self) -> None:
        """What ``threading`` calls in a forked child for the locks it resets."""
        getattr(self._lock, "_at_fork_reinit")()  # noqa: B009 - not in typeshed
        self._holder = 0

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return repr(self._lock)  # as threading.Lock shows itself: "<unlocked _thread.lock ...>"


class _CheckedRLock(Mutex):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues] - RLock is final in typeshed only
    """``threading.RLock()`` while every lock is checked: a ``Mutex`` that shows itself as one."""

    __slots__ = ()
    __repr__ = _CRLock.__repr__


def _checked_rlock(*args: Any, **kwargs: Any) -> Mutex:
    """``threading.RLock()`` while every lock is checked: a mutex classed by where it was made."""
    if args or kwargs:
        raise TypeError(f"RLock() takes no arguments, got {len(args) + len(kwargs)}")
    if _for_a_thread_itself(sys._getframe(1)):  # pyright: ignore[reportPrivateUsage]
        return _ORIGINAL_RLOCK()  # type: ignore[return-value]
    mutex = _CheckedRLock()
    mutex.lock_class = "RLock@" + mutex.lock_class.removeprefix("mutex@")
    return mutex


class _LockType(type):
    """So that ``isinstance(lock, threading.Lock)`` holds for checked and C locks alike."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, CheckedLock | _C_LOCK_TYPE)


class _CheckedLockFactory(metaclass=_LockType):
    """``threading.Lock`` while every lock is checked: ``threading.Lock()`` makes a checked lock.

    A class rather than a function, since from 3.13 ``threading.Lock`` is one
    and code may test ``isinstance(lock, threading.Lock)``; a thread's own
    bookkeeping (its events and conditions) still gets a C lock.
    """

    def __new__(cls) -> Any:
        if _for_a_thread_itself(sys._getframe(1)):  # pyright: ignore[reportPrivateUsage]
            return _ORIGINAL_LOCK()
        return CheckedLock()


def _for_a_thread_itself(frame: FrameType | None) -> bool:
    """Whether ``threading`` is making the lock for a ``Thread``'s own events and conditions.

    Those are the thread's bookkeeping, not the program's locks; checking them
    would also mean asking which thread is running while ``threading`` is
    still deciding that, for a thread it has not seen before.
    """
    while frame is not None and frame.f_code.co_filename == threading.__file__:
        if isinstance(frame.f_locals.get("self"), threading.Thread):
            return True
        frame = frame.f_back
    return False


def check_all_locks(on: bool) -> None:
    """Make ``threading``'s lock factories make checked locks (or the C ones again)."""
    factories: dict[str, object] = {
        "Lock": _CheckedLockFactory if on else _ORIGINAL_LOCK,
        "RLock": _checked_rlock if on else _ORIGINAL_RLOCK,
    }
    for name, factory in factories.items():  # typeshed has them as types of the C locks
        setattr(threading, name, factory)


def all_locks_checked() -> bool:
    """Whether ``threading.Lock`` and ``threading.RLock`` make checked locks now."""
    return vars(threading)["Lock"] is _CheckedLockFactory
