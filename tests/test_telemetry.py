"""Bridges to the real OpenTelemetry SDK and prometheus_client: counts, spans, histograms, closing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, Counter, generate_latest

from osv_idioms import telemetry, trace

Declare = Callable[..., Callable[..., None]]


@pytest.fixture
def declare(unique: Callable[[str], str]) -> Callable[[str, str], Callable[..., None]]:
    """Declare a tracepoint ``<prefix>_<stem>`` with one parameter ``n``."""

    def make(prefix: str, stem: str) -> Callable[..., None]:
        return trace.declare_tracepoint(f"{prefix}_{stem}", "n")

    return make


@pytest.fixture
def prefix(unique: Callable[[str], str]) -> str:
    """A tracepoint name prefix no other test uses."""
    return unique("tm")


def otel_hits(reader: InMemoryMetricReader) -> dict[str, int]:
    """What the meter provider collects now: ``osv.tracepoint.hits`` by tracepoint."""
    data = reader.get_metrics_data()
    found: dict[str, int] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "osv.tracepoint.hits":
                    for point in metric.data.data_points:
                        assert isinstance(point, NumberDataPoint)
                        found[str((point.attributes or {})["tracepoint"])] = int(point.value)
    return found


def prometheus_hits(registry: CollectorRegistry) -> dict[str, float]:
    """The ``osv_tracepoint_hits_total`` samples a scrape of ``registry`` shows, by tracepoint."""
    found: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "osv_tracepoint_hits_total":
                found[sample.labels["tracepoint"]] = sample.value
    return found


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


# -- counting into OpenTelemetry --------------------------------------------------------


def test_hits_are_counted_per_tracepoint_and_read_at_collection(
    prefix: str, reader: InMemoryMetricReader, meters: MeterProvider, tracers: TracerProvider
) -> None:
    send = trace.declare_tracepoint(f"{prefix}_send", "n")
    recv = trace.declare_tracepoint(f"{prefix}_recv", "n")
    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        for n in range(3):
            send(n)
        recv(0)
        assert otel_hits(reader) == {f"{prefix}_send": 3, f"{prefix}_recv": 1}
        send(9)
        assert otel_hits(reader) == {f"{prefix}_send": 4, f"{prefix}_recv": 1}


def test_a_tracepoint_declared_later_is_counted_from_its_declaration(
    prefix: str, reader: InMemoryMetricReader, meters: MeterProvider, tracers: TracerProvider
) -> None:
    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        late = trace.declare_tracepoint(f"{prefix}_late")
        late()
        late()
        assert otel_hits(reader) == {f"{prefix}_late": 2}


def test_a_tracepoint_in_no_pair_costs_what_counting_costs(
    prefix: str, meters: MeterProvider, tracers: TracerProvider
) -> None:
    """Spans are made by probes on the timed pairs only: the others just count."""
    trace.declare_tracepoint(f"{prefix}_tick")
    trace.declare_tracepoint(f"{prefix}_op")
    trace.declare_tracepoint(f"{prefix}_op_ret")
    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        states = {(t.name, t.counting, t.probes) for t in trace.tracepoints(f"{prefix}_*")}
    assert states == {
        (f"{prefix}_tick", True, 0),
        (f"{prefix}_op", True, 1),
        (f"{prefix}_op_ret", True, 2),  # its own pattern's probe, and the end probe of _op
    }


def test_closing_stops_the_counting_and_the_probes_it_started(
    prefix: str, reader: InMemoryMetricReader, meters: MeterProvider, tracers: TracerProvider
) -> None:
    hit = trace.declare_tracepoint(f"{prefix}_op")
    trace.declare_tracepoint(f"{prefix}_op_ret")
    bridge = telemetry.to_opentelemetry(
        f"{prefix}_op", meter_provider=meters, tracer_provider=tracers
    )
    (info,) = trace.tracepoints(f"{prefix}_op")
    assert (info.counting, info.probes) == (True, 1)
    hit()
    bridge.close()
    bridge.close()
    (info,) = trace.tracepoints(f"{prefix}_op")
    assert (info.counting, info.probes) == (False, 0)
    assert trace.tracepoints(f"{prefix}_op_ret")[0].probes == 0
    assert otel_hits(reader) == {}
    assert bridge.closed
    assert repr(bridge) == f"<Bridge to opentelemetry ('{prefix}_op',) closed>"


def test_overlapping_bridges_count_each_hit_once_and_never_go_back(
    prefix: str, reader: InMemoryMetricReader, meters: MeterProvider, tracers: TracerProvider
) -> None:
    send = trace.declare_tracepoint(f"{prefix}_send")
    recv = trace.declare_tracepoint(f"{prefix}_recv")
    wide = telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers)
    send()
    narrow = telemetry.to_opentelemetry(
        f"{prefix}_send", meter_provider=meters, tracer_provider=tracers
    )
    send()
    recv()
    assert otel_hits(reader) == {f"{prefix}_send": 2, f"{prefix}_recv": 1}
    wide.close()  # the narrow bridge takes send over from where the count was
    send()
    assert otel_hits(reader) == {f"{prefix}_send": 3}
    narrow.close()
    assert otel_hits(reader) == {}
    with telemetry.to_opentelemetry(f"{prefix}_send", meter_provider=meters):
        send()
        assert otel_hits(reader) == {f"{prefix}_send": 4}  # one counter, still monotonic


def test_bridges_on_different_providers_count_apart(prefix: str) -> None:
    hit = trace.declare_tracepoint(f"{prefix}_hit")
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    with telemetry.to_opentelemetry(f"{prefix}_hit", meter_provider=MeterProvider([first])):
        hit()
        with telemetry.to_opentelemetry(f"{prefix}_hit", meter_provider=MeterProvider([second])):
            hit()
        assert (otel_hits(first), otel_hits(second)) == ({f"{prefix}_hit": 2}, {})


# -- spans --------------------------------------------------------------------------------


def test_a_timed_pair_is_a_span_with_its_arguments(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    read = trace.declare_tracepoint(f"{prefix}_read", "fd", "size")
    read_ret = trace.declare_tracepoint(f"{prefix}_read_ret", "got")
    with telemetry.to_opentelemetry(
        f"{prefix}_read", meter_provider=meters, tracer_provider=tracers
    ):
        read(3, 4096)
        read_ret(b"abc")
    (span,) = spans.get_finished_spans()
    assert span.name == f"{prefix}_read"
    assert dict(span.attributes or {}) == {"args.fd": 3, "args.size": 4096, "ret.got": "b'abc'"}
    assert span.status.status_code is StatusCode.UNSET
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time >= span.start_time


def test_an_inner_pair_is_the_child_of_the_enclosing_one(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    outer, outer_ret = (trace.declare_tracepoint(f"{prefix}_{n}") for n in ("rpc", "rpc_ret"))
    inner, inner_err = (trace.declare_tracepoint(f"{prefix}_{n}") for n in ("db", "db_err"))
    user_span_parent = tracers.get_tracer("app").start_span("request")
    from opentelemetry import trace as otel_trace

    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        with otel_trace.use_span(user_span_parent, end_on_exit=True):
            outer()
            inner()
            inner_err()
            outer_ret()
    found = by_name(spans)
    rpc, db = found[f"{prefix}_rpc"], found[f"{prefix}_db"]
    assert db.parent is not None and rpc.context is not None
    assert db.parent.span_id == rpc.context.span_id
    assert (
        rpc.parent is not None and rpc.parent.span_id == user_span_parent.get_span_context().span_id
    )
    assert db.status.status_code is StatusCode.ERROR
    assert db.status.description == f"ended by {prefix}_db_err"


def test_a_recursive_pair_nests_in_itself(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    start = trace.declare_tracepoint(f"{prefix}_walk", "depth")
    end = trace.declare_tracepoint(f"{prefix}_walk_ret", "depth")
    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        start(0)
        start(1)
        end(1)
        end(0)
    inner, outer = spans.get_finished_spans()
    assert [(s.attributes or {})["args.depth"] for s in (inner, outer)] == [1, 0]
    assert [(s.attributes or {})["ret.depth"] for s in (inner, outer)] == [1, 0]
    assert inner.parent is not None and outer.context is not None
    assert inner.parent.span_id == outer.context.span_id


def test_asyncio_tasks_keep_their_pairs_apart(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    start, end = (trace.declare_tracepoint(f"{prefix}_{n}", "i") for n in ("req", "req_ret"))

    async def handler(index: int, both_inside: asyncio.Event, arrived: list[int]) -> None:
        start(index)
        arrived.append(index)
        if len(arrived) == 2:
            both_inside.set()
        await both_inside.wait()
        end(index)

    async def serve() -> None:
        both_inside, arrived = asyncio.Event(), list[int]()
        await asyncio.gather(handler(1, both_inside, arrived), handler(2, both_inside, arrived))

    with telemetry.to_opentelemetry(
        f"{prefix}_req", meter_provider=meters, tracer_provider=tracers
    ):
        asyncio.run(serve())
    finished = spans.get_finished_spans()
    assert sorted(
        (span.attributes or {})["args.i"] == (span.attributes or {})["ret.i"] for span in finished
    ) == [True, True]
    assert all(span.parent is None for span in finished)


def test_a_pair_still_open_at_close_is_ended_and_marked(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    start = trace.declare_tracepoint(f"{prefix}_op")
    end = trace.declare_tracepoint(f"{prefix}_op_ret")
    with telemetry.to_opentelemetry(f"{prefix}_op", meter_provider=meters, tracer_provider=tracers):
        start()
    end()  # after closing: nothing more
    (span,) = spans.get_finished_spans()
    assert dict(span.attributes or {}) == {"osv.tracepoint.unfinished": True}


def test_a_plain_tracepoint_and_a_stray_end_make_no_span(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    plain = trace.declare_tracepoint(f"{prefix}_tick")
    trace.declare_tracepoint(f"{prefix}_op")
    stray = trace.declare_tracepoint(f"{prefix}_op_ret")
    outer, outer_ret = (trace.declare_tracepoint(f"{prefix}_{n}") for n in ("rpc", "rpc_ret"))
    with telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers):
        plain()
        stray()
        assert spans.get_finished_spans() == ()
        outer()
        stray()  # an open pair, but not the one it ends
        outer_ret()
    assert [span.name for span in spans.get_finished_spans()] == [f"{prefix}_rpc"]


def test_a_bridge_is_not_made_by_hand() -> None:
    with pytest.raises(TypeError) as refused:
        telemetry.Bridge("prometheus", ("x",), [])
    assert str(refused.value) == (
        "a Bridge is made by telemetry.to_opentelemetry() or telemetry.to_prometheus()"
    )


def test_overlapping_bridges_make_each_span_once(
    prefix: str, meters: MeterProvider, tracers: TracerProvider, spans: InMemorySpanExporter
) -> None:
    start, end = (trace.declare_tracepoint(f"{prefix}_{n}") for n in ("op", "op_ret"))
    with (
        telemetry.to_opentelemetry(f"{prefix}_*", meter_provider=meters, tracer_provider=tracers),
        telemetry.to_opentelemetry(f"{prefix}_op", meter_provider=meters, tracer_provider=tracers),
    ):
        start()
        end()
    assert [span.name for span in spans.get_finished_spans()] == [f"{prefix}_op"]


# -- Prometheus ---------------------------------------------------------------------------


def test_counts_and_durations_appear_in_a_scrape(prefix: str) -> None:
    start, end = (trace.declare_tracepoint(f"{prefix}_{n}") for n in ("op", "op_ret"))
    registry = CollectorRegistry()
    with telemetry.to_prometheus(f"{prefix}_op", registry=registry, buckets=(1e-3, 60.0)):
        for _ in range(3):
            start()
            end()
        labels = {"tracepoint": f"{prefix}_op"}
        text = generate_latest(registry).decode()
        assert f'osv_tracepoint_hits_total{{tracepoint="{prefix}_op"}} 3.0' in text
        assert registry.get_sample_value("osv_tracepoint_duration_seconds_count", labels) == 3
        assert registry.get_sample_value(
            "osv_tracepoint_duration_seconds_bucket", {**labels, "le": "60.0"}
        ) == 3  # fmt: skip
        assert registry.get_sample_value(
            "osv_tracepoint_duration_seconds_bucket", {**labels, "le": "+Inf"}
        ) == 3  # fmt: skip
        total = registry.get_sample_value("osv_tracepoint_duration_seconds_sum", labels)
        assert total is not None and 0 <= total < 180


def test_closing_the_last_bridge_unregisters_the_collector(prefix: str) -> None:
    hit = trace.declare_tracepoint(f"{prefix}_hit")
    registry = CollectorRegistry()
    first = telemetry.to_prometheus(f"{prefix}_*", registry=registry)
    second = telemetry.to_prometheus(f"{prefix}_hit", registry=registry)
    hit()
    first.close()
    hit()
    assert prometheus_hits(registry) == {f"{prefix}_hit": 2.0}
    second.close()
    assert list(registry.collect()) == []
    hit()  # no bridge: not counted
    with telemetry.to_prometheus(f"{prefix}_hit", registry=registry):  # registered again
        hit()
        assert prometheus_hits(registry) == {f"{prefix}_hit": 3.0}  # on from where it was


def test_the_default_registry_is_the_global_one(prefix: str) -> None:
    from prometheus_client import REGISTRY

    hit = trace.declare_tracepoint(f"{prefix}_hit")
    with telemetry.to_prometheus(f"{prefix}_hit"):
        hit()
        assert (
            REGISTRY.get_sample_value("osv_tracepoint_hits_total", {"tracepoint": f"{prefix}_hit"})
            == 1
        )


def test_names_already_on_the_registry_are_refused_and_nothing_changes(prefix: str) -> None:
    trace.declare_tracepoint(f"{prefix}_hit")
    registry = CollectorRegistry(auto_describe=True)
    Counter("osv_tracepoint_hits", "taken", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        telemetry.to_prometheus(f"{prefix}_hit", registry=registry)
    (info,) = trace.tracepoints(f"{prefix}_hit")
    assert (info.counting, info.probes) == (False, 0)


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (telemetry.to_prometheus, TypeError,
         "to_prometheus() needs at least one tracepoint name or pattern"),
        (telemetry.to_opentelemetry, TypeError,
         "to_opentelemetry() needs at least one tracepoint name or pattern"),
        (lambda: telemetry.to_prometheus("a", 3), TypeError,  # type: ignore[arg-type]
         "a tracepoint pattern must be a str, got an int (3)"),
        (lambda: telemetry.to_opentelemetry(""), ValueError,
         "a tracepoint pattern must not be empty; '*' matches every tracepoint"),
        (lambda: telemetry.to_prometheus("a", registry={}), TypeError,  # type: ignore[arg-type]
         "to_prometheus(registry=...) takes a prometheus_client.CollectorRegistry or None, "
         "got a dict"),
        (lambda: telemetry.to_opentelemetry("a", meter_provider=TracerProvider()), TypeError,  # type: ignore[arg-type]
         "to_opentelemetry(meter_provider=...) takes an "
         "opentelemetry.metrics.MeterProvider or None, got a TracerProvider"),
        (lambda: telemetry.to_opentelemetry("a", tracer_provider=MeterProvider()), TypeError,  # type: ignore[arg-type]
         "to_opentelemetry(tracer_provider=...) takes an "
         "opentelemetry.trace.TracerProvider or None, got a MeterProvider"),
        (lambda: telemetry.to_prometheus("a", registry=CollectorRegistry(), buckets="1"), TypeError,  # type: ignore[arg-type]
         "to_prometheus(buckets=...) takes a sequence of seconds, got a str"),
        (lambda: telemetry.to_prometheus("a", registry=CollectorRegistry(), buckets=(1, "2")), TypeError,  # type: ignore[arg-type]
         "to_prometheus(buckets=...): each bound is a number of seconds, got a str ('2')"),
        (lambda: telemetry.to_prometheus("a", registry=CollectorRegistry(), buckets=(float("inf"),)), ValueError,
         "to_prometheus(buckets=...): each bound is a finite number of seconds > 0, got inf; "
         "+Inf is always added"),
        (lambda: telemetry.to_prometheus("a", registry=CollectorRegistry(), buckets=(2.0, 1.0)), ValueError,
         "to_prometheus(buckets=...) needs at least one bound, in strictly increasing order, "
         "got (2.0, 1.0)"),
        (lambda: telemetry.to_prometheus("a", registry=CollectorRegistry(), buckets=()), ValueError,
         "to_prometheus(buckets=...) needs at least one bound, in strictly increasing order, "
         "got ()"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_at_the_call(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as refused:
        call()
    assert str(refused.value) == message


def test_other_buckets_on_a_registry_in_use_are_refused(prefix: str) -> None:
    registry = CollectorRegistry()
    with telemetry.to_prometheus(f"{prefix}_a", registry=registry, buckets=(1.0,)):
        with pytest.raises(ValueError, match="one histogram") as refused:
            telemetry.to_prometheus(f"{prefix}_b", registry=registry, buckets=(2.0,))
        assert str(refused.value) == (
            "to_prometheus(buckets=(2.0,)): this registry's bridges use the buckets (1.0,); "
            "one histogram has one set of buckets"
        )
        assert trace.tracepoints(f"{prefix}_b") == ()
        telemetry.to_prometheus(f"{prefix}_b", registry=registry).close()  # default: the registry's


@pytest.mark.parametrize(
    ("blocked", "call", "extra", "needed"),
    [
        ("prometheus_client", "to_prometheus", "prometheus", "prometheus_client"),
        ("opentelemetry", "to_opentelemetry", "otel", "opentelemetry.metrics"),
    ],
)
def test_without_the_extra_the_error_names_what_to_install(
    blocked: str, call: str, extra: str, needed: str
) -> None:
    """A real interpreter in which the exporter's library cannot be imported."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules[{blocked!r}] = None  # import fails as if it were not installed
        from osv_idioms import telemetry
        try:
            telemetry.{call}("x_*")
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{call}() needs {needed}, which is not installed; "
        f"install it with: pip install 'osv-idioms[{extra}]'\n"
    )


def test_the_guide_shows_what_the_example_prints() -> None:
    """docs/telemetry.md quotes the worked example's output; it must be what the example prints."""
    root = Path(__file__).parent.parent
    shown = (root / "tests" / "example_output" / "02_tracepoints_in_telemetry.txt").read_text(
        encoding="utf-8"
    )
    assert f"```text\n{shown}```" in (root / "docs" / "telemetry.md").read_text(encoding="utf-8")
