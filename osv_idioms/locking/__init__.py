"""Scoped locking: OSv's ``WITH_LOCK``, ``DROP_LOCK`` and instrumented ``mutex``, plus lockdep.

Slide "Scoped locking": goto-cleanup C replaced by ``WITH_LOCK(p->lock) { ... }``,
which unlocks on every way out. Python's ``with lock:`` already does that; this
module adds what OSv's locking has and Python lacks: a recursive ``Mutex`` that
fires ``mutex_lock`` / ``mutex_lock_wait`` tracepoints, ``with_lock`` taking
several locks without deadlock, ``drop_lock``, and lock-order checking that
reports an inversion before it can deadlock.

Lock-order checking is off by default and then costs nothing; switch it on
with ``check_lock_order(True)``, or ``OSV_LOCKDEP=1`` in the environment
(see ``osv_idioms.environment``).

Examples:
    >>> from osv_idioms.locking import Mutex, with_lock
    >>> accounts, audit = Mutex("accounts"), Mutex("audit")
    >>> with with_lock(audit, accounts):   # any order: no deadlock with (accounts, audit)
    ...     accounts.owned() and audit.owned()
    True
"""

from __future__ import annotations

from ..faces import present
from ._anylock import CheckedLock
from ._checking import check_lock_order, lock_order_checking, recorded_lock_orders, reset_lock_order
from ._mutex import (
    Mutex,
    MutexStatistics,
    instrumented,
    trace_mutex_lock,
    trace_mutex_lock_wait,
    trace_mutex_lock_wake,
    trace_mutex_try_lock,
    trace_mutex_unlock,
)
from ._scoped import (
    AcquireLockable,
    Lockable,
    LockUnlockable,
    assert_held,
    drop_lock,
    with_lock,
)

__all__ = (
    "AcquireLockable",
    "CheckedLock",
    "LockUnlockable",
    "Lockable",
    "Mutex",
    "MutexStatistics",
    "assert_held",
    "check_lock_order",
    "drop_lock",
    "instrumented",
    "lock_order_checking",
    "recorded_lock_orders",
    "reset_lock_order",
    "trace_mutex_lock",
    "trace_mutex_lock_wait",
    "trace_mutex_lock_wake",
    "trace_mutex_try_lock",
    "trace_mutex_unlock",
    "with_lock",
)

present(__name__, globals())
