"""The environment variables the library reads, and what each one does.

Each is read once, when the module it governs is first imported:

``OSV_TRACE``
    Comma-separated tracepoint names or shell wildcards to record from the
    start, as OSv's ``--trace=`` option does: ``OSV_TRACE="mutex_*,sched_*"``.
    Read by ``osv_idioms.trace``.
``OSV_LOCKDEP``
    Any value but empty or ``0`` switches lock-order checking on for the
    library's ``Mutex`` (as ``locking.check_lock_order(True)`` does). Read by
    ``osv_idioms.locking``.
``OSV_IDIOMS_DEFER_INTERRUPTS``
    ``0`` leaves SIGINT as Python set it: Ctrl-C may then land in the middle
    of the library's multi-step state changes (see ``docs/threads.md``).
    Read by ``osv_idioms.interrupts``.

Examples:
    >>> sorted(VARIABLES)
    ['OSV_IDIOMS_DEFER_INTERRUPTS', 'OSV_LOCKDEP', 'OSV_TRACE']
    >>> trace_patterns(" mutex_* , ,sched_*")
    ['mutex_*', 'sched_*']
"""

from __future__ import annotations

import os

from .checks import kind_of

__all__ = ("VARIABLES", "interrupts_deferred", "lock_order_checking", "trace_patterns")

VARIABLES: dict[str, str] = {
    "OSV_TRACE": "tracepoint names or wildcards, comma-separated, recorded from the start",
    "OSV_LOCKDEP": "not empty and not 0: lock-order checking of Mutex on from the start",
    "OSV_IDIOMS_DEFER_INTERRUPTS": "0: leave SIGINT as Python set it",
}
"""Each variable, and in a line what it does."""


def trace_patterns(text: str | None = None) -> list[str]:
    """The patterns ``OSV_TRACE`` names (or ``text``, read the same way), blanks dropped.

    Args:
        text: a comma-separated list to read instead of the variable.

    Returns:
        The patterns, in order.

    Raises:
        TypeError: ``text`` is not a str or None.

    Examples:
        >>> trace_patterns("mutex_*, sched_switch")
        ['mutex_*', 'sched_switch']
    """
    if text is not None and not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"trace_patterns() takes a str of patterns or None, got {kind_of(text)}")
    value = os.environ.get("OSV_TRACE", "") if text is None else text
    return [pattern.strip() for pattern in value.split(",") if pattern.strip()]


def lock_order_checking() -> bool:
    """Whether ``OSV_LOCKDEP`` asks for lock-order checking from the start.

    >>> import os
    >>> lock_order_checking() == (os.environ.get("OSV_LOCKDEP", "").strip() not in ("", "0"))
    True
    """
    return os.environ.get("OSV_LOCKDEP", "").strip() not in ("", "0")


def interrupts_deferred() -> bool:
    """Whether SIGINT gets the library's handler (unless ``OSV_IDIOMS_DEFER_INTERRUPTS=0``).

    >>> import os
    >>> interrupts_deferred() == (os.environ.get("OSV_IDIOMS_DEFER_INTERRUPTS", "1") != "0")
    True
    """
    return os.environ.get("OSV_IDIOMS_DEFER_INTERRUPTS", "1").strip() != "0"
