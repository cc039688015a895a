"""How reads and emits scale with threads: 1 and 2 of them (all this machine has).

On a GIL build two threads share one interpreter lock, so two threads do about
the work of one. Without the GIL, RCU readers and signal emits touch only
shared state that no one writes, so two threads should do close to twice the
work of one; readers that take a ``threading.Lock`` contend on it instead.

Each round starts the threads together on a barrier; each does ``OPERATIONS``
operations; the round's time runs from the barrier to the last join. The
figure to read is operations per second over all threads (``extra_info``),
and how it changes from 1 thread to 2.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from osv_idioms.rcu import RcuDomain, RcuPtr
from osv_idioms.signals import Signal

OPERATIONS = 20_000
ROUNDS = 15


def gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def rounds_of(work: Callable[[], None], threads: int) -> Callable[[], float]:
    """One round: ``threads`` threads run ``work`` together; returns the seconds it took."""

    def round_() -> float:
        barrier = threading.Barrier(threads + 1)

        def run() -> None:
            barrier.wait(30)
            work()

        workers = [threading.Thread(target=run) for _ in range(threads)]
        for worker in workers:
            worker.start()
        barrier.wait(30)
        start = time.perf_counter()
        for worker in workers:
            worker.join(60)
        return time.perf_counter() - start

    return round_


def measure(benchmark: BenchmarkFixture, work: Callable[[], None], threads: int) -> None:
    round_ = rounds_of(work, threads)
    seconds: list[float] = []

    def timed() -> None:
        seconds.append(round_())

    benchmark.pedantic(timed, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    best = min(seconds)
    benchmark.extra_info.update(
        threads=threads,
        gil=gil_enabled(),
        operations_per_s=threads * OPERATIONS / best,
    )


@pytest.fixture
def domain() -> Iterator[RcuDomain]:
    made = RcuDomain("bench-scaling")
    yield made
    made.close()


def rcu_reads(domain: RcuDomain) -> Callable[[], None]:
    ptr = RcuPtr((1, 2, 3), domain=domain)

    def work() -> None:
        section = domain.read_lock()
        read = ptr.read
        for _ in range(OPERATIONS):
            with section:
                read()

    return work


def lock_reads() -> Callable[[], None]:
    lock = threading.Lock()
    shared = [(1, 2, 3)]

    def work() -> None:
        for _ in range(OPERATIONS):
            with lock:
                shared[0]  # the read under the lock is the work

    return work


def signal_emits() -> Callable[[], None]:
    changed = Signal[[int]]()
    for _ in range(3):
        changed.connect(lambda value: None)

    def work() -> None:
        emit = changed.emit
        for n in range(OPERATIONS):
            emit(n)

    return work


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.benchmark(group="scaling: read section")
def test_rcu_read_sections(benchmark: BenchmarkFixture, domain: RcuDomain, threads: int) -> None:
    measure(benchmark, rcu_reads(domain), threads)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.benchmark(group="scaling: read section")
def test_lock_read_sections(benchmark: BenchmarkFixture, threads: int) -> None:
    measure(benchmark, lock_reads(), threads)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.benchmark(group="scaling: emit, 3 slots")
def test_signal_emits(benchmark: BenchmarkFixture, threads: int) -> None:
    measure(benchmark, signal_emits(), threads)
