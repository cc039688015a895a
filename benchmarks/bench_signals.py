"""Signals against the plain loop, psygnal, blinker and PyDispatcher; bind_weak against WeakMethod.

Each round runs 1,000 emits (divide by 1,000 for ns per emit). Every
library gets distinct slots (blinker would merge identical ones), taking one
int. The plain loop is ``for f in tuple(slots): f(x)`` inside a function, as
a hand-written emit would be.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import blinker
import psygnal
import pytest
from pydispatch import dispatcher
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import CALLS_PER_ROUND, unrolled
from osv_idioms.callbacks import bind_weak
from osv_idioms.signals import Signal

COUNTS = (0, 1, 10)


class Receiver:
    __slots__ = ("__weakref__",)

    def on_value(self, value: int) -> None:
        pass


class CountingReceiver:
    __slots__ = ("__weakref__", "hits")

    def __init__(self, hits: list[int]) -> None:
        self.hits = hits

    def on_value(self, value: int) -> None:
        self.hits.append(value)


def make_function() -> Callable[[int], None]:
    def on_value(value: int) -> None:
        pass

    return on_value


def make_counting_function(hits: list[int]) -> Callable[[int], None]:
    def on_value(value: int) -> None:
        hits.append(value)

    return on_value


def make_slots(kind: str, count: int) -> list[Callable[[int], None]]:
    """``count`` distinct slots; the receivers of methods live as long as the list does."""
    if kind == "functions":
        return [make_function() for _ in range(count)]
    return [Receiver().on_value for _ in range(count)]


def make_counting_slots(kind: str, count: int, hits: list[int]) -> list[Callable[[int], None]]:
    if kind == "functions":
        return [make_counting_function(hits) for _ in range(count)]
    return [CountingReceiver(hits).on_value for _ in range(count)]


class PsygnalEmitter:
    changed = psygnal.Signal(int)


def plain_loop(slots: list[Callable[[int], None]]) -> Callable[[int], None]:
    def emit(value: int) -> None:
        for slot in tuple(slots):
            slot(value)

    return emit


def ours(slots: list[Callable[[int], None]]) -> Callable[[int], None]:
    signal = Signal[[int]]()
    for slot in slots:
        signal.connect(slot)
    return signal.emit


def with_psygnal(slots: list[Callable[[int], None]]) -> Callable[[int], None]:
    emitter = PsygnalEmitter()
    for slot in slots:
        emitter.changed.connect(slot)
    return emitter.changed.emit


def with_blinker(slots: list[Callable[[int], None]]) -> Callable[[int], Any]:
    signal = blinker.Signal()
    for slot in slots:
        signal.connect(slot)
    return signal.send


def with_pydispatcher(slots: list[Callable[[int], None]]) -> Callable[[int], Any]:
    name = object()
    for slot in slots:
        dispatcher.connect(slot, signal=name, sender=dispatcher.Any)

    def emit(value: int) -> Any:
        return dispatcher.send(name, dispatcher.Anonymous, value)

    return emit


EMITTERS = {
    "plain-loop": plain_loop,
    "osv-idioms": ours,
    "psygnal": with_psygnal,
    "blinker": with_blinker,
    "pydispatcher": with_pydispatcher,
}


@pytest.mark.parametrize("library", EMITTERS)
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("kind", ["functions", "methods"])
def test_emit(benchmark: BenchmarkFixture, kind: str, count: int, library: str) -> None:
    benchmark.group = f"emit {count} {kind}"
    hits: list[int] = []
    counting = make_counting_slots(kind, count, hits)
    EMITTERS[library](counting)(7)
    assert hits == [7] * count, "the adapter must call every slot once, with the value"
    slots = make_slots(kind, count)
    benchmark(unrolled("emit(1)", {"emit": EMITTERS[library](slots)}))


IntSignal = Signal[[int]]  # subscripted once, as a class body declaring one does

SIGNAL_MAKERS: dict[str, Callable[[], object]] = {
    "osv-idioms": IntSignal,
    "psygnal": lambda: PsygnalEmitter().changed,  # an instance's signal, made on first access
    "blinker": blinker.Signal,
}


@pytest.mark.parametrize("library", SIGNAL_MAKERS)
def test_make_a_signal(benchmark: BenchmarkFixture, library: str) -> None:
    """Making a signal and dropping it (ours registers for a forked child, weakly)."""
    benchmark.group = "make a signal"
    benchmark(unrolled("make()", {"make": SIGNAL_MAKERS[library]}))


@pytest.mark.benchmark(group="connect+disconnect")
def test_connect_disconnect_ours(benchmark: BenchmarkFixture) -> None:
    signal = Signal[[int]]()
    slot = make_function()
    benchmark(unrolled("signal.connect(slot).disconnect()", {"signal": signal, "slot": slot}))


@pytest.mark.benchmark(group="connect+disconnect")
def test_connect_disconnect_psygnal(benchmark: BenchmarkFixture) -> None:
    signal = PsygnalEmitter().changed
    slot = make_function()
    call = "signal.connect(slot); signal.disconnect(slot)"
    benchmark(unrolled(call, {"signal": signal, "slot": slot}))


@pytest.mark.benchmark(group="connect+disconnect")
def test_connect_disconnect_blinker(benchmark: BenchmarkFixture) -> None:
    signal = blinker.Signal()
    slot = make_function()
    call = "signal.connect(slot); signal.disconnect(slot)"
    benchmark(unrolled(call, {"signal": signal, "slot": slot}))


@pytest.mark.benchmark(group="weak method: bind")
def test_bind_weakmethod(benchmark: BenchmarkFixture) -> None:
    receiver = Receiver()
    benchmark(
        unrolled(
            "WeakMethod(receiver.on_value)",
            {"WeakMethod": weakref.WeakMethod, "receiver": receiver},
        )
    )


@pytest.mark.benchmark(group="weak method: bind")
def test_bind_weak(benchmark: BenchmarkFixture) -> None:
    receiver = Receiver()
    benchmark(
        unrolled("bind_weak(receiver.on_value)", {"bind_weak": bind_weak, "receiver": receiver})
    )


FIRST_BIND_ROUNDS = 100  # each round binds CALLS_PER_ROUND objects never bound before


@pytest.mark.benchmark(group="weak method: first bind")
def test_first_bind_weakmethod(benchmark: BenchmarkFixture) -> None:
    """Each call binds a method of an object bound for the first time (the usual case)."""
    receivers = iter([Receiver() for _ in range(CALLS_PER_ROUND * FIRST_BIND_ROUNDS)])
    run = unrolled(
        "WeakMethod(next(receivers).on_value)",
        {"WeakMethod": weakref.WeakMethod, "receivers": receivers},
    )
    benchmark.pedantic(run, rounds=FIRST_BIND_ROUNDS, iterations=1)


@pytest.mark.benchmark(group="weak method: first bind")
def test_first_bind_weak(benchmark: BenchmarkFixture) -> None:
    receivers = iter([Receiver() for _ in range(CALLS_PER_ROUND * FIRST_BIND_ROUNDS)])
    run = unrolled(
        "bind_weak(next(receivers).on_value)", {"bind_weak": bind_weak, "receivers": receivers}
    )
    benchmark.pedantic(run, rounds=FIRST_BIND_ROUNDS, iterations=1)


@pytest.mark.benchmark(group="weak method: call")
def test_call_weakmethod(benchmark: BenchmarkFixture) -> None:
    receiver = Receiver()
    method = weakref.WeakMethod(receiver.on_value)
    benchmark(unrolled("method()(1)", {"method": method}))


@pytest.mark.benchmark(group="weak method: call")
def test_call_bind_weak(benchmark: BenchmarkFixture) -> None:
    receiver = Receiver()
    callback = bind_weak(receiver.on_value)
    benchmark(unrolled("callback(1)", {"callback": callback}))


@pytest.mark.benchmark(group="weak method: call")
def test_call_bound_method(benchmark: BenchmarkFixture) -> None:
    receiver = Receiver()
    benchmark(unrolled("method(1)", {"method": receiver.on_value}))
