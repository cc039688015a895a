"""Costs as the work grows: signals by slot count, RCU containers by size, readers beside a writer.

Each case runs at several sizes, beside its peers at the same sizes:

- connecting n distinct slots to a new signal (psygnal, blinker);
- one connect+disconnect on a signal that already has n slots;
- one emit to n slots (the plain loop, psygnal, blinker);
- one RcuDict update and lookup at n entries, a snapshot followed by an
  update, and an update() of two keys (a dict behind a Lock);
- one RcuList append+pop at n items (a list behind a Lock);
- reads per second and the 99th percentile of read latency, for readers
  of an RcuDict and of a locked dict of 100,000 entries while one writer
  updates it without pause;
- writing n recorded events as Chrome Trace Event JSON (viztracer's save);
- switching n tracepoints on and off while each is watched by its name, as
  ``probe_function`` watches its three (no peer: the cost should grow as n).

``python -m pytest benchmarks/bench_scaling.py`` runs them; the tables in
docs/benchmarks.md are made from its JSON by ``benchmarks.render``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blinker
import psygnal
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import unrolled
from osv_idioms import trace
from osv_idioms.rcu import RcuDict, RcuDomain, RcuList
from osv_idioms.signals import Signal
from osv_idioms.trace.activity import watch_activity

SLOTS = (0, 100, 1_000, 10_000)
ENTRIES = (10, 1_000, 100_000)


class PsygnalEmitter:
    changed = psygnal.Signal(int)


def counting_slot(hits: list[int]) -> Callable[[int], None]:
    def on_value(value: int) -> None:
        hits.append(value)

    return on_value


def make_function() -> Callable[[int], None]:
    def on_value(value: int) -> None:
        pass

    return on_value


def connect_all(library: str, slots: list[Callable[[int], None]]) -> Any:
    """A new signal of ``library`` with every slot connected; returns the signal."""
    if library == "osv-idioms":
        ours = Signal[[int]]()
        for slot in slots:
            ours.connect(slot)
        return ours
    if library == "psygnal":
        theirs = PsygnalEmitter().changed
        for slot in slots:
            theirs.connect(slot)
        return theirs
    signal = blinker.Signal()
    for slot in slots:
        signal.connect(slot)
    return signal


LIBRARIES = ("osv-idioms", "psygnal", "blinker")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("count", [1_000, 10_000])
def test_connect_many(benchmark: BenchmarkFixture, count: int, library: str) -> None:
    benchmark.group = f"connect {count} slots"
    hits: list[int] = []
    counting = [counting_slot(hits) for _ in range(3)]  # kept: blinker holds slots weakly
    _emit_of(library, counting)(7)
    assert hits == [7, 7, 7], "the adapter connects every slot"
    slots = [make_function() for _ in range(count)]
    benchmark.pedantic(connect_all, args=(library, slots), rounds=10, iterations=1)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("count", SLOTS)
def test_connect_disconnect_at(benchmark: BenchmarkFixture, count: int, library: str) -> None:
    benchmark.group = f"connect+disconnect at {count} slots"
    signal = connect_all(library, [make_function() for _ in range(count)])
    slot = make_function()
    if library == "osv-idioms":
        call = "signal.connect(slot).disconnect()"
    else:
        call = "signal.connect(slot); signal.disconnect(slot)"
    benchmark(unrolled(call, {"signal": signal, "slot": slot}))


def plain_loop(slots: list[Callable[[int], None]]) -> Callable[[int], None]:
    def emit(value: int) -> None:
        for slot in tuple(slots):
            slot(value)

    return emit


@pytest.mark.parametrize("library", ["plain-loop", *LIBRARIES])
@pytest.mark.parametrize("count", [100, 1_000, 10_000])
def test_emit_to(benchmark: BenchmarkFixture, count: int, library: str) -> None:
    """One emit per call (not 1,000): at 10,000 slots an emit is itself a long loop."""
    benchmark.group = f"emit to {count} slots"
    hits: list[int] = []
    counting = [counting_slot(hits) for _ in range(count)]
    (plain_loop(counting) if library == "plain-loop" else _emit_of(library, counting))(7)
    assert hits == [7] * count, "every slot is called once, with the value"
    slots = [make_function() for _ in range(count)]
    benchmark(plain_loop(slots) if library == "plain-loop" else _emit_of(library, slots), 1)


def _emit_of(library: str, slots: list[Callable[[int], None]]) -> Callable[[int], Any]:
    signal = connect_all(library, slots)
    return signal.send if library == "blinker" else signal.emit  # type: ignore[no-any-return]


# -- RCU containers by size ------------------------------------------------------------


@pytest.mark.parametrize("size", ENTRIES)
@pytest.mark.parametrize("kind", ["rcu-dict", "locked-dict"])
def test_dict_update_at(benchmark: BenchmarkFixture, kind: str, size: int) -> None:
    benchmark.group = f"dict update at {size}"
    key = size // 2
    if kind == "rcu-dict":
        table = RcuDict({n: n for n in range(size)}, domain=RcuDomain("bench"))
        benchmark(unrolled("table[key] = 1", {"table": table, "key": key}))
        assert table[key] == 1
        assert len(table) == size
    else:
        plain = {n: n for n in range(size)}
        lock = threading.Lock()

        def update() -> None:
            with lock:
                plain[key] = 1

        benchmark(unrolled("update()", {"update": update}))


@pytest.mark.parametrize("size", ENTRIES)
@pytest.mark.parametrize("kind", ["rcu-dict", "locked-dict"])
def test_dict_read_at(benchmark: BenchmarkFixture, kind: str, size: int) -> None:
    benchmark.group = f"dict read at {size}"
    key = size // 2
    if kind == "rcu-dict":
        table = RcuDict({n: n for n in range(size)}, domain=RcuDomain("bench"))
        benchmark(unrolled("table[key]", {"table": table, "key": key}))
    else:
        plain = {n: n for n in range(size)}
        lock = threading.Lock()

        def read() -> int:
            with lock:
                return plain[key]

        benchmark(unrolled("read()", {"read": read}))


@pytest.mark.parametrize("size", ENTRIES)
@pytest.mark.parametrize("kind", ["rcu-dict", "locked-dict"])
def test_dict_snapshot_then_update_at(benchmark: BenchmarkFixture, kind: str, size: int) -> None:
    """A snapshot, then one update: the update after a snapshot copies the dict once.

    The locked dict's snapshot is its copy under the lock, so both sides copy
    n entries per round: ours in the write, the lock's in the snapshot.
    """
    benchmark.group = f"dict snapshot+update at {size}"
    key = size // 2
    if kind == "rcu-dict":
        table = RcuDict({n: n for n in range(size)}, domain=RcuDomain("bench"))
        benchmark.pedantic(lambda: (table.snapshot(), table.put(key, 1)), rounds=100, iterations=5)
        assert table[key] == 1
    else:
        plain = {n: n for n in range(size)}
        lock = threading.Lock()

        def snapshot_then_update() -> None:
            with lock:
                plain.copy()
            with lock:
                plain[key] = 1

        benchmark.pedantic(snapshot_then_update, rounds=100, iterations=5)


@pytest.mark.parametrize("size", ENTRIES)
@pytest.mark.parametrize("kind", ["rcu-dict", "locked-dict"])
def test_dict_update_two_keys_at(benchmark: BenchmarkFixture, kind: str, size: int) -> None:
    """``update()`` of two keys, which readers see whole: it publishes a copy of the dict."""
    benchmark.group = f"dict update() of two keys at {size}"
    pair = {0: 1, size - 1: 1}
    if kind == "rcu-dict":
        table = RcuDict({n: n for n in range(size)}, domain=RcuDomain("bench"))
        benchmark.pedantic(lambda: table.update(pair), rounds=100, iterations=5)
        assert (table[0], table[size - 1]) == (1, 1)
    else:
        plain = {n: n for n in range(size)}
        lock = threading.Lock()

        def update_two() -> None:
            with lock:
                plain.update(pair)

        benchmark.pedantic(update_two, rounds=100, iterations=5)


@pytest.mark.parametrize("size", ENTRIES)
@pytest.mark.parametrize("kind", ["rcu-list", "locked-list"])
def test_list_append_pop_at(benchmark: BenchmarkFixture, kind: str, size: int) -> None:
    benchmark.group = f"list append+pop at {size}"
    if kind == "rcu-list":
        items = RcuList(range(size), domain=RcuDomain("bench"))
        benchmark.pedantic(lambda: (items.append(1), items.pop()), rounds=200, iterations=10)
        assert len(items) == size
    else:
        plain = list(range(size))
        lock = threading.Lock()

        def append_pop() -> None:
            with lock:
                plain.append(1)
                plain.pop()

        benchmark.pedantic(append_pop, rounds=200, iterations=10)


# -- readers beside a writer -----------------------------------------------------------

READS = 20_000


@pytest.mark.parametrize("readers", [1, 2, 4])
@pytest.mark.parametrize("kind", ["rcu-dict", "locked-dict"])
def test_readers_beside_a_writer(benchmark: BenchmarkFixture, kind: str, readers: int) -> None:
    """Each reader looks up ``READS`` keys of 100,000 while one writer updates without pause.

    ``extra_info`` has the reads per second over all readers and the 99th
    percentile of one read's latency (each read timed alone, so the figure
    includes waits for the GIL and, for the locked dict, for the writer).
    """
    benchmark.group = f"readers beside a writer, 100,000 entries: {readers}"
    size = 100_000
    if kind == "rcu-dict":
        table = RcuDict({n: n for n in range(size)}, domain=RcuDomain("bench"))
        read = table.__getitem__

        def write(n: int) -> None:
            table[n % size] = n
    else:
        plain = {n: n for n in range(size)}
        lock = threading.Lock()

        def read(key: int) -> int:
            with lock:
                return plain[key]

        def write(n: int) -> None:
            with lock:
                plain[n % size] = n

    latencies: list[int] = []

    def one_round() -> float:
        stop = threading.Event()
        barrier = threading.Barrier(readers + 1)
        found: list[list[int]] = [[] for _ in range(readers)]

        def reader(mine: list[int]) -> None:
            barrier.wait()
            clock = time.perf_counter_ns
            for key in range(0, READS * 5, 5):
                start = clock()
                read(key % size)
                mine.append(clock() - start)

        def writer() -> None:
            n = 0
            while not stop.is_set():
                write(n)
                n += 1

        writing = threading.Thread(target=writer)
        threads = [threading.Thread(target=reader, args=(mine,)) for mine in found]
        writing.start()
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join(60)
        took = time.perf_counter() - started
        stop.set()
        writing.join(60)
        for mine in found:
            latencies.extend(mine)
        return took

    took = benchmark.pedantic(one_round, rounds=5, iterations=1)
    ordered = sorted(latencies)
    benchmark.extra_info["reads_per_s"] = round(readers * READS / took) if took else None
    benchmark.extra_info["p99_read_ns"] = ordered[len(ordered) * 99 // 100]


# -- Chrome export by events -----------------------------------------------------------

EVENTS = (10_000, 100_000, 1_000_000)


@pytest.mark.parametrize("events", EVENTS)
@pytest.mark.parametrize("library", ["osv-idioms", "viztracer"])
def test_chrome_export_of(
    benchmark: BenchmarkFixture, library: str, events: int, tmp_path: Path
) -> None:
    """Write ``events`` recorded hits as Chrome Trace Event JSON, from each tracer's own buffer.

    Ours are ``read(fd, size)`` and ``read_ret(n)`` hits, half each, so a
    third of the records are timed slices; viztracer's are calls of a
    function of one argument, recorded with it (``log_func_args``).
    """
    benchmark.group = f"chrome export of {events:,} events"
    out = tmp_path / "trace.json"
    if library == "osv-idioms":
        fill_ring(events)
        try:
            written = benchmark.pedantic(trace.write_chrome_trace, args=(out,), rounds=3)
        finally:
            trace.reset()
        assert written == events
    else:
        tracer = viztracer_with(events)
        benchmark.pedantic(tracer.save, args=(str(out),), rounds=3)
    benchmark.extra_info["file_mib"] = round(out.stat().st_size / 2**20, 1)


def fill_ring(events: int) -> None:
    trace.reset()
    trace.set_buffer_size(events)
    hit = trace.declare_tracepoint("bench_export_read", "fd", "size", fmt="{size} bytes from {fd}")
    done = trace.declare_tracepoint("bench_export_read_ret", "n")
    trace.enable("bench_export_read*")
    for n in range(events // 2):
        hit(3, n)
        done(n)
    trace.disable("bench_export_read*")


def viztracer_with(events: int) -> Any:
    from viztracer import VizTracer  # type: ignore[import-untyped]  # not built for every interpreter

    def read(size: int) -> int:
        return size

    tracer = VizTracer(tracer_entries=events + 16, verbose=0, log_func_args=True)
    tracer.start()
    for n in range(events):
        read(n)
    tracer.stop()
    return tracer


WATCHED = (100, 1_000, 10_000)
_watched_stems = itertools.count()


@pytest.mark.parametrize("points", WATCHED)
def test_switching_watched_tracepoints(benchmark: BenchmarkFixture, points: int) -> None:
    """``enable()`` then ``disable()`` of ``points`` tracepoints, each watched by its name."""
    benchmark.group = f"switching {points:,} watched tracepoints"
    stem = f"bench_watched{next(_watched_stems)}"
    told: list[bool] = []
    for index in range(points):
        name = f"{stem}_{index}"
        trace.declare_tracepoint(name, "v")
        watch_activity(name, told.append)

    def switch() -> None:
        trace.enable(f"{stem}_*")
        trace.disable(f"{stem}_*")

    benchmark.pedantic(switch, rounds=5)
    assert told.count(True) == told.count(False) == points * 5
