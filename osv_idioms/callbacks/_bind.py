"""``bind`` and ``bind_weak``: arguments fixed in advance, as ``std::bind``.

``bind(device.read, _2, _1)`` places and reorders the call's arguments;
without placeholders it is ``functools.partial`` itself (the C one). Either
way the bound arguments are checked against the callable's signature when it
is bound, not when the callback finally fires somewhere else.

``bind_weak(device.read)`` holds the method's function and a weak reference
to its object, so a callback registered somewhere long-lived does not keep
the device alive; calling it after the device is gone raises
``ExpiredCallbackError``. Connected to a ``Signal``, it is held as a method
is: weakly, the connection ending when the object is collected.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, cast, final, overload

from ..checks import kind_of
from ..errors import ExpiredCallbackError
from ..forks import free_in_child
from ..generated import compile_function
from ..interrupts import deferred
from ._shape import describe, signature_of

P = ParamSpec("P")
R = TypeVar("R")


@final
class Placeholder:
    """Stands for the n-th argument of the call in ``bind``: ``std::placeholders::_1``.

    >>> from osv_idioms.callbacks import _1, _2, bind
    >>> bind(divmod, _2, _1)(3, 17)
    (5, 2)
    """

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        """The placeholder for the call's argument number ``index``, counted from 1.

        Args:
            index: which of the call's positional arguments it stands for.

        Raises:
            ValueError: ``index`` is not an int of 1 or more.
        """
        if type(index) is not int or index < 1:
            raise ValueError(f"a placeholder stands for argument 1 or later, got {index!r}")
        self.index: int = index

    def __repr__(self) -> str:
        return f"_{self.index}"


_1, _2, _3, _4, _5, _6, _7, _8, _9 = (Placeholder(i) for i in range(1, 10))


@final
class Bound(Generic[R]):
    """A callable with some arguments fixed and placeholders for the rest; made by ``bind``.

    A call must pass exactly as many positional arguments as the highest
    placeholder asks for: an argument no placeholder names is dropped only
    when a higher one is named, never silently appended. Keyword arguments
    of the call are added to the bound ones.

    >>> from osv_idioms.callbacks import _1, _2, bind
    >>> swapped = bind(divmod, _2, _1)
    >>> type(swapped).__name__, swapped(3, 17)
    ('Bound', (5, 2))
    >>> swapped
    bind(divmod, _2, _1)
    """

    __slots__ = ("_args", "_fills", "_fn", "_kwargs", "_wanted")

    def __init__(
        self, fn: Callable[..., R], args: tuple[object, ...], kwargs: dict[str, object]
    ) -> None:
        """Use ``bind()``, which checks the arguments against ``fn`` first.

        Args:
            fn: the callable.
            args: the positional arguments, placeholders among them.
            kwargs: the keyword arguments, placeholders among them.

        Raises:
            TypeError: ``fn`` is not callable, or ``args`` is not a tuple or
                ``kwargs`` not a dict.
        """
        if not callable(fn):
            raise TypeError(f"Bound() binds a callable, got {kind_of(fn)}")
        given_args = cast("object", args)  # as called, whatever the annotations say
        given_kwargs = cast("object", kwargs)
        if not isinstance(given_args, tuple) or not isinstance(given_kwargs, dict):
            raise TypeError(
                "Bound(fn, args, kwargs) takes a tuple and a dict, "
                f"got {kind_of(args)} and {kind_of(kwargs)}"
            )
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        # Where each placeholder sits, computed once so a call only copies.
        self._fills = tuple((i, a.index - 1) for i, a in enumerate(args) if type(a) is Placeholder)
        self._wanted = _highest_placeholder(args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        """Call the bound callable, the placeholders replaced by ``args``.

        Raises:
            TypeError: the count of ``args`` is not the highest placeholder's.
        """
        if len(args) != self._wanted:
            wanted = self._wanted
            raise TypeError(
                f"{self!r} takes {wanted} positional argument{'' if wanted == 1 else 's'}, "
                f"got {len(args)}"
            )
        placed = list(self._args)
        for position, index in self._fills:
            placed[position] = args[index]
        named = {
            key: args[value.index - 1] if type(value) is Placeholder else value
            for key, value in self._kwargs.items()
        }
        named.update(kwargs)
        return self._fn(*placed, **named)

    def __repr__(self) -> str:
        named = [f"{key}={value!r}" for key, value in self._kwargs.items()]
        shown = ", ".join([_name_of(self._fn), *map(repr, self._args), *named])
        return f"bind({shown})"


def _why_not_weakly(method: object) -> TypeError:
    if not isinstance(method, types.MethodType) or not isinstance(
        method.__func__, types.FunctionType
    ):
        return TypeError(
            f"bind_weak() takes a bound method such as device.read, got {_name_of(method)}"
        )
    return TypeError(
        f"can't bind {method.__qualname__} weakly: {type(method.__self__).__qualname__} "
        "objects can't be weakly referenced (add '__weakref__' to its __slots__)"
    )


# The forwarder of each method's function. Functions hash by identity, so the
# first table is the cheapest lookup there is; it is emptied when it grows past
# _FORWARDERS_KEPT, for programs that make methods in a loop. The second holds
# every forwarder for as long as its function lives, so that one function always
# has one forwarder: two bind_weak of one method are equal only if they share it.
_forwarders: dict[object, Callable[..., Any]] = {}
_FORWARDERS_KEPT = 4096
_every_forwarder: weakref.WeakKeyDictionary[Any, Callable[..., Any]] = weakref.WeakKeyDictionary()
_forwarders_lock = threading.Lock()
free_in_child(_forwarders_lock)


@deferred  # the lock is taken by a with statement
def _learn_forwarder(func: object, method: object) -> Callable[..., Any]:
    """Find or make ``func``'s one forwarder, and keep it in the fast table too."""
    if not isinstance(func, types.FunctionType):  # a method of a builtin function, say
        raise _why_not_weakly(method)
    with _forwarders_lock:  # two threads binding a new method at once agree on one
        forward = _every_forwarder.get(func)
        if forward is None:
            forward = _every_forwarder[func] = _forwarder(func)
        if len(_forwarders) >= _FORWARDERS_KEPT:
            _forwarders.clear()
        _forwarders[func] = forward
    return forward


_FORWARDER = """\
def forward(__ref, {parameters}):
    __target = __ref()
    if __target is None:
        _expired(__func)
    return __func(__target, {arguments})
"""

_RESERVED = frozenset({"__ref", "__func", "__target", "_expired"})


def _forwarder(func: types.FunctionType) -> Callable[..., Any]:
    """A function taking the weak reference, then what ``func`` takes after ``self``.

    ``func`` is a global of its own, so the bound method ``bind_weak`` makes
    is bound to the weak reference alone: CPython gives every plain weak
    reference to one object the same reference object, so two ``bind_weak``
    of one method of one object are bound to the same ``__self__`` and
    compare equal, as bound methods do.
    """
    names = _plain_parameters(func.__code__)
    parameters = arguments = "*args, **kwargs" if names is None else ", ".join(names)
    forward = compile_function(
        _FORWARDER.format(parameters=parameters, arguments=arguments),
        "forward",
        what=f"bind_weak forwarder for {func.__qualname__}",
        namespace={"_expired": _expired, "__func": func},
    )
    forward.__name__, forward.__qualname__ = func.__name__, func.__qualname__
    forward.__wrapped__ = func  # type: ignore[attr-defined]  # for describe() and weakly_bound()
    forward.__bind_weak__ = True  # type: ignore[attr-defined]  # what weakly_bound() looks for
    if names is not None:
        forward.__defaults__ = func.__defaults__  # the same names, so the same defaults apply
    return forward


def weakly_bound(callback: object) -> tuple[Callable[..., Any], weakref.ref[Any]] | None:
    """The method's function and the weak reference to its object, if ``bind_weak`` made it.

    For code that stores callbacks and wants to treat a weakly bound method as
    a method held weakly (a ``Signal`` does): ``None`` for anything else.

    Args:
        callback: any object.

    Returns:
        ``(function, weak reference)``, or None.

    Examples:
        >>> class Panel:
        ...     def on_click(self) -> None: ...
        >>> panel = Panel()
        >>> function, ref = weakly_bound(bind_weak(panel.on_click))
        >>> function is Panel.on_click, ref() is panel
        (True, True)
        >>> weakly_bound(panel.on_click) is None
        True
    """
    if type(callback) is types.MethodType and getattr(callback.__func__, "__bind_weak__", False):
        function = cast("Callable[..., Any]", getattr(callback.__func__, "__wrapped__"))  # noqa: B009
        return function, cast("weakref.ref[Any]", callback.__self__)
    return None


def _plain_parameters(code: types.CodeType) -> tuple[str, ...] | None:
    """The parameters after ``self`` when they are plain positional ones, else None."""
    if code.co_kwonlyargcount or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    names = code.co_varnames[1 : code.co_argcount]
    return None if _RESERVED.intersection(names) else names


def _expired(func: Callable[..., object]) -> None:
    raise ExpiredCallbackError(f"can't call {_name_of(func)}: its object was garbage-collected")


def bind(fn: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]:
    """Fix some of ``fn``'s arguments now; placeholders ``_1``, ``_2``... take the call's.

    Without placeholders the result is ``functools.partial(fn, *args,
    **kwargs)``. With them it is a ``Bound`` that puts the call's arguments
    where the placeholders stand, in any order.

    Args:
        fn: the callable.
        *args: positional arguments to fix, or placeholders.
        **kwargs: keyword arguments to fix, or placeholders.

    Returns:
        The callable with those arguments bound.

    Raises:
        TypeError: ``fn`` is not callable, or its signature cannot take the
            arguments (placeholders count as arguments).

    Examples:
        >>> from osv_idioms.callbacks import _1, bind
        >>> def read(device: str, offset: int, size: int) -> str:
        ...     return f"{device}: {size} bytes at {offset}"
        >>> read_callback = bind(read, "sda", size=512, offset=_1)
        >>> read_callback(4096)
        'sda: 512 bytes at 4096'
        >>> bind(read, "sda", 1, 2, 3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: can't bind read(device: str, ...) -> str to ('sda', 1, 2, 3): too many ...
    """
    if not callable(fn):
        raise TypeError(f"can't bind {fn!r}: {kind_of(fn)} is not callable")
    _check_binding(fn, args, kwargs)
    if not _highest_placeholder(args, kwargs):
        return functools.partial(fn, *args, **kwargs)
    return Bound(fn, args, kwargs)


@overload
def bind_weak(method: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def bind_weak(method: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]: ...
def bind_weak(method: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]:
    r"""``bind`` for a method, holding its object weakly: the callback won't keep it alive.

    Args:
        method: a bound method, ``obj.method``.
        *args: positional arguments to fix, or placeholders, as ``bind``.
        **kwargs: keyword arguments to fix, or placeholders.

    Returns:
        A ``WeakBound`` when nothing is fixed; else the ``functools.partial``
        or ``Bound`` of one.

    Raises:
        TypeError: as ``bind``, or ``method`` is not a bound method of a
            Python function, or its object cannot be referenced weakly.

    Examples:
        >>> import gc
        >>> from osv_idioms.callbacks import bind_weak
        >>> class Device:
        ...     def read(self, size: int) -> bytes:
        ...         return bytes(size)
        >>> device = Device()
        >>> read_callback = bind_weak(device.read)
        >>> read_callback(2)
        b'\x00\x00'
        >>> del device; _ = gc.collect()
        >>> from osv_idioms.errors import ExpiredCallbackError
        >>> try:
        ...     read_callback(2)
        ... except ExpiredCallbackError as expired:
        ...     print(expired)
        can't call Device.read: its object was garbage-collected
    """
    # The result is a bound method of a forwarder that has the method's own
    # parameters, bound to the weak reference: making one is a weak reference, a
    # dict lookup and a MethodType, all C, and calling one is one Python call
    # more than the method. (A closure per binding measured twice the cost to
    # make; a *args forwarder, twice the cost to call; a functools.partial
    # subclass, 1.7x the cost to call.)
    try:
        func = method.__func__  # type: ignore[attr-defined]
        ref = weakref.ref(method.__self__)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        raise _why_not_weakly(method) from None
    forward = _forwarders.get(func) or _learn_forwarder(func, method)
    weak: Callable[..., R] = types.MethodType(forward, ref)
    if not args and not kwargs:
        return weak
    _check_binding(method, args, kwargs)
    if not _highest_placeholder(args, kwargs):
        return functools.partial(weak, *args, **kwargs)
    return Bound(weak, args, kwargs)


def _highest_placeholder(args: tuple[object, ...], kwargs: dict[str, object]) -> int:
    indexes = [a.index for a in (*args, *kwargs.values()) if type(a) is Placeholder]
    return max(indexes, default=0)


def _check_binding(
    fn: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """Fail now if ``fn`` can't take these arguments; a complete call when placeholders fill it."""
    try:
        signature = signature_of(fn)
    except (TypeError, ValueError):
        return  # some builtins have none: the call will tell
    complete = bool(_highest_placeholder(args, kwargs))
    try:
        (signature.bind if complete else signature.bind_partial)(*args, **kwargs)
    except TypeError as error:
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        raise TypeError(f"can't bind {describe(fn)} to ({shown}): {error}") from None


def _name_of(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
