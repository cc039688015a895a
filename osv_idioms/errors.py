"""Every public exception and warning of ``osv_idioms``, each a subclass of the closest built-in.

Catch the built-in (``ValueError``, ``RuntimeWarning``) when the kind of
failure is what matters, or the class here when the source is.
"""

from __future__ import annotations

from typing import final

__all__ = (
    "BadFunctionCall",
    "BadWeakPtr",
    "ExpiredCallbackError",
    "GracePeriodTimeout",
    "LeakedHandleError",
    "LockNotHeldError",
    "LockOrderError",
    "LockOrderWarning",
    "LockTimeout",
    "ProbeFailedWarning",
    "RcuCallbackWarning",
    "RcuReaderExitedWarning",
    "RefCountError",
    "ReleasedHandleError",
    "TracepointError",
)


@final
class TracepointError(ValueError):
    """A tracepoint declaration that cannot work, reported where it is declared.

    >>> from osv_idioms.trace import tracepoint
    >>> @tracepoint("{x}")  # doctest: +ELLIPSIS
    ... def trace_doc_bad(m: object) -> None: ...
    Traceback (most recent call last):
    ...
    osv_idioms.errors.TracepointError: tracepoint 'doc_bad': template field {x} names no ...
    """


@final
class ProbeFailedWarning(RuntimeWarning):
    """A trace probe raised: it was removed, and the traced program went on."""


@final
class LockTimeout(TimeoutError):
    """``with_lock(..., timeout=...)`` could not take every lock in time; none is left held."""


@final
class LockOrderError(RuntimeError):
    """Two code paths take the same locks in opposite orders: they can deadlock.

    Raised by lock-order checking at the first acquisition that closes a cycle,
    before any thread blocks, with the stacks where each order was first seen.
    """


@final
class LockOrderWarning(RuntimeWarning):
    """The warning form of ``LockOrderError``, when lock-order checking is set to warn."""


@final
class LockNotHeldError(RuntimeError):
    """``assert_held`` or ``drop_lock`` found the lock not held as required."""


@final
class GracePeriodTimeout(TimeoutError):
    """``synchronize()`` or ``barrier()`` gave up: a read section stayed open past the timeout."""


@final
class RcuCallbackWarning(RuntimeWarning):
    """A callback run after a grace period raised; the callbacks after it still ran."""


@final
class RcuReaderExitedWarning(RuntimeWarning):
    """A thread ended inside a read section; grace periods stopped waiting for it."""


@final
class ReleasedHandleError(ValueError):
    """A released handle was used, as reading a closed file is a ``ValueError``."""


@final
class RefCountError(RuntimeError):
    """An intrusive reference count would go below zero; it was left unchanged."""


@final
class BadWeakPtr(ReferenceError):
    """``shared_from_this()`` on an object no ``SharedPtr`` owns (C++'s ``bad_weak_ptr``)."""


@final
class LeakedHandleError(RuntimeError):
    """Strict mode: a handle was garbage-collected without ``release()``."""


@final
class BadFunctionCall(RuntimeError):
    """An empty ``Function`` was called (C++'s ``std::bad_function_call``)."""


@final
class ExpiredCallbackError(ReferenceError):
    """A weakly bound method was called after its object was garbage-collected."""
