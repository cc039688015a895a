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
from collections.abc import Callable
from typing import Literal

from .. import checks
from . import _lockdep
from ._anylock import CheckedLock
from ._anylock import check_all_locks as _check_all_locks
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
    "CheckedLock",
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


def check_lock_order(
    on: bool = True,
    *,
    action: Literal["raise", "warn", "record"] = "raise",
    all_locks: bool = False,
    on_report: Callable[[str], object] | None = None,
) -> None:
    """Switch lock-order checking on or off; ``action`` says what an inversion does.

    With ``"raise"`` the acquisition that would close a cycle raises
    ``LockOrderError`` and does not happen; with ``"warn"`` it emits
    ``LockOrderWarning`` and goes ahead; with ``"record"`` it only goes
    ahead. Whatever the action, ``on_report(message)`` is called with each
    report first, in the thread that made it. With ``all_locks=True``,
    every ``threading.Lock``, ``RLock`` and ``Condition`` made from then on,
    by any module, is checked as well; switching checking off undoes that.

    >>> reports = []
    >>> check_lock_order(True, action="record", on_report=reports.append)
    >>> a, b = Mutex("ra"), Mutex("rb")
    >>> with a, b:
    ...     pass
    >>> with b, a:   # reported, and taken
    ...     pass
    >>> print(reports[0].splitlines()[0])  # doctest: +NORMALIZE_WHITESPACE
    lock order inversion: thread 'MainThread' takes 'ra' while holding 'rb',
    but 'ra' -> 'rb' was seen before; these orders can deadlock
    >>> check_lock_order(False); reset_lock_order()
    """
    checks.flag(on, "on")
    checks.flag(all_locks, "all_locks")
    if not isinstance(action, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"action must be 'raise', 'warn' or 'record', got {checks.kind_of(action)}")
    if action not in ("raise", "warn", "record"):
        raise ValueError(f"action must be 'raise', 'warn' or 'record', got {action!r}")
    if on_report is not None:
        checks.check_callable(on_report, "on_report", "on_report(message)")
    _lockdep.state.action = action
    _lockdep.state.on_report = on_report
    _set_lock_order_checking(on)
    _check_all_locks(on and all_locks)


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
