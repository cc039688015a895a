"""The environment variables the library reads, and what each one does.

Each is read once, when the module it governs is first imported:

``OSV_TRACE``
    Comma-separated tracepoint names or shell wildcards to record from the
    start, as OSv's ``--trace=`` option does: ``OSV_TRACE="mutex_*,sched_*"``.
    Read by ``osv_idioms.trace``.
``OSV_TRACE_BUFFER``
    How many records the trace ring keeps (default 65536), for a program run
    without ``perf record --buffer-size``: ``OSV_TRACE_BUFFER=1000000``.
    Read by ``osv_idioms.trace``; ``trace.set_buffer_size()`` changes it later.
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
    ['OSV_IDIOMS_DEFER_INTERRUPTS', 'OSV_LOCKDEP', 'OSV_TRACE', 'OSV_TRACE_BUFFER']
    >>> trace_patterns(" mutex_* , ,sched_*")
    ['mutex_*', 'sched_*']
"""

from __future__ import annotations

import os

from .checks import kind_of

__all__ = (
    "VARIABLES",
    "interrupts_deferred",
    "lock_order_checking",
    "trace_buffer_size",
    "trace_patterns",
)

VARIABLES: dict[str, str] = {
    "OSV_TRACE": "tracepoint names or wildcards, comma-separated, recorded from the start",
    "OSV_TRACE_BUFFER": "how many records the trace ring keeps (default 65536)",
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


def trace_buffer_size(text: str | None = None) -> int | None:
    """The ring size ``OSV_TRACE_BUFFER`` asks for (or ``text``, read the same way); None if unset.

    Args:
        text: a value to read instead of the variable.

    Returns:
        The number of records, or None when the variable is unset or blank.

    Raises:
        TypeError: ``text`` is not a str or None.
        ValueError: the value is not a whole number of records from 1 up.

    Examples:
        >>> trace_buffer_size("1000000"), trace_buffer_size(" ")
        (1000000, None)
        >>> trace_buffer_size("lots")
        Traceback (most recent call last):
        ...
        ValueError: OSV_TRACE_BUFFER must be a number of records from 1 up, got 'lots'
    """
    if text is not None and not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"trace_buffer_size() takes a str or None, got {kind_of(text)}")
    value = (os.environ.get("OSV_TRACE_BUFFER", "") if text is None else text).strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"OSV_TRACE_BUFFER must be a number of records from 1 up, got {value!r}")
    return int(value)


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
