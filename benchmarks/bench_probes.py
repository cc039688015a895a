"""What a function probe (``py:MODULE:QUALNAME``) costs a call, off and on, against the peers.

The peers are what a user would reach for to see calls of a function they
cannot edit: ``sys.setprofile`` with a profile function that looks for it,
and viztracer, which records every call. Each benchmark runs 1,000 calls of
``target`` per round.
Run: ``python -m pytest benchmarks/bench_probes.py --benchmark-group-by=group``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import _probed
from benchmarks._unrolled import unrolled
from osv_idioms import trace

PROBED = trace.probe_function("benchmarks._probed:target")


def run(benchmark: BenchmarkFixture, around: tuple[Any, Any] | None = None) -> None:
    """Time 1,000 calls; ``around`` switches a tracer on and off inside each round.

    Inside, because a tracer set by a fixture is not in force in the timed
    call (pytest-benchmark's timer runs in between).
    """
    calls = unrolled("f(m)", {"m": 1, "f": _probed.target})
    if around is None:
        benchmark(calls)
        return
    start, stop = around

    def traced() -> None:
        start()
        try:
            calls()
        finally:
            stop()

    benchmark(traced)


@pytest.fixture
def counting() -> Iterator[None]:
    with trace.count(PROBED):
        yield


@pytest.fixture
def recording() -> Iterator[None]:
    trace.clear()
    trace.enable(PROBED + "*")
    yield
    trace.disable(PROBED + "*")
    trace.clear()


def profiling() -> tuple[Any, Any]:
    """``sys.setprofile`` with a Python function that counts the calls of ``target``."""
    code = _probed.target.__code__
    seen = [0]

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            seen[0] += 1

    return (lambda: sys.setprofile(profile)), (lambda: sys.setprofile(None))


def viztracing() -> tuple[Any, Any]:
    from viztracer import VizTracer  # type: ignore[import-untyped]

    tracer = VizTracer(verbose=0, tracer_entries=1_000_000)

    def stop() -> None:
        tracer.stop()
        tracer.clear()

    return tracer.start, stop


@pytest.mark.benchmark(group="function probe")
def test_call_not_probed(benchmark: BenchmarkFixture) -> None:
    run(benchmark)


@pytest.mark.benchmark(group="function probe")
def test_call_probed_off(benchmark: BenchmarkFixture) -> None:
    assert trace.tracepoints(PROBED)[0].counting is False
    run(benchmark)


@pytest.mark.benchmark(group="function probe")
def test_call_probed_counting(benchmark: BenchmarkFixture, counting: None) -> None:
    run(benchmark)


@pytest.mark.benchmark(group="function probe")
def test_call_probed_recording(benchmark: BenchmarkFixture, recording: None) -> None:
    run(benchmark)


@pytest.mark.benchmark(group="function probe")
def test_call_under_setprofile(benchmark: BenchmarkFixture) -> None:
    run(benchmark, profiling())


@pytest.mark.benchmark(group="function probe")
@pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason="on 3.11 viztracer's profile hook and pytest-benchmark's pause of it clash",
)
def test_call_under_viztracer(benchmark: BenchmarkFixture) -> None:
    run(benchmark, viztracing())
