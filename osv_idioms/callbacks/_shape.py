"""What shape a callable has: how many positional arguments it takes, and its name.

A callable's count is read from its code object (cheap) or, failing that,
from ``inspect.signature`` (not cheap, but run once per connection). What a
subscripted ``Function[[int], None]`` itself declares is read in ``generics``.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import NamedTuple


class Arity(NamedTuple):
    """The positional arguments a callable accepts.

    Attributes:
        required: how many it needs.
        maximum: how many it takes at most; None when it takes ``*args``.
        keywords: its keyword-only parameters without a default, which no
            call made of positional arguments alone can satisfy.

    Examples:
        >>> from osv_idioms.callbacks import arity
        >>> arity(lambda level, flags=0, *rest: None)
        Arity(required=1, maximum=None, keywords=())
        >>> arity(lambda level, flags=0: None).accepts(3)
        False
    """

    required: int
    maximum: int | None
    keywords: tuple[str, ...] = ()

    def accepts(self, count: int) -> bool:
        """Whether a call with ``count`` positional arguments can bind.

        Args:
            count: how many positional arguments the call passes.
        """
        fits_above = self.maximum is None or count <= self.maximum
        return not self.keywords and self.required <= count and fits_above

    def explain(self) -> str:
        """What it takes, in words, for error messages.

        >>> from osv_idioms.callbacks import Arity
        >>> Arity(1, 2).explain()
        'it takes 1 to 2 positional arguments'
        """
        if self.keywords:
            return f"it needs keyword argument{_s(len(self.keywords))} {', '.join(self.keywords)}"
        if self.maximum == 0:
            return "it takes no positional arguments"
        if self.maximum is None:
            return f"it takes at least {self.required} positional argument{_s(self.required)}"
        if self.required == self.maximum:
            return f"it takes {self.required} positional argument{_s(self.required)}"
        return f"it takes {self.required} to {self.maximum} positional arguments"

    def passed(self, count: int) -> int:
        """How many of ``count`` offered arguments to pass: all, or as many as it takes.

        Args:
            count: how many arguments are on offer.
        """
        return count if self.maximum is None else min(count, self.maximum)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def arity(fn: Callable[..., object]) -> Arity | None:
    """The positional arguments ``fn`` accepts, or None when Python cannot tell.

    Plain functions and bound methods are read from their code object; other
    callables go through ``inspect.signature``. Some builtins have no
    signature at all: for those the answer is None.

    Args:
        fn: any callable.

    Returns:
        How many positional arguments it needs and takes, and the keyword-only
        ones it needs; None if that cannot be known.

    Examples:
        >>> from osv_idioms.callbacks import arity
        >>> class Device:
        ...     def read(self, size: int, *, timeout: float) -> bytes: ...
        >>> arity(Device().read)
        Arity(required=1, maximum=1, keywords=('timeout',))
    """
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        return _without_self(_from_code(fn.__func__))
    if isinstance(fn, types.FunctionType):
        return _from_code(fn)
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - the class's, not fn's
    if isinstance(call, types.FunctionType) and not isinstance(fn, type):
        # An instance of a class with a Python __call__ (a Signal, say). Also
        # the one way for an object that is a descriptor, which
        # inspect.signature takes for a builtin.
        return _without_self(_from_code(call))
    return _from_signature(fn)


def _from_code(fn: types.FunctionType) -> Arity:
    code = fn.__code__
    positional = code.co_argcount
    maximum = None if code.co_flags & inspect.CO_VARARGS else positional
    required = positional - len(fn.__defaults__ or ())
    if not code.co_kwonlyargcount:  # co_varnames is rebuilt on every read: skip it if we can
        return Arity(required, maximum)
    keyword_only = code.co_varnames[positional : positional + code.co_kwonlyargcount]
    keyword_defaults = fn.__kwdefaults__ or {}
    keywords = tuple(name for name in keyword_only if name not in keyword_defaults)
    return Arity(required, maximum, keywords)


def _without_self(whole: Arity) -> Arity:
    """A bound method's arity: its function's, with ``self`` already supplied."""
    maximum = None if whole.maximum is None else max(whole.maximum - 1, 0)
    return whole._replace(required=max(whole.required - 1, 0), maximum=maximum)


def _from_signature(fn: Callable[..., object]) -> Arity | None:
    try:
        parameters = signature_of(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kind = inspect.Parameter
    positional = [
        p for p in parameters if p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD)
    ]
    return Arity(
        required=sum(1 for p in positional if p.default is kind.empty),
        maximum=None if any(p.kind is kind.VAR_POSITIONAL for p in parameters) else len(positional),
        keywords=tuple(
            p.name for p in parameters if p.kind is kind.KEYWORD_ONLY and p.default is kind.empty
        ),
    )


_AST_RACE = "AST constructor recursion depth mismatch"
_AST_RACE_RETRIES = 5


def signature_of(fn: Callable[..., object]) -> inspect.Signature:
    """``inspect.signature(fn)``, immune to a CPython 3.11 race between threads.

    For builtins, ``inspect.signature`` parses the text signature with
    ``ast``; on 3.11, two threads building ASTs at once can make one of them
    fail with a spurious ``SystemError`` (python/cpython#106905). It was seen
    here with threads connecting ``print`` to a signal. The parse is pure, so
    it is simply tried again.

    Raises:
        TypeError, ValueError: as ``inspect.signature``.
    """
    for _ in range(_AST_RACE_RETRIES - 1):
        try:
            return inspect.signature(fn)
        except SystemError as error:
            if _AST_RACE not in str(error):
                raise
    return inspect.signature(fn)


def describe(fn: object) -> str:
    """A callable as a person would name it in a message: ``Device.read(size)``.

    Args:
        fn: any object; a callable is unwrapped (``functools.wraps``) first.

    Returns:
        Its qualified name and signature, or its type's name when it has none.

    Examples:
        >>> from osv_idioms.callbacks import describe
        >>> def on_irq(level: int) -> None: ...
        >>> describe(on_irq)
        'on_irq(level: int) -> None'
    """
    if callable(fn):
        fn = inspect.unwrap(fn)
    name = getattr(fn, "__qualname__", None) or f"{type(fn).__qualname__} object"
    return f"{name.rpartition('<locals>.')[2]}{_shape_of(fn)}"


def _shape_of(fn: object) -> str:
    """The signature as written, even when annotations are strings (PEP 563)."""
    try:
        signature = signature_of(fn)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"
    parameters = [
        p.replace(annotation=_Written(p.annotation)) if isinstance(p.annotation, str) else p
        for p in signature.parameters.values()
    ]
    returns = signature.return_annotation
    if isinstance(returns, str):
        returns = _Written(returns)
    return str(signature.replace(parameters=parameters, return_annotation=returns))


class _Written(str):
    """An annotation kept as a string, shown without quotes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)
