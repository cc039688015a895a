"""osv_idioms.locking under real contention: exclusion, no deadlock, exact tracepoint counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from osv_idioms import locking, trace
from osv_idioms.locking import Lockable, Mutex, check_lock_order, with_lock
from tests._threads import run_together as run_workers

THREADS = 6
JOIN_TIMEOUT_S = 60.0


def run_together(work: Callable[[int], object]) -> None:
    """``work(i)`` in threads ``w0`` .. ``w5``, started together."""
    run_workers(work, THREADS)


LOCK_TIMEOUT_S = 20.0  # a deadlock shows up as LockTimeout, never as a hang


class Shared:
    """A counter whose increment is a deliberate read-yield-write race without a lock."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        seen = self.value
        time.sleep(0)
        self.value = seen + 1


def lock_and_bump(m: Mutex, shared: Shared, times: int) -> None:
    """Take and release ``m`` ``times`` times with acquire()/release(), bumping inside."""
    for _ in range(times):
        m.acquire()
        shared.bump()
        m.release()


@pytest.fixture(params=["plain", "traced", "lockdep"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each stress test runs with the C methods, with tracepoints on, and with lockdep on."""
    if request.param == "traced":
        with trace.count("mutex_*"):
            yield request.param
    elif request.param == "lockdep":
        check_lock_order(True)
        yield request.param
    else:
        yield request.param


class TestExclusion:
    def test_mutex_excludes(self, mode: str) -> None:
        """Six threads bumping under one Mutex lose no update."""
        m, shared = Mutex("shared"), Shared()

        def work(_index: int) -> None:
            for _ in range(300):
                with m:
                    shared.bump()

        run_together(work)
        assert shared.value == THREADS * 300
        assert not m.owned()

    def test_with_lock_opposite_orders_never_deadlock(self, mode: str) -> None:
        """Threads naming the same locks in opposite orders, thousands of rounds: no deadlock."""
        a, b, c = Mutex("a"), threading.Lock(), threading.RLock()
        shared = Shared()
        orders: list[tuple[Lockable, ...]] = [(a, b, c), (c, b, a), (b, a, c), (c, a, b)]

        def work(index: int) -> None:
            group = orders[index % len(orders)]
            for _ in range(500):
                with with_lock(*group, timeout=LOCK_TIMEOUT_S):
                    shared.bump()

        run_together(work)
        assert shared.value == THREADS * 500
        assert not (a.owned() or b.locked())

    def test_switching_instrumentation_under_load(self) -> None:
        """Tracepoints switched on and off while threads lock never break exclusion."""
        m, shared = Mutex("switching"), Shared()
        stop = threading.Event()

        def switch() -> None:
            while not stop.is_set():
                with trace.count("mutex_lock"):
                    time.sleep(0.001)

        switcher = threading.Thread(target=switch, name="switcher")
        switcher.start()
        try:
            run_together(lambda _i: lock_and_bump(m, shared, 300))
        finally:
            stop.set()
            switcher.join(timeout=JOIN_TIMEOUT_S)
        assert not switcher.is_alive()
        assert shared.value == THREADS * 300
        assert not locking.instrumented()


class TestTracepointsUnderContention:
    def test_counts_match_the_work(self) -> None:
        """Every lock and unlock is counted; every wait has its wake; blocked threads waited."""
        m = Mutex("counted")
        waiting = trace.count("mutex_lock_wait")
        specs = ("mutex_lock", "mutex_lock_wait", "mutex_lock_wake", "mutex_unlock")
        rounds = 200
        with trace.count(*specs) as counts:
            m.acquire()
            blocked = [
                threading.Thread(target=lock_and_bump, args=(m, Shared(), 1), name=f"b{i}")
                for i in range(THREADS)
            ]
            for thread in blocked:
                thread.start()
            deadline = time.monotonic() + JOIN_TIMEOUT_S
            while waiting["mutex_lock_wait"] < THREADS and time.monotonic() < deadline:
                time.sleep(0.001)
            m.release()
            for thread in blocked:
                thread.join(timeout=JOIN_TIMEOUT_S)
            assert not any(thread.is_alive() for thread in blocked)
            run_together(lambda _i: lock_and_bump(m, Shared(), rounds))
        waiting.close()
        total = 1 + THREADS + THREADS * rounds
        assert counts["mutex_lock"] == total
        assert counts["mutex_unlock"] == total
        assert counts["mutex_lock_wait"] == counts["mutex_lock_wake"]
        assert counts["mutex_lock_wait"] >= THREADS


class TestLockOrderUnderThreads:
    def test_consistent_order_from_many_threads_records_once(self) -> None:
        """Threads racing to record the same orders raise nothing and record each once."""
        check_lock_order(True)
        locks = [Mutex(f"n{i}") for i in range(5)]

        def work(index: int) -> None:
            for _ in range(100):
                first = index % 4
                with locks[first], locks[4]:
                    pass

        run_together(work)
        assert locking.recorded_lock_orders() == {f"n{i}": ("n4",) for i in range(4)}
