"""The argument checks every module shares: one timeout rule, strict flags, callables.

Bad input gets a clear error at the call that caused it, before anything
changes: ``TypeError`` for the wrong type, ``ValueError`` for a wrong value,
each message naming what was expected and what arrived. The rules live here
once, so ``with_lock``, ``synchronize`` and ``barrier`` can't disagree about
what a timeout is.

The timeout rule: ``None`` waits for ever; a finite number of seconds ``>= 0``
waits that long; ``inf``, and any number too large for the platform's timed
waits (``threading.TIMEOUT_MAX``, about 292 years), waits for ever too; a
negative number or nan is a ``ValueError``; anything else (a bool, a string)
a ``TypeError``.

Examples:
    >>> from osv_idioms.checks import timeout
    >>> timeout(None), timeout(0.5), timeout(float("inf"))
    (None, 0.5, None)
    >>> timeout(-1)
    Traceback (most recent call last):
    ...
    ValueError: timeout must be None or a number of seconds >= 0, got -1
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable
from typing import Any, cast

__all__ = (
    "accepts",
    "arrived",
    "check_callable",
    "flag",
    "kind_of",
    "timeout",
)


def kind_of(value: object) -> str:
    """How messages name what arrived: its type, with the article English wants.

    Args:
        value: anything.

    Returns:
        ``"an int"``, ``"a str"``, ``"None"``.

    Examples:
        >>> kind_of(3), kind_of(object()), kind_of(None)
        ('an int', 'an object', 'None')
    """
    if value is None:
        return "None"
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name}"


def arrived(value: object) -> str:
    """What arrived, for a message: its kind and, briefly, its value.

    Args:
        value: anything; its repr is cut to 40 characters.

    Returns:
        ``"an int (3)"``, or ``"None"``.

    Examples:
        >>> arrived(3), arrived(None), arrived("x" * 60)[:22]
        ('an int (3)', 'None', "a str ('xxxxxxxxxxxxxx")
    """
    if value is None:
        return "None"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind_of(value)} ({shown})"


def timeout(value: object, what: str = "timeout") -> float | None:
    """Seconds to wait, or None for ever, by the one rule above.

    Args:
        value: what the caller passed as a timeout.
        what: how the message names the parameter.

    Returns:
        The seconds as a float, or None to wait for ever.

    Raises:
        TypeError: ``value`` is not None or a number (a bool is not one).
        ValueError: ``value`` is negative or nan.

    Examples:
        >>> from osv_idioms.checks import timeout
        >>> timeout(10**30)   # longer than any timed wait can be: for ever
        >>> timeout("3")
        Traceback (most recent call last):
        ...
        TypeError: timeout must be None or a number of seconds >= 0, got a str ('3')
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be None or a number of seconds >= 0, got {arrived(value)}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{what} must be None or a number of seconds >= 0, got {value!r}")
    if value >= threading.TIMEOUT_MAX:
        return None
    return float(value)


def flag(value: object, what: str) -> bool:
    """``value`` when it is a bool; anything else is a ``TypeError`` (``"no"`` is not False).

    Args:
        value: what the caller passed.
        what: how the message names the parameter.

    Returns:
        ``value``.

    Raises:
        TypeError: ``value`` is not a bool.

    Examples:
        >>> from osv_idioms.checks import flag
        >>> flag(True, "rcu")
        True
        >>> flag("no", "rcu")
        Traceback (most recent call last):
        ...
        TypeError: rcu must be True or False, got a str ('no')
    """
    if isinstance(value, bool):
        return value
    raise TypeError(f"{what} must be True or False, got {arrived(value)}")


def check_callable(value: object, what: str, shape: str) -> None:
    """Refuse a ``value`` that is not callable, or that is a coroutine function where a call is due.

    Args:
        value: what the caller passed.
        what: how the message names the parameter.
        shape: how it will be called, for the message (``"probe(name, args)"``).

    Raises:
        TypeError: ``value`` is not callable, or is a coroutine function.

    Examples:
        >>> from osv_idioms.checks import check_callable
        >>> check_callable(print, "probe", "probe(name, args)")
        >>> check_callable(3, "probe", "probe(name, args)")
        Traceback (most recent call last):
        ...
        TypeError: probe must be callable as probe(name, args), got an int (3)
    """
    if isinstance(value, type):  # a class's call makes an instance, never a coroutine
        return  # (and asking inspect costs a third of a whole make_shared())
    if not callable(value):
        raise TypeError(f"{what} must be callable as {shape}, got {arrived(value)}")
    if inspect.iscoroutinefunction(value):
        raise TypeError(
            f"{what} must be callable as {shape}, got the coroutine function "
            f"{getattr(value, '__qualname__', value)!r}: calling it would only make a "
            "coroutine that nothing awaits"
        )


def accepts(fn: Callable[..., Any], count: int) -> bool | None:
    """Whether ``fn`` takes ``count`` positional arguments; None when Python can't tell.

    For registrations (a probe, an error handler, a deleter), where reading a
    signature once is cheap beside the calls it saves from failing later.

    Args:
        fn: the callable.
        count: how many positional arguments it will be called with, 0 to 255.

    Returns:
        True or False, or None for a callable without a signature.

    Raises:
        ValueError: ``count`` is not an int from 0 to 255.

    Examples:
        >>> from osv_idioms.checks import accepts
        >>> accepts(lambda a, b=1: None, 2), accepts(lambda: None, 1), accepts(print, 3)
        (True, False, True)
    """
    given = cast("object", count)  # as called, whatever the annotations say
    if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given <= 255:
        raise ValueError(f"accepts() counts 0 to 255 positional arguments, got {count!r}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True
