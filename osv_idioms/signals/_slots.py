"""What a connection calls: the slot, made to fit the signal once, at connect.

A slot that takes fewer arguments than the signal passes gets the first
ones; a bound method, or ``bind_weak`` of one, is held as its function and a
weak reference to its object; ``track=`` ties a slot to another object's
life. All of that is
decided here, so the emit loop only ever makes one of two calls.
"""

from __future__ import annotations

import inspect
import types
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from ..callbacks import arity, describe, weakly_bound
from ..checks import kind_of
from ._emit import tracked_call


class Call(NamedTuple):
    """How the emit loop calls one slot: ``call(*args)``, or ``call(target, *args)``.

    ``ref`` gives ``target``; ``refs`` are every weak reference whose death
    ends the connection; ``key`` and ``key_ref`` identify the slot for
    ``same_slot``.
    """

    call: Callable[..., Any]
    ref: weakref.ref[Any] | None
    refs: tuple[weakref.ref[Any], ...]
    key: object
    key_ref: weakref.ref[Any] | None


def fit(
    slot: Callable[..., Any], passes: int | None, weak: bool | None, track: object, signal: object
) -> Call:
    """The ``Call`` for ``slot`` on a signal passing ``passes`` arguments.

    Raises:
        TypeError: ``slot`` is not callable, can't take the signal's
            arguments, or can't be held weakly as asked.
    """
    if weak is not True and track is None and _takes_exactly(slot, passes):
        return Call(slot, None, (), slot, None)  # the common case: nothing to fit
    if not callable(slot):
        raise TypeError(f"can't connect {slot!r} to {signal!r}: {kind_of(slot)} is not callable")
    taken = _arguments_taken(slot, passes, signal)
    is_method = type(slot) is types.MethodType
    weakly = None if weak is False else weakly_bound(slot)
    if weakly is not None:
        # bind_weak's own (function, weak reference): held as a method held weakly is.
        function, ref = weakly
        fitted = Call(_trimmed_after_target(function, taken), ref, (ref,), function, ref)
    elif not (is_method if weak is None else weak):
        fitted = Call(_trimmed(slot, taken), None, (), slot, None)
    elif is_method:
        method: types.MethodType = slot  # type: ignore[assignment]
        ref = _weak(method.__self__, lambda: f"{describe(slot)}'s object", signal)
        call = _trimmed_after_target(method.__func__, taken)
        fitted = Call(call, ref, (ref,), method.__func__, ref)
    else:
        ref = _weak(slot, lambda: describe(slot), signal)
        fitted = Call(_trimmed_after_target(_call_target, taken), ref, (ref,), None, ref)
    if track is None:
        return fitted
    tracked = _weak(track, lambda: f"track={type(track).__qualname__}", signal)
    return fitted._replace(
        call=tracked_call(fitted.call, fitted.ref), ref=tracked, refs=(*fitted.refs, tracked)
    )


def _takes_exactly(slot: object, passes: int | None) -> bool:
    """Whether ``slot`` is a plain function with just the signal's positional parameters."""
    if type(slot) is not types.FunctionType or passes is None:
        return False
    code = slot.__code__
    plain = not code.co_kwonlyargcount and not code.co_flags & inspect.CO_VARARGS
    return plain and code.co_argcount == passes


def _arguments_taken(slot: Callable[..., Any], passes: int | None, signal: object) -> int | None:
    """How many of the signal's arguments to pass; None for all of them."""
    if passes is None:
        return None
    shape = arity(slot)
    if shape is None:
        return None
    if shape.keywords or shape.required > passes:
        raise TypeError(
            f"can't connect {describe(slot)} to {signal!r}: {shape.explain()}, "
            f"and the signal passes {passes}"
        )
    taken = shape.passed(passes)
    return None if taken == passes else taken


def _weak(obj: object, what: Callable[[], str], signal: object) -> weakref.ref[Any]:
    """A weak reference to ``obj``; ``what`` names it, only if the message is needed."""
    try:
        return weakref.ref(obj)
    except TypeError:
        raise TypeError(
            f"can't connect {what()} to {signal!r} weakly: {type(obj).__qualname__} objects "
            "can't be weakly referenced (pass weak=False, or add '__weakref__' to its __slots__)"
        ) from None


def _call_target(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A weakly held callable (``weak=True`` on a function) is itself the target."""
    return target(*args, **kwargs)


def _trimmed(slot: Callable[..., Any], taken: int | None) -> Callable[..., Any]:
    if taken is None:
        return slot

    def first_arguments(*args: Any) -> Any:
        return slot(*args[:taken])

    first_arguments.__wrapped__ = slot  # type: ignore[attr-defined]  # for describe()
    return first_arguments


def _trimmed_after_target(call: Callable[..., Any], taken: int | None) -> Callable[..., Any]:
    if taken is None:
        return call

    def first_arguments(target: Any, *args: Any) -> Any:
        return call(target, *args[:taken])

    first_arguments.__wrapped__ = call  # type: ignore[attr-defined]
    return first_arguments


def same_slot(key: object, ref: weakref.ref[Any] | None, slot: object) -> bool:
    """Whether a connection made with ``key`` (and ``ref``) was made for ``slot``.

    ``key`` is the slot itself when held strongly, the method's function when
    a method is held weakly, and None when a function is held weakly.
    """
    if ref is None:
        return key is slot or key == slot
    target = ref()
    if key is None:
        return target is slot
    weakly = weakly_bound(slot)
    if weakly is not None:
        return weakly[0] is key and weakly[1]() is target
    return type(slot) is types.MethodType and slot.__func__ is key and slot.__self__ is target
