"""The instrumented recursive mutex: OSv's ``mutex`` with its tracepoints.

``Mutex`` is a subclass of the C ``RLock``. While nothing watches it, its
``acquire``, ``__enter__`` and ``__exit__`` *are* the C methods, so a
``with`` block costs what an ``RLock`` costs. When one of its tracepoints is
switched on, or lock-order checking is, the class swaps in Python methods that
fire ``mutex_lock``, ``mutex_lock_wait``, ``mutex_lock_wake``,
``mutex_try_lock`` and ``mutex_unlock`` and keep the lock-order records; when
they are all off again it swaps the C methods back.
"""

from __future__ import annotations

import re
import threading
from _thread import RLock as _CRLock
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, final

from ..checks import kind_of
from ..errors import LockOrderError
from ..forks import free_in_child
from ..interrupts import acquire_into, deferred
from ..trace import tracepoint
from ..trace.activity import watch_activity
from . import _lockdep

_held = _lockdep.held
_checking = _lockdep.state  # bound once: read on every instrumented acquire
_chain_key = _lockdep.chain_key
_chains = _lockdep.chains  # the chains checked before: one lookup on the hot path
_CHAIN_MASK = (1 << 61) - 1

# The C lock's methods, called directly on the hot paths. The underscored ones are
# what threading.Condition uses; typeshed does not list them, hence getattr.
_c_acquire: Callable[..., bool] = _CRLock.acquire
_c_release: Callable[[Any], None] = _CRLock.release
_c_release_save: Callable[[Any], Any] = getattr(_CRLock, "_release_save")  # noqa: B009
_c_acquire_restore: Callable[[Any, Any], None] = getattr(_CRLock, "_acquire_restore")  # noqa: B009
_c_is_owned: Callable[[Any], bool] = getattr(_CRLock, "_is_owned")  # noqa: B009
_c_recursion_count: Callable[[Any], int] = getattr(_CRLock, "_recursion_count")  # noqa: B009
_C_STATE = re.compile(r"\bowner=(\d+) count=(\d+)")


def _c_state(lock: _CRLock) -> tuple[int, int]:
    """The C lock's owner ident and depth, as another thread sees them (``(0, 0)``: free).

    ``_thread.RLock`` tells its owner only its own depth (``_recursion_count``)
    and whether it owns it; no method reports the owner, or the depth, to
    another thread. Its ``repr`` does, from one read of the lock's state, on
    every interpreter this library supports: ``<locked _thread.RLock object
    owner=140... count=2 at 0x...>``. ``tests/test_locking.py`` checks that
    on each of them, so a change of format fails there rather than here.
    """
    match = _C_STATE.search(_CRLock.__repr__(lock))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@final
@dataclass(frozen=True, slots=True)
class MutexStatistics:
    """What ``Mutex.statistics()`` reports, at one moment.

    Attributes:
        name: the mutex's name, if it has one.
        lock_class: the class lock-order checking groups it in.
        locked: whether a thread holds it.
        owner: the thread holding it (None if free, or held by a thread
            Python does not know).
        owner_ident: that thread's ``threading.get_ident()``; 0 when free.
        depth: how many times the owner holds it; 0 when free.

    Examples:
        >>> m = Mutex("stats")
        >>> with m, m:
        ...     m.statistics().depth
        2
    """

    name: str | None
    lock_class: str
    locked: bool
    owner: threading.Thread | None
    owner_ident: int
    depth: int


class Mutex(_CRLock):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues] - final in typeshed only
    """A recursive mutex with an owner and a depth, as OSv's ``lockfree::mutex``.

    It has the ``threading.RLock`` protocol (``acquire(blocking=True,
    timeout=-1)``, ``release()``, ``with``), OSv's names (``lock()``,
    ``unlock()``, ``try_lock()``), and works as the lock of a
    ``threading.Condition``. Locks with the same ``name`` form one class for
    lock-order checking; unnamed ones are grouped by where they were created.

    >>> m = Mutex("db")
    >>> with m:
    ...     with m:
    ...         (m.owned(), m.depth)
    (True, 2)
    >>> m.owned(), m.depth
    (False, 0)
    """

    __slots__ = ("_class_hash", "_lock_class", "name")

    name: str | None

    def __init__(self, name: str | None = None) -> None:
        """A free mutex.

        Args:
            name: names the mutex in messages, and is its lock class for
                lock-order checking (mutexes of one name are one class); unnamed,
                its class is where it was created.

        Raises:
            TypeError: ``name`` is not a str or None.
        """
        if name is not None and not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a mutex name must be a str or None, got {kind_of(name)}")
        self.name = name
        self.lock_class = name if name is not None else f"mutex@{_lockdep.creation_site(1)}"

    @property
    def lock_class(self) -> str:
        """The class lock-order checking groups this mutex in: its name, else its creation site."""
        return self._lock_class

    @lock_class.setter
    def lock_class(self, key: str) -> None:
        self._lock_class = key
        self._class_hash = hash(key)  # read on every checked __enter__

    def __repr__(self) -> str:
        depth = self.depth
        held = f"held by {_thread_name(self.owner_ident)!r} depth {depth}" if depth else "free"
        return f"<Mutex {self.label!r} {held}>"

    @property
    def label(self) -> str:
        """The name, or the creation site for an unnamed mutex, as messages show it."""
        return self.name if self.name is not None else self.lock_class

    @property
    def depth(self) -> int:
        """How many times the owner holds it (0 when free), as seen from any thread."""
        return int(_c_recursion_count(self)) if self.owned() else _c_state(self)[1]

    def owned(self) -> bool:
        """Whether the calling thread holds it."""
        return bool(_c_is_owned(self))

    @property
    def owner(self) -> threading.Thread | None:
        """The thread holding it; None when it is free or held by a thread Python does not know."""
        return _thread_of(self.owner_ident)

    @property
    def owner_ident(self) -> int:
        """The ``threading.get_ident()`` of the thread holding it, 0 when it is free."""
        return threading.get_ident() if self.owned() else _c_state(self)[0]

    def statistics(self) -> MutexStatistics:
        """Who holds it and how deeply, at one moment, as a frozen record.

        The owner and depth are read together, so they agree even while other
        threads take and release it. How many threads wait is not known: the
        C lock keeps no count of its waiters.

        >>> m = Mutex("db")
        >>> with m:
        ...     stats = m.statistics()
        >>> stats.locked, stats.owner is threading.current_thread(), stats.depth
        (True, True, 1)
        >>> m.statistics()  # doctest: +NORMALIZE_WHITESPACE
        MutexStatistics(name='db', lock_class='db', locked=False, owner=None,
                        owner_ident=0, depth=0)
        """
        if self.owned():
            ident, depth = threading.get_ident(), int(_c_recursion_count(self))
        else:
            ident, depth = _c_state(self)
        return MutexStatistics(
            name=self.name,
            lock_class=self.lock_class,
            locked=depth > 0,
            owner=_thread_of(ident),
            owner_ident=ident,
            depth=depth,
        )

    def try_lock(self) -> bool:
        """Take it if that needs no wait; return whether it was taken (OSv's ``try_lock``)."""
        return self.acquire(False)

    def release(self) -> None:
        """Release one level; the last release frees it for other threads.

        Raises:
            RuntimeError: the calling thread does not hold it; nothing changes.
        """
        _checked_release(self)

    unlock = release
    lock = _c_acquire  # swapped with acquire while the mutex is instrumented


def _thread_of(ident: int) -> threading.Thread | None:
    """The live thread with ``ident`` (a scan: owners are looked up rarely, for messages)."""
    if not ident:
        return None
    return next((t for t in threading.enumerate() if t.ident == ident), None)


def _thread_name(ident: int) -> str:
    thread = _thread_of(ident)
    return thread.name if thread is not None else f"thread {ident}"


def _checked_release(mutex: Mutex) -> None:
    try:
        _c_release(mutex)
    except RuntimeError:
        me = threading.current_thread().name
        owner = mutex.owner_ident
        holder = f"it is held by {_thread_name(owner)!r}" if owner else "it is not held"
        raise RuntimeError(
            f"can't release mutex {mutex.label!r} from thread {me!r}: {holder}"
        ) from None


# --- tracepoints, declared with OSv's names -------------------------------------------


@tracepoint("{m!r}")
def trace_mutex_lock(m: Mutex) -> None:
    """A thread is about to take ``m``."""


@tracepoint("{m!r}")
def trace_mutex_lock_wait(m: Mutex) -> None:
    """``m`` is held by another thread: the caller is about to block."""


@tracepoint("{m!r}")
def trace_mutex_lock_wake(m: Mutex) -> None:
    """A thread that blocked on ``m`` woke up (with it, or after its timeout)."""


@tracepoint("{m!r} {success}")
def trace_mutex_try_lock(m: Mutex, success: bool) -> None:
    """A non-blocking attempt on ``m`` and whether it succeeded."""


@tracepoint("{m!r}")
def trace_mutex_unlock(m: Mutex) -> None:
    """A thread released one level of ``m``."""


# --- the instrumented methods ---------------------------------------------------------


class _Validator(threading.local):
    """A private lock per thread, used only to check ``acquire`` arguments exactly as C does."""

    def __init__(self) -> None:
        self.lock = _CRLock()


_validator = _Validator()


def _check_arguments(blocking: Any, timeout: Any) -> None:
    """Raise what ``RLock.acquire(blocking, timeout)`` raises for these arguments, if anything.

    The validator is this thread's own and never contended, so it never waits.
    """
    lock = _validator.lock
    if _c_acquire(lock, blocking, timeout):
        _c_release(lock)


@deferred
def acquire_traced(self: Mutex, blocking: bool = True, timeout: float = -1) -> bool:
    """Take ``self`` firing the tracepoints, without lock-order checking.

    ``with_lock`` uses it: the group is checked as a whole.
    """
    if blocking is not True or timeout != -1:
        _check_arguments(blocking, timeout)
        if not blocking:
            got = bool(_c_acquire(self, False))
            trace_mutex_try_lock(self, got)
            return got
    trace_mutex_lock(self)
    return bool(_c_acquire(self, False)) or _wait_giving_back(self, timeout)


@deferred
def try_in_group(mutex: Mutex) -> bool:
    """Try ``mutex`` as one lock of a ``with_lock`` group, without lock-order checking.

    Taken, it fires ``mutex_lock``, as every other way of taking a mutex
    does, so counting ``mutex_lock`` counts each lock a group takes; found
    busy (the group then backs off), it fires ``mutex_try_lock`` with
    ``success`` False.
    """
    got = bool(_c_acquire(mutex, False))
    if got:
        trace_mutex_lock(mutex)
    else:
        trace_mutex_try_lock(mutex, False)
    return got


def wait_for_mutex(mutex: Mutex, timeout: float, held: list[Any]) -> bool:
    """Wait for ``mutex``, firing ``mutex_lock_wait`` and ``_wake``; note it in ``held`` as taken.

    Ctrl-C can break the wait; whatever the interrupt finds taken is in ``held``.
    """
    trace_mutex_lock(mutex)
    if _c_acquire(mutex, False):
        held.append(mutex)
        return True
    trace_mutex_lock_wait(mutex)
    got = acquire_into(held, mutex, timeout, _c_acquire)
    trace_mutex_lock_wake(mutex)
    return got


def _wait_giving_back(mutex: Mutex, timeout: float) -> bool:
    """Wait for ``mutex`` (busy when this is called); an interrupt leaves it not taken."""
    held: list[Any] = []
    trace_mutex_lock_wait(mutex)
    try:
        got = acquire_into(held, mutex, timeout, _c_acquire)
    except BaseException:
        for taken in held:
            _c_release(taken)
        raise
    trace_mutex_lock_wake(mutex)
    return got


def release_traced(self: Mutex) -> None:
    """Release one level firing ``mutex_unlock``, without touching the lock-order records."""
    try:
        _c_release(self)
    except RuntimeError:
        _checked_release(self)  # raises the message naming both threads
    trace_mutex_unlock(self)


@deferred
def _traced_acquire(self: Mutex, blocking: bool = True, timeout: float = -1) -> bool:
    if not _checking.enabled or _c_is_owned(self):
        return acquire_traced(self, blocking, timeout)  # a recursive level makes no order
    # First level with lock-order checking on: check, take, record. This is the hot
    # path of a checked program, so ``acquire_traced`` is written out here.
    if blocking is not True or timeout != -1:
        _check_arguments(blocking, timeout)  # a bad call is a TypeError, not an order report
        if not blocking:  # a trylock: held once taken, but never checked, so never reported
            got = acquire_traced(self, False, timeout)
            if got:
                _lockdep.push_unchecked(self)
            return got
    key = _lockdep.check(self, self.lock_class, recursive=True)
    if _Switch.tracing:
        got = acquire_traced(self, blocking, timeout)
    else:  # checking without tracing: skip the (empty) tracepoint calls
        got = bool(_c_acquire(self, False)) or _wait_giving_back(self, timeout)
    if got:
        _held.entries += (self, key)
    return got


def _forget(self: Mutex) -> None:
    """Drop the mutex from this thread's held list when its last level goes."""
    _lockdep.pop(self)


@deferred
def _traced_release(self: Mutex) -> None:
    if _c_recursion_count(self) == 1:  # the last level (0 when not owned)
        _forget(self)
    release_traced(self)


@deferred
def _traced_exit(self: Mutex, exc_type: object, exc: object, tb: object) -> None:
    if _c_recursion_count(self) == 1:  # ``_forget``, written out: this is the hot path
        entries = _held.entries
        if entries and entries[-2] is self:
            del entries[-2:]
        else:
            _lockdep.pop(self)
    try:
        _c_release(self)
    except RuntimeError:
        _checked_release(self)  # raises the message naming both threads
    if _Switch.tracing:
        trace_mutex_unlock(self)


@deferred
def _checked_exit(self: Mutex, exc_type: object, exc: object, tb: object) -> None:
    """``_traced_exit`` without the tracepoint: installed while only checking is on."""
    if _c_recursion_count(self) == 1:
        entries = _held.entries
        if entries and entries[-2] is self:
            del entries[-2:]
        else:
            _lockdep.pop(self)
    try:
        _c_release(self)
    except RuntimeError:
        _checked_release(self)  # raises the message naming both threads


@deferred
def _checked_enter(self: Mutex) -> bool:
    """``with mutex:`` under lock-order checking: the hot path of a checked program.

    A chain of held classes seen before costs one set lookup; everything
    else (tracing, a recursive level, a chain never seen) goes the long way.
    """
    if _c_is_owned(self):
        return _traced_acquire(self)
    entries = _held.entries
    below: int = entries[-1] if entries else 0  # type: ignore[assignment]  # a chain key
    key = (below * 1_000_003 + self._class_hash) & _CHAIN_MASK  # pyright: ignore[reportPrivateUsage]
    if key not in _chains:  # chain_key(), written out: a chain never seen is checked
        key = _lockdep.check_new_chain(self, self._lock_class, key, recursive=True)  # pyright: ignore[reportPrivateUsage]
    if not _c_acquire(self, False) and not _wait_giving_back(self, -1):
        return False  # pragma: no cover - a wait for ever ends taken
    entries += (self, key)
    return True


@deferred
def _traced_release_save(self: Mutex) -> Any:
    """``Condition.wait`` releases every level at once: the mutex is free while it waits."""
    saved = _c_release_save(self)
    _lockdep.pop(self)
    trace_mutex_unlock(self)
    return saved


@deferred
def _traced_acquire_restore(self: Mutex, saved: Any) -> None:
    """``Condition.wait`` takes the mutex back: an acquisition like any other, and checked.

    The condition's contract is that ``wait()`` returns holding the lock, so a
    report raised here is raised once the mutex is taken back.
    """
    reported: LockOrderError | None = None
    key = 0
    if _checking.enabled:
        try:
            key = _lockdep.check(self, self.lock_class, recursive=True)
        except LockOrderError as error:
            reported = error
            entries = _held.entries
            key = _lockdep.chain_key(entries[-1] if entries else 0, self.lock_class)  # type: ignore[arg-type]
    trace_mutex_lock(self)
    _c_acquire_restore(self, saved)
    if _checking.enabled:
        _lockdep.push(self, key)
    if reported is not None:
        raise reported


_TRACED = {
    "acquire": _traced_acquire,
    "lock": _traced_acquire,
    "release": _traced_release,
    "unlock": _traced_release,
    "__enter__": _traced_acquire,
    "__exit__": _traced_exit,
    "_release_save": _traced_release_save,
    "_acquire_restore": _traced_acquire_restore,
}
# Only lock-order checking on: a with statement takes the shortest path there is.
_CHECKED = {**_TRACED, "__enter__": _checked_enter, "__exit__": _checked_exit}
_PLAIN = {name: Mutex.__dict__.get(name) for name in _TRACED}


class _Switch:
    """Why the mutex is instrumented: its tracepoints, lock-order checking, or both."""

    tracing = False
    instrumented = False
    methods = ""  # which set is installed: "traced", "checked" or "" (the C lock's)
    lock = threading.Lock()


free_in_child(_Switch.lock)


@deferred
def _apply() -> None:
    """Install the Python methods while anything watches, the C ones otherwise."""
    with _Switch.lock:
        methods: dict[str, Any]
        if _Switch.tracing:
            methods, wanted = _TRACED, "traced"
        elif _lockdep.state.enabled:
            methods, wanted = _CHECKED, "checked"
        else:
            methods, wanted = _PLAIN, ""
        if wanted == _Switch.methods:
            return
        for name, method in methods.items():
            if method is None:
                if name in Mutex.__dict__:
                    delattr(Mutex, name)  # back to the C lock's own method
            else:
                setattr(Mutex, name, method)
        _Switch.methods = wanted
        _Switch.instrumented = bool(wanted)


def _on_tracing(active: bool) -> None:
    _Switch.tracing = active
    _apply()


def instrumented() -> bool:
    """Whether mutexes currently run their instrumented methods.

    They do while a ``mutex_*`` tracepoint is counted, recorded or probed, or
    lock-order checking is on; otherwise a ``Mutex`` costs what an ``RLock`` does.

    >>> from osv_idioms.trace import count
    >>> before = instrumented()
    >>> with count("mutex_lock"):
    ...     instrumented()
    True
    >>> instrumented() == before
    True
    """
    return _Switch.instrumented


def set_lock_order_checking(on: bool) -> None:
    """Switch lock-order checking and the mutex's methods together."""
    _lockdep.state.enabled = on
    _apply()


watch_activity("mutex_*", _on_tracing)
