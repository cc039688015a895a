"""What the shared and the intrusive handles both need: the default deleter, names, lock stripes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..forks import free_in_child

__all__ = ("close_if_closeable", "described", "stripe_for")


def close_if_closeable(obj: object) -> None:
    """The default deleter: ``obj.close()`` when it has one, else nothing.

    Args:
        obj: the resource whose last owner let go.

    Examples:
        >>> class Device:
        ...     def close(self) -> None:
        ...         print("closed")
        >>> close_if_closeable(Device()); close_if_closeable(42)
        closed
    """
    close = getattr(obj, "close", None)
    if callable(close):
        close()


def described(obj: object) -> str:
    """An object as messages name it: its type and address."""
    return f"{type(obj).__name__} object at {id(obj):#x}"


def _striped_locks() -> Callable[[object], threading.RLock]:
    """``stripe_for``, holding its locks in a closure rather than a module global.

    A fixed set of locks, picked by identity: a count or a weak count changes
    under one of them, so no object needs a lock of its own. 64 keeps two
    threads working on different objects from meeting on one lock more than 1
    time in 64. In a closure, because a reference released while the
    interpreter shuts down may outlive this module's globals.

    The garbage collector may start while a thread holds a stripe, and a
    leaked handle it frees releases its object in that same thread, maybe on
    the same stripe. So the locks are reentrant, or that thread would wait for
    itself for ever. Reentry is harmless: a holder reads a count and writes it
    back with no call in between, and the collector starts only at an
    allocation or after a call, so its releases come before the read or after
    the write. The one allocation in between is the ``AttributeError`` of a
    count never taken; no handle holds such an object, so nothing the
    collector runs there changes that count.
    """
    stripes = tuple(threading.RLock() for _ in range(64))
    free_in_child(*stripes)
    count = len(stripes)

    def stripe_for(obj: object) -> threading.RLock:
        """The lock ``obj``'s count changes under (the low 4 bits of an address are alignment)."""
        return stripes[(id(obj) >> 4) % count]

    return stripe_for


stripe_for = _striped_locks()
