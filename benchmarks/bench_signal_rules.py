"""The emit rules of psygnal and blinker, checked side by side with ours (docs/signals.md).

Not timings: each test states what a library does in one situation, so the
comparison table in the docs comes from a command. Run with the benchmarks,
``pytest benchmarks``, against the versions the ``bench`` extra installs.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

import blinker
import psygnal
import pytest

from osv_idioms.signals import Signal

JOIN_TIMEOUT_S = 2.0


class Emitter:
    changed = psygnal.Signal(int)


class Adapter:
    """connect, disconnect and emit, the same way for each library."""

    def __init__(self, library: str) -> None:
        self.library = library
        if library == "psygnal":
            self.signal: Any = Emitter().changed
        elif library == "blinker":
            self.signal = blinker.Signal()
        else:
            self.signal = Signal[[int]]()

    def connect(self, slot: Callable[[int], object]) -> None:
        self.signal.connect(slot)

    def disconnect(self, slot: Callable[[int], object]) -> None:
        self.signal.disconnect(slot)

    def emit(self, value: int) -> None:
        if self.library == "blinker":
            self.signal.send(value)
        else:
            self.signal.emit(value)


LIBRARIES = ["osv-idioms", "psygnal", "blinker"]


class Receiver:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def on_value(self, value: int) -> None:
        self.calls.append("method")


@pytest.mark.parametrize(
    ("library", "expected"),
    [("osv-idioms", ["a", "c"]), ("psygnal", ["a", "b", "c"]), ("blinker", ["a", "c"])],
)
def test_slot_disconnected_during_emit(library: str, expected: list[str]) -> None:
    """psygnal still calls a slot that an earlier slot disconnected during the emit."""
    signal, calls = Adapter(library), list[str]()

    def b(value: int) -> None:
        calls.append("b")

    def c(value: int) -> None:
        calls.append("c")

    def a(value: int) -> None:
        calls.append("a")
        signal.disconnect(b)

    for slot in (a, b, c):
        signal.connect(slot)
    signal.emit(1)
    assert calls == expected


@pytest.mark.parametrize(
    ("library", "expected"), [("osv-idioms", [1]), ("psygnal", [1]), ("blinker", [])]
)
def test_lambda_survives(library: str, expected: list[int]) -> None:
    """blinker holds every receiver weakly by default: a lambda is silently dropped."""
    signal, calls = Adapter(library), list[int]()
    signal.connect(lambda value: calls.append(value))  # noqa: PLW0108 - a lambda is the point
    gc.collect()
    signal.emit(1)
    assert calls == expected


@pytest.mark.parametrize("library", LIBRARIES)
def test_method_does_not_keep_its_object(library: str) -> None:
    """All three hold a bound method weakly."""
    signal, calls = Adapter(library), list[str]()
    signal.connect(Receiver(calls).on_value)
    gc.collect()
    signal.emit(1)
    assert calls == []


@pytest.mark.parametrize(
    ("library", "raised"),
    [
        ("osv-idioms", "ZeroDivisionError"),
        ("psygnal", "EmitLoopError"),
        ("blinker", "ZeroDivisionError"),
    ],
)
def test_exception_stops_later_slots(library: str, raised: str) -> None:
    """By default a failing slot stops the emit in all three; psygnal wraps the exception."""
    signal, calls = Adapter(library), list[str]()

    def fail(value: int) -> None:
        raise ZeroDivisionError

    def after(value: int) -> None:
        calls.append("after")

    signal.connect(fail)
    signal.connect(after)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the kind is what is compared
        signal.emit(1)
    assert (type(caught.value).__name__, calls) == (raised, [])


@pytest.mark.parametrize(
    ("library", "blocked"), [("osv-idioms", False), ("psygnal", True), ("blinker", False)]
)
def test_lock_held_while_slots_run(library: str, blocked: bool) -> None:
    """psygnal holds a lock while slots run: another thread's connect waits for the emit."""
    signal = Adapter(library)
    seen: list[bool] = []

    def wait_for_a_writer(value: int) -> None:
        writer = threading.Thread(target=signal.connect, args=(print,))
        writer.start()
        writer.join(JOIN_TIMEOUT_S)
        seen.append(writer.is_alive())

    keep = wait_for_a_writer  # blinker holds it weakly: keep it alive here
    signal.connect(keep)
    signal.emit(1)
    assert seen == [blocked]
