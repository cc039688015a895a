"""The OpenTelemetry side: an observable counter per meter provider, spans per tracer provider.

Imported only when ``to_opentelemetry`` is called, so the library does not
depend on OpenTelemetry. The counter is observable: the meter provider reads
the library's own counts when it collects, and the traced code pays what
counting costs, nothing more. Spans are made as the pairs close, in the
thread that ran them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import metrics
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Span, Status, StatusCode

from ..checks import kind_of
from ._pairs import Pairs
from ._tally import Tally

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opentelemetry.util.types import AttributeValue

__all__ = ("HITS", "SCOPE", "Metrics", "Spans", "providers")

HITS = "osv.tracepoint.hits"
"""The counter's name; each point carries ``tracepoint=<name>``."""

SCOPE = "osv_idioms.telemetry"
"""The instrumentation scope of the meter and the tracer."""

_ATTRIBUTE_TYPES = (str, bool, int, float)


def providers(
    meter_provider: object, tracer_provider: object
) -> tuple[metrics.MeterProvider, otel_trace.TracerProvider]:
    """The providers to use: those given (of the right type), or the global ones."""
    for given, expected, keyword in (
        (meter_provider, metrics.MeterProvider, "meter_provider"),
        (tracer_provider, otel_trace.TracerProvider, "tracer_provider"),
    ):
        if given is not None and not isinstance(given, expected):
            raise TypeError(
                f"to_opentelemetry({keyword}=...) takes an "
                f"{expected.__module__}.{expected.__qualname__} or None, got {kind_of(given)}"
            )
    return (
        meter_provider if isinstance(meter_provider, metrics.MeterProvider)
        else metrics.get_meter_provider(),
        tracer_provider if isinstance(tracer_provider, otel_trace.TracerProvider)
        else otel_trace.get_tracer_provider(),
    )  # fmt: skip


def _attribute(value: object) -> AttributeValue:
    """A tracepoint argument as an attribute value: scalars as they are, anything else shown."""
    if isinstance(value, _ATTRIBUTE_TYPES) and not (
        isinstance(value, int) and not -(2**63) <= value < 2**63
    ):
        return value
    return repr(value)


def _attributes(prefix: str, args: dict[str, object]) -> dict[str, AttributeValue]:
    return {f"{prefix}.{name}": _attribute(value) for name, value in args.items()}


class Metrics:
    """The hit counter of one meter provider, fed by every bridge on it."""

    def __init__(self, provider: metrics.MeterProvider) -> None:
        self.tally = Tally()
        meter = provider.get_meter(SCOPE)
        # An instrument can't be unregistered: once the last bridge closes it observes nothing.
        meter.create_observable_counter(
            HITS,
            callbacks=[self._observe],
            unit="{hit}",
            description="Hits of osv_idioms tracepoints, counted while a bridge was open",
        )

    def _observe(self, _options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        return [
            metrics.Observation(hits, {"tracepoint": name})
            for name, hits in sorted(self.tally.read().items())
        ]


class Spans:
    """The spans of one tracer provider: one per timed pair, nested as the pairs ran."""

    def __init__(self, provider: otel_trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer(SCOPE)
        self.pairs = Pairs(self)

    def opened(self, name: str, args: dict[str, object], parent: object, ns: int) -> object:
        context = otel_trace.set_span_in_context(parent) if isinstance(parent, Span) else None
        return self._tracer.start_span(
            name, context=context, start_time=ns, attributes=_attributes("args", args)
        )

    def closed(self, opened: object, end: str, args: dict[str, object], ns: int) -> None:
        assert isinstance(opened, Span)
        opened.set_attributes(_attributes("ret", args))
        if end.endswith("_err"):
            opened.set_status(Status(StatusCode.ERROR, f"ended by {end}"))
        opened.end(end_time=ns)

    def abandoned(self, opened: object, ns: int) -> None:
        assert isinstance(opened, Span)
        opened.set_attribute("osv.tracepoint.unfinished", True)
        opened.end(end_time=ns)
