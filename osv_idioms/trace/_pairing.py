"""Timed pairs: which tracepoint hit closes which, as OSv's ``scripts/trace.py`` pairs them.

One rule for every reader of pairs: the summaries and Chrome export, the
probes that ask for pairs only, and the exporters of ``osv_idioms.telemetry``.
"""

from __future__ import annotations

from ..checks import kind_of

__all__ = ("start_of",)

_PAIRED_ENDS = {"mutex_lock_wake": "mutex_lock_wait"}
_END_SUFFIXES = ("_ret", "_err")


def start_of(name: str) -> str | None:
    """The tracepoint a hit of ``name`` closes, if ``name`` ends a timed pair.

    The pairing rule of ``summary()``, ``chrome_trace()`` and ``perf
    report``, as OSv's ``scripts/trace.py`` has it: ``x_ret`` and ``x_err``
    close ``x``, and ``mutex_lock_wake`` closes ``mutex_lock_wait``. A hit
    closes the latest open start in the same thread.

    Args:
        name: a tracepoint name.

    Returns:
        The name of the start it closes, or None when ``name`` ends no pair.

    Raises:
        TypeError: ``name`` is not a str.

    Examples:
        >>> start_of("read_ret"), start_of("mutex_lock_wake"), start_of("read")
        ('read', 'mutex_lock_wait', None)
    """
    if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"start_of() takes a tracepoint name (a str), got {kind_of(name)}")
    if name in _PAIRED_ENDS:
        return _PAIRED_ENDS[name]
    for suffix in _END_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return None
