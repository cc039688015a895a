"""Bridges opened and closed in any order, on overlapping patterns, against a model of the counts.

Both destinations are read after every step: a Prometheus registry scrape and
an OpenTelemetry collection must show each tracepoint some open bridge
matches, with every hit made while one did, and nothing else.
"""

from __future__ import annotations

import fnmatch
import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

from osv_idioms import telemetry, trace

from .test_telemetry import otel_hits, prometheus_hits

_machines = itertools.count()
SUFFIXES = ("get", "get_ret", "put", "scan")
PATTERNS = ("*", "get", "get*", "[gp]*", "put", "scan", "*t")


class Bridges(RuleBasedStateMachine):
    """Random bridges, hits and declarations keep both exporters equal to the model."""

    bridges = Bundle("bridges")

    def __init__(self) -> None:
        super().__init__()
        self.stem = f"tsm{next(_machines)}"
        self.registry = CollectorRegistry()
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider([self.reader])
        self.points: dict[str, object] = {}
        self.open: dict[int, tuple[telemetry.Bridge, str]] = {}
        # Per destination, the hits made while one of its open bridges matched.
        self.seen: dict[str, dict[str, int]] = {"prometheus": {}, "opentelemetry": {}}

    @rule(suffix=st.sampled_from(SUFFIXES))
    def declare(self, suffix: str) -> None:
        name = f"{self.stem}_{suffix}"
        if name not in self.points:
            self.points[name] = trace.declare_tracepoint(name)

    @rule(target=bridges, part=st.sampled_from(PATTERNS), to=st.sampled_from(("prom", "otel")))
    def open_bridge(self, part: str, to: str) -> telemetry.Bridge:
        pattern = f"{self.stem}_{part}"
        if to == "prom":
            bridge = telemetry.to_prometheus(pattern, registry=self.registry)
        else:
            bridge = telemetry.to_opentelemetry(pattern, meter_provider=self.meters)
        self.open[id(bridge)] = (bridge, pattern)
        return bridge

    @rule(bridge=consumes(bridges))
    def close_bridge(self, bridge: telemetry.Bridge) -> None:
        bridge.close()
        self.open.pop(id(bridge))

    @rule(suffix=st.sampled_from(SUFFIXES), times=st.integers(1, 3))
    def hit(self, suffix: str, times: int) -> None:
        name = f"{self.stem}_{suffix}"
        point = self.points.get(name)
        if point is None:
            return
        for _ in range(times):
            point()  # type: ignore[operator]
        for destination, seen in self.seen.items():
            if self._covered_by(destination, name):
                seen[name] = seen.get(name, 0) + times

    def _covered_by(self, destination: str, name: str) -> bool:
        return any(
            b.destination == destination and fnmatch.fnmatchcase(name, p)
            for b, p in self.open.values()
        )

    def expected(self, destination: str) -> dict[str, int]:
        return {
            name: self.seen[destination].get(name, 0)
            for name in self.points
            if self._covered_by(destination, name)
        }

    @invariant()
    def exporters_match_the_model(self) -> None:
        for destination, shown in (
            ("prometheus", {n: int(v) for n, v in prometheus_hits(self.registry).items()}),
            ("opentelemetry", otel_hits(self.reader)),
        ):
            assert shown == self.expected(destination), destination

    def teardown(self) -> None:
        for bridge, _ in self.open.values():
            bridge.close()
        self.meters.shutdown()


Bridges.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestBridges = Bridges.TestCase
