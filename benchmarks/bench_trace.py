"""Tracepoints against the limit (an empty call) and the peers a user would pick instead.

Each benchmark runs 1,000 calls per round; divide by 1,000 for ns per call.
Run: ``python -m pytest benchmarks/bench_trace.py --benchmark-group-by=group``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import unrolled
from osv_idioms import trace
from osv_idioms.trace import tracepoint


@tracepoint("{m!r}")
def trace_bench_lock(m: object) -> None: ...


def empty(m: object) -> None:
    """The limit: a call that does nothing, with the same parameter."""


_logger = logging.getLogger("bench.trace")
_logger.setLevel(logging.INFO)  # so debug is disabled, the common production setting


def guarded_debug(m: object) -> None:
    if _logger.isEnabledFor(logging.DEBUG):
        _logger.debug("lock %r", m)


@pytest.fixture
def recording() -> Iterator[None]:
    trace.clear()
    trace.enable("bench_lock")
    yield
    trace.disable("bench_lock")
    trace.clear()


@pytest.fixture
def counting() -> Iterator[None]:
    with trace.count("bench_lock"):
        yield


def run(benchmark: BenchmarkFixture, call: str, **names: Any) -> None:
    benchmark(unrolled(call, {"m": object(), **names}))


@pytest.mark.benchmark(group="tracepoint")
def test_empty_function(benchmark: BenchmarkFixture) -> None:
    run(benchmark, "f(m)", f=empty)


@pytest.mark.benchmark(group="tracepoint")
def test_tracepoint_disabled(benchmark: BenchmarkFixture) -> None:
    run(benchmark, "f(m)", f=trace_bench_lock)


@pytest.mark.benchmark(group="tracepoint")
def test_logging_debug_disabled(benchmark: BenchmarkFixture) -> None:
    run(benchmark, "log('lock %r', m)", log=_logger.debug)


@pytest.mark.benchmark(group="tracepoint")
def test_is_enabled_for_guard(benchmark: BenchmarkFixture) -> None:
    run(benchmark, "f(m)", f=guarded_debug)


@pytest.mark.benchmark(group="tracepoint")
def test_opentelemetry_noop_span(benchmark: BenchmarkFixture) -> None:
    from opentelemetry import trace as otel_trace

    tracer = otel_trace.get_tracer("bench")

    def span(m: object) -> None:
        with tracer.start_as_current_span("lock"):
            pass

    run(benchmark, "f(m)", f=span)


@pytest.mark.benchmark(group="tracepoint")
def test_tracepoint_counting(benchmark: BenchmarkFixture, counting: None) -> None:
    run(benchmark, "f(m)", f=trace_bench_lock)


@pytest.mark.benchmark(group="tracepoint")
def test_prometheus_counter_inc(benchmark: BenchmarkFixture) -> None:
    from prometheus_client import CollectorRegistry, Counter

    counter = Counter("bench_lock", "locks", registry=CollectorRegistry())
    run(benchmark, "inc()", inc=counter.inc)


@pytest.mark.benchmark(group="tracepoint")
def test_opentelemetry_api_counter_add(benchmark: BenchmarkFixture) -> None:
    from opentelemetry import metrics

    counter = metrics.get_meter("bench").create_counter("bench_lock")
    run(benchmark, "add(1)", add=counter.add)


@pytest.mark.benchmark(group="tracepoint")
def test_tracepoint_recording(benchmark: BenchmarkFixture, recording: None) -> None:
    run(benchmark, "f(m)", f=trace_bench_lock)


@tracepoint("{m!r}")
def trace_bench_switched(m: object) -> None: ...


@pytest.mark.benchmark(group="tracepoint")
def test_tracepoint_switched_off(benchmark: BenchmarkFixture) -> None:
    """Off again after recording once: from 3.13 on, swapping its code unspecialised its calls."""
    trace.enable("bench_switched")
    trace.disable("bench_switched")
    run(benchmark, "f(m)", f=trace_bench_switched)


# --- recording, step by step --------------------------------------------------------
# What a recording body does per hit, one step per case, each called as the body
# calls it (a global load and a C call), beside the empty call it is held to. The
# sum shows how far under 8x an empty call recording can go on an interpreter.


class _ThreadTag(threading.local):
    """The same shape as the tracepoints' per-thread tag: (ident, name, native id)."""

    def __init__(self) -> None:
        thread = threading.current_thread()
        self.tag = (thread.ident or 0, thread.name, thread.native_id or 0)


def _recording_steps() -> dict[str, tuple[str, dict[str, Any]]]:
    """Each step as (the call, the names it uses); the argument values follow the fields."""
    records: deque[tuple[object, ...]] = deque(maxlen=65_536)
    return {
        "empty-call": ("f(m)", {"f": empty}),
        "clock": ("ns()", {"ns": time.monotonic_ns}),
        "sequence-number": ("next(seq)", {"seq": itertools.count()}),
        "thread-tag": ("thread.tag", {"thread": _ThreadTag()}),
        "append-to-ring": (
            "append((1, 'lock', 2, tag, None, m))",
            {"append": records.append, "tag": (1, "", 1)},
        ),
        # The cheaper tag the recording body does not use: it loses the thread's name.
        "thread-ident-instead": ("get_ident()", {"get_ident": threading.get_ident}),
    }


@pytest.mark.benchmark(group="recording, step by step")
@pytest.mark.parametrize("step", list(_recording_steps()))
def test_recording_step(benchmark: BenchmarkFixture, step: str) -> None:
    call, names = _recording_steps()[step]
    run(benchmark, call, **names)
