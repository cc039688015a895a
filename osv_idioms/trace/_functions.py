"""Tracepoints on any Python function, the way Linux perf probes code it was never built with.

``probe_function("json:dumps")`` declares three tracepoints, ``py:json:dumps``
(a call, with its arguments), ``py:json:dumps_ret`` (its return value) and
``py:json:dumps_err`` (the exception it raised); the first and either of the
others make a timed pair. Like every tracepoint they start off, and cost
nothing while off: the function is only watched while one of its three
tracepoints is counting, recording or probed.

On 3.12 and later the calls are seen through ``sys.monitoring`` (PEP 669):
the function's code object alone gets the start event while the call's
tracepoint is on, and the return event while the return's is, so the
program's other code is never watched; a call that is only counted does
not even read its arguments. On 3.11, which has no ``sys.monitoring``, the
function is replaced, where it is defined, by a wrapper while its
tracepoints are on; a reference taken before that (``from json import
dumps`` run earlier) keeps calling the original.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import threading
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any, cast

from ..checks import kind_of
from ..errors import TracepointError
from ..forks import free_in_child
from ..generated import compile_function
from ._bodies import PREFIX
from ._registry import registry

__all__ = ("probe_function",)

_lock = threading.Lock()
free_in_child(_lock)
_probes: dict[str, _FunctionProbe] = {}  # by "module:qualname"


def probe_function(target: str) -> str:
    """Declare the tracepoints of calls of the Python function ``MODULE:QUALNAME``.

    Args:
        target: the module to import and the function's qualified name in it,
            as ``json:dumps`` or ``http.client:HTTPConnection.request``.

    Returns:
        The name of the call's tracepoint, ``py:MODULE:QUALNAME``; its return
        is ``..._ret`` and its exception ``..._err``. Switch them on as any
        tracepoint: ``count()``, ``enable()``, ``add_probe()``.

    Raises:
        TypeError: ``target`` is not a str.
        TracepointError: it is not ``MODULE:QUALNAME``, the module cannot be
            imported, it has no such name, or the name is not a Python
            function (a builtin, a class, a generator or coroutine function).

    Examples:
        >>> import json
        >>> from osv_idioms.trace import count
        >>> name = probe_function("json:dumps")
        >>> with count(name, name + "_ret") as calls:
        ...     _ = json.dumps([1, 2])
        >>> name, dict(calls)
        ('py:json:dumps', {'py:json:dumps': 1, 'py:json:dumps_ret': 1})
    """
    if not isinstance(target, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"probe_function() takes 'MODULE:QUALNAME', got {kind_of(target)}")
    with _lock:
        probe = _probes.get(target)
        if probe is None:
            probe = _FunctionProbe(target, _resolve(target))
            _probes[target] = probe
    return probe.names[0]


def _resolve(target: str) -> tuple[object, str, FunctionType]:
    """The object holding the function, the attribute it is under, and the function."""
    module_name, colon, qualname = target.partition(":")
    if not (colon and module_name and qualname) or "*" in target or "?" in target:
        raise TracepointError(
            f"a function to probe is named MODULE:QUALNAME, as json:dumps, got {target!r}"
        )
    try:
        owner: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise TracepointError(
            f"can't probe {target}: can't import {module_name!r}: {exc}"
        ) from None
    *path, attribute = qualname.split(".")
    for part in path:
        owner = _attribute(owner, part, target)
    found = _attribute(owner, attribute, target)
    function = inspect.unwrap(found.__func__ if inspect.ismethod(found) else found)  # pyright: ignore[reportUnknownMemberType,reportUnknownArgumentType]
    if not isinstance(function, FunctionType):
        raise TracepointError(
            f"can't probe {target}: it is {kind_of(found)}, not a Python function"
        )
    if (
        inspect.isgeneratorfunction(function)
        or inspect.iscoroutinefunction(function)
        or (inspect.isasyncgenfunction(function))
    ):
        raise TracepointError(
            f"can't probe {target}: a generator or coroutine function's call does not run it"
        )
    return owner, attribute, function


def _attribute(owner: object, name: str, target: str) -> Any:
    try:
        return getattr(owner, name)
    except AttributeError:
        where = getattr(owner, "__name__", repr(owner))
        raise TracepointError(f"can't probe {target}: {where} has no attribute {name!r}") from None


def _argument_names(code: CodeType) -> tuple[str, ...]:
    """The function's parameters, in order (``*args`` and ``**kwargs`` included)."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS)
    count += bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return code.co_varnames[:count]


def _parameters(names: tuple[str, ...]) -> tuple[str, ...]:
    """The tracepoint's parameter names: the function's, clear of the tracepoint's own globals."""
    return tuple(name + "_" if name.startswith(PREFIX) else name for name in names)


def _signature(names: tuple[str, ...]) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(name, kind) for name in names])


class _FunctionProbe:
    """One probed function: its three tracepoints, and how its calls reach them."""

    def __init__(self, target: str, resolved: tuple[object, str, FunctionType]) -> None:
        self.owner, self.attribute, self.function = resolved
        code = self.function.__code__
        site = f"{code.co_filename}:{code.co_firstlineno}"
        name = f"py:{target}"
        self.names = (name, name + "_ret", name + "_err")
        self.arguments = _argument_names(code)
        signature = _signature(_parameters(self.arguments))
        self.entry_point = registry.declare(name, "", signature, site, "py_call")
        self.enter = self.entry_point.fn
        self.unread: tuple[None, ...] = (None,) * len(self.arguments)  # counted, not shown
        self.leave = registry.declare(
            name + "_ret", "", _signature(("value",)), site, "py_return"
        ).fn
        self.fail = registry.declare(
            name + "_err", "", _signature(("exception",)), site, "py_raise"
        ).fn
        self._on = (False, False, False)
        self.unwinds = False  # whether the exception tracepoint is on (sys.monitoring)
        self._hook = _hook_for(self)
        for index, each in enumerate(self.names):
            registry.watch_activity(each, functools.partial(self._switched, index))

    def _switched(self, index: int, active: bool) -> None:
        """One of the three turned on or off: watch what they need (registry lock held)."""
        on = tuple(active if i == index else was for i, was in enumerate(self._on))
        self._on = (on[0], on[1], on[2])
        self._hook(self._on)


def _hook_for(probe: _FunctionProbe) -> Callable[[tuple[bool, bool, bool]], None]:
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        return _Monitor.of(monitoring).hook(probe)
    return _wrapper_hook(probe)


# -- 3.12 and later: sys.monitoring ------------------------------------------------------


class _Monitor:
    """The library's one ``sys.monitoring`` tool: start, return and unwind of probed code only."""

    _made: _Monitor | None = None

    @classmethod
    def of(cls, monitoring: Any) -> _Monitor:
        if cls._made is None:
            cls._made = cls(monitoring)
        return cls._made

    def __init__(self, monitoring: Any) -> None:
        self.monitoring = monitoring
        self.events = monitoring.events
        self.tool = self._free_tool()
        self.watched: dict[CodeType, _FunctionProbe] = {}
        register = monitoring.register_callback
        register(self.tool, self.events.PY_START, self._started)
        register(self.tool, self.events.PY_RETURN, self._returned)
        register(self.tool, self.events.PY_UNWIND, self._unwound)

    def _free_tool(self) -> int:
        # 0 to 2 are the debugger's, coverage's and the profiler's, 5 the optimizer's.
        for tool in (4, 3):
            if self.monitoring.get_tool(tool) is None:
                self.monitoring.use_tool_id(tool, "osv_idioms")
                return tool
        raise TracepointError("can't probe functions: sys.monitoring tools 3 and 4 are both taken")

    def hook(self, probe: _FunctionProbe) -> Callable[[tuple[bool, bool, bool]], None]:
        code = probe.function.__code__
        events = self.events

        def switch(on: tuple[bool, bool, bool]) -> None:
            """Watch the start while the call's tracepoint is on, the return while its is."""
            call, returned, raised = on
            local = (events.PY_START if call else 0) | (events.PY_RETURN if returned else 0)
            if any(on):
                self.watched[code] = probe
            else:
                self.watched.pop(code, None)
            probe.unwinds = raised
            self.monitoring.set_local_events(self.tool, code, local)
            # An exception leaving a frame is only seen program-wide: on while one is asked for.
            wanted = any(p.unwinds for p in self.watched.values())
            self.monitoring.set_events(self.tool, events.PY_UNWIND if wanted else 0)

        return switch

    def _started(self, code: CodeType, _offset: int) -> object:
        probe = self.watched.get(code)
        if probe is None:
            return self.monitoring.DISABLE
        point = probe.entry_point
        if point.recording or point.probes:  # the arguments are shown: read them
            local = sys._getframe(1).f_locals  # pyright: ignore[reportPrivateUsage] # the call's
            probe.enter(*[local.get(name) for name in probe.arguments])
        else:  # only counted: the arguments are not looked at
            probe.enter(*probe.unread)
        return None

    def _returned(self, code: CodeType, _offset: int, value: object) -> object:
        probe = self.watched.get(code)
        if probe is None:
            return self.monitoring.DISABLE
        probe.leave(value)
        return None

    def _unwound(self, code: CodeType, _offset: int, exception: BaseException) -> None:
        probe = self.watched.get(code)
        if probe is not None and probe.unwinds:
            probe.fail(exception)


# -- 3.11: a wrapper, swapped in where the function is defined -------------------------------


def _wrapper_hook(probe: _FunctionProbe) -> Callable[[tuple[bool, bool, bool]], None]:
    original = probe.owner.__dict__.get(probe.attribute, probe.function)
    probed = _wrapper(probe)
    wrapped: object = probed
    if isinstance(original, staticmethod):
        wrapped = staticmethod(probed)
    elif isinstance(original, classmethod):
        wrapped = classmethod(probed)

    def switch(on: tuple[bool, bool, bool]) -> None:
        setattr(probe.owner, probe.attribute, wrapped if any(on) else original)

    return switch


def _wrapper(probe: _FunctionProbe) -> Callable[..., Any]:
    """A function with the probed one's own parameters, firing its tracepoints around the call.

    Written with the exact parameters, so that a call costs three calls and
    no argument binding in Python.
    """
    function = probe.function
    params = list(inspect.signature(function).parameters.values())
    parameters: list[str] = []
    forwarded: list[str] = []
    for index, param in enumerate(params):
        written, passed = _parameter_source(param, starred=any("*" in p for p in parameters))
        parameters += written
        forwarded.append(passed)
        following = params[index + 1].kind if index + 1 < len(params) else None
        if param.kind is param.POSITIONAL_ONLY and following is not param.POSITIONAL_ONLY:
            parameters.append("/")
    source = (
        f"def probed({', '.join(parameters)}):\n"
        f"    _osv_enter({', '.join(probe.arguments)})\n"
        "    try:\n"
        f"        _osv_value = _osv_function({', '.join(forwarded)})\n"
        "    except BaseException as _osv_exception:\n"
        "        _osv_fail(_osv_exception)\n"
        "        raise\n"
        "    _osv_leave(_osv_value)\n"
        "    return _osv_value\n"
    )
    namespace = {
        "_osv_enter": probe.enter,
        "_osv_leave": probe.leave,
        "_osv_fail": probe.fail,
        "_osv_function": function,
    }
    made = compile_function(
        source, "probed", what=f"probe of {probe.names[0]}", namespace=namespace
    )
    probed = cast("FunctionType", made)
    probed.__defaults__ = function.__defaults__  # the defaults are the function's own
    probed.__kwdefaults__ = function.__kwdefaults__
    return functools.wraps(function)(probed)


def _parameter_source(param: inspect.Parameter, *, starred: bool) -> tuple[list[str], str]:
    """How the wrapper declares one parameter (defaults are set after), and passes it on."""
    name = param.name
    default = "=None" if param.default is not param.empty else ""
    if param.kind is param.VAR_POSITIONAL:
        return [f"*{name}"], f"*{name}"
    if param.kind is param.VAR_KEYWORD:
        return [f"**{name}"], f"**{name}"
    if param.kind is param.KEYWORD_ONLY:
        return ([] if starred else ["*"]) + [name + default], f"{name}={name}"
    return [name + default], name
