"""osv_idioms.rcu under real threads: nothing is reclaimed under a reader, readers never wait."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

import pytest

from osv_idioms.rcu import RcuDict, RcuDomain, RcuList, RcuPtr
from tests._threads import run_threads

READERS = 4
JOIN_TIMEOUT_S = 60.0


class Resource:
    """Closed by the writer's retirement; a reader must never see it closed."""

    __slots__ = ("closed", "serial")

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def domain() -> Iterator[RcuDomain]:
    made = RcuDomain("stress")
    yield made
    made.close(timeout=JOIN_TIMEOUT_S)


def test_retired_values_are_never_closed_under_a_reader(domain: RcuDomain) -> None:
    """4 readers check every value they read stays open; a writer replaces and disposes 3,000 times.

    The writer starts once every reader has read, so every reader overlaps it
    whatever the scheduler does; how often each reads after that is its business.
    """
    ptr = RcuPtr(Resource(0), domain=domain)
    rounds = 3_000
    stop = threading.Event()
    violations: list[int] = []
    reading = threading.Barrier(READERS + 1)

    def reader() -> None:
        section = domain.read_lock()
        first = True
        while first or not stop.is_set():
            with section:
                seen = ptr.read()
                if seen.closed:
                    violations.append(seen.serial)
                for _ in range(3):  # give the writer and reclaimer a chance to run
                    threading.Event().is_set()
                if seen.closed:
                    violations.append(seen.serial)
            if first:
                first = False
                reading.wait(JOIN_TIMEOUT_S)

    def writer() -> None:
        reading.wait(JOIN_TIMEOUT_S)
        for serial in range(1, rounds + 1):
            with ptr.writer:
                old = ptr.assign(Resource(serial))
            domain.dispose(old)
        domain.barrier(JOIN_TIMEOUT_S)
        stop.set()

    run_threads([*(reader for _ in range(READERS)), writer])
    assert violations == []
    assert domain.pending() == 0
    assert ptr.read().serial == rounds


def test_a_writer_holding_its_mutex_never_delays_readers(domain: RcuDomain) -> None:
    """Readers finish thousands of reads while a writer sits on the writers' mutex."""
    ptr = RcuPtr((1, 2, 3), domain=domain)
    holding = threading.Event()
    readers_done = threading.Event()
    finished: list[bool] = []
    writer_thread: list[threading.Thread] = []

    def writer() -> None:
        writer_thread.append(threading.current_thread())
        with ptr.writer:
            holding.set()
            readers_done.wait(JOIN_TIMEOUT_S)

    def readers() -> None:
        assert holding.wait(JOIN_TIMEOUT_S)
        section = domain.read_lock()
        for _ in range(5_000):
            with section:
                assert ptr.read() == (1, 2, 3)
        finished.append(ptr.writer.owner is writer_thread[0])  # still held while we read
        readers_done.set()

    run_threads([writer, readers])
    assert finished == [True]


def test_containers_under_concurrent_readers_and_writers(domain: RcuDomain) -> None:
    """Readers iterating RcuList/RcuDict always see whole snapshots while writers churn."""
    items: RcuList[int] = RcuList(range(10), domain=domain)
    table: RcuDict[int, int] = RcuDict({i: i for i in range(10)}, domain=domain)
    stop = threading.Event()
    bad: list[object] = []

    def reader() -> None:
        while not stop.is_set():
            snapshot = items.snapshot()
            if list(snapshot) != sorted(snapshot) or len(set(snapshot)) != len(snapshot):
                bad.append(snapshot)
            view = table.snapshot()
            if any(key != value for key, value in view.items()):
                bad.append(dict(view))

    def writer() -> None:
        for n in range(10, 1_010):
            items.append(n)
            items.pop(0)
            table[n] = n
            table.remove(n - 10)
        stop.set()

    run_threads([reader, reader, reader, writer])
    assert bad == []
    assert items.snapshot() == tuple(range(1_000, 1_010))
    assert sorted(table) == list(range(1_000, 1_010))


def test_rcu_dict_lookups_while_it_grows_and_updates_many_keys(domain: RcuDomain) -> None:
    """Lookups never miss a key that is there throughout, and see an update() whole.

    The writer inserts 20,000 new keys (the dict resizes about ten times
    under the readers) and, between inserts, moves a group of 64 keys to the
    next generation with one update().
    """
    group: list[object] = [f"g{i}" for i in range(64)]
    always = list(range(500))
    table: RcuDict[object, int] = RcuDict(  # keys of two types: group strs, always ints
        [*((key, 0) for key in group), *((key, key) for key in always)], domain=domain
    )
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        rounds = 0
        while not stop.is_set() or rounds < 10:
            rounds += 1
            bad.extend(
                f"lost {key}"
                for key in always[::7]
                if table.get(key) != key or key not in table or table[key] != key
            )
            generations = {value for key, value in table.snapshot().items() if key in group}
            if len(generations) != 1:
                bad.append(f"half an update: {sorted(generations)}")

    def writer() -> None:
        for n in range(20_000):
            table[f"new{n}"] = n
            if n % 500 == 0:
                table.update(dict.fromkeys(group, n // 500 + 1))
        stop.set()

    run_threads([writer, *[reader] * READERS])
    assert bad == []
    assert len(table) == len(group) + len(always) + 20_000
    assert len(table.snapshot()) == len(table) == len(list(table))
    assert {table[key] for key in group} == {40}


def test_rcu_dict_snapshots_stay_whole_and_unchanged_beside_a_writer(domain: RcuDomain) -> None:
    """A snapshot shows a state the dict was in, and never changes, while a writer stores.

    The writer sets keys 0..63 to generation g in order, one put each, for
    300 generations: the dict is only ever some first keys at g and the rest
    at g - 1. Readers take snapshots as fast as they can (so writes alternate
    between storing in place and copying first) and keep every 50th, to read
    again once the writer is done.
    """
    keys = range(64)
    table: RcuDict[int, int] = RcuDict(dict.fromkeys(keys, 0), domain=domain)
    writing = threading.Event()
    writing.set()
    bad: list[str] = []
    kept: list[tuple[list[int], Mapping[int, int]]] = []

    def whole(values: list[int]) -> bool:
        return values == sorted(values, reverse=True) and values[0] - values[-1] <= 1

    def reader() -> None:
        rounds = 0
        while writing.is_set() or rounds < 10:
            rounds += 1
            snapshot = table.snapshot()
            values = [snapshot[key] for key in keys]
            if not whole(values):
                bad.append(f"never a state of the dict: {values}")
            if rounds % 50 == 0:
                kept.append((values, snapshot))

    def writer() -> None:
        for generation in range(1, 301):
            for key in keys:
                table[key] = generation
        writing.clear()

    run_threads([writer, *[reader] * READERS])
    assert bad == []
    assert kept != []
    assert [values for values, _ in kept] == [[s[key] for key in keys] for _, s in kept]
    assert dict(table) == dict.fromkeys(keys, 300)


def test_concurrent_synchronize_and_call_rcu(domain: RcuDomain) -> None:
    """Many threads synchronizing and queuing at once: every callback runs exactly once."""
    ran: list[int] = []
    lock = threading.Lock()

    def record(value: int) -> None:
        with lock:
            ran.append(value)

    def worker(base: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(200):
                domain.call_rcu(record, base + i)
                if i % 50 == 0:
                    domain.synchronize(JOIN_TIMEOUT_S)
                with domain.read_lock():
                    pass

        return run

    run_threads([worker(k * 1_000) for k in range(5)])
    domain.barrier(JOIN_TIMEOUT_S)
    assert sorted(ran) == sorted(k * 1_000 + i for k in range(5) for i in range(200))
