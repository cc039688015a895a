"""Shared fixtures: fresh tracepoint names, the registry left as found, the real OpenTelemetry SDK."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from osv_idioms import locking, trace

_serial = itertools.count()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Make a tracepoint name no other test uses (the registry lives as long as the process)."""

    def make(stem: str) -> str:
        return f"t{next(_serial)}_{stem}"

    return make


@pytest.fixture(autouse=True)
def reset_tracing() -> Iterator[None]:
    """Each test ends with every tracepoint off, no probes, and an empty ring of the default size."""
    yield
    trace.reset()


@pytest.fixture(autouse=True)
def restore_lock_order_checking() -> Iterator[None]:
    """Each test starts and ends with lock-order checking off and no recorded orders."""
    locking.check_lock_order(False)
    locking.reset_lock_order()
    yield
    locking.check_lock_order(False)
    locking.reset_lock_order()


# -- the real OpenTelemetry SDK, for the telemetry tests ----------------------------------


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """An OpenTelemetry SDK metric reader that collects when asked."""
    return InMemoryMetricReader()


@pytest.fixture
def meters(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """An SDK meter provider read by ``reader``."""
    provider = MeterProvider([reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Where ``tracers`` puts each span as it ends."""
    return InMemorySpanExporter()


@pytest.fixture
def tracers(spans: InMemorySpanExporter) -> TracerProvider:
    """An SDK tracer provider exporting to ``spans``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider
