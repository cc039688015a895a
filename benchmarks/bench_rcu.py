"""RCU reads against a plain attribute, a Lock, and the reader-writer locks users pick.

Uncontended cases run 1,000 reads per round (divide by 1,000 for ns per read).
The contended case runs 4 readers for a fixed time while a writer replaces the
value every millisecond; its throughput and latency percentiles are printed
and stored in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import fasteners
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from readerwriterlock import rwlock

from benchmarks._unrolled import unrolled
from osv_idioms.rcu import RcuDomain, RcuPtr


class Holder:
    """The limit: a method that just returns an attribute."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def get(self) -> object:
        return self.value


@pytest.fixture
def domain() -> Iterator[RcuDomain]:
    made = RcuDomain("bench")
    yield made
    made.close()


class LockedValue:
    """The peer of an ``RcuPtr``: a value and the lock its readers and writers take."""

    __slots__ = ("lock", "value")

    def __init__(self, value: object) -> None:
        self.value = value
        self.lock = threading.Lock()


@pytest.mark.benchmark(group="make")
def test_make_a_locked_value(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("LockedValue(1)", {"LockedValue": LockedValue}))


@pytest.mark.benchmark(group="make")
def test_make_an_rcu_ptr(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    """Making a pointer and dropping it (it registers for a forked child, weakly)."""
    benchmark(unrolled("RcuPtr(1, domain=domain, name='p')", {"RcuPtr": RcuPtr, "domain": domain}))


@pytest.mark.benchmark(group="read")
def test_attribute_method(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("h.get()", {"h": Holder((1, 2))}))


@pytest.mark.benchmark(group="read")
def test_rcu_read(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    benchmark(unrolled("p.read()", {"p": RcuPtr((1, 2), domain=domain)}))


@pytest.mark.benchmark(group="read-section")
def test_lock_with_block(benchmark: BenchmarkFixture) -> None:
    names = {"lock": threading.Lock(), "h": Holder((1, 2))}
    benchmark(unrolled("with lock: h.value", names))


@pytest.mark.benchmark(group="read-section")
def test_lock_with_block_method_read(benchmark: BenchmarkFixture) -> None:
    names = {"lock": threading.Lock(), "h": Holder((1, 2))}
    benchmark(unrolled("with lock: h.get()", names))


@pytest.mark.benchmark(group="read-section")
def test_rcu_read_lock_and_read(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    names = {"read_lock": domain.read_lock, "p": RcuPtr((1, 2), domain=domain)}
    benchmark(unrolled("with read_lock(): p.read()", names))


@pytest.mark.benchmark(group="read-section")
def test_rcu_reused_section_and_read(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    names = {"section": domain.read_lock(), "p": RcuPtr((1, 2), domain=domain)}
    benchmark(unrolled("with section: p.read()", names))


class _ThreadLocks(threading.local):
    """A C-level ``RLock`` per thread: the section shape that makes a writer take each in turn."""

    def __init__(self) -> None:
        self.lock = threading.RLock()


@pytest.mark.benchmark(group="read-section")
def test_per_thread_rlock_section_and_read(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    """The other shape: entering and leaving are C calls, found through a C-level partial.

    A grace period would acquire and release each thread's lock. Measured to
    decide whether the read section should take that shape (docs/benchmarks.md).
    """
    per_thread = _ThreadLocks()
    names = {
        "read_lock": functools.partial(getattr, per_thread, "lock"),
        "p": RcuPtr((1, 2), domain=domain),
    }
    benchmark(unrolled("with read_lock(): p.read()", names))


@pytest.mark.benchmark(group="read-section")
def test_rwlock_read_preferring(benchmark: BenchmarkFixture) -> None:
    names = {"r": rwlock.RWLockRead().gen_rlock(), "h": Holder((1, 2))}
    benchmark(unrolled("with r: h.value", names))


@pytest.mark.benchmark(group="read-section")
def test_rwlock_fair(benchmark: BenchmarkFixture) -> None:
    names = {"r": rwlock.RWLockFair().gen_rlock(), "h": Holder((1, 2))}
    benchmark(unrolled("with r: h.value", names))


@pytest.mark.benchmark(group="read-section")
def test_fasteners_reader_writer_lock(benchmark: BenchmarkFixture) -> None:
    names = {"rw": fasteners.ReaderWriterLock(), "h": Holder((1, 2))}
    benchmark(unrolled("with rw.read_lock(): h.value", names))


@pytest.mark.benchmark(group="grace-period")
def test_synchronize_no_readers_inside(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    domain.read_lock()  # a registered reader, outside any section
    benchmark(domain.synchronize)


@pytest.mark.benchmark(group="grace-period")
def test_call_rcu_until_run(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    def queue_and_wait() -> None:
        domain.call_rcu(int)
        domain.barrier()

    benchmark(queue_and_wait)


# --- 4 readers, a writer replacing the value every millisecond ----------------------

SECONDS = 1.0
READERS = 4


def contended(
    read_section: Callable[[], AbstractContextManager[object]],
    read: Callable[[], object],
    write: Callable[[int], None],
) -> dict[str, float]:
    """Readers loop over timed sections while the writer writes every millisecond."""
    stop = threading.Event()
    samples: list[list[int]] = [[] for _ in range(READERS)]

    def reader(index: int) -> None:
        mine = samples[index]
        clock = time.perf_counter_ns
        while not stop.is_set():
            start = clock()
            with read_section():
                read()
            mine.append(clock() - start)

    def writer() -> None:
        n = 0
        while not stop.is_set():
            write(n)
            n += 1
            time.sleep(0.001)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    latencies = sorted(x for per in samples for x in per)
    return {
        "reads_per_s": len(latencies) / SECONDS,
        "p50_ns": latencies[len(latencies) // 2],
        "p99_9_ns": latencies[min(len(latencies) - 1, int(len(latencies) * 0.999))],
        "max_ns": latencies[-1],
    }


def report(benchmark: BenchmarkFixture, name: str, figures: dict[str, float]) -> None:
    benchmark.extra_info.update(figures)
    print(
        f"\n{name}: {figures['reads_per_s']:,.0f} reads/s, p50 {figures['p50_ns']:,.0f} ns, "
        f"p99.9 {figures['p99_9_ns']:,.0f} ns, max {figures['max_ns']:,.0f} ns"
    )


@pytest.mark.benchmark(group="contended")
def test_contended_lock(benchmark: BenchmarkFixture) -> None:
    lock = threading.Lock()
    holder = Holder((0,))

    def write(n: int) -> None:
        with lock:
            holder.value = (n,)

    figures = benchmark.pedantic(
        contended, args=(lambda: lock, holder.get, write), rounds=1, iterations=1
    )
    report(benchmark, "Lock", figures)


@pytest.mark.benchmark(group="contended")
def test_contended_rcu(benchmark: BenchmarkFixture, domain: RcuDomain) -> None:
    ptr = RcuPtr((0,), domain=domain)

    def write(n: int) -> None:
        with ptr.writer:
            ptr.assign((n,))

    figures = benchmark.pedantic(
        contended, args=(domain.read_lock, ptr.read, write), rounds=1, iterations=1
    )
    report(benchmark, "RCU", figures)


@pytest.mark.benchmark(group="contended")
def test_contended_rwlock_fair(benchmark: BenchmarkFixture) -> None:
    lock = rwlock.RWLockFair()
    holder = Holder((0,))

    def write(n: int) -> None:
        with lock.gen_wlock():
            holder.value = (n,)

    figures = benchmark.pedantic(
        contended, args=(lock.gen_rlock, holder.get, write), rounds=1, iterations=1
    )
    report(benchmark, "RWLockFair", figures)
