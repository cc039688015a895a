"""Slide "Performance and tracing", for a fleet: a threaded service's tracepoints, exported.

A small key-value service answers requests on four worker threads. Its
tracepoints are the OSv kind: ``kv_request`` / ``kv_request_ret`` around each
request, and ``kv_load`` / ``kv_load_ret`` around loading a key the cache
does not have. Two bridges export them, as a service would to the systems
its operators already run: Prometheus (the text a ``/metrics`` scrape
returns) and OpenTelemetry (a counter, and a span per timed pair, each load
the child of the request it served).

Needs ``prometheus_client`` and ``opentelemetry-sdk`` (both in the test
extras). Run: ``python examples/02_tracepoints_in_telemetry.py``.
"""

from __future__ import annotations

import queue
import threading

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from osv_idioms import telemetry
from osv_idioms.trace import tracepoint

WORKERS = 4
REQUESTS = 200


@tracepoint("key={key}")
def trace_kv_request(key: int) -> None: ...


@tracepoint("found={found}")
def trace_kv_request_ret(found: bool) -> None: ...


@tracepoint("key={key}")
def trace_kv_load(key: int) -> None: ...


@tracepoint("size={size}")
def trace_kv_load_ret(size: int) -> None: ...


class Store:
    """A cache in front of a slow backing store; odd keys are always cold."""

    def __init__(self) -> None:
        self._hot = {key: f"value-{key}" for key in range(0, REQUESTS, 2)}

    def get(self, key: int) -> str:
        trace_kv_request(key)
        value = self._hot.get(key)
        if value is None:
            value = self._load(key)
        trace_kv_request_ret(True)
        return value

    def _load(self, key: int) -> str:
        trace_kv_load(key)
        value = f"value-{key}"  # the slow part, in a real service
        trace_kv_load_ret(len(value))
        return value


def serve(store: Store) -> None:
    """Answer REQUESTS requests on WORKERS threads, each taking keys from one queue."""
    keys: queue.Queue[int | None] = queue.Queue()
    for key in range(REQUESTS):
        keys.put(key)
    for _ in range(WORKERS):
        keys.put(None)  # one stop per worker

    def worker() -> None:
        while (key := keys.get()) is not None:
            store.get(key)

    threads = [threading.Thread(target=worker, name=f"kv{n}") for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def prometheus_lines(registry: CollectorRegistry) -> list[str]:
    """The hit counters and histogram counts a scrape shows (durations vary run to run)."""
    wanted = ("osv_tracepoint_hits_total", "osv_tracepoint_duration_seconds_count")
    text = generate_latest(registry).decode()
    return sorted(line for line in text.splitlines() if line.startswith(wanted))


def opentelemetry_points(reader: InMemoryMetricReader) -> list[str]:
    data = reader.get_metrics_data()
    shown: list[str] = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    assert isinstance(point, NumberDataPoint)
                    name = str((point.attributes or {})["tracepoint"])
                    shown.append(f"{metric.name}{{tracepoint={name}}} {point.value}")
    return sorted(shown)


def loads_inside_their_request(spans: tuple[ReadableSpan, ...]) -> bool:
    """Whether every kv_load span is the child of a kv_request span with the same key."""
    requests = {s.context.span_id: s for s in spans if s.name == "kv_request" and s.context}
    return all(
        span.parent is not None
        and span.parent.span_id in requests
        and (requests[span.parent.span_id].attributes or {}).get("args.key")
        == (span.attributes or {}).get("args.key")
        for span in spans
        if span.name == "kv_load"
    )


def main() -> None:
    registry = CollectorRegistry()  # a service would serve prometheus_client.REGISTRY
    reader = InMemoryMetricReader()  # a service would use a periodic OTLP exporter
    meters = MeterProvider([reader])
    exporter = InMemorySpanExporter()
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))

    with (
        telemetry.to_prometheus("kv_*", registry=registry),
        telemetry.to_opentelemetry("kv_*", meter_provider=meters, tracer_provider=tracers),
    ):
        serve(Store())
        print(f"served {REQUESTS} requests on {WORKERS} threads")
        print("Prometheus, as /metrics shows it:")
        for line in prometheus_lines(registry):
            print(f"  {line}")
        print("OpenTelemetry metrics:")
        for line in opentelemetry_points(reader):
            print(f"  {line}")

    spans = exporter.get_finished_spans()
    names = sorted({span.name for span in spans})
    counts = ", ".join(f"{name} {sum(s.name == name for s in spans)}" for name in names)
    print(f"OpenTelemetry spans: {len(spans)} ({counts})")
    nested = loads_inside_their_request(spans)
    print(f"every kv_load is the child of the kv_request it served: {nested}")
    meters.shutdown()


if __name__ == "__main__":
    main()
