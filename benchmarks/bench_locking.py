"""Scoped locking against ``threading``: the Mutex off, traced and order-checked; with_lock.

Uncontended cases run 1,000 with-blocks per round (divide by 1,000 for ns per
block); the contended case runs 4 threads of 2,000 blocks each per round.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import unrolled
from osv_idioms import locking, trace
from osv_idioms.locking import Mutex, check_lock_order, reset_lock_order, with_lock


@pytest.fixture
def lockdep() -> Iterator[None]:
    check_lock_order(True)
    yield
    check_lock_order(False)
    reset_lock_order()


@pytest.fixture
def traced() -> Iterator[None]:
    with trace.count("mutex_*"):
        yield


def block(benchmark: BenchmarkFixture, lock: object) -> None:
    benchmark(unrolled("with lock: pass", {"lock": lock}))


@pytest.mark.benchmark(group="with-block")
def test_rlock(benchmark: BenchmarkFixture) -> None:
    block(benchmark, threading.RLock())


@pytest.mark.benchmark(group="with-block")
def test_lock(benchmark: BenchmarkFixture) -> None:
    block(benchmark, threading.Lock())


@pytest.mark.benchmark(group="with-block")
def test_mutex_off(benchmark: BenchmarkFixture) -> None:
    block(benchmark, Mutex("bench"))


@pytest.mark.benchmark(group="with-block")
def test_mutex_lock_order_checking(benchmark: BenchmarkFixture, lockdep: None) -> None:
    outer = Mutex("outer")  # one held lock, so every block checks an order
    with outer:
        block(benchmark, Mutex("bench"))


@pytest.mark.parametrize("depth", [1, 5, 20])
@pytest.mark.benchmark(group="lock-order checking by depth")
def test_lock_order_checking_by_depth(
    benchmark: BenchmarkFixture, lockdep: None, depth: int
) -> None:
    """A with-block of one more mutex on top of ``depth`` held ones: the orders are known."""
    held = [Mutex(f"held{i}") for i in range(depth)]
    for mutex in held:
        mutex.acquire()
    try:
        block(benchmark, Mutex("bench"))
    finally:
        for mutex in reversed(held):
            mutex.release()


@pytest.mark.benchmark(group="lock-order checking by depth")
def test_rlock_by_depth(benchmark: BenchmarkFixture) -> None:
    block(benchmark, threading.RLock())


def _fresh_locks_under(outer: Mutex) -> None:
    with outer:
        for _ in range(1_000):
            with with_lock(threading.Lock()):  # a class of its own: a new order every time
                pass


@pytest.mark.benchmark(group="a new order")
def test_a_new_order_each_block(benchmark: BenchmarkFixture, lockdep: None) -> None:
    """1,000 fresh locks taken under a held mutex: each records an order and its stack."""
    benchmark(_fresh_locks_under, Mutex("outer"))


@pytest.mark.benchmark(group="a new order")
def test_fresh_locks_unchecked(benchmark: BenchmarkFixture) -> None:
    """The same blocks with checking off: what the order and its stack add."""
    benchmark(_fresh_locks_under, Mutex("outer"))


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
@pytest.mark.benchmark(group="every lock checked")
def test_all_locks_checked(benchmark: BenchmarkFixture, kind: str) -> None:
    """A with-block of a threading lock made while ``all_locks=True``, under one held lock."""
    locking.check_lock_order(True, all_locks=True)
    try:
        outer = threading.Lock()  # made on a line of its own: a class of its own
        lock = getattr(threading, kind)()
        with outer:
            block(benchmark, lock)
    finally:
        locking.check_lock_order(False)
        locking.reset_lock_order()


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
@pytest.mark.benchmark(group="every lock checked")
def test_all_locks_unchecked(benchmark: BenchmarkFixture, kind: str) -> None:
    block(benchmark, getattr(threading, kind)())


@pytest.mark.benchmark(group="with-block")
def test_mutex_counting_tracepoints(benchmark: BenchmarkFixture, traced: None) -> None:
    block(benchmark, Mutex("bench"))


@pytest.mark.benchmark(group="two-locks")
def test_nested_with(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("with a, b: pass", {"a": threading.Lock(), "b": threading.Lock()}))


@pytest.mark.benchmark(group="two-locks")
def test_nested_with_mutexes(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("with a, b: pass", {"a": Mutex("a"), "b": Mutex("b")}))


@pytest.mark.benchmark(group="two-locks")
def test_with_lock_pair(benchmark: BenchmarkFixture) -> None:
    names = {"a": threading.Lock(), "b": threading.Lock(), "with_lock": with_lock}
    benchmark(unrolled("with with_lock(a, b): pass", names))


@pytest.mark.benchmark(group="two-locks")
def test_with_lock_mutex_pair(benchmark: BenchmarkFixture) -> None:
    names = {"a": Mutex("a"), "b": Mutex("b"), "with_lock": with_lock}
    benchmark(unrolled("with with_lock(a, b): pass", names))


def contended(lock: object, threads: int = 4, blocks: int = 2_000) -> Callable[[], None]:
    body = unrolled("with lock: pass", {"lock": lock})
    rounds = blocks // 1_000

    def run() -> None:
        barrier = threading.Barrier(threads)

        def work() -> None:
            barrier.wait()
            for _ in range(rounds):
                body()

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return run


@pytest.mark.benchmark(group="contended-4-threads")
def test_contended_rlock(benchmark: BenchmarkFixture) -> None:
    benchmark(contended(threading.RLock()))


@pytest.mark.benchmark(group="contended-4-threads")
def test_contended_mutex(benchmark: BenchmarkFixture) -> None:
    benchmark(contended(Mutex("contended")))


@pytest.mark.benchmark(group="contended-4-threads")
def test_contended_mutex_traced(benchmark: BenchmarkFixture, traced: None) -> None:
    benchmark(contended(Mutex("contended")))
