"""Tracepoints on any Python function: calls, returns and exceptions, on while on, absent while off."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from osv_idioms import trace
from osv_idioms.errors import TracepointError

from ._threads import run_together


@pytest.fixture
def module(tmp_path: Path, unique: Callable[[str], str]) -> Iterator[ModuleType]:
    """A fresh module with functions to probe, importable by name."""
    name = unique("probed")
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            def add(a, b=2, *rest, scale=1, **extra):
                return (a + b + sum(rest)) * scale

            def fail(message):
                raise ValueError(message)

            def outer(n):
                return inner(n) + 1

            def inner(n):
                return n * 2

            def gen():
                yield 1

            class Shape:
                def area(self, k):
                    return k * k

                @staticmethod
                def unit():
                    return 1

                @classmethod
                def make(cls):
                    return cls()
            """
        ),
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield __import__(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def recorded(pattern: str, call: Callable[[], object]) -> list[tuple[str, dict[str, Any]]]:
    """The events of the tracepoints matching ``pattern`` while ``call`` runs."""
    trace.clear()
    trace.enable(pattern)
    try:
        call()
    finally:
        trace.disable(pattern)
    return [(e.name, dict(e.args)) for e in trace.events()]


def test_a_call_and_its_return_are_recorded_with_the_arguments(module: ModuleType) -> None:
    name = trace.probe_function(f"{module.__name__}:add")
    assert name == f"py:{module.__name__}:add"
    events = recorded(name + "*", lambda: module.add(1, 3, 4, scale=10, tag="x"))
    assert events == [
        (name, {"a": 1, "b": 3, "rest": (4,), "scale": 10, "extra": {"tag": "x"}}),
        (name + "_ret", {"value": 80}),
    ]


def test_defaults_are_the_values_the_call_ran_with(module: ModuleType) -> None:
    name = trace.probe_function(f"{module.__name__}:add")
    events = recorded(name, lambda: module.add(1))
    assert events == [(name, {"a": 1, "b": 2, "rest": (), "scale": 1, "extra": {}})]


def test_an_exception_ends_the_pair_with_err(module: ModuleType) -> None:
    name = trace.probe_function(f"{module.__name__}:fail")

    def call() -> None:
        with pytest.raises(ValueError, match="boom"):
            module.fail("boom")

    events = recorded(name + "*", call)
    assert [event for event, _ in events] == [name, name + "_err"]
    exception = events[1][1]["exception"]
    assert isinstance(exception, ValueError) and str(exception) == "boom"


def test_nested_calls_are_timed_pairs_inside_each_other(module: ModuleType) -> None:
    outer = trace.probe_function(f"{module.__name__}:outer")
    inner = trace.probe_function(f"{module.__name__}:inner")
    prefix = f"py:{module.__name__}:*"
    trace.clear()
    trace.enable(prefix)
    module.outer(5)
    trace.disable(prefix)
    summary = trace.summary()
    assert sorted(summary.durations) == [inner, outer]
    assert summary.durations[outer].count == summary.durations[inner].count == 1
    assert summary.durations[outer].max_ns >= summary.durations[inner].max_ns


def test_methods_static_and_class_methods_are_probed(module: ModuleType) -> None:
    names = [trace.probe_function(f"{module.__name__}:Shape.{m}") for m in ("area", "unit", "make")]
    with trace.count(*names) as calls:
        assert module.Shape().area(3) == 9
        assert module.Shape.unit() == 1
        assert isinstance(module.Shape.make(), module.Shape)
    assert dict(calls) == dict.fromkeys(names, 1)


def test_while_off_nothing_watches_the_function(module: ModuleType) -> None:
    """Off, the function is the program's own, unwatched; on, its calls are seen."""
    name = trace.probe_function(f"{module.__name__}:inner")
    function = module.inner
    assert watched(module, "inner") is False
    with trace.count(name) as calls:
        assert watched(module, "inner") is True
        module.inner(1)
    assert watched(module, "inner") is False
    module.inner(1)
    assert calls[name] == 1
    assert module.inner is function or sys.version_info < (3, 12)


def watched(module: ModuleType, attribute: str) -> bool:
    """Whether calls of the function are being watched (sys.monitoring events, or a wrapper)."""
    function = module.__dict__[attribute]
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return hasattr(function, "__wrapped__")
    code = getattr(function, "__wrapped__", function).__code__
    return any(
        monitoring.get_tool(tool) == "osv_idioms" and monitoring.get_local_events(tool, code)
        for tool in range(6)
    )


def test_calls_from_many_threads_are_all_counted(module: ModuleType) -> None:
    name = trace.probe_function(f"{module.__name__}:inner")
    with trace.count(name, name + "_ret") as calls:
        run_together(lambda index: [module.inner(index) for _ in range(2_000)], 4)
    assert dict(calls) == {name: 8_000, name + "_ret": 8_000}


def test_probing_twice_is_one_probe(module: ModuleType) -> None:
    first = trace.probe_function(f"{module.__name__}:inner")
    assert trace.probe_function(f"{module.__name__}:inner") == first
    assert [t.name for t in trace.tracepoints(first + "*")] == [
        first,
        first + "_err",
        first + "_ret",
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("json", "a function to probe is named MODULE:QUALNAME, as json:dumps, got 'json'"),
        ("json:*", "a function to probe is named MODULE:QUALNAME, as json:dumps, got 'json:*'"),
        (":dumps", "a function to probe is named MODULE:QUALNAME, as json:dumps, got ':dumps'"),
        (
            "no_such_module_x:f",
            "can't probe no_such_module_x:f: can't import 'no_such_module_x': "
            "No module named 'no_such_module_x'",
        ),
        ("json:nothing", "can't probe json:nothing: json has no attribute 'nothing'"),
        (
            "math:sqrt",
            "can't probe math:sqrt: it is a builtin_function_or_method, not a Python function",
        ),
        ("json:JSONDecoder", "can't probe json:JSONDecoder: it is a type, not a Python function"),
    ],
)
def test_what_cannot_be_probed_is_said_at_the_call(target: str, message: str) -> None:
    with pytest.raises(TracepointError) as refused:
        trace.probe_function(target)
    assert str(refused.value) == message


def test_a_generator_function_is_refused(module: ModuleType) -> None:
    with pytest.raises(TracepointError) as refused:
        trace.probe_function(f"{module.__name__}:gen")
    assert str(refused.value) == (
        f"can't probe {module.__name__}:gen: "
        "a generator or coroutine function's call does not run it"
    )


def test_the_target_must_be_a_str() -> None:
    with pytest.raises(TypeError) as refused:
        trace.probe_function(3)  # type: ignore[arg-type]
    assert str(refused.value) == "probe_function() takes 'MODULE:QUALNAME', got an int"
