"""What a forked child gets back: every lock the library made, free.

After ``os.fork()`` the child has only the thread that forked. A lock some
other thread held at that moment stays held in the child, and nobody is left
to release it: the child's next call that takes it waits for ever. CPython
frees its own locks in the child the same way (``threading``'s, and
``logging``'s handlers', which it keeps in a weak set for the purpose). So
every lock the library makes is registered here when it is made:
``free_in_child`` for locks made once, ``reset_in_child`` for a lock each
object owns, whose reset also finishes the steps a vanished thread left half
done. A lock the forking thread itself holds (an ``RLock`` says so) is left
held: that thread is still inside, and will release it.

Examples:
    >>> import os, threading, warnings
    >>> lock = threading.Lock()
    >>> free_in_child(lock)
    >>> taker = threading.Thread(target=lock.acquire)  # it ends holding the lock
    >>> taker.start(); taker.join()
    >>> with warnings.catch_warnings(action="ignore"):  # fork() with threads running
    ...     pid = os.fork()
    >>> if pid == 0:  # the child: the lock is free
    ...     os._exit(0 if lock.acquire(timeout=5) else 1)
    >>> os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), lock.locked()
    (0, True)
    >>> lock.release()
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType
from typing import Any, Protocol, TypeVar

from .checks import check_callable, kind_of

__all__ = ("free_in_child", "free_lock", "reset_in_child")

Owner = TypeVar("Owner")


class _ForkSafeLock(Protocol):
    def _at_fork_reinit(self) -> None: ...


_locks: list[_ForkSafeLock] = []  # locks made once: never dropped
_Entry = tuple[weakref.ref[Any], Callable[[Any], None]]
_owners: dict[int, _Entry] = {}  # by id of the ref


def free_lock(lock: object) -> bool:
    """Make ``lock`` free now, in a forked child, unless this thread holds it.

    Args:
        lock: a ``threading.Lock`` or ``RLock`` (or a subclass, such as
            ``osv_idioms.locking.Mutex``). Only an ``RLock`` knows its
            owner; a ``Lock`` is always freed, so the library calls no code
            that could fork while it holds one.

    Returns:
        True if it is free now; False if this thread holds it, and still does.

    Raises:
        TypeError: ``lock`` is not a lock.

    Examples:
        >>> import threading
        >>> lock = threading.RLock()
        >>> with lock:
        ...     free_lock(lock), lock.acquire(blocking=False)  # this thread's: left held
        (False, True)
        >>> lock.release()
        >>> free_lock(threading.Lock())
        True
    """
    _check_lock(lock, "free_lock()")
    return _free(lock)


def _free(lock: object) -> bool:
    """``free_lock`` for a lock already checked."""
    is_owned = getattr(lock, "_is_owned", None)
    if is_owned is not None and is_owned():
        return False
    getattr(lock, "_at_fork_reinit")()  # noqa: B009 - not in typeshed
    return True


def _check_lock(lock: object, where: str) -> None:
    """Refuse what a forked child could not free: anything but a lock of ``threading``'s."""
    if not callable(getattr(lock, "_at_fork_reinit", None)):
        raise TypeError(f"{where} takes threading.Lock or RLock objects, got {kind_of(lock)}")


def free_in_child(*locks: object) -> None:
    """Free each of ``locks`` in every child forked from now on (see ``free_lock``).

    For locks made once and kept for the life of the process, such as a
    module's; a lock each object owns goes through ``reset_in_child``.

    Args:
        locks: ``threading.Lock`` or ``RLock`` objects.

    Raises:
        TypeError: one of ``locks`` is not a lock; none is registered.

    Examples:
        >>> import threading
        >>> free_in_child(threading.Lock(), threading.RLock())
    """
    for lock in locks:  # every one checked before any is kept: all or nothing
        _check_lock(lock, "free_in_child()")
    _locks.extend(locks)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def reset_in_child(owner: Owner, reset: Callable[[Owner], None]) -> None:
    """Call ``reset(owner)`` in every child forked while ``owner`` is alive.

    ``owner`` is held weakly, so registering keeps nothing alive. ``reset``
    runs in the child before anything else can use ``owner``: it frees the
    owner's lock (``free_lock``) and repairs what a thread that held it may
    have left half done, since that thread is not in the child.

    Args:
        owner: an object that supports weak references.
        reset: a function of ``owner``; it must not hold ``owner`` itself,
            or ``owner`` lives as long as the process.

    Raises:
        TypeError: ``reset`` is not callable, or ``owner`` can't be weakly
            referenced; nothing is registered.

    Examples:
        >>> import threading
        >>> class Counter:
        ...     def __init__(self):
        ...         self.lock = threading.Lock()
        ...         reset_in_child(self, lambda counter: free_lock(counter.lock))
        >>> counter = Counter()
    """
    # Every signal and RCU container registers as it is made: a plain function
    # is checked here without asking inspect, which costs most of what check_callable does.
    if type(reset) is not FunctionType or reset.__code__.co_flags & CO_COROUTINE:
        check_callable(reset, "reset", "reset(owner)")
    try:
        ref = weakref.ref(owner, _forget)
    except TypeError:
        raise TypeError(
            f"reset_in_child() holds its owner weakly, and {kind_of(owner)} can't be: "
            "give its class a __weakref__ slot"
        ) from None
    _owners[id(ref)] = (ref, reset)  # the ref lives while listed: its id is unique


def _forget(ref: weakref.ref[Any], owners: dict[int, _Entry] = _owners) -> None:
    """The owner has gone (the ref is still alive here, so no other has its id yet).

    ``owners`` is bound at definition: an owner left in a module global goes
    at shutdown, possibly after this module's globals were cleared.
    """
    owners.pop(id(ref), None)


def _after_fork_in_child() -> None:
    for lock in _locks:  # checked when registered
        _free(lock)
    for ref, reset in list(_owners.values()):
        owner = ref()
        if owner is not None:
            reset(owner)


os.register_at_fork(after_in_child=_after_fork_in_child)
