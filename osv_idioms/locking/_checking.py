"""Switching lock-order checking on and off, and asking what it has seen.

The checker itself is ``_lockdep``; these are its controls, the verbs users
call. ``OSV_LOCKDEP`` is honoured when this module is first imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from .. import checks, environment
from . import _lockdep
from ._anylock import check_all_locks
from ._mutex import set_lock_order_checking

__all__ = ("check_lock_order", "lock_order_checking", "recorded_lock_orders", "reset_lock_order")


def check_lock_order(
    on: bool = True,
    *,
    action: Literal["raise", "warn", "record"] = "raise",
    all_locks: bool = False,
    on_report: Callable[[str], object] | None = None,
) -> None:
    """Switch lock-order checking on or off; ``action`` says what an inversion does.

    Args:
        on: switch it on (True) or off (False).
        action: ``"raise"`` makes the acquisition that would close a cycle
            raise ``LockOrderError`` and not happen; ``"warn"`` emits
            ``LockOrderWarning`` and goes ahead; ``"record"`` only goes ahead.
        all_locks: also check every ``threading.Lock``, ``RLock`` and
            ``Condition`` made from now on, by any module; switching checking
            off undoes that.
        on_report: called with each report's text first, whatever the action,
            in the thread that made it.

    Raises:
        TypeError: ``on`` or ``all_locks`` is not a bool, ``action`` not a
            str, or ``on_report`` not callable.
        ValueError: ``action`` is not one of the three.

    Examples:
        >>> from osv_idioms.locking import Mutex
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
    set_lock_order_checking(on)
    check_all_locks(on and all_locks)


def lock_order_checking() -> bool:
    """Whether lock-order checking is on.

    >>> check_lock_order(True); lock_order_checking()
    True
    >>> check_lock_order(False); lock_order_checking()
    False
    """
    return _lockdep.state.enabled


def reset_lock_order() -> None:
    """Forget every order seen so far (for tests, or after a deliberate change of design).

    >>> from osv_idioms.locking import Mutex
    >>> check_lock_order(True)
    >>> with Mutex("first"), Mutex("second"):
    ...     pass
    >>> reset_lock_order(); recorded_lock_orders()
    {}
    >>> check_lock_order(False)
    """
    _lockdep.reset()


def recorded_lock_orders() -> dict[str, tuple[str, ...]]:
    """The orders seen so far: each lock class, and the classes taken while holding it.

    >>> from osv_idioms.locking import Mutex
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


if environment.lock_order_checking():
    check_lock_order(True)  # OSV_LOCKDEP: checking from the start
