"""What a bridged tracepoint costs the traced code, against counting it with the SDKs directly.

The bridges read the library's own counts when the exporter collects, so a
bridged tracepoint should cost what a counted one does; the peers are what
a user would write instead: an OpenTelemetry SDK ``Counter.add`` with the
attribute, a ``prometheus_client`` labelled counter's ``inc``. Timed pairs
become spans (or histogram samples) through a probe; the peer is the SDK's
own span. Each benchmark runs 1,000 calls per round.
Run: ``python -m pytest benchmarks/bench_telemetry.py --benchmark-group-by=group``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry, Counter, Histogram
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import unrolled
from osv_idioms import telemetry, trace

trace_bench_send = trace.declare_tracepoint("bench_tm_send", "m")
trace_bench_op = trace.declare_tracepoint("bench_tm_op", "m")
trace_bench_op_ret = trace.declare_tracepoint("bench_tm_op_ret", "m")


def empty(m: object) -> None:
    """The limit: a call that does nothing, with the same parameter."""


def pair(m: object) -> None:
    trace_bench_op(m)
    trace_bench_op_ret(m)


def run(benchmark: BenchmarkFixture, call: str, **names: Any) -> None:
    benchmark(unrolled(call, {"m": object(), **names}))


@pytest.fixture
def to_otel() -> Iterator[None]:
    meters = MeterProvider([InMemoryMetricReader()])
    with telemetry.to_opentelemetry(
        "bench_tm_*", meter_provider=meters, tracer_provider=TracerProvider()
    ):
        yield
    meters.shutdown()


@pytest.fixture
def to_prometheus() -> Iterator[None]:
    with telemetry.to_prometheus("bench_tm_*", registry=CollectorRegistry()):
        yield


@pytest.fixture
def counting() -> Iterator[None]:
    with trace.count("bench_tm_*"):
        yield


@pytest.mark.benchmark(group="telemetry hit")
def test_empty_function(benchmark: BenchmarkFixture) -> None:
    run(benchmark, "f(m)", f=empty)


@pytest.mark.benchmark(group="telemetry hit")
def test_tracepoint_counting(benchmark: BenchmarkFixture, counting: None) -> None:
    run(benchmark, "f(m)", f=trace_bench_send)


@pytest.mark.benchmark(group="telemetry hit")
def test_tracepoint_bridged_to_opentelemetry(benchmark: BenchmarkFixture, to_otel: None) -> None:
    run(benchmark, "f(m)", f=trace_bench_send)


@pytest.mark.benchmark(group="telemetry hit")
def test_tracepoint_bridged_to_prometheus(benchmark: BenchmarkFixture, to_prometheus: None) -> None:
    run(benchmark, "f(m)", f=trace_bench_send)


@pytest.mark.benchmark(group="telemetry hit")
def test_opentelemetry_sdk_counter_add(benchmark: BenchmarkFixture) -> None:
    meters = MeterProvider([InMemoryMetricReader()])
    counter = meters.get_meter("bench").create_counter("bench_tm_send")
    attributes = {"tracepoint": "bench_tm_send"}
    run(benchmark, "add(1, attributes)", add=counter.add, attributes=attributes)
    meters.shutdown()


@pytest.mark.benchmark(group="telemetry hit")
def test_prometheus_labelled_counter_inc(benchmark: BenchmarkFixture) -> None:
    counter = Counter("bench_tm_send", "sends", ["tracepoint"], registry=CollectorRegistry())
    run(benchmark, "inc()", inc=counter.labels("bench_tm_send").inc)


@pytest.mark.benchmark(group="telemetry pair")
def test_pair_counting(benchmark: BenchmarkFixture, counting: None) -> None:
    run(benchmark, "f(m)", f=pair)


@pytest.mark.benchmark(group="telemetry pair")
def test_pair_as_opentelemetry_span(benchmark: BenchmarkFixture, to_otel: None) -> None:
    run(benchmark, "f(m)", f=pair)


@pytest.mark.benchmark(group="telemetry pair")
def test_pair_as_prometheus_histogram_sample(
    benchmark: BenchmarkFixture, to_prometheus: None
) -> None:
    run(benchmark, "f(m)", f=pair)


@pytest.mark.benchmark(group="telemetry pair")
def test_opentelemetry_sdk_span(benchmark: BenchmarkFixture) -> None:
    tracer = TracerProvider().get_tracer("bench")

    def span(m: object) -> None:
        with tracer.start_as_current_span("bench_tm_op", attributes={"args.m": repr(m)}):
            pass

    run(benchmark, "f(m)", f=span)


@pytest.mark.benchmark(group="telemetry pair")
def test_prometheus_histogram_time(benchmark: BenchmarkFixture) -> None:
    histogram = Histogram("bench_tm_op", "ops", ["tracepoint"], registry=CollectorRegistry())
    child = histogram.labels("bench_tm_op")

    def timed(m: object) -> None:
        with child.time():
            pass

    run(benchmark, "f(m)", f=timed)
