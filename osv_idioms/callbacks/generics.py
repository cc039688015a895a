"""For ``Function`` here and ``Signal`` in ``osv_idioms.signals``: subscripts known at run time.

Both ``Function[[int], None]`` and ``Signal[[int]]`` check callables when they
are given one, not when they are first called. For that they must know at run
time how many arguments they will pass: the subscript is turned into a cached
subclass that records the count. This module is the seam the two packages
share; nothing in it is for users.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ("declared_count", "specialise", "spell")

_T = TypeVar("_T", bound=type)


def spell(arg: object) -> str:
    """A type argument as it was written: ``[int, str]``, ``None``, ``...``."""
    if arg is None or arg is type(None):
        return "None"
    if arg is Ellipsis:
        return "..."
    if isinstance(arg, tuple | list):
        items: tuple[object, ...] | list[object] = arg  # pyright: ignore[reportUnknownVariableType]
        return "[" + ", ".join(spell(a) for a in items) + "]"
    if isinstance(arg, type):  # list[int] is not a type: it is spelled by its repr below
        return arg.__qualname__
    return repr(arg).replace("typing.", "")


def declared_count(first_argument: object) -> int | None:
    """How many positional arguments a ParamSpec argument declares; None for ``...``."""
    if first_argument is Ellipsis:
        return None
    if isinstance(first_argument, tuple | list):
        return len(first_argument)  # pyright: ignore[reportUnknownArgumentType]
    return 1  # ``Function[int, None]`` is ``Function[[int], None]``


_specialised: dict[tuple[type, tuple[Any, ...]], type] = {}


def specialise(cls: _T, alias: Any, **namespace: object) -> _T | Any:
    """The subclass standing for ``cls[args]``, made once per set of arguments.

    ``namespace`` gives the class attributes it records (the declared count,
    per-arity methods). An alias that still has type variables in it, as in
    ``Function[P, R]`` inside generic code, stays a plain alias: there is
    nothing concrete to check against.
    """
    if alias.__parameters__:
        return alias
    key = (cls, alias.__args__)
    made = _specialised.get(key)
    if made is None:
        name = f"{cls.__name__}[{', '.join(spell(a) for a in alias.__args__)}]"
        body = {"__slots__": (), "__module__": cls.__module__, "__qualname__": name, **namespace}
        made = _specialised.setdefault(key, type(name, (cls,), body))
    return made
