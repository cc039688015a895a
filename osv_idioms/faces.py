"""Each package's public face: its objects named by the module users import them from.

A class defined in ``osv_idioms/signals/_signal.py`` would report
``osv_idioms.signals._signal.Signal`` in its repr, in pickling errors and in
the API docs. ``present`` renames, as trio does for its whole API, every
class and function a package exports (and their methods) to the package
itself: ``osv_idioms.signals.Signal``.

Examples:
    >>> from osv_idioms.signals import Signal
    >>> Signal.__module__, Signal.connect.__module__
    ('osv_idioms.signals', 'osv_idioms.signals')
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import cast

from .checks import kind_of

__all__ = ("present",)


def present(module_name: str, namespace: Mapping[str, object]) -> None:
    """Give each name in ``namespace["__all__"]`` defined below ``module_name`` that module.

    Args:
        module_name: the package, as ``__name__`` in its ``__init__``.
        namespace: the package's ``globals()``.

    Raises:
        TypeError: ``module_name`` is not a str, or ``namespace`` not a mapping.

    Examples:
        >>> def helper() -> None: ...
        >>> helper.__module__ = "mypackage._impl"
        >>> present("mypackage", {"__all__": ("helper",), "helper": helper})
        >>> helper.__module__
        'mypackage'
    """
    if not isinstance(module_name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"module_name must be a str, got {kind_of(module_name)}")
    if not isinstance(namespace, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"namespace must be a mapping (globals()), got {kind_of(namespace)}")
    names = cast("tuple[str, ...]", namespace.get("__all__", ()))
    for name in names:
        _rename(namespace[name], module_name, set())


def _rename(obj: object, module_name: str, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, classmethod | staticmethod):
        obj = cast("object", obj.__func__)  # pyright: ignore[reportUnknownMemberType]
    elif isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                _rename(accessor, module_name, seen)
        return
    if not isinstance(obj, type | types.FunctionType):
        return
    if not obj.__module__.startswith(f"{module_name}."):
        return  # defined elsewhere (a base class's method, a re-export): not this face's
    obj.__module__ = module_name
    if isinstance(obj, type):
        for value in list(vars(obj).values()):
            _rename(value, module_name, seen)
