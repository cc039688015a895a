"""``with_lock`` and ``drop_lock``: OSv's ``WITH_LOCK`` and ``DROP_LOCK`` for any lockable.

Several locks are taken with the try-and-back-off algorithm of C++
``std::lock``: block on one, try the others without waiting, and on a miss
release everything and start again by blocking on the lock that was busy. No
order between the locks of one group is needed, so two callers naming them in
opposite orders cannot deadlock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, final, runtime_checkable

from .. import checks
from ..errors import LockNotHeldError, LockTimeout
from ..interrupts import acquire_into, deferred
from . import _lockdep
from ._mutex import (
    Mutex,
    acquire_traced,
    instrumented,
    release_traced,
    try_in_group,
    wait_for_mutex,
)
from ._mutex import _Switch as _mutex_switch  # pyright: ignore[reportPrivateUsage]


@runtime_checkable
class AcquireLockable(Protocol):
    """A lock with ``threading``'s protocol: ``acquire(blocking, timeout)`` and ``release()``.

    For type checkers: ``with_lock`` and ``drop_lock`` take anything of this
    shape, or of ``LockUnlockable``'s.

    >>> import threading
    >>> lock: AcquireLockable = threading.Lock()
    >>> lock.acquire(timeout=1), lock.release()
    (True, None)
    """

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock; say whether it was taken.

        Args:
            blocking: wait for it (True) or only try (False).
            timeout: seconds to wait; -1 for ever.
        """
        ...

    def release(self) -> None:
        """Let it go."""
        ...


@runtime_checkable
class LockUnlockable(Protocol):
    """A lock with OSv's protocol: ``lock()``, ``unlock()`` and ``try_lock()``.

    >>> from osv_idioms.locking import Mutex
    >>> mutex: LockUnlockable = Mutex("osv")
    >>> mutex.try_lock(), mutex.unlock()
    (True, None)
    """

    def lock(self) -> object:
        """Take the lock, waiting as long as it takes."""
        ...

    def unlock(self) -> object:
        """Let it go."""
        ...

    def try_lock(self) -> bool:
        """Take it if that needs no wait; say whether it was taken."""
        ...


Lockable = AcquireLockable | LockUnlockable
"""Anything ``with_lock`` takes: threading's locks, conditions and semaphores, and ``Mutex``."""


def describe(lock: object) -> str:
    """How messages name a lock: a mutex by its label, anything else by type and address."""
    if isinstance(lock, Mutex):
        return f"mutex {lock.label!r}"
    if isinstance(lock, _LockUnlockAdapter):
        lock = lock.inner
    return f"{type(lock).__name__} at {id(lock):#x}"


@final
class _LockUnlockAdapter:
    """Gives an object with ``lock()``, ``unlock()`` and ``try_lock()`` the acquire protocol."""

    __slots__ = ("inner",)

    def __init__(self, inner: LockUnlockable) -> None:
        self.inner = inner

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking:
            return bool(self.inner.try_lock())
        if timeout >= 0:
            raise TypeError("a lock()/unlock() lockable has no timeout: use acquire()/release()")
        self.inner.lock()
        return True

    def release(self) -> None:
        self.inner.unlock()


_checking = _lockdep.state  # bound once: read on every entry
_watched = _mutex_switch  # instrumented while lock-order checking or a mutex tracepoint is on

# The C locks: taken with acquire_into, so an interrupt can't come between taking and noting.
_C_LOCKS = frozenset({type(threading.Lock()), type(threading.RLock())})
# Types known to have acquire()/release(); others are looked at once and remembered.
_ACQUIRE_TYPES: set[type] = {*_C_LOCKS, Mutex}
_LOCK_UNLOCK_TYPES: set[type] = set()


def _as_acquirable(lock: object) -> object:
    """``lock`` itself when it has acquire()/release(), else an adapter; a TypeError otherwise."""
    kind = type(lock)
    if kind in _ACQUIRE_TYPES:
        return lock
    if kind in _LOCK_UNLOCK_TYPES:
        return _LockUnlockAdapter(lock)  # type: ignore[arg-type]
    if callable(getattr(lock, "acquire", None)) and callable(getattr(lock, "release", None)):
        _ACQUIRE_TYPES.add(kind)
        return lock
    if all(callable(getattr(lock, name, None)) for name in ("lock", "unlock", "try_lock")):
        _LOCK_UNLOCK_TYPES.add(kind)
        return _LockUnlockAdapter(lock)  # type: ignore[arg-type]
    raise TypeError(
        "with_lock() takes objects with acquire()/release() or lock()/unlock()/try_lock(), "
        f"got {kind.__name__}"
    )


def _acquirable_all(locks: tuple[object, ...]) -> tuple[Any, ...]:
    return tuple(_as_acquirable(lock) for lock in locks)


def _original(lock: object) -> object:
    """The object the caller named (an adapter stands for a lock()/unlock() object)."""
    return lock.inner if isinstance(lock, _LockUnlockAdapter) else lock


def _is_recursive(lock: object) -> bool:
    """Whether the holder may take ``lock`` again: RLock, Mutex, or a Condition over one."""
    inner = getattr(lock, "_lock", lock) if isinstance(lock, threading.Condition) else lock
    return hasattr(inner, "_is_owned") or not hasattr(inner, "locked")


def _take(lock: Any, blocking: bool, timeout: float) -> bool:
    """Take one lock of a group while lock-order checking is on.

    The group is checked as a whole, so an instrumented mutex is taken without
    its own check (which would record an order inside the group).
    """
    if isinstance(lock, Mutex):
        return acquire_traced(lock, blocking, timeout)
    return bool(lock.acquire(blocking, timeout))


def _give(lock: Any) -> None:
    """Release one lock of a group; the group keeps the lock-order records itself."""
    if isinstance(lock, Mutex) and instrumented():
        release_traced(lock)
    else:
        lock.release()


@final
class with_lock:
    """Hold every lock given for the ``with`` block; release them all on every way out.

    OSv's ``WITH_LOCK``, for several locks at once. They may be named in any
    order: they are taken with ``std::lock``'s try-and-back-off, so no two
    callers can deadlock on them, and released in reverse order. Anything with
    ``acquire()``/``release()`` (threading's Lock, RLock, Condition, Semaphore;
    ``Mutex``) or ``lock()``/``unlock()``/``try_lock()`` can be named.

    Args:
        *locks: the locks, at least one, in any order.
        timeout: seconds to wait for all of them (None: for ever).

    Raises:
        TypeError: no lock was given, or one is not lockable (on entry).
        ValueError: ``timeout`` is negative or nan.
        LockTimeout: on entry, the timeout passed first; none is held.

    Examples:
        >>> import threading
        >>> a, b = threading.Lock(), Mutex("b")
        >>> with with_lock(a, b):
        ...     (a.locked(), b.owned())
        (True, True)
        >>> a.locked(), b.owned()
        (False, False)
    """

    __slots__ = ("_locks", "_recorded", "_timeout")

    def __init__(self, *locks: Lockable, timeout: float | None = None) -> None:
        if not locks:
            raise TypeError("with_lock() needs at least one lock")
        seconds = None if timeout is None else checks.timeout(timeout)  # None: the common case
        # Checked on entry, not here: the with statement is the call, and entry is where
        # the check is cheapest (an AttributeError from the fast path triggers it).
        self._locks: tuple[Any, ...] = locks
        self._timeout = seconds
        self._recorded = False  # True once entry told the lock-order checker: exit tells it too

    @deferred
    def __enter__(self) -> None:
        locks = self._locks
        count = len(locks)  # compared as a number: a tuple's length would narrow its type
        if self._timeout is not None or _watched.instrumented or count > 2:
            self._enter_general()
            return
        # One or two locks, no timeout, nothing watching: the common case, kept short.
        # Both are tried without waiting; only a busy lock sends it to the waiting path.
        # (Watched mutexes take the general path, which fires mutex_lock for the first.)
        first = locks[0]
        try:
            if first.acquire(False):
                if count == 1:
                    return
                try:
                    if locks[1].acquire(False):
                        return
                except BaseException:  # an AttributeError goes on to be adapted, below
                    first.release()
                    raise
                first.release()
        except AttributeError:
            self._adapt_or_refuse()
            self._enter_general()
            return
        self._take_all(_plain_take)

    def _adapt_or_refuse(self) -> None:
        """After an AttributeError: adapt lock()/unlock() objects, refuse non-lockables."""
        adapted = _acquirable_all(self._locks)  # a TypeError names the first non-lockable
        if adapted == self._locks:
            raise  # noqa: PLE0704 - the AttributeError came from inside a real lock: re-raise it
        self._locks = adapted

    def _enter_general(self) -> None:
        """Any number of locks, a timeout, lock-order checking: the whole algorithm."""
        self._locks = _acquirable_all(self._locks)
        if not _checking.enabled:
            self._take_all(_plain_take)
            return
        originals = [_original(lock) for lock in self._locks]
        for lock in originals:  # each against what is held; the group has no order within
            _lockdep.check(lock, _lockdep.class_of(lock), recursive=_is_recursive(lock))
        self._take_all(_take)
        for lock in originals:
            _lockdep.push_unchecked(lock)
        self._recorded = True

    def _take_all(self, take: Callable[[Any, bool, float], bool]) -> None:
        """``std::lock``: wait for one lock, try the rest; on a miss, back off, wait for that one.

        The wait can be interrupted (Ctrl-C breaks a wait that never ends);
        whatever was taken when the interrupt came is given back.
        """
        locks = self._locks
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        first = 0
        while True:
            taken: list[Any] = []
            try:
                if not _wait_for(take, locks[first], _remaining(deadline), taken):
                    raise self._timed_out(first)  # noqa: TRY301 - taken locks go back below
                for step in range(1, len(locks)):
                    index = (first + step) % len(locks)
                    if not _try_next(take, locks[index]):
                        first = index
                        break
                    taken.append(locks[index])
                else:
                    return
            except BaseException:
                _give_back(taken)
                raise
            _give_back(taken)
            time.sleep(0)  # let the holder of the busy lock run before trying again

    def _timed_out(self, index: int) -> LockTimeout:
        return LockTimeout(
            f"timed out after {self._timeout:g} s waiting for {describe(self._locks[index])}; "
            "no lock of the group is held"
        )

    @deferred
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        locks = self._locks
        if not self._recorded:  # plain releases, last named first
            if len(locks) == 2:  # written out: the loop below costs a tenth of the block
                locks[1].release()
                locks[0].release()
                return
            for lock in reversed(locks):
                lock.release()
            return
        self._recorded = False
        for lock in reversed(locks):
            _give(lock)
            _lockdep.pop(_original(lock))


def _plain_take(lock: Any, blocking: bool, timeout: float) -> bool:
    return bool(lock.acquire(blocking, timeout))


def _wait_for(
    take: Callable[[Any, bool, float], bool], lock: Any, timeout: float, taken: list[Any]
) -> bool:
    """Wait for ``lock`` with ``take``, noting it in ``taken`` in the same step as taking it."""
    if isinstance(lock, Mutex):
        return wait_for_mutex(lock, timeout, taken)
    if type(lock) in _C_LOCKS:
        return acquire_into(taken, lock, timeout)
    # Any other lockable: its acquire is Python, which an interrupt can cut short
    # anywhere; the best that can be done here is to note it as soon as it returns.
    if take(lock, True, timeout):
        taken.append(lock)
        return True
    return False


def _try_next(take: Callable[[Any, bool, float], bool], lock: Any) -> bool:
    """Try one more lock of the group; a traced mutex taken fires ``mutex_lock`` (see there)."""
    if isinstance(lock, Mutex) and instrumented():
        return try_in_group(lock)
    return take(lock, False, -1)


def _give_back(taken: list[Any]) -> None:
    for lock in reversed(taken):
        _give(lock)


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return -1
    return max(0.0, deadline - time.monotonic())


@final
class drop_lock:
    """Release a held lock for the ``with`` block and take it back on every way out.

    OSv's ``DROP_LOCK``. The calling thread must hold the lock exactly once.

    Args:
        lock: the lock to let go of for the block.

    Raises:
        TypeError: ``lock`` is not lockable.
        LockNotHeldError: on entry, the calling thread does not hold it.
        RuntimeError: on entry, it holds it more than once; nothing changes.

    Examples:
        >>> m = Mutex("queue")
        >>> with m:
        ...     with drop_lock(m):
        ...         inside = m.owned()
        ...     after = m.owned()
        >>> inside, after
        (False, True)
    """

    __slots__ = ("_lock", "_original")

    def __init__(self, lock: Lockable) -> None:
        self._lock: Any = _as_acquirable(lock)  # a TypeError here names what is not lockable
        self._original: object = lock

    @deferred
    def __enter__(self) -> None:
        _check_held_once(self._original)
        self._lock.release()  # an instrumented mutex updates its own records
        if not isinstance(self._original, Mutex):
            _lockdep.pop(self._original)

    @deferred  # the lock must come back whatever happens: Ctrl-C waits for it too
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lock = self._original
        if isinstance(lock, Mutex):
            lock.acquire()  # checks its own order when lock-order checking is on
            return
        checking = _lockdep.state.enabled
        if checking:
            key = _lockdep.check(lock, _lockdep.class_of(lock), recursive=_is_recursive(lock))
        self._lock.acquire()
        if checking:
            _lockdep.push(lock, key)  # pyright: ignore[reportPossiblyUnboundVariable]


def _check_held_once(lock: object) -> None:
    assert_held(lock)
    count: Callable[[], int] | None = getattr(lock, "_recursion_count", None)
    depth = count() if count is not None else 1
    if depth != 1:
        raise RuntimeError(
            f"can't drop {describe(lock)}: this thread holds it {depth} times, "
            "and drop_lock releases it only once"
        )


def assert_held(lock: object) -> None:
    """Raise ``LockNotHeldError`` unless the calling thread holds ``lock``.

    Mutexes, ``RLock`` and conditions know their owner. A plain ``Lock`` or
    semaphore does not: for those it checks that the lock is taken, by anyone.

    Args:
        lock: the lock a function requires its caller to hold.

    Raises:
        LockNotHeldError: the calling thread does not hold it.
        TypeError: ``lock`` is not a lock, or one whose state can't be read.

    Examples:
        >>> m = Mutex("db")
        >>> assert_held(m)
        Traceback (most recent call last):
        ...
        osv_idioms.errors.LockNotHeldError: mutex 'db' is not held by thread 'MainThread'
    """
    is_owned = getattr(lock, "_is_owned", None)
    if callable(is_owned):
        held = bool(is_owned())
    else:
        locked = getattr(lock, "locked", None)
        if not callable(locked):
            _as_acquirable(lock)  # a TypeError naming the type when it is no lock at all
            raise TypeError(f"can't tell whether {describe(lock)} is held: it has no locked()")
        held = bool(locked())
    if not held:
        me = threading.current_thread().name
        raise LockNotHeldError(f"{describe(lock)} is not held by thread {me!r}")
