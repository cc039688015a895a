"""``bind`` and ``bind_weak``: arguments fixed in advance, as ``std::bind``.

``bind(device.read, _2, _1)`` places and reorders the call's arguments;
without placeholders it is ``functools.partial`` itself (the C one). Either
way the bound arguments are checked against the callable's signature when it
is bound, not when the callback finally fires somewhere else.

``bind_weak(device.read)`` holds the method's function and a weak reference
to its object, so a callback registered somewhere long-lived does not keep
the device alive; calling it after the device is gone raises
``ExpiredCallbackError``.
"""

from __future__ import annotations

import functools
import inspect
import types
import weakref
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, final, overload

from ..errors import ExpiredCallbackError
from ._shape import describe

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
        """The placeholder for the call's argument number ``index``, counted from 1."""
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
    """

    __slots__ = ("_args", "_fills", "_fn", "_kwargs", "_wanted")

    def __init__(
        self, fn: Callable[..., R], args: tuple[object, ...], kwargs: dict[str, object]
    ) -> None:
        """Use ``bind()``, which checks the arguments first."""
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


@final
class WeakBound(Generic[P, R]):
    """A method bound to its object weakly; made by ``bind_weak``.

    It keeps the function and a weak reference to the object, not a
    ``weakref.WeakMethod``, so making one and calling it each cost a
    fraction of what ``WeakMethod`` does (docs/benchmarks.md).
    """

    __slots__ = ("__weakref__", "_func", "_ref")

    def __init__(self, method: Callable[P, R]) -> None:
        """Hold ``method``'s function strongly and its object weakly.

        Raises:
            TypeError: ``method`` is not a bound method of a Python function,
                or its object cannot be referenced weakly.
        """
        if not isinstance(method, types.MethodType):
            raise TypeError(
                f"bind_weak() takes a bound method such as device.read, got {_name_of(method)}"
            )
        target = method.__self__
        try:
            self._ref = weakref.ref(target)
        except TypeError:
            raise TypeError(
                f"can't bind {method.__qualname__} weakly: {type(target).__qualname__} "
                "objects can't be weakly referenced (add '__weakref__' to its __slots__)"
            ) from None
        self._func: Callable[..., R] = method.__func__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the method on its object.

        Raises:
            ExpiredCallbackError: the object was garbage-collected.
        """
        target = self._ref()
        if target is None:
            raise ExpiredCallbackError(
                f"can't call {self._func.__qualname__}: its object was garbage-collected"
            )
        return self._func(target, *args, **kwargs)

    def expired(self) -> bool:
        """Whether the object is gone, so a call would raise."""
        return self._ref() is None

    def __repr__(self) -> str:
        target = self._ref()
        state = "dead" if target is None else f"of {type(target).__qualname__} at {id(target):#x}"
        return f"<WeakBound {self._func.__qualname__} {state}>"


@overload
def bind(fn: Callable[..., R], /) -> Callable[..., R]: ...
@overload
def bind(fn: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]: ...
def bind(fn: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]:
    """Fix some of ``fn``'s arguments now; placeholders ``_1``, ``_2``... take the call's.

    Without placeholders the result is ``functools.partial(fn, *args,
    **kwargs)``. With them it is a ``Bound`` that puts the call's arguments
    where the placeholders stand, in any order.

    Raises:
        TypeError: ``fn`` is not callable, or its signature cannot take the
            arguments (placeholders count as arguments).

    >>> from osv_idioms.callbacks import _1, bind
    >>> def read(device: str, offset: int, size: int) -> str:
    ...     return f"{device}: {size} bytes at {offset}"
    >>> read_callback = bind(read, "sda", size=512, offset=_1)
    >>> read_callback(4096)
    'sda: 512 bytes at 4096'
    >>> bind(read, "sda", 1, 2, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: can't bind read(device: str, ...) -> str to ('sda', 1, 2, 3): too many positional ...
    """
    if not callable(fn):
        raise TypeError(f"can't bind {fn!r}: a {type(fn).__name__} is not callable")
    _check_binding(fn, args, kwargs)
    if not _highest_placeholder(args, kwargs):
        return functools.partial(fn, *args, **kwargs)
    return Bound(fn, args, kwargs)


@overload
def bind_weak(method: Callable[P, R], /) -> WeakBound[P, R]: ...
@overload
def bind_weak(method: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]: ...
def bind_weak(method: Callable[..., R], /, *args: object, **kwargs: object) -> Callable[..., R]:
    r"""``bind`` for a method, holding its object weakly: the callback won't keep it alive.

    Raises:
        TypeError: as ``bind``, or ``method`` is not a bound method, or its
            object cannot be referenced weakly.

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
    >>> read_callback(2)
    Traceback (most recent call last):
    ...
    osv_idioms.errors.ExpiredCallbackError: can't call Device.read: its object was garbage-collected
    """
    weak: WeakBound[..., R] = WeakBound(method)
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
        signature = inspect.signature(fn)
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
