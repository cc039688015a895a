"""Bridges: what one call to ``to_opentelemetry`` or ``to_prometheus`` opened, until closed.

Each destination (a meter provider, a tracer provider, a Prometheus
registry) has one export, shared by every bridge on it, so two bridges on
overlapping patterns count each hit once. A bridge leases its patterns from
the exports; closing gives them back, and the last lease of a Prometheus
export unregisters its collector. An export is kept as long as its
destination, so counts that come back go on from where they were: exported
counters never go down.
"""

from __future__ import annotations

import importlib
import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, cast, final

from .. import trace
from ..forks import free_in_child
from ..interrupts import deferred

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from prometheus_client.registry import CollectorRegistry

    from ._otel import Metrics, Spans
    from ._prometheus import PrometheusExport

__all__ = ("Bridge", "to_opentelemetry", "to_prometheus")

_lock = threading.Lock()  # creating and dropping exports
free_in_child(_lock)


class _Part(Protocol):
    """What a bridge leases patterns from: a ``Tally`` or a ``Pairs``."""

    @property
    def empty(self) -> bool: ...
    def add(self, patterns: tuple[str, ...]) -> None: ...
    def remove(self, patterns: tuple[str, ...]) -> None: ...


# The export of each destination, held no longer than the destination itself.
_meters: weakref.WeakKeyDictionary[MeterProvider, Metrics] = weakref.WeakKeyDictionary()
_tracers: weakref.WeakKeyDictionary[TracerProvider, Spans] = weakref.WeakKeyDictionary()
_registries: weakref.WeakKeyDictionary[CollectorRegistry, PrometheusExport] = (
    weakref.WeakKeyDictionary()
)


class _Lease:
    """One bridge's patterns on one part, and what to do once the part is empty."""

    __slots__ = ("on_empty", "part", "patterns")

    def __init__(
        self, part: _Part, patterns: tuple[str, ...], on_empty: Callable[[], None]
    ) -> None:
        part.add(patterns)
        self.part, self.patterns, self.on_empty = part, patterns, on_empty

    def release(self) -> None:
        self.part.remove(self.patterns)
        if self.part.empty:
            self.on_empty()


@final
class Bridge:
    """Tracepoint counts (and timed pairs) flowing to an exporter, until ``close()``.

    Made by ``to_opentelemetry()`` and ``to_prometheus()``. A bridge is kept
    by its exporter, not by whoever made it: one made at start-up and never
    stored goes on exporting for the life of the process.

    Attributes:
        destination: ``"opentelemetry"`` or ``"prometheus"``.
        patterns: the tracepoint names and patterns it exports.

    Examples:
        >>> from prometheus_client import CollectorRegistry
        >>> from osv_idioms.telemetry import to_prometheus
        >>> with to_prometheus("doc_*", registry=CollectorRegistry()) as bridge:
        ...     bridge.closed
        False
        >>> bridge.closed
        True
    """

    __slots__ = ("_leases", "destination", "patterns")

    def __init__(self, destination: str, patterns: tuple[str, ...], leases: list[_Lease]) -> None:
        given = cast("object", leases)  # as called, whatever the annotations say
        if not (given and isinstance(given, list) and all(isinstance(x, _Lease) for x in given)):  # pyright: ignore[reportUnknownVariableType]
            raise TypeError(
                "a Bridge is made by telemetry.to_opentelemetry() or telemetry.to_prometheus()"
            )
        self.destination: str = destination
        self.patterns: tuple[str, ...] = patterns
        self._leases: list[_Lease] | None = leases

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has run."""
        return self._leases is None

    @deferred
    def close(self) -> None:
        """Stop exporting: its counting stops and what it registered goes (harmless twice)."""
        leases, self._leases = self._leases, None
        with _lock:
            for lease in leases or ():
                lease.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Bridge to {self.destination} {self.patterns!r} {state}>"


def _checked_patterns(call: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The patterns, each checked as ``trace.count`` checks it, duplicates dropped."""
    if not patterns:
        raise TypeError(f"{call}() needs at least one tracepoint name or pattern")
    for pattern in patterns:
        trace.tracepoints(pattern)  # raises the trace module's own error for a bad one
    return tuple(dict.fromkeys(patterns))


def _require(module: str, extra: str, call: str) -> None:
    """Import an exporter's library, or say which extra installs it."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{call}() needs {module}, which is not installed; "
            f"install it with: pip install 'osv-idioms[{extra}]'",
            name=exc.name,
        ) from exc


@deferred
def to_opentelemetry(
    *patterns: str,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Bridge:
    """Export the tracepoints matching ``patterns`` to OpenTelemetry: a counter and spans.

    Hits are counted into the observable counter ``osv.tracepoint.hits``,
    one point per tracepoint with the attribute ``tracepoint=<name>``, read
    when the meter provider collects; the traced code pays what counting
    costs. Each timed pair (``x`` then ``x_ret`` or ``x_err`` in one thread
    or asyncio task) becomes a span named ``x`` that starts and ends with
    the hits, is the child of the pair around it (or of the span current
    when it started), carries the arguments of ``x`` as ``args.<name>`` and
    those of its end as ``ret.<name>``, and has an error status when
    ``x_err`` ended it. Tracepoints declared later that match are exported
    too.

    Args:
        *patterns: tracepoint names or shell wildcards, at least one.
        meter_provider: where the counter goes; the global one by default.
        tracer_provider: where the spans go; the global one by default.

    Returns:
        The open ``Bridge``; ``close()`` stops it.

    Raises:
        TypeError: no pattern, a pattern that is not a str, or a provider of
            the wrong type.
        ValueError: an empty pattern.
        ImportError: ``opentelemetry-api`` is not installed (the extra
            ``osv-idioms[otel]``).

    Examples:
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_get = declare_tracepoint("doc_otel_get")
        >>> reader = InMemoryMetricReader()
        >>> with to_opentelemetry("doc_otel_*", meter_provider=MeterProvider([reader])):
        ...     trace_doc_get(); trace_doc_get()
        ...     data = reader.get_metrics_data()
        >>> metric = data.resource_metrics[0].scope_metrics[0].metrics[0]
        >>> metric.name, [(p.attributes, p.value) for p in metric.data.data_points]
        ('osv.tracepoint.hits', [({'tracepoint': 'doc_otel_get'}, 2)])
    """
    checked = _checked_patterns("to_opentelemetry", patterns)
    _require("opentelemetry.metrics", "otel", "to_opentelemetry")
    from . import _otel  # noqa: PLC0415 - OpenTelemetry is imported only when it is asked for

    meters, tracers = _otel.providers(meter_provider, tracer_provider)
    with _lock:
        counted = _meters.get(meters)
        if counted is None:
            counted = _otel.Metrics(meters)
            _meters[meters] = counted  # kept: an instrument can't be unregistered
        spans = _tracers.get(tracers)
        if spans is None:
            spans = _otel.Spans(tracers)
            _tracers[tracers] = spans
        leases = [
            _Lease(counted.tally, checked, _keep),
            _Lease(spans.pairs, checked, _keep),
        ]
    return Bridge("opentelemetry", checked, leases)


def _keep() -> None:
    """An empty export stays, so a counter that comes back goes on from where it was."""


@deferred
def to_prometheus(
    *patterns: str,
    registry: CollectorRegistry | None = None,
    buckets: tuple[float, ...] | None = None,
) -> Bridge:
    """Export the tracepoints matching ``patterns`` to a Prometheus registry.

    One collector per registry serves, at each scrape, the hit count of
    every tracepoint matched as ``osv_tracepoint_hits_total{tracepoint=...}``
    and the durations of timed pairs (``x`` to ``x_ret`` or ``x_err``, in one
    thread or asyncio task) as the histogram
    ``osv_tracepoint_duration_seconds{tracepoint="x"}``. The last bridge on a
    registry to close unregisters the collector.

    Args:
        *patterns: tracepoint names or shell wildcards, at least one.
        registry: where the collector goes; ``prometheus_client.REGISTRY``
            (what ``start_http_server`` serves) by default.
        buckets: the histogram's upper bounds in seconds (``+Inf`` is added);
            a microsecond to 10 s by default. Every bridge on one registry
            uses the buckets of the first.

    Returns:
        The open ``Bridge``; ``close()`` stops it.

    Raises:
        TypeError: no pattern, a pattern that is not a str, a registry of the
            wrong type, or buckets that are not a sequence of numbers.
        ValueError: an empty pattern, buckets not finite, positive and
            increasing, or buckets other than those the registry's bridges
            use; a registry that already has metrics of these names.
        ImportError: ``prometheus_client`` is not installed (the extra
            ``osv-idioms[prometheus]``).

    Examples:
        >>> from prometheus_client import CollectorRegistry, generate_latest
        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_put = declare_tracepoint("doc_prom_put")
        >>> registry = CollectorRegistry()
        >>> with to_prometheus("doc_prom_*", registry=registry):
        ...     trace_doc_put()
        ...     text = generate_latest(registry).decode()
        >>> [line for line in text.splitlines() if line.startswith("osv_tracepoint_hits")]
        ['osv_tracepoint_hits_total{tracepoint="doc_prom_put"} 1.0']
    """
    checked = _checked_patterns("to_prometheus", patterns)
    _require("prometheus_client", "prometheus", "to_prometheus")
    from . import _prometheus  # noqa: PLC0415 - prometheus_client is imported only when asked for

    target = _prometheus.registry_or_default(registry)
    bounds = _prometheus.DEFAULT_BUCKETS if buckets is None else _prometheus.check_buckets(buckets)
    with _lock:
        export = _registries.get(target)
        if export is None:
            export = _prometheus.PrometheusExport(bounds)
            _registries[target] = export  # kept, so its counts go on where they were
        elif buckets is not None and export.buckets != bounds:
            raise ValueError(
                f"to_prometheus(buckets={bounds!r}): this registry's bridges use the buckets "
                f"{export.buckets!r}; one histogram has one set of buckets"
            )
        if export.pairs.empty:
            target.register(export)  # refuses names already there; nothing has changed yet

        def unregister() -> None:
            target.unregister(export)

        leases = [_Lease(export.tally, checked, _keep), _Lease(export.pairs, checked, unregister)]
    return Bridge("prometheus", checked, leases)
