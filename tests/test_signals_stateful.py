"""Connections against a model: connect, disconnect, block and emit in any order."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from osv_idioms.signals import Connection, Signal


@dataclass
class Modelled:
    """What the model knows of one connection."""

    number: int
    priority: int
    once: bool
    connection: Connection
    blocks: int = 0
    live: bool = True


class SignalLifecycle(RuleBasedStateMachine):
    """An emit calls exactly the live, unblocked slots, by priority then connection order."""

    connections = Bundle("connections")
    blocked = Bundle("blocked")  # one entry per block() not yet undone

    def __init__(self) -> None:
        super().__init__()
        self.signal = Signal[[int]]()
        self.model: list[Modelled] = []
        self.signal_blocks = 0
        self.calls: list[tuple[int, int]] = []
        self.emits = 0

    def slot(self, number: int) -> object:
        def record(value: int) -> None:
            self.calls.append((number, value))

        return record

    def live(self) -> list[Modelled]:
        return [m for m in self.model if m.live]

    @rule(target=connections, priority=st.integers(-2, 2), once=st.booleans())
    def connect(self, priority: int, once: bool) -> Modelled:
        number = len(self.model)
        connection = self.signal.connect(self.slot(number), priority=priority, once=once)  # type: ignore[call-overload]
        modelled = Modelled(number, priority, once, connection)
        self.model.append(modelled)
        return modelled

    @rule(chosen=connections)
    def disconnect(self, chosen: Modelled) -> None:
        chosen.connection.disconnect()
        chosen.live = False

    @rule(target=blocked, chosen=connections)
    def block(self, chosen: Modelled) -> Modelled:
        chosen.connection.block()
        chosen.blocks += 1
        return chosen

    @rule(chosen=consumes(blocked))
    def unblock(self, chosen: Modelled) -> None:
        chosen.connection.unblock()
        chosen.blocks -= 1

    @rule()
    def block_signal(self) -> None:
        self.signal.block()
        self.signal_blocks += 1

    @precondition(lambda self: self.signal_blocks)
    @rule()
    def unblock_signal(self) -> None:
        self.signal.unblock()
        self.signal_blocks -= 1

    @rule()
    def emit(self) -> None:
        self.emits += 1
        expected: list[Modelled] = []
        if not self.signal_blocks:
            expected = [m for m in self.live() if not m.blocks]
            expected.sort(key=lambda m: -m.priority)  # stable: connection order within a priority
        self.calls.clear()
        self.signal.emit(self.emits)
        assert self.calls == [(m.number, self.emits) for m in expected]
        for fired in expected:
            if fired.once:
                fired.live = False

    @invariant()
    def connections_match_the_model(self) -> None:
        assert len(self.signal) == len(self.live())
        assert [m.connection.connected for m in self.model] == [m.live for m in self.model]


SignalLifecycle.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestSignalLifecycle = SignalLifecycle.TestCase
