"""Scoped locking: OSv's ``WITH_LOCK``, ``DROP_LOCK`` and instrumented ``mutex``, plus lockdep.

Slide "Scoped locking": goto-cleanup C replaced by ``WITH_LOCK(p->lock) { ... }``,
which unlocks on every way out. Python's ``with lock:`` already does that; this
module adds what OSv's locking has and Python lacks: a recursive ``Mutex`` that
fires ``mutex_lock`` / ``mutex_lock_wait`` tracepoints, ``with_lock`` taking
several locks without deadlock, ``drop_lock``, and lock-order checking that
reports an inversion before it can deadlock.

>>> from osv_idioms.locking import Mutex, with_lock
>>> accounts, audit = Mutex("accounts"), Mutex("audit")
>>> with with_lock(audit, accounts):   # any order: no deadlock with (accounts, audit)
...     accounts.owned() and audit.owned()
True

Lock-order checking is off by default and then costs nothing; switch it on
with ``check_lock_order(True)`` or ``OSV_LOCKDEP=1`` in the environment.
"""

from __future__ import annotations

import os
from typing import Literal

from .. import checks
from . import _lockdep
from ._mutex import (
    Mutex,
    instrumented,
    trace_mutex_lock,
    trace_mutex_lock_wait,
    trace_mutex_lock_wake,
    trace_mutex_try_lock,
    trace_mutex_unlock,
)
from ._mutex import set_lock_order_checking as _set_lock_order_checking
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
    "LockUnlockable",
    "Lockable",
    "Mutex",
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


def check_lock_order(on: bool = True, *, action: Literal["raise", "warn"] = "raise") -> None:
    """Switch lock-order checking on or off; ``action`` says what an inversion does.

    With ``"raise"`` the acquisition that would close a cycle raises
    ``LockOrderError`` and does not happen; with ``"warn"`` it emits
    ``LockOrderWarning`` and goes ahead.

    >>> check_lock_order(True)
    >>> lock_order_checking()
    True
    >>> check_lock_order(False)
    """
    checks.flag(on, "on")
    if not isinstance(action, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"action must be 'raise' or 'warn', got {checks.kind_of(action)}")
    if action not in ("raise", "warn"):
        raise ValueError(f"action must be 'raise' or 'warn', got {action!r}")
    _lockdep.state.action = action
    _set_lock_order_checking(on)


def lock_order_checking() -> bool:
    """Whether lock-order checking is on."""
    return _lockdep.state.enabled


def reset_lock_order() -> None:
    """Forget every order seen so far (for tests, or after a deliberate change of design)."""
    _lockdep.reset()


def recorded_lock_orders() -> dict[str, tuple[str, ...]]:
    """The orders seen so far: each lock class, and the classes taken while holding it.

    >>> reset_lock_order()
    >>> check_lock_order(True)
    >>> outer, inner = Mutex("outer"), Mutex("inner")
    >>> with outer, inner:
    ...     pass
    >>> recorded_lock_orders()
    {'outer': ('inner',)}
    >>> check_lock_order(False)
    """
    return _lockdep.recorded_orders()


if os.environ.get("OSV_LOCKDEP", "").strip() not in ("", "0"):
    check_lock_order(True)
