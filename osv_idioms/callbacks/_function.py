"""``Function[P, R]``: a callable slot of a declared shape, as ``std::function``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Generic, ParamSpec, TypeVar, final

from ..checks import kind_of
from ..errors import BadFunctionCall
from ._shape import arity, describe
from .generics import declared_count, specialise

P = ParamSpec("P")
R = TypeVar("R")


@final
class Function(Generic[P, R]):
    """Holds one callable of a declared shape, or nothing: C++'s ``std::function``.

    Subscript it at run time to have the target checked when it is assigned
    rather than when it is first called: ``Function[[int], None]()`` refuses
    a callable that cannot take one positional argument, and the message
    shows both shapes. Calling an empty ``Function`` raises
    ``BadFunctionCall``. Unsubscripted, it takes any callable and the type
    checker infers its shape from it.

    >>> from osv_idioms.callbacks import Function
    >>> irq_handler = Function[[int], None]()
    >>> bool(irq_handler)
    False
    >>> irq_handler.assign(lambda level: print("irq at level", level))
    >>> irq_handler(3)
    irq at level 3
    >>> irq_handler.assign(lambda: None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: can't assign <lambda>() to Function[[int], None]: it takes no positional ...
    """

    __slots__ = ("_target",)

    # How many positional arguments the run-time subscript declares (None: not
    # declared, or ``...``), and how to spell it in messages.
    _declared: ClassVar[int | None] = None

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params):
            alias = super().__class_getitem__(params)
            return specialise(cls, alias, _declared=declared_count(alias.__args__[0]))

    def __init__(self, target: Callable[P, R] | None = None) -> None:
        """Hold ``target``, or nothing until ``assign()`` gives it one.

        Args:
            target: the callable to hold, checked as ``assign()`` checks it.

        Raises:
            TypeError: ``target`` is not callable, or cannot take the declared
                arguments.
        """
        self._target: Callable[P, R] | None = None
        if target is not None:
            self.assign(target)

    def assign(self, target: Callable[P, R] | None) -> None:
        """Hold ``target`` from now on (None empties the ``Function``).

        Args:
            target: the callable to hold, or None.

        Raises:
            TypeError: ``target`` is not callable, or cannot take the declared
                arguments; the ``Function`` keeps what it held.
        """
        if target is not None:
            self._check(target)
        self._target = target

    def _check(self, target: Callable[..., object]) -> None:
        if not callable(target):
            raise TypeError(
                f"can't assign {target!r} to {type(self).__name__}: "
                f"{kind_of(target)} is not callable"
            )
        passes = self._declared
        shape = arity(target)
        if passes is None or shape is None or shape.accepts(passes):
            return
        raise TypeError(
            f"can't assign {describe(target)} to {type(self).__name__}: "
            f"{shape.explain()}, "
            f"and the Function passes {passes}"
        )

    @property
    def target(self) -> Callable[P, R] | None:
        """The callable held, or None."""
        return self._target

    def __bool__(self) -> bool:
        """Whether a callable is held (``if irq_handler:`` as in C++)."""
        return self._target is not None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the held callable.

        Raises:
            BadFunctionCall: nothing is held.
        """
        target = self._target
        if target is None:
            raise BadFunctionCall(
                f"can't call an empty {type(self).__name__}: assign a callable first"
            )
        return target(*args, **kwargs)

    def __repr__(self) -> str:
        held = "" if self._target is None else describe(self._target)
        return f"{type(self).__name__}({held})"
