r"""Functions compiled from source the library writes, with that source kept for tracebacks.

Signals' emit loops and ``bind_weak``'s forwarders are generated, because a
function with exactly the right parameters costs less to call than one taking
``*args``. Compiled from a plain string, such a function's traceback lines
read ``File "<string>"`` with no source, and ``inspect.getsource`` fails on
it. So each source is registered with ``linecache`` under a file name of its
own, as attrs does for the methods it writes: tracebacks show the line that
ran, ``inspect.getsource`` returns the source, and a debugger can step
through it.

Examples:
    >>> import inspect
    >>> double = compile_function("def double(x):\n    return 2 * x\n", "double", what="doctest")
    >>> double(21), inspect.getsource(double).splitlines()[1]
    (42, '    return 2 * x')
    >>> double.__code__.co_filename  # doctest: +ELLIPSIS
    '<osv_idioms generated doctest ...>'
"""

from __future__ import annotations

import itertools
import linecache
import threading
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import Any

from .checks import kind_of
from .forks import free_in_child

__all__ = ("compile_function",)

_serial = itertools.count(1)
_serial_lock = threading.Lock()  # the file names must be unique without the GIL too
free_in_child(_serial_lock)


def compile_function(
    source: str, name: str, *, what: str, namespace: Mapping[str, Any] | None = None
) -> Callable[..., Any]:
    r"""Compile ``source``, which defines the function ``name``, and return that function.

    Args:
        source: the module-level source of the function (and nothing that
            must not run: it is executed).
        name: the function ``source`` defines.
        what: a few words for the file name tracebacks show, such as
            ``"emit 1 argument"``.
        namespace: the globals the function sees (copied); none but
            builtins when omitted.

    Returns:
        The function, its code's file name registered with ``linecache``.

    Raises:
        TypeError: ``source``, ``name`` or ``what`` is not a str.
        SyntaxError: ``source`` does not compile.
        ValueError: ``source`` does not define a function ``name``.

    Examples:
        >>> import traceback
        >>> fail = compile_function("def fail():\n    raise KeyError('x')\n", "fail", what="doc")
        >>> try:
        ...     fail()
        ... except KeyError as error:
        ...     print(traceback.format_tb(error.__traceback__)[-1].splitlines()[-1].strip())
        raise KeyError('x')
    """
    for value, label in ((source, "source"), (name, "name"), (what, "what")):
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"{label} must be a str, got {kind_of(value)}")
    with _serial_lock:
        filename = f"<osv_idioms generated {what} {next(_serial)}>"
    code = compile(source, filename, "exec")
    # An entry whose modification time is None is never dropped by checkcache().
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    scope: dict[str, Any] = dict(namespace or {})
    exec(code, scope)  # the library's own source, written from its templates
    function = scope.get(name)
    if not isinstance(function, FunctionType):
        raise ValueError(f"the source defines no function {name!r}")  # noqa: TRY004 - a wrong value
    return function
