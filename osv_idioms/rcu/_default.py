"""The default domain's verbs: what ``rcu.read_lock()``, ``rcu.synchronize()`` ... call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typing_extensions import TypeVarTuple

from ._domain import Reader, default_domain

__all__ = ("barrier", "call_rcu", "dispose", "in_read_section", "read_lock", "synchronize")

_Ts = TypeVarTuple("_Ts")

read_lock: Callable[[], Reader] = default_domain.read_lock
"""The calling thread's read section in the default domain (see ``RcuDomain.read_lock``).

Bound once, so a read section costs no extra call; keep the returned object
in a hot loop (``section = read_lock()``, then ``with section:``).
"""


def synchronize(timeout: float | None = None) -> None:
    """Wait for every read section of the default domain that began before this call.

    Args:
        timeout: seconds to wait at most (None: for ever).

    Raises:
        RuntimeError: called inside a read section of the default domain.
        GracePeriodTimeout: ``timeout`` seconds passed first.

    Examples:
        >>> from osv_idioms.rcu import synchronize
        >>> synchronize(timeout=10)   # no section is open: returns at once
    """
    default_domain.synchronize(timeout)


def call_rcu(fn: Callable[[*_Ts], object], *args: *_Ts) -> None:
    """Run ``fn(*args)`` after a grace period of the default domain, on its reclaimer.

    Args:
        fn: the callback.
        *args: its arguments.

    Raises:
        TypeError: ``fn`` is not callable.

    Examples:
        >>> from osv_idioms.rcu import barrier, call_rcu
        >>> call_rcu(print, "after a grace period"); barrier()
        after a grace period
    """
    default_domain.call_rcu(fn, *args)


def barrier(timeout: float | None = None) -> None:
    """Wait until every callback queued in the default domain so far has run.

    Args:
        timeout: seconds to wait at most (None: for ever).

    Raises:
        RuntimeError: called inside a read section, or by an RCU callback.
        GracePeriodTimeout: ``timeout`` seconds passed first.

    Examples:
        >>> from osv_idioms.rcu import barrier
        >>> barrier(timeout=10)
    """
    default_domain.barrier(timeout)


def dispose(resource: Any) -> None:
    """Call ``resource.close()`` after a grace period of the default domain.

    Args:
        resource: an object with a ``close()`` method.

    Raises:
        TypeError: ``resource`` has no ``close()``.

    Examples:
        >>> import io
        >>> from osv_idioms.rcu import barrier, dispose
        >>> stream = io.StringIO()
        >>> dispose(stream); barrier(); stream.closed
        True
    """
    default_domain.dispose(resource)


def in_read_section() -> bool:
    """Whether the calling thread is inside a read section of the default domain.

    >>> from osv_idioms.rcu import in_read_section, read_lock
    >>> with read_lock():
    ...     in_read_section()
    True
    >>> in_read_section()
    False
    """
    return default_domain.in_read_section()
