"""Tracepoints where fleets already look: OpenTelemetry metrics and spans, Prometheus samples.

Slide "Performance and tracing": OSv's ``perf stat`` shows one machine's
tracepoints on one terminal. A service runs as many processes on many
machines, and its operators already collect OpenTelemetry or Prometheus;
a bridge puts the counts (and the timed pairs) there. The traced code pays
what counting costs: the exporters read the counts when they collect.

``to_opentelemetry(*patterns)`` and ``to_prometheus(*patterns)`` each open a
``Bridge``; ``close()`` (or the end of a ``with`` block) stops it. The
OpenTelemetry and Prometheus libraries are imported only when these are
called: ``pip install 'osv-idioms[otel]'`` or ``'osv-idioms[prometheus]'``.

Examples:
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> from osv_idioms.trace import declare_tracepoint
    >>> from osv_idioms.telemetry import to_prometheus
    >>> trace_doc_serve = declare_tracepoint("doc_tm_serve")
    >>> registry = CollectorRegistry()
    >>> bridge = to_prometheus("doc_tm_*", registry=registry)
    >>> trace_doc_serve(); trace_doc_serve()
    >>> b'osv_tracepoint_hits_total{tracepoint="doc_tm_serve"} 2.0' in generate_latest(registry)
    True
    >>> bridge.close()
"""

from __future__ import annotations

from ..faces import present
from ._bridge import Bridge, to_opentelemetry, to_prometheus

__all__ = ("Bridge", "to_opentelemetry", "to_prometheus")

present(__name__, globals())
