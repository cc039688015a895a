"""osv_idioms.trace under real contention: no lost counts, no lost or torn records."""

from __future__ import annotations

import io
import itertools
import threading
from collections import Counter
from collections.abc import Callable

from osv_idioms import trace
from osv_idioms.trace import count, declare_tracepoint, enable, events
from osv_idioms.trace.activity import watch_activity
from tests._threads import run_together as run_workers
from tests._watched import watched_tracepoints

THREADS = 6
HITS = 20_000
JOIN_TIMEOUT_S = 60.0


def run_together(work: Callable[[int], object]) -> None:
    """``work(i)`` in threads ``worker-0`` .. ``worker-5``, started together."""
    run_workers(work, THREADS, names="worker-")


Unique = Callable[[str], str]


class TestCountingUnderContention:
    def test_no_increment_is_lost(self, unique: Unique) -> None:
        """Six threads hitting one tracepoint 20,000 times each are counted exactly."""
        name = unique("contended")
        point = declare_tracepoint(name, "v")

        def hit(index: int) -> None:
            for i in range(HITS):
                point(i)

        with count(name) as counters:
            run_together(hit)
        assert counters[name] == THREADS * HITS

    def test_counts_stay_exact_while_recording_flips(self, unique: Unique) -> None:
        """Switching recording on and off under the hitters never loses a count."""
        name = unique("flip")
        point = declare_tracepoint(name, "v")
        stop = threading.Event()

        def flip() -> None:
            while not stop.is_set():
                trace.enable(name)
                trace.disable(name)

        flipper = threading.Thread(target=flip, name="flipper")
        with count(name) as counters:
            flipper.start()
            try:
                run_together(lambda _i: [point(i) for i in range(HITS // 4)])
            finally:
                stop.set()
                flipper.join(timeout=JOIN_TIMEOUT_S)
        assert not flipper.is_alive()
        assert counters[name] == THREADS * (HITS // 4)

    def test_live_stat_totals_match_the_hits(self, unique: Unique) -> None:
        """``stat()`` sampling while threads hit prints totals equal to the hits made."""
        name = unique("stat")
        point = declare_tracepoint(name, "v")
        table = io.StringIO()
        with trace.stat(name, interval=0.01, out=table) as running:
            run_together(lambda _i: [point(i) for i in range(HITS // 4)])
        lines = table.getvalue().splitlines()
        totals_line = next(line for line in lines if "total in" in line)
        assert int(totals_line.split()[0]) == THREADS * (HITS // 4)
        rows = [int(line) for line in lines if line.strip().isdigit()]
        assert sum(rows) == THREADS * (HITS // 4)
        assert running.rows == len(rows)


class TestRecordingUnderContention:
    def test_every_record_kept_in_order_per_thread(self, unique: Unique) -> None:
        """With room for all, every hit is recorded once, in each thread's order, with its thread."""
        name = unique("recorded")
        point = declare_tracepoint(name, "thread", "i")
        trace.set_buffer_size(THREADS * 5_000)
        enable(name)
        run_together(lambda index: [point(index, i) for i in range(5_000)])
        recorded = [e for e in events() if e.name == name]
        assert len(recorded) == THREADS * 5_000
        assert len({e.seq for e in recorded}) == len(recorded)
        per_thread: dict[int, list[int]] = {}
        for event in recorded:
            assert event.thread_name == f"worker-{event.args['thread']}"
            per_thread.setdefault(event.thread_id, []).append(event.args["i"])  # type: ignore[arg-type]
        assert len(per_thread) == THREADS
        assert all(values == list(range(5_000)) for values in per_thread.values())

    def test_overflow_under_contention_is_accounted(self, unique: Unique) -> None:
        """Kept plus overwritten equals the hits, when many threads overflow a small ring."""
        name = unique("overflow")
        point = declare_tracepoint(name, "v")
        trace.set_buffer_size(1_000)
        enable(name)
        run_together(lambda _i: [point(i) for i in range(5_000)])
        taken = trace.snapshot()
        assert len(taken.events) == 1_000
        assert len(taken.events) + taken.overwritten == THREADS * 5_000
        seqs = [e.seq for e in taken.events]
        assert seqs == sorted(seqs)

    def test_probes_see_every_hit_from_every_thread(self, unique: Unique) -> None:
        """A probe is called once per hit, in the hitting thread."""
        name = unique("probed")
        point = declare_tracepoint(name, "v")
        seen: Counter[str] = Counter()
        lock = threading.Lock()

        def probe(_name: str, _args: tuple[object, ...]) -> None:
            with lock:
                seen[threading.current_thread().name] += 1

        handle = trace.add_probe(name, probe)
        try:
            run_together(lambda _i: [point(i) for i in range(2_000)])
        finally:
            handle.remove()
        assert seen == {f"worker-{i}": 2_000 for i in range(THREADS)}


def test_counters_read_together_differ_by_exactly_what_one_saw_alone(unique: Unique) -> None:
    """While threads hit, two Counters read at one instant differ by the hits before the second."""
    name = unique("rt")
    hit = trace.declare_tracepoint(name)
    early = trace.count(name)
    for _ in range(5):
        hit()
    late = trace.count(name)
    differences: list[int] = []

    def work(index: int) -> None:
        for _ in range(20_000):
            if index == 0:
                first, second = trace.read_together(early, late)
                differences.append(first[name] - second[name])
            else:
                hit()

    run_workers(work, 3)
    early.close()
    late.close()
    assert set(differences) == {5}


def test_watchers_end_told_off_after_threads_switch_their_tracepoints(unique: Unique) -> None:
    """Watchers of one name and of a pattern, while six threads count overlapping tracepoints.

    Each watcher is told on and off in turn, never twice the same, and once
    every count has closed, off: the last word is the true state.
    """
    stem, points = unique("switched"), 8
    told = watched_tracepoints(stem, points)
    told["*"] = []
    watch_activity(f"{stem}_*", told["*"].append)

    def switch(index: int) -> None:
        for i in range(300):
            with count(f"{stem}_{(index + i) % points}"), count(f"{stem}_{i % points}"):
                pass

    run_together(switch)
    for history in told.values():
        assert history, "every watched tracepoint was counted"
        assert all(a != b for a, b in itertools.pairwise(history)), history[:10]
        assert history[0] is True and history[-1] is False
