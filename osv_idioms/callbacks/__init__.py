"""Generic callbacks: ``std::function`` and ``std::bind`` with their checks done early.

Slide "Generic callbacks" (``function<void (int level)> irq_handler;``,
``read_callback = bind(this, &my_device::read);``). Python functions are
already first class; what it lacks is the failure at the right moment. A
``Function[[int], None]`` refuses a callable of the wrong shape when it is
assigned, naming both shapes, instead of when the interrupt finally fires;
calling an empty one raises ``BadFunctionCall`` instead of ``'NoneType'
object is not callable``; ``bind`` checks its arguments when it binds; and
``bind_weak`` binds a method without keeping its object alive.

Examples:
    >>> from osv_idioms.callbacks import Function, bind
    >>> class Device:
    ...     def read(self, size: int) -> bytes:
    ...         return b"x" * size
    >>> read_callback: Function[[int], bytes] = Function[[int], bytes](Device().read)
    >>> read_callback(3)
    b'xxx'
"""

# The placeholders are spelled as in C++ (``_1``), which pyright reads as private.
# pyright: reportPrivateUsage=false

from __future__ import annotations

from ..faces import present
from ._bind import (
    Bound,
    Placeholder,
    _1,
    _2,
    _3,
    _4,
    _5,
    _6,
    _7,
    _8,
    _9,
    bind,
    bind_weak,
    weakly_bound,
)
from ._function import Function
from ._shape import Arity, arity, describe

__all__ = (
    "Arity",
    "Bound",
    "Function",
    "Placeholder",
    "_1",
    "_2",
    "_3",
    "_4",
    "_5",
    "_6",
    "_7",
    "_8",
    "_9",
    "arity",
    "bind",
    "bind_weak",
    "describe",
    "weakly_bound",
)

present(__name__, globals())
