"""osv_idioms.signals under threads: emits racing connects and disconnects, no lock around slots."""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from collections.abc import Iterator

import pytest

from osv_idioms.callbacks import bind_weak
from osv_idioms.signals import Connection, Signal
from tests._threads import JOIN_TIMEOUT_S, run_threads

EMITTERS = 4
ROUNDS = 2_000

Gone = frozenset[int]


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    """Switch threads every microsecond, so that races have a chance to show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_emits_racing_disconnects() -> None:
    """An emit started after disconnect() returned never calls that slot, and skips no other."""
    signal = Signal[[Gone, list[int]]]()
    permanent = 3
    for _ in range(permanent):
        signal.connect(lambda gone, hits: hits.append(1))
    disconnected: set[int] = set()
    violations: list[int] = []
    missed: list[int] = []

    def victim(number: int) -> Connection:
        def slot(gone: Gone, hits: list[int]) -> None:
            if number in gone:
                violations.append(number)

        return signal.connect(slot, priority=number % 3 - 1)

    def emit() -> None:
        for _ in range(ROUNDS):
            gone = frozenset(disconnected)  # every slot in here was disconnected before this emit
            hits: list[int] = []
            signal.emit(gone, hits)
            if len(hits) != permanent:
                missed.append(len(hits))

    def churn() -> None:
        for number in range(ROUNDS):
            connection = victim(number)
            victim(-number - 1).disconnect()  # connected and disconnected at once
            connection.disconnect()
            disconnected.add(number)

    run_threads([emit] * EMITTERS + [churn])
    assert (violations, missed) == ([], [])
    assert len(signal) == permanent


def test_emits_racing_connects_call_every_slot_connected_before_them() -> None:
    """A slot whose connect() returned before an emit began is called by it, unless disconnected.

    After a change the next emit makes the cells the others walk; one made
    from an older state and handed over late would leave a new slot out.
    """
    signal = Signal[[set[int]]]()
    on: set[int] = set()  # connected, and not yet about to be disconnected
    missed: list[int] = []

    def emit() -> None:
        for _ in range(ROUNDS):
            expected = frozenset(on)
            called: set[int] = set()
            signal.emit(called)
            still_on = frozenset(on)
            missed.extend(expected - called - (expected - still_on))

    def churn(first: int) -> None:
        for number in range(first, first + ROUNDS):
            connection = signal.connect(lambda called, number=number: called.add(number))
            on.add(number)
            if number % 2:
                signal.connect(print).disconnect()  # another change, made by another call
            on.discard(number)
            connection.disconnect()

    run_threads([emit] * EMITTERS + [functools.partial(churn, n * ROUNDS) for n in range(2)])
    assert missed == []
    assert len(signal) == 0


def test_connect_and_disconnect_from_many_threads() -> None:
    """8 threads connecting and disconnecting at once lose no connection and keep no stale one."""
    signal = Signal[[int]]()
    kept_per_thread = 20
    calls = itertools.count()
    order: list[int] = []

    def work(index: int) -> None:
        kept = [
            signal.connect(lambda value, index=index: order.append(index), priority=index)
            for _ in range(kept_per_thread)
        ]
        for round_ in range(ROUNDS // 4):
            signal.connect(print).disconnect()
            if round_ % 10 == 0:  # an emit walks every slot: a few keep the test short
                next(calls)
                signal.emit(index)
        assert all(c.connected for c in kept)

    run_threads([lambda i=i: work(i) for i in range(8)])  # type: ignore[misc]
    assert len(signal) == 8 * kept_per_thread
    assert next(calls) > 0
    order.clear()
    signal.emit(0)
    assert len(order) == 8 * kept_per_thread
    assert order == sorted(order, reverse=True)  # by priority, whatever the threads did


def test_once_slots_run_once_across_threads() -> None:
    """once=True slots emitted from 4 threads at the same time each run exactly once."""
    signal = Signal[[]]()
    runs: list[int] = []
    slots = 2_000
    for number in range(slots):
        signal.connect(lambda number=number: runs.append(number), once=True)  # type: ignore[misc]

    def emit() -> None:
        while len(signal):
            signal.emit()

    run_threads([emit] * EMITTERS)
    assert sorted(runs) == list(range(slots))


def test_a_once_call_that_lost_the_race_does_nothing() -> None:
    """A second call of a once slot, as from a thread that lost the race, runs nothing.

    Two emits racing on one snapshot both read the entry's call before either
    claims it; the slot list's own entry is read here to hold that call twice.
    """
    from osv_idioms.signals._list import SlotList
    from osv_idioms.signals._slots import fit

    runs = itertools.count()
    slots = SlotList(lambda cells: None)
    entry = slots.entry_for(fit(lambda: next(runs), 0, None, None, "a signal"), 0, once=True)
    slots.add(entry)
    first_call, second_call = entry.call, entry.call  # what two racing emits hold
    first_call()
    assert second_call() is None
    assert next(runs) == 1
    assert slots.entries == ()


def test_no_lock_is_held_while_slots_run() -> None:
    """A slot waiting on another thread that connects, disconnects and blocks does not deadlock."""
    signal = Signal[[int]]()
    finished: list[str] = []

    def wait_for_a_writer(value: int) -> None:
        def writer() -> None:
            connection = signal.connect(print)
            with connection.blocked(), signal.blocked():
                pass
            connection.disconnect()
            signal.disconnect(print)
            finished.append("writer")

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(JOIN_TIMEOUT_S)
        assert not thread.is_alive(), "a library lock was held while the slot ran"

    signal.connect(wait_for_a_writer, once=True)
    signal.emit(1)
    signal.connect(wait_for_a_writer)
    assert signal.collect(2) == [None]
    assert finished == ["writer", "writer"]


class Panel:
    """A class declaring a signal: each instance gets its own on first use."""

    clicked = Signal[[int]](name="clicked")


class SlottedPanel:
    """The same with ``__slots__``: the signals live in a registry keyed by instance."""

    __slots__ = ("__weakref__",)
    clicked = Signal[[int]](name="clicked")


def reach(
    panel: Panel | SlottedPanel, seen: list[Signal[[int]]], got: list[int], index: int
) -> None:
    """A thread's first use of the panel's signal: connect a slot that notes ``index``."""
    signal = panel.clicked
    signal.connect(lambda value: got.append(index))
    seen.append(signal)


@pytest.mark.parametrize("kind", [Panel, SlottedPanel])
def test_first_use_from_many_threads_makes_one_signal(kind: type[Panel | SlottedPanel]) -> None:
    """Threads reaching a new instance's signal at once all get the same one, and all its slots."""
    for _ in range(200):
        panel = kind()
        seen: list[Signal[[int]]] = []
        got: list[int] = []
        run_threads([functools.partial(reach, panel, seen, got, i) for i in range(EMITTERS)])
        assert len({id(signal) for signal in seen}) == 1
        panel.clicked.emit(0)
        assert sorted(got) == list(range(EMITTERS))


def test_bind_weak_from_many_threads_is_one_callback() -> None:
    """Threads binding one method of one object at once all get equal callbacks."""

    class Panel:
        def on_click(self, x: int) -> None: ...

    panel = Panel()
    made: list[object] = []

    def bind_many() -> None:
        made.extend(bind_weak(panel.on_click) for _ in range(ROUNDS // 10))

    run_threads([bind_many] * EMITTERS)
    first = made[0]
    assert len(made) == EMITTERS * (ROUNDS // 10)
    assert all(callback == first for callback in made)
    assert len(set(made)) == 1
