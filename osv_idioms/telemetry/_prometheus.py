"""The Prometheus side: one collector per registry, counts and pair durations.

Imported only when ``to_prometheus`` is called. The collector is read when
the registry is scraped (``/metrics``): hit counts come from the library's
own counters, and durations from the timed pairs, put in their histogram
buckets as the pairs close.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections.abc import Iterator, Sequence
from typing import cast

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString  # pyright: ignore[reportUnknownVariableType]

from ..checks import arrived, kind_of
from ..forks import free_lock, reset_in_child
from ._pairs import Pairs
from ._tally import Tally

__all__ = (
    "DEFAULT_BUCKETS",
    "DURATION",
    "HITS",
    "PrometheusExport",
    "check_buckets",
    "registry_or_default",
)

HITS = "osv_tracepoint_hits"
"""The counter family; samples are ``osv_tracepoint_hits_total{tracepoint=...}``."""

DURATION = "osv_tracepoint_duration_seconds"
"""The histogram family of timed pairs' durations."""

DEFAULT_BUCKETS: tuple[float, ...] = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Upper bounds in seconds, from a microsecond (a tracepoint pair can be that short) to 10 s."""


def registry_or_default(registry: object) -> CollectorRegistry:
    """The registry given (of the right type), or the global one ``start_http_server`` serves."""
    if registry is None:
        return REGISTRY
    if not isinstance(registry, CollectorRegistry):
        raise TypeError(
            "to_prometheus(registry=...) takes a prometheus_client.CollectorRegistry or None, "
            f"got {kind_of(registry)}"
        )
    return registry


def check_buckets(buckets: object) -> tuple[float, ...]:
    """The histogram's upper bounds: finite, positive, strictly increasing seconds."""
    if isinstance(buckets, str | bytes) or not isinstance(buckets, Sequence):
        raise TypeError(
            f"to_prometheus(buckets=...) takes a sequence of seconds, got {kind_of(buckets)}"
        )
    given = cast("Sequence[object]", buckets)
    bounds: list[float] = []
    for bound in given:
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise TypeError(
                "to_prometheus(buckets=...): each bound is a number of seconds, "
                f"got {arrived(bound)}"
            )
        if not (math.isfinite(bound) and bound > 0):
            raise ValueError(
                "to_prometheus(buckets=...): each bound is a finite number of seconds > 0, "
                f"got {bound!r}; +Inf is always added"
            )
        bounds.append(float(bound))
    if not bounds or any(b <= a for a, b in itertools.pairwise(bounds)):
        raise ValueError(
            "to_prometheus(buckets=...) needs at least one bound, in strictly increasing "
            f"order, got {tuple(given)!r}"
        )
    return tuple(bounds)


def _bound(seconds: float) -> str:
    """A bucket's ``le`` label, written as prometheus_client writes its own."""
    return floatToGoString(seconds)  # type: ignore[no-untyped-call,no-any-return]


class _Histogram:
    """One tracepoint's durations: a count per bucket, and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)  # the last is +Inf
        self.total = 0.0


class PrometheusExport(Collector):
    """The collector of one registry, fed by every bridge on it."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.tally = Tally()
        self.pairs = Pairs(self, clock=time.perf_counter_ns)
        self.buckets = buckets
        self._histograms: dict[str, _Histogram] = {}
        self._lock = threading.Lock()  # the histograms': a closing pair adds to one
        reset_in_child(self, PrometheusExport._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        free_lock(self._lock)  # a sample cut short is one count or one total behind: no more

    # -- the listener of the timed pairs ------------------------------------------

    def opened(self, name: str, args: dict[str, object], parent: object, ns: int) -> object:
        return (name, ns)

    def closed(self, opened: object, end: str, args: dict[str, object], ns: int) -> None:
        name, start = cast("tuple[str, int]", opened)  # what opened() returned
        seconds = (ns - start) / 1e9
        with self._lock:
            histogram = self._histograms.get(name)
            if histogram is None:
                histogram = self._histograms[name] = _Histogram(len(self.buckets))
            histogram.counts[bisect.bisect_left(self.buckets, seconds)] += 1
            histogram.total += seconds

    def abandoned(self, opened: object, ns: int) -> None:
        """A pair cut off by closing has no duration to show."""

    # -- what a scrape reads --------------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        """The families, without samples: lets a registry check names at registration."""
        yield self._hits()
        yield self._durations()

    def collect(self) -> Iterator[Metric]:
        hits = self._hits()
        for name, count in sorted(self.tally.read().items()):
            hits.add_metric([name], count)
        yield hits
        durations = self._durations()
        with self._lock:
            shown = {name: (list(h.counts), h.total) for name, h in self._histograms.items()}
        for name, (counts, total) in sorted(shown.items()):
            if not self.pairs.covers(name):
                continue  # its last bridge closed
            durations.add_metric([name], self._cumulative(counts), total)
        yield durations

    def _hits(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            HITS, "Hits of osv_idioms tracepoints, counted while a bridge was open",
            labels=["tracepoint"],
        )  # fmt: skip

    def _durations(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(
            DURATION, "Durations of osv_idioms timed pairs (x to x_ret or x_err)",
            labels=["tracepoint"],
        )  # fmt: skip

    def _cumulative(self, counts: list[int]) -> list[tuple[str, float]]:
        bounds = [_bound(b) for b in self.buckets] + ["+Inf"]
        running, shown = 0, list[tuple[str, float]]()
        for bound, count in zip(bounds, counts, strict=True):
            running += count
            shown.append((bound, float(running)))
        return shown
