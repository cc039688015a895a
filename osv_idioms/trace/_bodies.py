"""A tracepoint's function, and the bodies its code is swapped between.

A tracepoint is a plain function generated with exactly the stub's
parameters and globals of its own. Its ``__code__`` is swapped between
bodies (empty, count, record, probe, or a mix), so the object users import
never changes and a disabled call costs what an empty function costs. The
hot path takes no lock and reads only its own globals, which the registry
fills before it swaps the code.
"""

from __future__ import annotations

import inspect
import itertools
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any, TypeAlias

from ._ring import Ring, appended_source

__all__ = ("OFF", "PREFIX", "Point", "Probe", "State")

Probe: TypeAlias = Callable[[str, tuple[object, ...]], object]
"""A probe receives the tracepoint's name and its argument values."""

State: TypeAlias = tuple[bool, bool, bool, bool]
"""What a body does: (counting, recording, recording a backtrace, probing)."""

Fire: TypeAlias = Callable[["Point", tuple[Probe, ...], tuple[object, ...]], None]
"""Calls a point's probes with one hit's arguments (the registry's, which removes failed ones)."""

PREFIX = "_osv_tp_"  # internal globals of a tracepoint body; parameters may not use it
OFF: State = (False, False, False, False)
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


def _read_count(counter: itertools.count[int]) -> int:
    """The next value ``counter`` would give, read without consuming it."""
    return int(repr(counter)[len("count(") : -1])


class Point:
    """A declared tracepoint's state; only the registry, holding its lock, changes it."""

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
        self,
        name: str,
        fmt: str,
        signature: inspect.Signature,
        site: str,
        label: str,
        *,
        fire: Fire,
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
        self.bodies: dict[State, CodeType] = {}
        self.fn: FunctionType = _make_function(self, fire)

    def state(self) -> State:
        """What its body must do now."""
        return (
            self.counting > 0,
            self.recording,
            self.recording and self.backtrace,
            bool(self.probes),
        )

    def refresh(self, ring: Ring) -> None:
        """Point the function at the body for the current state, appending to ``ring``."""
        globals_ = self.fn.__globals__
        globals_[PREFIX + "c"] = self.counter
        globals_[PREFIX + "probes"] = self.probes
        globals_[PREFIX + "append"] = ring.records.append
        globals_[PREFIX + "seq"] = ring.seq
        key = self.state()
        if key not in self.bodies:
            self.bodies[key] = _compile_body(self, key)
        if self.fn.__code__ is not self.bodies[key]:  # a swap unspecialises it from 3.13 on
            self.fn.__code__ = self.bodies[key]

    def hits(self) -> int:
        """How many times a counting body has run, ever."""
        return _read_count(self.counter)


def _signature_source(signature: inspect.Signature, *, defaults_from: str = "") -> str:
    """The parameter list as source.

    Defaults are written as ``None``: they live on the function object, not in
    its code, so the bodies swapped in later need no real ones. The function
    itself is made with its real defaults, read from the globals named
    ``defaults_from`` plus the parameter's name.
    """
    parts: list[str] = []
    seen_keyword_only = False
    for index, param in enumerate(signature.parameters.values()):
        if param.kind is param.KEYWORD_ONLY and not seen_keyword_only:
            parts.append("*")
            seen_keyword_only = True
        default = ""
        if param.default is not param.empty:
            default = f"={defaults_from}{param.name}" if defaults_from else "=None"
        parts.append(param.name + default)
        if param.kind is param.POSITIONAL_ONLY and (
            index + 1 == len(signature.parameters)
            or list(signature.parameters.values())[index + 1].kind is not param.POSITIONAL_ONLY
        ):
            parts.append("/")
    return ", ".join(parts)


def _body_source(point: Point, state: State) -> str:
    counting, recording, backtrace, probing = state
    args = "".join(f"{name}, " for name in point.params)
    statements: list[str] = []
    if counting:
        statements.append(f"{PREFIX}next({PREFIX}c)")
    if recording:
        fields = {
            "seq": f"{PREFIX}next({PREFIX}seq)",  # next() costs less than a bound __next__
            "name": repr(point.name),  # a constant load; events() finds the point by it
            "ns": f"{PREFIX}ns()",
            "thread": f"{PREFIX}thread.tag",
            "backtrace": f"{PREFIX}stack()" if backtrace else "None",
        }
        statements.append(f"{PREFIX}append({appended_source(fields, point.params)})")
    if probing:
        statements.append(f"{PREFIX}fire({PREFIX}point, {PREFIX}probes, ({args}))")
    return "; ".join(statements) or "pass"


def _compile_body(point: Point, state: State) -> CodeType:
    """Compile the body for one state, on one line, so tracebacks show the stub's ``def``."""
    source = (
        f"def {point.label}({_signature_source(point.signature)}): {_body_source(point, state)}"
    )
    filename, _, line = point.site.rpartition(":")
    scratch: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), scratch)
    code: CodeType = scratch[point.label].__code__
    return code.replace(co_firstlineno=int(line), co_qualname=point.label)


def _make_function(point: Point, fire: Fire) -> FunctionType:
    """Create the tracepoint's function object once, off; later states only swap its code.

    It is made by running its ``def``, with its real defaults, and never by
    ``FunctionType()`` or by setting ``__defaults__``: from 3.13 on, the
    specialising interpreter only specialises calls of a function whose
    version is the one its ``def`` gave it, and both of those clear it (as
    does swapping ``__code__``, which is why ``refresh`` swaps only on a
    change). So a tracepoint never switched on costs an empty call there too.
    """
    defaults = PREFIX + "default_"
    globals_: dict[str, Any] = {
        "__builtins__": __builtins__,
        "__name__": __name__,
        PREFIX + "next": next,
        PREFIX + "point": point,
        PREFIX + "ns": time.monotonic_ns,
        PREFIX + "thread": _thread_tag,
        PREFIX + "stack": _stack,
        PREFIX + "fire": fire,
    }
    given = {
        defaults + param.name: param.default
        for param in point.signature.parameters.values()
        if param.default is not param.empty
    }
    filename, _, line = point.site.rpartition(":")
    parameters = _signature_source(point.signature, defaults_from=defaults)
    source = "\n" * (int(line) - 1) + f"def {point.label}({parameters}): pass\n"
    code = compile(source, filename, "exec")
    globals_.update(given)
    exec(code, globals_)  # the library's own source: a def with the stub's parameters
    fn: FunctionType = globals_.pop(point.label)
    for name in given:  # read once, by the def: the function holds them now
        del globals_[name]
    point.bodies[OFF] = fn.__code__
    return fn


def _stack() -> traceback.StackSummary:
    """The caller's stack, innermost last, without reading source lines (that is slow)."""
    frame = sys._getframe(2)  # pyright: ignore[reportPrivateUsage] # skip this helper and the tracepoint body
    summary = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=_BACKTRACE_DEPTH, lookup_lines=False
    )
    summary.reverse()
    return summary
