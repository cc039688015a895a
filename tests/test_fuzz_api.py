"""Bad input across the whole public API: refused at the call, clearly, losing nothing.

Every public callable of every module is listed in ``CASES`` with valid
arguments. Each parameter is then given each of the bad values below, one at
a time (and, by Hypothesis, several at once): the call must either work or
raise ``TypeError`` or ``ValueError`` (or a library error that subclasses
one) with a message of the library's own; it must not wait past a short
bound, and nothing may reach ``sys.unraisablehook`` (the ``__del__`` of an
object a constructor refused). ``test_every_public_name_is_fuzzed`` keeps
the table complete: a new public name fails it until it is listed.
"""

from __future__ import annotations

import functools
import gc
import importlib
import io
import math
import os
import pkgutil
import re
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

import osv_idioms
from osv_idioms import (
    callbacks,
    checks,
    environment,
    faces,
    forks,
    generated,
    interrupts,
    locking,
    rcu,
    refcount,
    signals,
    telemetry,
    trace,
)
from osv_idioms.rcu import RcuDict, RcuDomain, RcuList, RcuPtr
from osv_idioms.refcount import IntrusiveRefCounted, SharedFromThis
from osv_idioms.signals import Signal

BAD: tuple[object, ...] = (
    None,
    -1,
    -0.5,
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    10**30,
    True,
    "3",
    b"x",
    object(),
    [],
    0,
    "",
    "a b",
)
WAIT_BOUND_S = 5.0
LIBRARY = str(Path(osv_idioms.__file__).resolve().parent)

# What Python says when code did not check its arguments: never the library's own words.
NOT_OURS = re.compile(
    r"'\w+' object|has no attribute|unsupported operand|not supported between"
    r"|timestamp out of range|cannot be interpreted|can't multiply|must be real number"
    r"|argument must be|takes no arguments|unhashable type|\ba [aeiou]\w*\b"
)


class Device:
    def close(self) -> None: ...


class Node(IntrusiveRefCounted):
    pass


class App(SharedFromThis):
    pass


class Panel:
    def on_value(self, value: int) -> None: ...


@dataclass
class Case:
    """A public callable and valid arguments for it, made fresh for every call."""

    make: Callable[[], tuple[Callable[..., object], dict[str, object]]]
    positional: tuple[str, ...] = ()
    any_value: frozenset[str] = field(default_factory=frozenset)
    also: tuple[type[BaseException], ...] = ()
    pythons_own: bool = False  # refusals are CPython's, on purpose

    def kinds_of(self, parameter: str) -> tuple[type, ...] | None:
        """The types a parameter accepts, when it has a plain scalar one (None: not declared)."""
        return KINDS.get(parameter)

    def call(self, **changes: object) -> object:
        fn, arguments = self.make()
        arguments = {**arguments, **changes}
        args = [arguments.pop(name) for name in self.positional if name in arguments]
        return fn(*args, **arguments)

    def parameters(self) -> list[str]:
        _, arguments = self.make()
        return [name for name in arguments if name not in self.any_value]


def case(
    make: Callable[[], tuple[Callable[..., object], dict[str, object]]],
    *positional: str,
    any_value: tuple[str, ...] = (),
    also: tuple[type[BaseException], ...] = (),
    pythons_own: bool = False,
) -> Case:
    return Case(make, positional, frozenset(any_value), also, pythons_own)


def plain(target: Callable[..., object], /, *positional: str, **arguments: object) -> Case:
    """A case whose callable needs no fresh state."""
    return case(lambda: (target, dict(arguments)), *positional)


def domain() -> RcuDomain:
    return RcuDomain("fuzz")


def entered(factory: Callable[..., Any]) -> Callable[..., None]:
    """Make the context manager with the arguments, enter it and leave it."""

    def use(*args: Any, **kwargs: Any) -> None:
        with factory(*args, **kwargs):
            pass

    return use


_serial = iter(range(10**9))


def fresh_name() -> str:
    return f"fuzz_{next(_serial)}"


def stub(v: int) -> None: ...


def signal_handler(signum: int, frame: object) -> None: ...


def the_tracepoint() -> Callable[..., None]:
    return trace.declare_tracepoint(fresh_name(), "v")


def _enable_and_undo(pattern: Any, backtrace: Any) -> None:
    trace.enable(pattern, backtrace=backtrace)
    trace.disable(pattern)


def _probe_and_remove(pattern: Any, probe: Any) -> None:
    trace.add_probe(pattern, probe).remove()


def _set_and_restore_buffer(size: Any) -> None:
    before = trace.buffer_size()
    try:
        trace.set_buffer_size(size)
    finally:
        trace.set_buffer_size(before)


def _acquire_and_release(blocking: Any, timeout: Any) -> None:
    mutex = locking.Mutex()
    if mutex.acquire(blocking, timeout):
        mutex.release()


def _checked_acquire_and_release(blocking: Any, timeout: Any) -> None:
    lock = locking.CheckedLock()  # refusals are the C lock's, as threading.Lock's are
    if lock.acquire(blocking, timeout):
        lock.release()


def _held_mutex() -> locking.Mutex:
    mutex = locking.Mutex()
    mutex.acquire()
    return mutex


def _drop_held(lock: Any) -> None:
    if isinstance(lock, locking.Mutex):
        lock.acquire()
    with locking.drop_lock(lock):
        pass


def _check_and_undo(on: Any, action: Any) -> None:
    try:
        locking.check_lock_order(on, action=action)
    finally:
        locking.check_lock_order(False)


def _shared_and_release(obj: Any, deleter: Any, rcu: Any) -> None:
    refcount.SharedPtr(obj, deleter=deleter, rcu=rcu).release()


def _make_and_release(factory: Any, deleter: Any, rcu: Any) -> None:
    refcount.make_shared(factory, deleter=deleter, rcu=rcu).release()


def _intrusive_and_release(obj: Any) -> None:
    refcount.IntrusivePtr(obj).release()


def _strict_and_undo(on: Any) -> None:
    try:
        refcount.set_strict(on)
    finally:
        refcount.set_strict(False)


def _weak_of(owner: Any) -> None:
    """``WeakPtr(owner)``, the valid owner made here so that a replaced one is not left unreleased."""
    if owner == "a new owner":
        with refcount.make_shared(Device) as made:
            refcount.WeakPtr(made).reset()
        return
    refcount.WeakPtr(owner).reset()


def _shared_from_this() -> None:
    app = App()
    with refcount.SharedPtr(app), app.shared_from_this():
        pass


def _add_ref_and_release() -> None:
    node = Node()
    node.add_ref()
    node.release()


def _prometheus_and_close(pattern: Any, registry: Any, buckets: Any) -> None:
    telemetry.to_prometheus(pattern, registry=registry, buckets=buckets).close()


def _opentelemetry_and_close(pattern: Any, meter_provider: Any, tracer_provider: Any) -> None:
    telemetry.to_opentelemetry(
        pattern, meter_provider=meter_provider, tracer_provider=tracer_provider
    ).close()


def _acquire_into_and_release(held: Any, lock: Any, timeout: Any) -> None:
    if interrupts.acquire_into(held, lock, timeout):
        lock.release()


CASES: dict[str, Case] = {
    # --- trace -----------------------------------------------------------------------
    "trace.tracepoint": case(
        lambda: (
            lambda fmt, name: trace.tracepoint(fmt, name=name)(stub),
            {"fmt": "{v}", "name": fresh_name()},
        ),
    ),
    "trace.declare_tracepoint": case(
        lambda: (
            lambda name, param, fmt: trace.declare_tracepoint(name, param, fmt=fmt),
            {"name": fresh_name(), "param": "v", "fmt": ""},
        ),
    ),
    "trace.tracepoints": plain(trace.tracepoints, "pattern", pattern="fuzz_*"),
    "trace.enable": case(
        lambda: (_enable_and_undo, {"pattern": "fuzz_none_*", "backtrace": False})
    ),
    "trace.disable": plain(trace.disable, "pattern", pattern="fuzz_none_*"),
    "trace.reset": plain(trace.reset),
    "trace.add_probe": case(
        lambda: (_probe_and_remove, {"pattern": "fuzz_none_*", "probe": lambda n, a: None})
    ),
    "trace.count": case(lambda: (entered(trace.count), {"spec": "fuzz_none_*"}), "spec"),
    "trace.stat": case(
        lambda: (
            entered(trace.stat),
            {
                "column": "fuzz_none_x",
                "interval": 60.0,
                "rows": 1,
                "csv": False,
                "out": io.StringIO(),
            },
        ),
        "column",
    ),
    "trace.set_buffer_size": case(lambda: (_set_and_restore_buffer, {"size": 1024})),
    "trace.buffer_size": plain(trace.buffer_size),
    "trace.start_of": plain(trace.start_of, "name", name="read_ret"),
    "trace.clear": plain(trace.clear),
    "trace.events": plain(trace.events),
    "trace.overwritten": plain(trace.overwritten),
    "trace.snapshot": plain(trace.snapshot),
    "trace.chrome_trace": case(lambda: (trace.chrome_trace, {"events": (), "pid": 1}), "events"),
    "trace.write_chrome_trace": case(
        lambda: (
            trace.write_chrome_trace,
            {"path": Path(tempfile.mkdtemp()) / "t.json", "trace": trace.TraceSnapshot((), 0)},
        ),
        "path",
        also=(OSError,),  # a path that names a directory, say
    ),
    "trace.summarize": plain(trace.summarize, "document", document={"traceEvents": []}),
    "trace.summary": plain(trace.summary, "trace", trace=trace.TraceSnapshot((), 0)),
    "trace.Column": plain(trace.Column, "tag", "spec", tag="t", spec="fuzz_*"),
    "trace.Column.parse": plain(trace.Column.parse, "text", text="t=fuzz_*"),
    "trace.DurationStats.of": plain(trace.DurationStats.of, "durations", durations=[1, 2]),
    "trace.DurationStats": plain(
        trace.DurationStats,
        count=1,
        mean_ns=1.0,
        p50_ns=1,
        p99_ns=1,
        max_ns=1,
        total_ns=1,
        min_ns=1,
        p90_ns=1,
    ),
    "trace.TraceSnapshot": plain(
        trace.TraceSnapshot, "events", "overwritten", events=(), overwritten=0
    ),
    "trace.TraceSummary": plain(trace.TraceSummary, "counts", "durations", counts={}, durations={}),
    "trace.Counters": case(
        lambda: (lambda specs: trace.Counters(specs).close(), {"specs": ["fuzz_none_*"]})
    ),
    "trace.PerfStat": case(
        lambda: (
            lambda columns, interval, rows, csv, out: trace.PerfStat(
                columns, interval=interval, rows=rows, csv=csv, out=out
            ).close(),
            {
                "columns": [trace.Column("a", "fuzz_none_*")],
                "interval": 60.0,
                "rows": None,
                "csv": False,
                "out": io.StringIO(),
            },
        )
    ),
    # --- locking ---------------------------------------------------------------------
    "locking.Mutex": plain(locking.Mutex, "name", name="fuzz"),
    "locking.CheckedLock": plain(locking.CheckedLock),
    "locking.CheckedLock.acquire": case(
        lambda: (_checked_acquire_and_release, {"blocking": True, "timeout": 1}), pythons_own=True
    ),
    # Mutex.acquire is RLock.acquire, refusals and messages included (Condition relies on it).
    "locking.Mutex.acquire": case(
        lambda: (_acquire_and_release, {"blocking": True, "timeout": 1}), pythons_own=True
    ),
    "locking.with_lock": case(
        lambda: (entered(locking.with_lock), {"lock": threading.Lock(), "timeout": 1.0}), "lock"
    ),
    "locking.drop_lock": case(lambda: (_drop_held, {"lock": locking.Mutex()})),
    "locking.assert_held": case(lambda: (locking.assert_held, {"lock": _held_mutex()}), "lock"),
    "locking.check_lock_order": case(lambda: (_check_and_undo, {"on": True, "action": "raise"})),
    "locking.lock_order_checking": plain(locking.lock_order_checking),
    "locking.reset_lock_order": plain(locking.reset_lock_order),
    "locking.recorded_lock_orders": plain(locking.recorded_lock_orders),
    "locking.instrumented": plain(locking.instrumented),
    # --- rcu -------------------------------------------------------------------------
    "rcu.RcuDomain": case(
        lambda: (
            lambda name, on_error: RcuDomain(name, on_error=on_error).close(),
            {"name": "fuzz", "on_error": lambda fn, exc: None},
        )
    ),
    "rcu.RcuDomain.synchronize": case(lambda: (domain().synchronize, {"timeout": 1.0}), "timeout"),
    "rcu.RcuDomain.barrier": case(lambda: (domain().barrier, {"timeout": 1.0}), "timeout"),
    "rcu.RcuDomain.close": case(lambda: (domain().close, {"timeout": 1.0}), "timeout"),
    "rcu.RcuDomain.call_rcu": case(lambda: (domain().call_rcu, {"fn": print}), "fn"),
    "rcu.RcuDomain.dispose": case(lambda: (domain().dispose, {"resource": Device()}), "resource"),
    "rcu.Reader": case(
        lambda: (rcu.Reader, {"domain": domain(), "thread": threading.current_thread()}),
        "domain",
        "thread",
    ),
    "rcu.synchronize": plain(rcu.synchronize, "timeout", timeout=1.0),
    "rcu.barrier": plain(rcu.barrier, "timeout", timeout=1.0),
    "rcu.call_rcu": plain(rcu.call_rcu, "fn", fn=print),
    "rcu.dispose": case(lambda: (rcu.dispose, {"resource": Device()}), "resource"),
    "rcu.in_read_section": plain(rcu.in_read_section),
    "rcu.read_lock": plain(rcu.read_lock),
    "rcu.RcuPtr": case(
        lambda: (RcuPtr, {"value": 1, "domain": domain(), "name": "p"}),
        "value",
        any_value=("value",),
    ),
    "rcu.RcuPtr.copy_update": case(lambda: (entered(RcuPtr((1,)).copy_update), {"retire": print})),
    "rcu.RcuList": case(
        lambda: (RcuList, {"items": [1], "domain": domain(), "name": "l"}), "items"
    ),
    "rcu.RcuList.insert": case(
        lambda: (RcuList([1]).insert, {"index": 0, "value": 2}),
        "index",
        "value",
        any_value=("value",),
    ),
    "rcu.RcuList.pop": case(
        lambda: (RcuList([1, 2]).pop, {"index": 0, "retire": print}), "index", also=(IndexError,)
    ),
    "rcu.RcuList.remove": case(
        lambda: (RcuList([1]).remove, {"value": 1, "retire": print}), "value", any_value=("value",)
    ),
    "rcu.RcuList.extend": case(lambda: (RcuList([1]).extend, {"values": [2]}), "values"),
    "rcu.RcuList.clear": case(lambda: (RcuList([1]).clear, {"retire": print})),
    "rcu.RcuDict": case(
        lambda: (RcuDict, {"items": {"a": 1}, "domain": domain(), "name": "d"}), "items"
    ),
    "rcu.RcuDict.put": case(
        lambda: (RcuDict().put, {"key": "a", "value": 1, "retire": print}),
        "key",
        "value",
        any_value=("value",),
    ),
    "rcu.RcuDict.remove": case(
        lambda: (RcuDict({"a": 1}).remove, {"key": "a", "retire": print}), "key", also=(KeyError,)
    ),
    "rcu.RcuDict.update": case(lambda: (RcuDict().update, {"items": {"a": 1}}), "items"),
    "rcu.RcuDict.clear": case(lambda: (RcuDict({"a": 1}).clear, {"retire": print})),
    "rcu.CopyUpdate": case(
        lambda: (entered(rcu.CopyUpdate), {"ptr": RcuPtr((1,)), "retire": print}), "ptr", "retire"
    ),
    "rcu.Draft": plain(rcu.Draft, "value", value=1),
    # --- refcount --------------------------------------------------------------------
    "refcount.SharedPtr": case(
        lambda: (_shared_and_release, {"obj": Device(), "deleter": print, "rcu": False}),
        "obj",
        any_value=("obj",),
    ),
    "refcount.make_shared": case(
        lambda: (_make_and_release, {"factory": Device, "deleter": print, "rcu": False}), "factory"
    ),
    "refcount.WeakPtr": case(lambda: (_weak_of, {"owner": "a new owner"}), "owner"),
    "refcount.IntrusivePtr": case(lambda: (_intrusive_and_release, {"obj": Node()}), "obj"),
    "refcount.ref_if_positive": plain(refcount.ref_if_positive, "obj", obj=Node()),
    "refcount.set_strict": case(lambda: (_strict_and_undo, {"on": False})),
    "refcount.close_if_closeable": plain(refcount.close_if_closeable, "obj", obj=Device()),
    "refcount.SharedFromThis.shared_from_this": plain(_shared_from_this),
    "refcount.IntrusiveRefCounted.release": plain(_add_ref_and_release),
    # --- callbacks -------------------------------------------------------------------
    "callbacks.Function": plain(callbacks.Function, "target", target=print),
    "callbacks.Function.assign": case(
        lambda: (callbacks.Function[[int], None]().assign, {"target": print}), "target"
    ),
    "callbacks.bind": plain(
        callbacks.bind, "fn", "arg", "other", fn=divmod, arg=callbacks._1, other=3
    ),
    "callbacks.bind_weak": case(
        lambda: (callbacks.bind_weak, {"method": Panel().on_value}), "method"
    ),
    "callbacks.arity": plain(callbacks.arity, "fn", fn=print),
    "callbacks.describe": plain(callbacks.describe, "fn", fn=print),
    "callbacks.weakly_bound": case(
        lambda: (callbacks.weakly_bound, {"callback": print}), any_value=("callback",)
    ),
    "callbacks.Placeholder": plain(callbacks.Placeholder, "index", index=1),
    "callbacks.Bound": plain(
        callbacks.Bound, "fn", "args", "kwargs", fn=divmod, args=(callbacks._1, 3), kwargs={}
    ),
    # --- signals ---------------------------------------------------------------------
    "signals.Signal": plain(
        lambda name, errors: Signal[[int]](name=name, errors=errors), name="s", errors="raise"
    ),
    "signals.Signal.connect": case(
        lambda: (
            Signal[[int]]().connect,
            {"slot": print, "once": False, "weak": None, "priority": 0},
        ),
        "slot",
    ),
    "signals.Signal.disconnect": case(
        lambda: (Signal[[int]]().disconnect, {"slot": print}), "slot", any_value=("slot",)
    ),
    "signals.Signal.combine": case(
        lambda: (Signal[[int]]().combine, {"combiner": list}), "combiner"
    ),
    "signals.ScopedConnection": case(
        lambda: (signals.ScopedConnection, {"connection": Signal[[int]]().connect(print)}),
        "connection",
    ),
    # --- interrupts and checks -------------------------------------------------------
    "interrupts.deferred": plain(interrupts.deferred, "fn", fn=stub),
    "interrupts.interruptible": plain(interrupts.interruptible, "fn", fn=stub),
    "interrupts.call_interruptibly": plain(interrupts.call_interruptibly, "fn", fn=print),
    "interrupts.call_into": plain(interrupts.call_into, "results", "fn", results=[], fn=dict),
    "interrupts.acquire_into": case(
        lambda: (_acquire_into_and_release, {"held": [], "lock": threading.Lock(), "timeout": 1.0})
    ),
    "interrupts.installed": plain(interrupts.installed),
    "interrupts.deferring": plain(interrupts.deferring, "handler", handler=signal_handler),
    "forks.free_lock": case(lambda: (forks.free_lock, {"lock": threading.Lock()}), "lock"),
    "forks.free_in_child": case(lambda: (forks.free_in_child, {"lock": threading.Lock()}), "lock"),
    "forks.reset_in_child": case(
        lambda: (forks.reset_in_child, {"owner": Device(), "reset": stub}), "owner", "reset"
    ),
    "faces.present": case(lambda: (faces.present, {"module_name": "fuzz", "namespace": {}})),
    "generated.compile_function": case(
        lambda: (
            generated.compile_function,
            {"source": "def f():\n    pass\n", "name": "f", "what": "fuzz"},
        ),
        also=(SyntaxError,),  # a source of the right type that is not Python
    ),
    "environment.trace_patterns": plain(environment.trace_patterns, "text", text="a,b"),
    "environment.lock_order_checking": plain(environment.lock_order_checking),
    "environment.interrupts_deferred": plain(environment.interrupts_deferred),
    "environment.trace_buffer_size": plain(environment.trace_buffer_size, "text", text="10"),
    "trace.read_together": case(
        lambda: (trace.read_together, {"counters": trace.count("fuzz_rt")}), "counters"
    ),
    "trace.probe_function": plain(trace.probe_function, "target", target="json:dumps"),
    "checks.timeout": plain(checks.timeout, "value", value=1.0),
    "checks.flag": case(
        lambda: (checks.flag, {"value": True, "what": "x"}), "value", "what", any_value=("what",)
    ),
    "checks.kind_of": plain(checks.kind_of, "value", value=1),
    "checks.arrived": plain(checks.arrived, "value", value=1),
    "checks.check_callable": case(
        lambda: (checks.check_callable, {"value": print, "what": "x", "shape": "x()"}),
        "value",
        "what",
        "shape",
        any_value=("what", "shape"),
    ),
    "checks.accepts": plain(checks.accepts, "fn", "count", fn=print, count=1),
    # --- telemetry -------------------------------------------------------------------
    "telemetry.to_prometheus": case(
        lambda: (
            _prometheus_and_close,
            {"pattern": "fuzz_none_*", "registry": CollectorRegistry(), "buckets": (1.0,)},
        )
    ),
    "telemetry.to_opentelemetry": case(
        lambda: (
            _opentelemetry_and_close,
            {
                "pattern": "fuzz_none_*",
                "meter_provider": MeterProvider(),
                "tracer_provider": TracerProvider(),
            },
        )
    ),
}


# Parameters whose type is plain: a value of another type must be refused, not accepted.
KINDS: dict[str, tuple[type, ...]] = {
    "backtrace": (bool,),
    "csv": (bool,),
    "once": (bool,),
    "on": (bool,),
    "weak": (bool, type(None)),
    "rcu": (bool, RcuDomain),
    "timeout": (int, float, type(None)),
    "interval": (int, float),
    "rows": (int, type(None)),
    "size": (int,),
    "priority": (int,),
    "index": (int,),
    "pid": (int, type(None)),
    "fmt": (str,),
    "pattern": (str,),
    "spec": (str,),
    "column": (str,),
    "param": (str,),
    "action": (str,),
    "errors": (str,),
    "name": (str, type(None)),
    "domain": (RcuDomain, type(None)),
}


def fits(value: object, kinds: tuple[type, ...]) -> bool:
    """Whether ``value`` is of one of ``kinds`` (a bool is not an int here, as in the library)."""
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


# Public names that are not calls of their own, with the reason.
NOT_CALLS = {
    "callbacks.Arity": "a record (a NamedTuple) of what arity() found; its fields are not checked",
    "trace.TraceEvent": "a record the library makes by the thousand; its fields are not checked",
    "trace.TracepointInfo": "a record tracepoints() makes; its fields are not checked",
    "trace.ProbeHandle": "made by add_probe()",
    "telemetry.Bridge": "made by to_opentelemetry() and to_prometheus(); by hand, refused",
    "trace.Probe": "a type alias",
    "trace.DEFAULT_BUFFER_SIZE": "a number",
    "environment.VARIABLES": "a table of the variables and what each does",
    "locking.AcquireLockable": "a protocol, for type checkers",
    "locking.LockUnlockable": "a protocol, for type checkers",
    "locking.Lockable": "a type alias",
    "rcu.default_domain": "a domain, whose methods are fuzzed on a domain of the test's own",
    "refcount.IntrusiveRefCounted": "a mixin with no constructor of its own",
    "refcount.Handle": "the abstract base of the handles: Handle() itself is refused",
    "refcount.SharedFromThis": "a mixin with no constructor of its own",
    "signals.Signal.emit": "passes its arguments on to the slots: any value is valid",
    "signals.Connection": "made by Signal.connect() from the signal's own state; by hand, refused",
    "signals.SignalStatistics": "a record Signal.statistics() makes; its fields are not checked",
    "locking.MutexStatistics": "a record Mutex.statistics() makes; its fields are not checked",
    "rcu.RcuStatistics": "a record RcuDomain.statistics() makes; its fields are not checked",
}
TRACEPOINTS = {"trace_mutex_", "trace_rcu_"}  # generated tracepoints: their arguments are data


def public_names() -> set[str]:
    """Every name in every public module's ``__all__``, and the public methods of its classes."""
    names: set[str] = set()
    for info in pkgutil.iter_modules(osv_idioms.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"osv_idioms.{info.name}")
        for name in module.__all__:
            if any(name.startswith(prefix) for prefix in TRACEPOINTS):
                continue
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                continue  # an exception or warning: it takes what Exception takes
            if name.startswith("_") and name[1:].isdigit():  # the placeholders _1 ... _9
                continue
            names.add(f"{info.name}.{name}")
    return names


def run_bounded(fn: Callable[[], object]) -> BaseException | None:
    """Run ``fn`` in a thread; return what it raised; fail if it waits past the bound."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # examined by the caller
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(WAIT_BOUND_S)
    assert not worker.is_alive(), "the call waited past the bound"
    return raised[0] if raised else None


@pytest.fixture(scope="module", autouse=True)
def in_a_scratch_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A bad value that is a valid file name ('3') writes there, not into the checkout."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("fuzz"))
    yield
    os.chdir(before)


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda u: seen.append(f"{u.err_msg}: {u.exc_value!r}")
    )
    return seen


def check_outcome(
    label: str, case_: Case, raised: BaseException | None, changes: dict[str, object]
) -> None:
    if raised is None:
        if case_.pythons_own:
            return
        for parameter, value in changes.items():
            kinds = case_.kinds_of(parameter)
            assert kinds is None or fits(value, kinds), f"{label}: accepted a wrong type"
        return
    if case_.pythons_own:
        assert isinstance(raised, TypeError | ValueError | OverflowError), f"{label}: {raised!r}"
        return
    allowed: tuple[type[BaseException], ...] = (TypeError, ValueError, *case_.also)
    assert isinstance(raised, allowed), f"{label}: {type(raised).__name__}: {raised}"
    frames = traceback.extract_tb(raised.__traceback__)
    assert frames, label
    assert frames[-1].filename.startswith(LIBRARY) or isinstance(raised, case_.also), (
        f"{label}: raised outside the library, at {frames[-1].filename}:{frames[-1].lineno}: {raised}"
    )
    if isinstance(raised, TypeError | ValueError):
        assert not NOT_OURS.search(str(raised)), f"{label}: not the library's words: {raised}"


PARAMETERS = [
    (name, parameter) for name, case_ in CASES.items() for parameter in case_.parameters()
]


def test_every_public_name_is_fuzzed() -> None:
    """Each public name is a case of the fuzz, or is listed with the reason it is not a call."""
    covered = {name.rsplit(".", 1)[0] if name.count(".") > 1 else name for name in CASES}
    missing = public_names() - covered - set(NOT_CALLS)
    assert missing == set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_arguments_work(name: str, unraisable: list[str]) -> None:
    """The fuzz starts from calls that work, so each refusal below is the bad value's doing."""
    assert run_bounded(CASES[name].call) is None
    gc.collect()
    assert unraisable == []


@pytest.mark.parametrize(("name", "parameter"), PARAMETERS)
def test_each_bad_value_is_refused_clearly(
    name: str, parameter: str, unraisable: list[str]
) -> None:
    """Every bad value for this parameter works or is refused with a message of the library's own."""
    case_ = CASES[name]
    for bad in BAD:
        label = f"{name}({parameter}={bad!r})"
        changes = {parameter: bad}
        check_outcome(label, case_, run_bounded(functools.partial(case_.call, **changes)), changes)
    gc.collect()
    assert unraisable == []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.data())
def test_several_bad_values_at_once(name: str, data: st.DataObject) -> None:
    """Any mix of bad values across a call's parameters is still refused clearly."""
    case_ = CASES[name]
    parameters = case_.parameters()
    if not parameters:
        return
    chosen = data.draw(st.lists(st.sampled_from(parameters), min_size=1, unique=True))
    changes = {parameter: data.draw(st.sampled_from(BAD)) for parameter in chosen}
    check_outcome(
        f"{name}({changes!r})", case_, run_bounded(lambda: case_.call(**changes)), changes
    )


class TestTheReportedCases:
    """The calls the bad-input report found accepted, failing late, or waiting for ever."""

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (
                lambda: rcu.synchronize(timeout=math.nan),
                "timeout must be None or a number of seconds >= 0, got nan",
            ),
            (
                lambda: rcu.barrier(timeout=math.nan),
                "timeout must be None or a number of seconds >= 0, got nan",
            ),
            (
                lambda: rcu.synchronize(timeout=-1),
                "timeout must be None or a number of seconds >= 0, got -1",
            ),
        ],
    )
    def test_bad_timeouts_are_value_errors(self, call: Callable[[], object], message: str) -> None:
        """nan and negative timeouts are refused at the call instead of never timing out."""
        with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
            call()

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda: RcuList([1], domain=42), "domain must be an RcuDomain or None, got an int"),  # type: ignore[arg-type]
            (
                lambda: refcount.SharedPtr(Device(), rcu="no"),  # type: ignore[arg-type]
                "rcu must be True or False, got a str ('no')",
            ),
            (
                lambda: refcount.ref_if_positive(42),  # type: ignore[type-var]
                "ref_if_positive() takes an IntrusiveRefCounted object, got an int",
            ),
            (lambda: trace.declare_tracepoint(fresh_name(), 1), None),  # type: ignore[arg-type]
        ],
    )
    def test_wrong_types_are_type_errors(
        self, call: Callable[[], object], message: str | None
    ) -> None:
        """Each is refused with a TypeError naming what was expected and what arrived."""
        with pytest.raises(TypeError) as caught:
            call()
        if message is not None:
            assert str(caught.value) == message
        else:
            assert re.fullmatch(
                r"tracepoint 'fuzz_\d+': each parameter is named by a str, got an int",
                str(caught.value),
            )

    def test_an_async_stub_is_refused(self) -> None:
        """A tracepoint is called, not awaited: an ``async def`` stub is refused at declaration."""

        async def trace_fuzz_async(v: int) -> None: ...

        with pytest.raises(
            TypeError,
            match=r"^@tracepoint\(\) on the async function '.*trace_fuzz_async': a tracepoint is "
            r"called, not awaited; declare the stub with def$",
        ):
            trace.tracepoint()(trace_fuzz_async)  # type: ignore[arg-type]

    def test_a_weak_handle_from_an_owner(self, unraisable: list[str]) -> None:
        """``WeakPtr(owner)`` observes the owner's resource, with nothing left for ``__del__`` to say."""
        owner = refcount.make_shared(Device)
        weak = refcount.WeakPtr(owner)
        locked = weak.lock()
        assert locked is not None
        locked.release()
        owner.release()
        assert weak.lock() is None
        gc.collect()
        assert unraisable == []
