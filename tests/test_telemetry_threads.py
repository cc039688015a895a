"""Telemetry under threads: counts, scrapes, spans and bridges changing hands, all at once.

Each test starts its threads on a barrier, runs a bounded number of rounds
and joins with a timeout (``tests/_threads.py``); they run on the
free-threaded build too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from osv_idioms import telemetry, trace

from ._threads import run_together
from .test_telemetry import otel_hits, prometheus_hits


@pytest.fixture
def prefix(unique: Callable[[str], str]) -> str:
    return unique("tmt")


def test_counts_from_many_threads_are_all_there(
    prefix: str, reader: InMemoryMetricReader, meters: MeterProvider, tracers: TracerProvider
) -> None:
    hit = trace.declare_tracepoint(f"{prefix}_hit", "n")
    per_thread = 5_000
    with telemetry.to_opentelemetry(
        f"{prefix}_hit", meter_provider=meters, tracer_provider=tracers
    ):
        run_together(lambda index: [hit(index) for _ in range(per_thread)], 4)
        assert otel_hits(reader) == {f"{prefix}_hit": 4 * per_thread}


def test_threads_keep_their_pairs_apart(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    start, end = (trace.declare_tracepoint(f"{prefix}_{n}", "i") for n in ("work", "work_ret"))
    rounds = 200
    turns = threading.Barrier(2, timeout=60)

    def worker(index: int) -> None:
        for _ in range(rounds):
            start(index)
            turns.wait()  # both threads are inside a pair now
            end(index)
            turns.wait()

    with telemetry.to_opentelemetry(
        f"{prefix}_work", meter_provider=meters, tracer_provider=tracers
    ):
        run_together(worker, 2)
    finished = spans.get_finished_spans()
    assert len(finished) == 2 * rounds
    assert all(span.parent is None for span in finished)  # never nested across threads
    assert all(
        span.attributes is not None and span.attributes["args.i"] == span.attributes["ret.i"]
        for span in finished
    )


def test_prometheus_scrapes_from_threads_while_they_count(prefix: str) -> None:
    hit = trace.declare_tracepoint(f"{prefix}_hit")
    registry = CollectorRegistry()
    seen: list[float] = []

    def work(index: int) -> None:
        for _ in range(2_000):
            if index == 0:
                seen.append(prometheus_hits(registry).get(f"{prefix}_hit", 0.0))
            else:
                hit()

    with telemetry.to_prometheus(f"{prefix}_hit", registry=registry):
        run_together(work, 3)
        assert prometheus_hits(registry) == {f"{prefix}_hit": 4_000.0}
    assert seen == sorted(seen)  # a counter never goes down while scraped


def test_bridges_changing_hands_lose_and_double_no_hit(prefix: str) -> None:
    """Bridges close and open while threads hit: the count handed over between them stays exact.

    There are always two bridges matching the tracepoint; closing the older
    hands its count to the younger while the hitting threads go on.
    """
    hit = trace.declare_tracepoint(f"{prefix}_hit")
    registry = CollectorRegistry()
    patterns = (f"{prefix}_*", f"{prefix}_hit", f"{prefix}_h*", f"{prefix}_?it")
    per_thread, handovers = 20_000, 100
    hitting = threading.Event()
    open_bridges = [telemetry.to_prometheus(patterns[0], registry=registry)]
    open_bridges.append(telemetry.to_prometheus(patterns[1], registry=registry))
    scraped: list[float] = []

    def work(index: int) -> None:
        if index < 2:
            hitting.set()
            for _ in range(per_thread):
                hit()
            return
        hitting.wait(60)
        for round_ in range(handovers):
            open_bridges.append(
                telemetry.to_prometheus(patterns[round_ % len(patterns)], registry=registry)
            )
            open_bridges.pop(0).close()
            scraped.append(prometheus_hits(registry)[f"{prefix}_hit"])

    run_together(work, 3)
    assert prometheus_hits(registry) == {f"{prefix}_hit": 2 * per_thread}
    assert scraped == sorted(scraped)
    for bridge in open_bridges:
        bridge.close()
