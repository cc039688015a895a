"""Declaring tracepoints and switching what they do.

A tracepoint is a plain function generated with exactly the stub's parameters
and globals of its own. Its ``__code__`` is swapped between bodies (empty,
count, record, probe, or a mix), so the object users import never changes and
a disabled call costs what an empty function costs. Writers (enable, disable,
count, add_probe) serialise on one registry lock; the hot path takes no lock
and reads only its own globals, which writers fill before they swap the code.
"""

from __future__ import annotations

import fnmatch
import inspect
import itertools
import os
import re
import string
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any, ParamSpec, Protocol, TypeAlias, final

from ..checks import accepts, arrived, check_callable, flag, kind_of
from ..errors import ProbeFailedWarning, TracepointError
from ..interrupts import deferred

P = ParamSpec("P")
Probe: TypeAlias = Callable[[str, tuple[object, ...]], object]
"""A probe receives the tracepoint's name and its argument values."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PREFIX = "_osv_tp_"  # internal globals of a tracepoint body; parameters may not use it
DEFAULT_BUFFER_SIZE = 65536
_BACKTRACE_DEPTH = 16


class _ThreadTag(threading.local):
    """Who is calling, captured once per thread: (ident, name, native id).

    Reading it costs one attribute load, and the name survives the thread, so
    a trace written after the workers ended still names them.
    """

    tag: tuple[int, str, int]

    def __init__(self) -> None:
        thread = threading.current_thread()
        self.tag = (thread.ident or 0, thread.name, thread.native_id or 0)


_thread_tag = _ThreadTag()


class Ring:
    """The bounded record buffer: a deque whose appends never block, and a sequence number.

    Each record starts with its sequence number, counted from 0 for each new
    ring, so the first record kept tells how many were pushed out before it.
    """

    __slots__ = ("records", "seq")

    def __init__(self, size: int) -> None:
        self.records: deque[tuple[Any, ...]] = deque(maxlen=size)
        self.seq = itertools.count()


def _read_count(counter: itertools.count[int]) -> int:
    """The next value ``counter`` would give, read without consuming it."""
    return int(repr(counter)[len("count(") : -1])


class _Point:
    """A declared tracepoint's state; only writers holding ``_lock`` change it."""

    __slots__ = (
        "backtrace",
        "bodies",
        "counter",
        "counting",
        "fmt",
        "fn",
        "label",
        "name",
        "params",
        "probes",
        "recording",
        "signature",
        "site",
    )

    def __init__(
        self, name: str, fmt: str, signature: inspect.Signature, site: str, label: str
    ) -> None:
        self.name = name
        self.label = label  # the function's name, as tracebacks show it
        self.fmt = fmt
        self.signature = signature
        self.params = tuple(signature.parameters)
        self.site = site
        self.counter = itertools.count()
        self.counting = 0  # how many Counters watch this point
        self.recording = False
        self.backtrace = False
        self.probes: tuple[Probe, ...] = ()
        self.bodies: dict[tuple[bool, bool, bool, bool], CodeType] = {}
        self.fn: FunctionType = _make_function(self)

    def state(self) -> tuple[bool, bool, bool, bool]:
        return (
            self.counting > 0,
            self.recording,
            self.recording and self.backtrace,
            bool(self.probes),
        )

    def refresh(self) -> None:
        """Point the function at the body for the current state (writers only)."""
        globals_ = self.fn.__globals__
        globals_[_PREFIX + "c"] = self.counter
        globals_[_PREFIX + "probes"] = self.probes
        globals_[_PREFIX + "append"] = _ring.records.append
        globals_[_PREFIX + "seq"] = _ring.seq.__next__
        key = self.state()
        if key not in self.bodies:
            self.bodies[key] = _compile_body(self, *key)
        self.fn.__code__ = self.bodies[key]
        _notify_activity(self.name)

    def read(self) -> int:
        return _read_count(self.counter)


def _signature_source(signature: inspect.Signature) -> str:
    """The parameter list as source.

    Defaults are written as ``None``: they live on the function object, not in
    its code, and the real ones are set when the function is created.
    """
    parts: list[str] = []
    seen_keyword_only = False
    for index, param in enumerate(signature.parameters.values()):
        if param.kind is param.KEYWORD_ONLY and not seen_keyword_only:
            parts.append("*")
            seen_keyword_only = True
        default = "" if param.default is param.empty else "=None"
        parts.append(param.name + default)
        if param.kind is param.POSITIONAL_ONLY and (
            index + 1 == len(signature.parameters)
            or list(signature.parameters.values())[index + 1].kind is not param.POSITIONAL_ONLY
        ):
            parts.append("/")
    return ", ".join(parts)


def _args_source(point: _Point) -> str:
    return "".join(f"{name}, " for name in point.params)


def _compile_body(
    point: _Point, counting: bool, recording: bool, backtrace: bool, probing: bool
) -> CodeType:
    """Compile the body for one state, on one line so tracebacks show the stub's ``def``."""
    statements: list[str] = []
    if counting:
        statements.append(f"{_PREFIX}next({_PREFIX}c)")
    if recording:
        stack = f"{_PREFIX}stack()" if backtrace else "None"
        statements.append(
            # The name is a literal (a constant load); events() finds the point by it.
            f"{_PREFIX}append(({_PREFIX}seq(), {point.name!r}, {_PREFIX}ns(), "
            f"{_PREFIX}thread.tag, {stack}, {_args_source(point)}))"
        )
    if probing:
        statements.append(
            f"{_PREFIX}fire({_PREFIX}point, {_PREFIX}probes, ({_args_source(point)}))"
        )
    body = "; ".join(statements) or "pass"
    source = f"def {point.label}({_signature_source(point.signature)}): {body}"
    filename, _, line = point.site.rpartition(":")
    scratch: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), scratch)
    code: CodeType = scratch[point.label].__code__
    return code.replace(co_firstlineno=int(line), co_qualname=point.label)


def _make_function(point: _Point) -> FunctionType:
    """Create the tracepoint's function object once; later states only swap its code."""
    globals_: dict[str, Any] = {
        "__builtins__": __builtins__,
        "__name__": __name__,
        _PREFIX + "next": next,
        _PREFIX + "point": point,
        _PREFIX + "ns": time.monotonic_ns,
        _PREFIX + "thread": _thread_tag,
        _PREFIX + "stack": _stack,
        _PREFIX + "fire": _fire,
    }
    defaults: list[object] = []
    kwdefaults: dict[str, object] = {}
    for param in point.signature.parameters.values():
        if param.default is not param.empty:
            if param.kind is param.KEYWORD_ONLY:
                kwdefaults[param.name] = param.default
            else:
                defaults.append(param.default)
    code = _compile_body(point, False, False, False, False)
    fn = FunctionType(code, globals_, code.co_name, tuple(defaults) or None)
    fn.__kwdefaults__ = kwdefaults or None
    return fn


def _stack() -> traceback.StackSummary:
    """The caller's stack, innermost last, without reading source lines (that is slow)."""
    frame = sys._getframe(2)  # pyright: ignore[reportPrivateUsage] # skip this helper and the tracepoint body
    summary = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=_BACKTRACE_DEPTH, lookup_lines=False
    )
    summary.reverse()
    return summary


def _fire(point: _Point, probes: tuple[Probe, ...], args: tuple[object, ...]) -> None:
    """Call each probe; one that raises is removed with a warning, and the caller goes on."""
    for probe in probes:
        try:
            probe(point.name, args)
        except Exception as exc:
            _remove_failed_probe(probe)
            warnings.warn(
                f"probe {_callable_name(probe)} on tracepoint {point.name!r} raised "
                f"{type(exc).__name__}: {exc}; it has been removed",
                ProbeFailedWarning,
                stacklevel=3,
            )


def _callable_name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# --- the registry --------------------------------------------------------------------

_lock = threading.RLock()
# A forked child has only the forking thread: a registry lock another thread held at
# the fork would stay held for ever. Python's own locks are reset the same way.
os.register_at_fork(after_in_child=getattr(_lock, "_at_fork_reinit"))  # noqa: B009
_points: dict[str, _Point] = {}
_rules: list[tuple[str, bool, bool]] = []  # (pattern, record, backtrace); the last match wins
_probe_rules: list[tuple[str, Probe, object]] = []  # (pattern, probe, handle)
# The open Counters (see _counting), attached to new points; held weakly, so that a
# Counters no one can read any more stops counting when it is collected.
_watchers: weakref.WeakValueDictionary[int, _Watcher] = weakref.WeakValueDictionary()
_activity_watchers: list[_ActivityWatcher] = []
_ring = Ring(DEFAULT_BUFFER_SIZE)


class _Watcher(Protocol):
    """What the registry needs of a ``Counters``: to be shown each point that may match."""

    def _attach(self, point: _Point) -> None: ...


def _matches(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


_OFF = (False, False, False, False)


class _ActivityWatcher:
    """Tells a library module when any tracepoint matching a pattern starts or stops doing work.

    The mutex uses it to run its instrumented methods only while one of its
    tracepoints is on. The callback runs under the registry lock, so it must
    be quick and must not call back into this module; it is never user code.
    """

    __slots__ = ("active", "callback", "pattern")

    def __init__(self, pattern: str, callback: Callable[[bool], None]) -> None:
        self.pattern = pattern
        self.callback = callback
        self.active = False

    def update(self) -> None:
        active = any(
            p.state() != _OFF for name, p in _points.items() if _matches(self.pattern, name)
        )
        if active != self.active:
            self.active = active
            self.callback(active)


def _notify_activity(name: str) -> None:
    """Recheck the watchers whose pattern covers ``name`` (writers only, under the lock)."""
    for watcher in _activity_watchers:
        if _matches(watcher.pattern, name):
            watcher.update()


@deferred
def watch_activity(pattern: str, callback: Callable[[bool], None]) -> None:
    """Call ``callback(active)`` now and whenever tracepoints matching ``pattern`` turn on or off.

    For the library's own modules: see ``_ActivityWatcher``.
    """
    with _lock:
        watcher = _ActivityWatcher(pattern, callback)
        _activity_watchers.append(watcher)
        watcher.update()


def _apply_rules(point: _Point) -> None:
    """Give a point the state the remembered rules ask for (writers only)."""
    point.recording, point.backtrace = False, False
    for pattern, record, backtrace in _rules:
        if _matches(pattern, point.name):
            point.recording, point.backtrace = record, backtrace
    point.probes = tuple(
        probe for pattern, probe, _ in _probe_rules if _matches(pattern, point.name)
    )
    for watcher in list(_watchers.values()):
        watcher._attach(point)  # pyright: ignore[reportPrivateUsage]


def _declaration_site(depth: int) -> str:
    frame = sys._getframe(depth)  # pyright: ignore[reportPrivateUsage]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _check_name(name: str) -> None:
    if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"a tracepoint name must be a str, got {kind_of(name)}")
    if not _NAME.match(name):
        raise TracepointError(
            f"tracepoint name {name!r} is not an identifier; use letters, digits and _"
        )


def _check_signature(name: str, signature: inspect.Signature) -> None:
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise TracepointError(
                f"tracepoint {name!r}: parameter {star}{param.name} is not allowed; "
                "declare each traced value as a parameter of its own"
            )
        if param.name.startswith(_PREFIX):
            raise TracepointError(
                f"tracepoint {name!r}: parameter names may not start with {_PREFIX!r}"
            )


def _check_template(name: str, fmt: str, params: Sequence[str]) -> None:
    if not isinstance(fmt, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"tracepoint {name!r}: the template must be a str, got {kind_of(fmt)}")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(fmt) if field is not None]
    except ValueError as exc:
        raise TracepointError(f"tracepoint {name!r}: bad template {fmt!r}: {exc}") from None
    for field in fields:
        root = re.split(r"[.\[]", field, maxsplit=1)[0]
        if root not in params:
            raise TracepointError(
                f"tracepoint {name!r}: template field {{{field}}} names no parameter; "
                f"the parameters are ({', '.join(params)})"
            )


@deferred
def _declare(name: str, fmt: str, signature: inspect.Signature, site: str, label: str) -> _Point:
    """Register a tracepoint, or return the one this same site declared before."""
    _check_name(name)
    _check_signature(name, signature)
    _check_template(name, fmt, tuple(signature.parameters))
    with _lock:
        existing = _points.get(name)
        if existing is not None:
            if existing.site == site and existing.signature == signature and existing.fmt == fmt:
                return existing  # the same declaration run again (a module reload)
            raise TracepointError(
                f"tracepoint {name!r} declared at {site} is already declared at {existing.site}; "
                "give one of them another name"
            )
        point = _Point(name, fmt, signature, site, label)
        _points[name] = point
        _apply_rules(point)
        point.refresh()
        return point


def tracepoint(
    fmt: str = "", *, name: str | None = None
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Declare a tracepoint from a typed stub, as OSv's ``TRACEPOINT`` does.

    The name is the stub's name without its ``trace_`` prefix, unless ``name=``
    says otherwise. ``fmt`` is a ``str.format`` template over the parameter
    names, used when the trace is shown. The function returned is called like
    the stub and stays the same object whatever is switched on.

    >>> @tracepoint("{size} bytes at {addr:#x}")
    ... def trace_doc_alloc(addr: int, size: int) -> None: ...
    >>> trace_doc_alloc(0x1000, 64)   # off: costs an empty call
    >>> from osv_idioms.trace import count
    >>> with count("doc_alloc") as c:
    ...     trace_doc_alloc(0x2000, 32)
    >>> c["doc_alloc"]
    1
    """
    if not isinstance(fmt, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"tracepoint() takes a str template, got {kind_of(fmt)}")
    if name is not None:
        _check_name(name)

    def declare(stub: Callable[P, None]) -> Callable[P, None]:
        _check_stub(stub)
        label = getattr(stub, "__name__", "tracepoint")
        point_name = name if name is not None else label.removeprefix("trace_")
        code = getattr(stub, "__code__", None)
        site = (
            f"{code.co_filename}:{code.co_firstlineno}"
            if isinstance(code, CodeType)
            else _declaration_site(2)
        )
        point = _declare(point_name, fmt, inspect.signature(stub), site, label)
        fn = point.fn
        fn.__module__ = getattr(stub, "__module__", fn.__module__)
        fn.__doc__ = stub.__doc__
        fn.__annotations__ = dict(getattr(stub, "__annotations__", {}))
        return fn  # the generated function has the stub's signature

    return declare


def declare_tracepoint(name: str, *params: str, fmt: str = "") -> Callable[..., None]:
    """Declare a tracepoint at run time, with positional parameters named ``params``.

    >>> trace_doc_queue = declare_tracepoint("doc_queue", "depth", fmt="depth={depth}")
    >>> trace_doc_queue(3)
    >>> [t.parameters for t in tracepoints("doc_queue")]
    [('depth',)]
    """
    _check_name(name)
    for param in params:
        if not isinstance(param, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"tracepoint {name!r}: each parameter is named by a str, got {kind_of(param)}"
            )
        if not param.isidentifier():
            raise TracepointError(
                f"tracepoint {name!r}: parameter {param!r} is not an identifier; "
                "name each parameter with a str of letters, digits and _"
            )
    signature = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    )
    return _declare(name, fmt, signature, _declaration_site(2), f"trace_{name}").fn


@final
@dataclass(frozen=True, slots=True)
class TracepointInfo:
    """What ``tracepoints()`` reports of one tracepoint: its declaration and state."""

    name: str
    format: str
    parameters: tuple[str, ...]
    site: str
    recording: bool
    backtrace: bool
    counting: bool
    probes: int


@deferred
def tracepoints(pattern: str = "*") -> tuple[TracepointInfo, ...]:
    """The declared tracepoints whose names match ``pattern``, sorted by name.

    >>> [t.name for t in tracepoints("doc_a*")]
    ['doc_alloc']
    """
    _check_pattern(pattern)
    with _lock:
        points = sorted(
            (p for p in _points.values() if _matches(pattern, p.name)), key=lambda p: p.name
        )
        return tuple(
            TracepointInfo(
                p.name,
                p.fmt,
                p.params,
                p.site,
                p.recording,
                p.backtrace,
                p.counting > 0,
                len(p.probes),
            )
            for p in points
        )


def _check_pattern(pattern: object) -> None:
    if not isinstance(pattern, str):
        raise TypeError(f"a tracepoint pattern must be a str, got {arrived(pattern)}")
    if not pattern:
        raise ValueError("a tracepoint pattern must not be empty; '*' matches every tracepoint")


def _check_stub(stub: object) -> None:
    """A stub must be a plain function: an ``async def`` would make a tracepoint returning None."""
    if not callable(stub):
        raise TypeError(f"@tracepoint() decorates a function, got {kind_of(stub)}")
    if inspect.iscoroutinefunction(stub) or inspect.isasyncgenfunction(stub):
        raise TypeError(
            f"@tracepoint() on the async function {getattr(stub, '__qualname__', stub)!r}: "
            "a tracepoint is called, not awaited; declare the stub with def"
        )
    if inspect.isgeneratorfunction(stub):
        raise TypeError(
            f"@tracepoint() on the generator function {getattr(stub, '__qualname__', stub)!r}: "
            "declare the stub with def and no yield"
        )


@deferred
def _set_rule(pattern: str, record: bool, backtrace: bool) -> None:
    _check_pattern(pattern)
    with _lock:
        _rules[:] = [rule for rule in _rules if rule[0] != pattern]
        _rules.append((pattern, record, backtrace))
        for point in _points.values():
            if _matches(pattern, point.name):
                _apply_rules(point)
                point.refresh()


def enable(pattern: str = "*", *, backtrace: bool = False) -> None:
    """Record the tracepoints matching ``pattern`` (shell wildcards), now and when declared later.

    >>> enable("doc_*")
    >>> [(t.name, t.recording) for t in tracepoints("doc_a*")]
    [('doc_alloc', True)]
    >>> disable("doc_*")
    """
    _set_rule(pattern, True, flag(backtrace, "backtrace"))


def disable(pattern: str = "*") -> None:
    """Stop recording the tracepoints matching ``pattern``, now and when declared later."""
    _set_rule(pattern, False, False)


def enable_from_environment(value: str | None = None) -> list[str]:
    """Enable the comma-separated patterns of ``OSV_TRACE`` (OSv's ``--trace=``); return them."""
    if value is not None and not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"enable_from_environment() takes a str of patterns or None, got {kind_of(value)}"
        )
    text = os.environ.get("OSV_TRACE", "") if value is None else value
    patterns = [p.strip() for p in text.split(",") if p.strip()]
    for pattern in patterns:
        enable(pattern)
    return patterns


# --- probes ---------------------------------------------------------------------------


@final
class ProbeHandle:
    """An attached probe; ``remove()`` detaches it (and is harmless twice)."""

    __slots__ = ("pattern", "probe")

    def __init__(self, pattern: str, probe: Probe) -> None:
        self.pattern: str = pattern
        self.probe: Probe = probe

    def remove(self) -> None:
        """Detach the probe from every tracepoint it was attached to."""
        _detach_probes(lambda _probe, handle: handle is self)

    @property
    @deferred
    def attached(self) -> bool:
        """Whether the probe is still attached (it is removed when it raises)."""
        with _lock:
            return any(handle is self for _, _, handle in _probe_rules)


@deferred
def add_probe(pattern: str, probe: Probe) -> ProbeHandle:
    """Call ``probe(name, args)`` on every hit of the tracepoints matching ``pattern``.

    Probes run in the traced thread with no library lock held. One that raises
    is removed with a ``ProbeFailedWarning``; the traced program goes on.

    >>> seen = []
    >>> handle = add_probe("doc_alloc", lambda name, args: seen.append(args))
    >>> trace_doc_alloc(0x3000, 8)
    >>> handle.remove()
    >>> seen
    [(12288, 8)]
    """
    _check_pattern(pattern)
    check_callable(probe, "a probe", "probe(name, args)")
    if accepts(probe, 2) is False:
        raise TypeError(
            f"a probe must be callable as probe(name, args); {_callable_name(probe)} "
            "can't take those two arguments"
        )
    handle = ProbeHandle(pattern, probe)
    with _lock:
        _probe_rules.append((pattern, probe, handle))
        _refresh_matching(pattern)
    return handle


def _remove_failed_probe(probe: Probe) -> None:
    _detach_probes(lambda candidate, _handle: candidate is probe)


@deferred
def _detach_probes(which: Callable[[Probe, object], bool]) -> None:
    with _lock:
        removed = [rule for rule in _probe_rules if which(rule[1], rule[2])]
        if not removed:
            return
        _probe_rules[:] = [rule for rule in _probe_rules if rule not in removed]
        for pattern, _, _ in removed:
            _refresh_matching(pattern)


def _refresh_matching(pattern: str) -> None:
    for point in _points.values():
        if _matches(pattern, point.name):
            _apply_rules(point)
            point.refresh()


# --- the record buffer ------------------------------------------------------------------


@deferred
def install_ring(ring: Ring) -> None:
    global _ring  # noqa: PLW0603 - the one ring every tracepoint appends to
    with _lock:
        _ring = ring
        for point in _points.values():
            point.refresh()
