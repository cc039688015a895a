"""The tracepoint registry's lifecycle against a model: rules, counters and hits in any order."""

from __future__ import annotations

import fnmatch
import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from osv_idioms import trace

_machines = itertools.count()
SUFFIXES = ("lock", "lock_wait", "unlock", "switch")
PATTERN_PARTS = ("lock", "lock*", "*lock", "*", "?nlock", "switch", "lock_wait")


class TraceRegistry(RuleBasedStateMachine):
    """Random enable/disable/count/hit sequences keep state and counts equal to the model."""

    counters = Bundle("counters")

    def __init__(self) -> None:
        super().__init__()
        self.stem = f"sm{next(_machines)}"
        self.points: dict[str, object] = {}
        self.switch_rules: list[tuple[str, bool]] = []
        self.open: dict[int, tuple[trace.Counters, str, int]] = {}  # id -> counters, pattern, model
        self.closed: list[tuple[trace.Counters, str, int]] = []
        self.hits_recorded = 0
        trace.clear()

    def name(self, suffix: str) -> str:
        return f"{self.stem}_{suffix}"

    def expected_recording(self, name: str) -> bool:
        state = False
        for pattern, on in self.switch_rules:
            if fnmatch.fnmatchcase(name, pattern):
                state = on
        return state

    @rule(suffix=st.sampled_from(SUFFIXES))
    def declare(self, suffix: str) -> None:
        name = self.name(suffix)
        if name not in self.points:
            self.points[name] = trace.declare_tracepoint(name, "v")

    @rule(part=st.sampled_from(PATTERN_PARTS), on=st.booleans())
    def switch(self, part: str, on: bool) -> None:
        pattern = self.name(part)
        (trace.enable if on else trace.disable)(pattern)
        self.switch_rules = [r for r in self.switch_rules if r[0] != pattern] + [(pattern, on)]

    @rule(target=counters, part=st.sampled_from(PATTERN_PARTS))
    def open_counter(self, part: str) -> int:
        pattern = self.name(part)
        counters = trace.count(pattern)
        self.open[id(counters)] = (counters, pattern, 0)
        return id(counters)

    @rule(key=counters)
    def close_counter(self, key: int) -> None:
        if key in self.open:
            counters, pattern, expected = self.open.pop(key)
            counters.close()
            self.closed.append((counters, pattern, expected))

    @rule(suffix=st.sampled_from(SUFFIXES), times=st.integers(1, 5))
    def hit(self, suffix: str, times: int) -> None:
        name = self.name(suffix)
        point = self.points.get(name)
        if point is None:
            return
        for i in range(times):
            point(i)  # type: ignore[operator]
        for key, (counters, pattern, expected) in self.open.items():
            if fnmatch.fnmatchcase(name, pattern):
                self.open[key] = (counters, pattern, expected + times)
        if self.expected_recording(name):
            self.hits_recorded += times

    @invariant()
    def recording_state_follows_the_last_matching_rule(self) -> None:
        for info in trace.tracepoints(f"{self.stem}_*"):
            assert info.recording == self.expected_recording(info.name), info.name

    @invariant()
    def counting_state_is_on_while_a_counter_watches(self) -> None:
        for info in trace.tracepoints(f"{self.stem}_*"):
            watched = any(fnmatch.fnmatchcase(info.name, p) for _, p, _ in self.open.values())
            assert info.counting == watched, info.name

    @invariant()
    def counts_equal_the_model(self) -> None:
        for counters, pattern, expected in [*self.open.values(), *self.closed]:
            assert counters[pattern] == expected

    @invariant()
    def records_equal_the_recorded_hits(self) -> None:
        recorded = [e for e in trace.events() if e.name.startswith(f"{self.stem}_")]
        assert len(recorded) == self.hits_recorded

    def teardown(self) -> None:
        for counters, _, _ in self.open.values():
            counters.close()
        trace.disable(f"{self.stem}_*")


TestTraceRegistry = TraceRegistry.TestCase
TestTraceRegistry.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
