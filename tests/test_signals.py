"""osv_idioms.signals: the emit rules, connections, errors, results and per-instance signals."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osv_idioms.callbacks import bind_weak
from osv_idioms.errors import ExpiredCallbackError
from osv_idioms.signals import Connection, ScopedConnection, Signal
from tests._scripts import run_script

JOIN_TIMEOUT_S = 30.0


class Recorder:
    """Slots that write what they were called with into one shared list."""

    def __init__(self, calls: list[object], name: str = "r") -> None:
        self.calls = calls
        self.name = name

    def on_value(self, value: int) -> None:
        self.calls.append((self.name, value))


def appender(calls: list[Any], name: str) -> Callable[[int], None]:
    def slot(value: int) -> None:
        calls.append((name, value))

    return slot


COLLECTOR_INSIDE_A_CHANGE = """
import gc
from osv_idioms.signals import Signal

failures, kept, wrong = [], 0, 0

def sweep(threshold):
    global kept, wrong
    signal = Signal[[]](name="swept")
    connections = []  # (key, connection): a slot adds its key to `called`
    called = set()

    def connect(priority):
        key = object()
        connection = signal.connect(lambda: called.add(key), priority=priority)
        connections.append((key, connection))
        return connection

    class Leaked:  # in a cycle: only the collector runs its __del__
        def __init__(self, connection):
            self.cycle, self.connection = self, connection

        def __del__(self):  # disconnects one slot, and connects another
            self.connection.disconnect()
            connect(-1)

    for _ in range(5):
        connect(0)
    gc.collect()
    gc.set_threshold(threshold)
    try:
        for _ in range(20):
            Leaked(connect(0))
            connect(1)  # above the lowest priority: the entries are rebuilt
            signal.emit()  # the cells are made again
            len(signal)  # the entries are copied
            signal.disconnect(print)  # copied, to match
    except Exception as error:
        failures.append(repr(error))
    finally:
        gc.set_threshold(700)
    gc.collect()
    statistics = signal.statistics()  # every slot is held strongly: walked is connected
    kept += statistics.walked - statistics.connected
    called.clear()
    signal.emit()
    wrong += sum(1 for key, c in connections if c.connected != (key in called))

for threshold in range(1, 41):  # so that a collection starts at each step in turn
    sweep(threshold)
print("failures:", failures[:1], "dead entries kept:", kept, "wrong connections:", wrong)
"""

AT_THE_RECURSION_LIMIT = """
import gc, sys
from osv_idioms.signals import Signal

# A collection started near the limit would run the weak-reference callbacks
# of earlier trials' signals there, and a callback that meets the limit can
# only say so on stderr: that is not what this script is about.
gc.disable()

called, broken, raised, done = set(), set(), set(), set()
TOO_DEEP = object()

def frames_below():
    frame, count = sys._getframe(1), 0
    while frame is not None:
        frame, count = frame.f_back, count + 1
    return count

def at_depth(n, op):  # op called n frames down: what it raised, if anything
    if n:
        try:
            return at_depth(n - 1, op)
        except RecursionError:
            return TOO_DEEP  # the limit came before the op did: nothing to see
    try:
        op()
    except Exception as error:
        return error
    return None

def trial(name, depth):
    signal = Signal[[]](name="edge")
    connections = []  # (key, connection): a slot adds its key to `called`

    def connect(priority=0, once=False):
        key = object()
        connection = signal.connect(lambda: called.add(key), priority=priority, once=once)
        connections.append((key, connection))

    def state():
        connected = {key for key, c in connections if c.connected}
        blocked = {key for key, c in connections if c.blocks}
        return connected, blocked, signal.statistics()

    for _ in range(3):
        connect()
    first = connections[0][1]
    ops = {
        "connect": connect,
        "connect first": lambda: connect(priority=5),
        "connect once": lambda: connect(once=True),
        "block": first.block,
        "unblock": first.unblock,
        "block every emit": signal.block,
        "unblock every emit": signal.unblock,
        "disconnect": first.disconnect,
        "disconnect every slot": signal.disconnect_all,
        "emit": signal.emit,
    }
    if name == "unblock":
        first.block()
    if name == "unblock every emit":
        signal.block()
    if name != "emit":
        signal.emit()  # the cells are made, for the op to change; an emit makes them
    before = state()
    error = at_depth(depth, ops[name])
    if error is TOO_DEEP:
        pass
    elif error is None:
        done.add(name)
    elif type(error) is not RecursionError:
        broken.add((name, f"raised {error!r}"))
    else:
        raised.add(name)
        if state() != before:
            broken.add((name, "raised, yet changed"))
    connected, blocked, statistics = state()
    called.clear()
    signal.emit()
    if called != (set() if statistics.blocks else connected - blocked):
        broken.add((name, "an emit calls other slots than the connections say"))
    return ops

room = 200  # above the frames of whatever started the script (coverage, say)
sys.setrecursionlimit(frames_below() + room)
names = list(trial("connect", 0))
for name in names:
    for depth in range(room - 80, room):  # so that each call inside the op hits the limit
        trial(name, depth)
print("never raised:", sorted(set(names) - raised), "never done:", sorted(set(names) - done))
print("broken:", sorted(broken))
"""

A_SIGNAL_HANDLER_INSIDE_A_CHANGE = """
import os, signal as signals, sys
from osv_idioms.signals import Signal

kept = wrong = 0

def trial(name, at):
    global kept, wrong
    signal = Signal[[]](name="signalled")
    connections, called = [], set()  # (key, connection): a slot adds its key to `called`

    def connect(priority):
        key = object()
        connections.append((key, signal.connect(lambda: called.add(key), priority=priority)))

    def handler(number, frame):  # a real handler: CPython runs it between two bytecodes
        connections[1][1].disconnect()
        connect(-1)
        signal.emit()  # makes the cells, if a change left them to make

    def profile(frame, event, arg):  # sends the signal at the at-th call in turn
        if event in ("call", "c_call"):
            calls[0] += 1
            if calls[0] == at:
                os.kill(os.getpid(), signals.SIGUSR1)

    for _ in range(4):
        connect(0)
    ops = {
        "connect first": lambda: connect(1),  # the entries are rebuilt
        "connect": lambda: connect(0),
        "block every emit": signal.block,
        "emit": signal.emit,  # the cells are made
        "disconnect": lambda: signal.disconnect(print),  # the entries are copied
    }
    if name != "emit":
        signal.emit()
    calls = [0]
    signals.signal(signals.SIGUSR1, handler)
    sys.setprofile(profile)
    try:
        ops[name]()
    finally:
        sys.setprofile(None)
        signals.signal(signals.SIGUSR1, signals.SIG_DFL)
    if name == "block every emit":
        signal.unblock()
    called.clear()
    signal.emit()
    statistics = signal.statistics()  # every slot is held strongly: walked is connected
    kept += statistics.walked - statistics.connected
    wrong += sum(1 for key, c in connections if c.connected != (key in called))
    return ops, calls[0]

ops, _ = trial("connect", 0)
for name in ops:
    _, calls = trial(name, 0)
    for at in range(1, calls + 1):
        trial(name, at)
print("dead entries kept:", kept, "wrong connections:", wrong)
"""


class TestEmitRules:
    def test_priority_then_connection_order(self) -> None:
        """Higher priority runs first; equal priorities run in the order they were connected."""
        calls: list[tuple[str, int]] = []
        signal = Signal[[int]]()
        signal.connect(appender(calls, "a"))
        signal.connect(appender(calls, "b"), priority=5)
        signal.connect(appender(calls, "c"))
        signal.connect(appender(calls, "d"), priority=5)
        signal.connect(appender(calls, "e"), priority=-1)
        signal.emit(1)
        assert [name for name, _ in calls] == ["b", "d", "a", "c", "e"]

    def test_slot_connected_during_emit_is_not_called_by_it(self) -> None:
        """A slot connected by a slot runs from the next emit on."""
        calls: list[object] = []
        signal = Signal[[int]]()

        def connect_another(value: int) -> None:
            calls.append(("first", value))
            signal.connect(appender(calls, "late"), priority=10)

        signal.connect(connect_another, once=True)
        signal.emit(1)
        signal.emit(2)
        assert calls == [("first", 1), ("late", 2)]

    def test_slot_disconnecting_a_later_one(self) -> None:
        """A later slot disconnected during the emit is not called; no other slot is skipped."""
        calls: list[object] = []
        signal = Signal[[int]]()
        later: list[Connection] = []

        def disconnect_later(value: int) -> None:
            calls.append(("first", value))
            later[0].disconnect()

        signal.connect(disconnect_later)
        later.append(signal.connect(appender(calls, "victim")))
        signal.connect(appender(calls, "after"))
        signal.emit(1)
        assert calls == [("first", 1), ("after", 1)]

    def test_slot_disconnecting_itself(self) -> None:
        """A slot that disconnects itself ends its run; the next slot is still called."""
        calls: list[object] = []
        signal = Signal[[int]]()
        own: list[Connection] = []

        def leave(value: int) -> None:
            calls.append(("leaving", value))
            own[0].disconnect()

        own.append(signal.connect(leave))
        signal.connect(appender(calls, "next"))
        signal.emit(1)
        signal.emit(2)
        assert calls == [("leaving", 1), ("next", 1), ("next", 2)]

    def test_disconnect_reaches_an_emit_walking_an_older_snapshot(self) -> None:
        """Even after a connect replaced the snapshot, a disconnect reaches the running emit."""
        calls: list[object] = []
        signal = Signal[[int]]()
        victim: list[Connection] = []

        def connect_then_disconnect(value: int) -> None:
            signal.connect(appender(calls, "new"))
            victim[0].disconnect()

        signal.connect(connect_then_disconnect)
        victim.append(signal.connect(appender(calls, "victim")))
        signal.emit(1)
        assert calls == []
        signal.emit(2)
        assert calls == [("new", 2)]

    def test_dead_weak_receivers_are_skipped_and_pruned(self) -> None:
        """A method's object collected: its slot is skipped, and the connection goes away."""
        calls: list[object] = []
        signal = Signal[[int]]()
        receiver = Recorder(calls)
        connection = signal.connect(receiver.on_value)
        signal.connect(appender(calls, "kept"))
        del receiver
        gc.collect()
        assert not connection.connected
        signal.emit(1)
        assert calls == [("kept", 1)]
        assert len(signal) == 1
        assert signal.statistics().walked == 1  # pruned, not only skipped

    def test_reentrant_emit(self) -> None:
        """A slot may emit the signal it was called by; each emit runs every slot."""
        calls: list[object] = []
        signal = Signal[[int]]()

        def again(value: int) -> None:
            calls.append(("again", value))
            if value < 3:
                signal.emit(value + 1)

        signal.connect(again)
        signal.connect(appender(calls, "tail"))
        signal.emit(1)
        expected = [("again", 1), ("again", 2), ("again", 3), ("tail", 3), ("tail", 2), ("tail", 1)]
        assert calls == expected

    def test_blocked_signal_calls_nothing(self) -> None:
        """While the signal is blocked, emits do nothing; blocks nest."""
        calls: list[object] = []
        signal = Signal[[int]]()
        signal.connect(appender(calls, "a"))
        with signal.blocked():
            signal.block()
            signal.emit(1)
            signal.connect(appender(calls, "b"))
            signal.unblock()
            signal.emit(2)
        signal.emit(3)
        assert calls == [("a", 3), ("b", 3)]

    def test_blocked_connection_is_skipped(self) -> None:
        """A blocked connection is skipped, keeps its place, and runs again once unblocked."""
        calls: list[object] = []
        signal = Signal[[int]]()
        signal.connect(appender(calls, "a"))
        middle = signal.connect(appender(calls, "b"))
        signal.connect(appender(calls, "c"))
        with middle.blocked():
            signal.emit(1)
            assert middle.connected
        signal.emit(2)
        assert calls == [("a", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2)]

    def test_blocking_during_emit_is_honoured(self) -> None:
        """A later slot blocked during an emit is not called by it."""
        calls: list[object] = []
        signal = Signal[[int]]()
        later: list[Connection] = []
        signal.connect(lambda value: later[0].block())
        later.append(signal.connect(appender(calls, "b")))
        signal.emit(1)
        later[0].unblock()
        assert calls == []

    def test_unblock_without_block(self) -> None:
        """Unblocking what is not blocked is an error, and changes nothing."""
        signal = Signal[[int]](name="changed")
        connection = signal.connect(print)
        with pytest.raises(
            RuntimeError, match=r"^can't unblock <Signal\[\[int\]\] 'changed'>: it is not blocked$"
        ):
            signal.unblock()
        with pytest.raises(
            RuntimeError,
            match=r"^can't unblock <Connection print\(.*\) to .*: connected>: it is not blocked$",
        ):
            connection.unblock()

    def test_blocking_a_disconnected_connection(self) -> None:
        """Blocking and unblocking after a disconnect never brings the slot back."""
        calls: list[object] = []
        signal = Signal[[int]]()
        connection = signal.connect(appender(calls, "a"))
        connection.block()
        connection.disconnect()
        connection.unblock()
        signal.emit(1)
        assert calls == []
        assert repr(connection).endswith(": disconnected>")


class TestConnect:
    def test_methods_are_held_weakly_and_functions_strongly(self) -> None:
        """Connecting doesn't keep a method's object alive, but does keep a lambda."""
        calls: list[object] = []
        signal = Signal[[int]]()
        signal.connect(Recorder(calls).on_value)
        signal.connect(lambda value: calls.append(("lambda", value)))
        gc.collect()
        signal.emit(1)
        assert calls == [("lambda", 1)]

    def test_weak_false_keeps_the_object(self) -> None:
        """weak=False holds a method's object strongly."""
        calls: list[object] = []
        signal = Signal[[int]]()
        signal.connect(Recorder(calls).on_value, weak=False)
        gc.collect()
        signal.emit(1)
        assert calls == [("r", 1)]

    def test_weak_true_on_a_function(self) -> None:
        """weak=True holds even a function weakly: it goes when the function does."""
        calls: list[object] = []
        signal = Signal[[int]]()
        slot = appender(calls, "f")
        connection = signal.connect(slot, weak=True)
        signal.emit(1)
        del slot
        gc.collect()
        signal.emit(2)
        assert calls == [("f", 1)]
        assert not connection.connected

    def test_weak_on_an_object_without_weakref(self) -> None:
        """Holding weakly what can't be weakly referenced is refused, with the fix."""

        class Slotted:
            __slots__ = ()

            def on_value(self, value: int) -> None:
                pass

        signal = Signal[[int]](name="changed")
        message = (
            r"^can't connect .*Slotted.on_value\(value: int\) -> None's object to "
            r"<Signal\[\[int\]\] 'changed'> weakly: .*Slotted objects can't be weakly referenced "
            r"\(pass weak=False, or add '__weakref__' to its __slots__\)$"
        )
        with pytest.raises(TypeError, match=message):
            signal.connect(Slotted().on_value)
        signal.connect(Slotted().on_value, weak=False)
        assert len(signal) == 1

    def test_track_ends_the_connection_with_the_object(self) -> None:
        """track=obj disconnects a lambda when obj is collected."""
        calls: list[object] = []
        signal = Signal[[int]]()
        owner = Recorder(calls)
        connection = signal.connect(calls.append, track=owner)
        signal.emit(1)
        del owner
        gc.collect()
        signal.emit(2)
        assert calls == [1]
        assert not connection.connected

    def test_track_with_a_weak_method(self) -> None:
        """A weakly held method tracked by another object ends with either of them."""
        calls: list[object] = []
        signal = Signal[[int]]()
        receiver, owner = Recorder(calls), Recorder(calls)
        connection = signal.connect(receiver.on_value, track=owner)
        signal.emit(1)
        del receiver
        gc.collect()
        signal.emit(2)
        assert calls == [("r", 1)]
        assert not connection.connected
        assert owner.calls is calls

    def test_fewer_parameters_get_the_first_arguments(self) -> None:
        """Slots taking fewer parameters than the signal passes get the first ones."""
        calls: list[object] = []
        signal = Signal[[int, str]]()
        # A prefix of the parameters is accepted at run time; type checkers
        # accept only the whole list or none, so the others are ignored here.
        signal.connect(lambda: calls.append("none"))
        signal.connect(calls.append)  # type: ignore[arg-type]
        signal.connect(lambda n, s="?", extra=0: calls.append((n, s, extra)))
        signal.connect(lambda *args: calls.append(args))
        receiver = Recorder(calls, "m")
        signal.connect(receiver.on_value)  # type: ignore[arg-type]
        signal.emit(1, "x")
        assert calls == ["none", 1, (1, "x", 0), (1, "x"), ("m", 1)]

    def test_slot_needing_more_arguments_is_refused(self) -> None:
        """A slot that can't take the call is refused at connect, with both shapes."""
        signal = Signal[[int]](name="changed")
        message = (
            r"^can't connect <lambda>\(a, b\) to <Signal\[\[int\]\] 'changed'>: "
            r"it takes 2 positional arguments, and the signal passes 1$"
        )
        with pytest.raises(TypeError, match=message):
            signal.connect(lambda a, b: None)  # type: ignore[arg-type]
        with pytest.raises(
            TypeError, match=r"it needs keyword argument k, and the signal passes 1$"
        ):
            signal.connect(lambda a, *, k: None)  # type: ignore[arg-type]
        assert len(signal) == 0

    def test_slot_without_a_signature(self) -> None:
        """A builtin Python can't read is connected unchecked and gets every argument."""
        results: list[object] = []
        signal = Signal[[str]]()
        signal.connect(int)
        signal.connect(results.append)
        assert signal.collect("7") == [7, None]
        assert results == ["7"]

    def test_not_callable(self) -> None:
        """Connecting something that can't be called says what it was."""
        signal = Signal[[int]](name="changed")
        with pytest.raises(
            TypeError,
            match=r"^can't connect 3 to <Signal\[\[int\]\] 'changed'>: an int is not callable$",
        ):
            signal.connect(3)  # type: ignore[call-overload]

    def test_priority_must_be_an_int(self) -> None:
        """A priority that is not an int is refused."""
        with pytest.raises(TypeError, match=r"^priority must be an int, got '1'$"):
            Signal[[int]]().connect(print, priority="1")  # type: ignore[call-overload]

    def test_once(self) -> None:
        """once=True runs the slot on the first emit only, even if that emit re-enters."""
        calls: list[object] = []
        signal = Signal[[int]]()

        def reenter(value: int) -> None:
            calls.append(value)
            signal.emit(value + 1)

        connection = signal.connect(reenter, once=True)
        signal.emit(1)
        signal.emit(5)
        assert calls == [1]
        assert not connection.connected

    def test_duplicates_are_called_twice(self) -> None:
        """The same slot connected twice is called twice: each connection is its own."""
        calls: list[object] = []
        signal = Signal[[int]]()
        slot = appender(calls, "d")
        first = signal.connect(slot)
        signal.connect(slot)
        signal.emit(1)
        first.disconnect()
        signal.emit(2)
        assert calls == [("d", 1), ("d", 1), ("d", 2)]

    def test_decorator_returns_the_function(self) -> None:
        """connect() with no slot decorates: the function is connected and left as it was."""
        calls: list[object] = []
        signal = Signal[[int]]()

        @signal.connect(priority=1)
        def handler(value: int) -> None:
            calls.append(value)

        handler(0)
        signal.emit(1)
        assert calls == [0, 1]

    def test_chaining_signals(self) -> None:
        """A signal connected to another is emitted by it, with its arguments."""
        calls: list[object] = []
        first, second = Signal[[int]](), Signal[[int]]()
        second.connect(appender(calls, "second"))
        first.connect(second)
        first.emit(4)
        assert calls == [("second", 4)]

    def test_chaining_refuses_a_signal_wanting_more(self) -> None:
        """A signal passing 2 arguments can't be fed by one passing 1."""
        with pytest.raises(
            TypeError, match=r"it takes 2 positional arguments, and the signal passes 1$"
        ):
            Signal[[int]]().connect(Signal[[int, int]]())  # type: ignore[arg-type]

    def test_disconnect_by_slot(self) -> None:
        """disconnect(slot) ends every connection of that slot and says how many."""
        calls: list[object] = []
        signal = Signal[[int]]()
        slot = appender(calls, "s")
        receiver = Recorder(calls)
        signal.connect(slot)
        signal.connect(slot)
        signal.connect(receiver.on_value)
        signal.connect(receiver.on_value, weak=False)
        weak_function = signal.connect(slot, weak=True)
        assert signal.disconnect(slot) == 3
        assert not weak_function.connected
        assert signal.disconnect(receiver.on_value) == 2
        assert signal.disconnect(slot) == 0
        signal.emit(1)
        assert calls == []

    def test_disconnect_compares_slots_with_no_lock_held(self) -> None:
        """A slot whose ``__eq__`` connects to the same signal does not deadlock ``disconnect``."""
        signal = Signal[[int]]()

        class Meddling:
            def __call__(self, value: int) -> None: ...

            def __eq__(self, other: object) -> bool:
                signal.connect(print)  # takes the signal's lock
                return other is self

            __hash__ = object.__hash__

        meddling = Meddling()
        signal.connect(meddling)
        done = threading.Event()

        def disconnect() -> None:
            signal.disconnect(Meddling())
            done.set()

        threading.Thread(target=disconnect, daemon=True).start()
        assert done.wait(JOIN_TIMEOUT_S)
        assert len(signal) == 2

    def test_disconnect_all_and_len(self) -> None:
        """len() counts the live connections; disconnect_all() ends them all."""
        signal = Signal[[int]]()
        connections = [signal.connect(print) for _ in range(3)]
        assert len(signal) == 3
        signal.disconnect_all()
        assert len(signal) == 0
        assert not any(c.connected for c in connections)

    def test_connection_priority_and_repr(self) -> None:
        """A connection shows its slot, its signal and its state."""
        signal = Signal[[int]](name="changed")
        connection = signal.connect(print, priority=3)
        assert connection.priority == 3
        with connection.blocked():
            assert repr(connection).endswith("to <Signal[[int]] 'changed'>: connected, blocked>")

    def test_scoped_connection(self) -> None:
        """A ScopedConnection disconnects at the end of its with block, even on an error."""
        calls: list[object] = []
        signal = Signal[[int]]()
        with pytest.raises(KeyError), ScopedConnection(signal.connect(appender(calls, "s"))) as c:
            signal.emit(1)
            assert c.connected
            raise KeyError
        signal.emit(2)
        assert calls == [("s", 1)]
        with pytest.raises(TypeError, match=r"^ScopedConnection takes a Connection, got a str$"):
            ScopedConnection("c")  # type: ignore[arg-type]

    def test_a_connection_is_not_made_by_hand(self) -> None:
        """Only ``Signal.connect`` makes a ``Connection``: by hand it is refused, saying so."""
        with pytest.raises(TypeError) as refused:
            Connection(Signal[[int]](), print, 0)  # type: ignore[arg-type]
        assert str(refused.value) == (
            "a Connection is made by Signal.connect(), not by hand: connect the slot instead"
        )


class TestDeclaration:
    def test_undeclared_signal_is_refused(self) -> None:
        """A Signal must say what it passes."""
        message = (
            r"^declare what the signal passes: Signal\[\[int\]\]\(\) for one int, "
            r"Signal\[\[\]\]\(\) for nothing, Signal\[\.\.\.\]\(\) for anything$"
        )
        with pytest.raises(TypeError, match=message):
            Signal()

    def test_bad_errors_option(self) -> None:
        """errors= takes 'raise' or 'group'."""
        with pytest.raises(ValueError, match=r"^errors must be 'raise' or 'group', got 'ignore'$"):
            Signal[[int]](errors="ignore")  # type: ignore[arg-type]

    def test_no_arguments(self) -> None:
        """Signal[[]] passes nothing, and is called like the slide's system_reset()."""
        calls: list[object] = []
        system_reset = Signal[[]]()
        system_reset.connect(lambda: calls.append("reset"))
        system_reset()
        assert calls == ["reset"]

    def test_ellipsis_passes_anything(self) -> None:
        """Signal[...] passes whatever it is given, keywords included, unchecked."""
        calls: list[object] = []
        signal = Signal[...]()
        signal.connect(lambda *args, **kwargs: calls.append((args, kwargs)))
        signal.emit(1, 2, key=3)
        assert calls == [((1, 2), {"key": 3})]

    def test_wrong_argument_count_at_emit(self) -> None:
        """Emitting with the wrong count is a TypeError from the emit itself."""
        signal = Signal[[int]]()
        with pytest.raises(
            TypeError, match=r"^Signal.emit\(\) takes 2 positional arguments but 3 were given$"
        ):
            signal.emit(1, 2)  # type: ignore[call-arg]

    def test_many_parameters(self) -> None:
        """Signals with more parameters get a generated emit of their own too."""
        calls: list[object] = []
        signal = Signal[[int, int, int, int, int]]()
        signal.connect(lambda *args: calls.append(args))
        signal.emit(1, 2, 3, 4, 5)
        assert calls == [(1, 2, 3, 4, 5)]

    def test_repr(self) -> None:
        """repr names the declared shape and the name, or the address."""
        assert repr(Signal[[int]](name="changed")) == "<Signal[[int]] 'changed'>"
        assert repr(Signal[[]]()).startswith("<Signal[[]] at 0x")


class Device:
    changed = Signal[[int]]()

    def __init__(self, name: str) -> None:
        self.name = name


class SlottedDevice:
    __slots__ = ("__weakref__", "name")
    changed = Signal[[int]]()

    def __init__(self, name: str) -> None:
        self.name = name


class TestPerInstance:
    @pytest.mark.parametrize("kind", [Device, SlottedDevice])
    def test_each_instance_has_its_own_signal(self, kind: type[Device]) -> None:
        """Emitting one instance's signal calls only that instance's slots."""
        calls: list[object] = []
        first, second = kind("a"), kind("b")
        first.changed.connect(appender(calls, "first"))
        second.changed.connect(appender(calls, "second"))
        first.changed.emit(1)
        assert calls == [("first", 1)]
        assert first.changed is first.changed
        assert repr(first.changed) == f"<Signal[[int]] '{kind.__qualname__}.changed'>"

    def test_slotted_instances_release_their_signal(self) -> None:
        """A slotted instance's signal is forgotten when the instance is collected."""
        device = SlottedDevice("a")
        device.changed.connect(print)
        registry = SlottedDevice.__dict__["changed"]._per_instance
        assert len(registry) == 1
        del device
        gc.collect()
        assert len(registry) == 0

    def test_slots_without_weakref_are_explained(self) -> None:
        """A class whose instances can't be referenced weakly is told how to fix it."""

        class Bare:
            __slots__ = ()
            changed = Signal[[int]]()

        message = (
            r"^can't give each .*Bare its own .*Bare.changed: .*Bare has __slots__ without "
            r"'__dict__' or '__weakref__'; add '__weakref__' to its __slots__$"
        )
        with pytest.raises(TypeError, match=message):
            Bare().changed.connect(print)

    def test_the_class_level_signal_refuses_connections(self) -> None:
        """Connecting to the class's signal would never fire: it is refused."""
        message = (
            r"^can't connect to <Signal\[\[int\]\] 'Device.changed'>: it is declared on the class; "
            r"connect to an instance's signal$"
        )
        with pytest.raises(TypeError, match=message):
            Device.changed.connect(print)

    def test_a_name_given_is_kept(self) -> None:
        """A signal named explicitly keeps the name on every instance."""

        class Named:
            changed = Signal[[int]](name="named-changed")

        assert repr(Named().changed) == "<Signal[[int]] 'named-changed'>"


class TestErrors:
    def test_exception_propagates_with_a_note(self) -> None:
        """The first failure stops the emit and names the signal and the slot."""
        calls: list[object] = []
        signal = Signal[[int]](name="changed")

        def fail(value: int) -> None:
            raise ValueError(value)

        signal.connect(fail)
        signal.connect(appender(calls, "after"))
        with pytest.raises(ValueError, match=r"^7") as caught:
            signal.emit(7)
        assert caught.value.__notes__ == [
            "raised by slot fail(value: int) -> None of <Signal[[int]] 'changed'>"
        ]
        assert calls == []

    def test_a_recursive_emit_notes_the_slot_once(self) -> None:
        """The same slot failing at every level of a recursive emit leaves one note, not hundreds."""
        signal = Signal[[int]](name="deep")

        def recurse(value: int) -> None:
            if value > 30:
                raise ValueError("deep enough")
            signal.emit(value + 1)

        signal.connect(recurse)
        with pytest.raises(ValueError, match=r"^deep enough") as caught:
            signal.emit(0)
        assert caught.value.__notes__ == [
            "raised by slot recurse(value: int) -> None of <Signal[[int]] 'deep'>"
        ]

    def test_note_names_the_method_of_a_weak_slot(self) -> None:
        """A weakly held method that raises is named by its function."""
        signal = Signal[[int]]()

        class Faulty:
            def on_value(self, value: int) -> None:
                raise KeyError(value)

        faulty = Faulty()
        signal.connect(faulty.on_value)
        with pytest.raises(KeyError) as caught:
            signal.emit(1)
        assert "Faulty.on_value(self, value: int) -> None" in caught.value.__notes__[0]

    def test_grouped_errors_call_every_slot(self) -> None:
        """errors='group' calls every slot, then raises an ExceptionGroup of the failures."""
        calls: list[object] = []
        signal = Signal[[int]](name="changed", errors="group")
        signal.connect(lambda value: 1 // 0)
        signal.connect(appender(calls, "middle"))
        signal.connect(lambda value: int("x"))
        with pytest.raises(
            ExceptionGroup, match=r"^2 slots of <Signal\[\[int\]\] 'changed'> raised"
        ) as caught:
            signal.emit(1)
        assert calls == [("middle", 1)]
        kinds = [type(e) for e in caught.value.exceptions]
        assert kinds == [ZeroDivisionError, ValueError]
        assert all(
            e.__notes__[0].startswith("raised by slot <lambda>(value)")
            for e in caught.value.exceptions
        )

    def test_grouped_single_failure_and_dead_slot(self) -> None:
        """A grouped signal also skips dead receivers, and words one failure as such."""
        signal = Signal[[int]](errors="group")
        signal.connect(Recorder([]).on_value)
        gc.collect()
        signal.connect(lambda value: 1 // 0)
        with pytest.raises(
            ExceptionGroup, match=r"^1 slot of <Signal\[\[int\]\] at 0x[0-9a-f]+> raised"
        ):
            signal.emit(1)
        assert len(signal) == 1

    def test_instance_signals_keep_the_error_mode(self) -> None:
        """A grouping signal declared on a class groups on every instance."""

        class Grouped:
            changed = Signal[[int]](errors="group")

        instance = Grouped()
        instance.changed.connect(lambda value: 1 // 0)
        instance.changed.connect(lambda value: [][value])
        with pytest.raises(ExceptionGroup) as grouped:
            instance.changed.emit(1)
        assert [type(e) for e in grouped.value.exceptions] == [ZeroDivisionError, IndexError]


class TestFaultsInsideAChange:
    """What runs between two steps of a change: finalisers, signal handlers, the recursion limit."""

    def test_a_finaliser_the_collector_runs_inside_a_change_loses_nothing(
        self, tmp_path: Path
    ) -> None:
        """Leaked objects whose ``__del__`` disconnects one slot and connects another.

        In a fresh interpreter, with the threshold swept so that a collection
        starts at each step of connecting, emitting, counting and
        disconnecting in turn: nothing raises, no disconnected entry is kept,
        and every connection says truly whether an emit calls its slot.
        """
        done = run_script(tmp_path / "collector.py", COLLECTOR_INSIDE_A_CHANGE)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "failures: [] dead entries kept: 0 wrong connections: 0\n"

    def test_a_signal_handler_that_changes_the_signal_inside_a_change_loses_nothing(
        self, tmp_path: Path
    ) -> None:
        """A real ``SIGUSR1``, sent at each call of an operation in turn, whose handler changes it.

        The handler disconnects one slot, connects another and emits, between
        two bytecodes of connecting, blocking, making the cells or copying the
        entries: afterwards no disconnected entry is kept, and every
        connection says truly whether an emit calls its slot.
        """
        done = run_script(tmp_path / "handler.py", A_SIGNAL_HANDLER_INSIDE_A_CHANGE)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "dead entries kept: 0 wrong connections: 0\n"

    def test_an_operation_that_hits_the_recursion_limit_changes_nothing(
        self, tmp_path: Path
    ) -> None:
        """Each operation, called ever deeper until each of its calls meets the limit in turn.

        One that raises ``RecursionError`` leaves the signal as it was; one
        that returns has done its work; either way an emit calls exactly the
        slots the connections say. An emit whose walk cannot start raises the
        ``RecursionError`` itself.
        """
        done = run_script(tmp_path / "recursion.py", AT_THE_RECURSION_LIMIT)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "never raised: [] never done: []\nbroken: []\n"


class TestResults:
    def test_collect(self) -> None:
        """collect() returns each slot's result in call order, skipping blocked and dead slots."""
        signal = Signal[[int]]()
        signal.connect(lambda n: n + 1)
        blocked = signal.connect(lambda n: "blocked")
        signal.connect(Recorder([]).on_value)
        signal.connect(lambda n: n * 10, priority=1)
        gc.collect()
        blocked.block()
        assert signal.collect(4) == [40, 5]

    def test_collect_calls_weak_methods(self) -> None:
        """collect() calls weakly held methods on their object."""

        class Doubler:
            def twice(self, n: int) -> int:
                return 2 * n

        doubler = Doubler()
        signal = Signal[[int]]()
        signal.connect(doubler.twice)
        assert signal.collect(21) == [42]

    def test_combine_is_lazy(self) -> None:
        """A combiner that stops early leaves later slots uncalled."""
        calls: list[object] = []
        signal = Signal[[int]]()

        def answer(name: str, result: int | None) -> Callable[[int], int | None]:
            def slot(n: int) -> int | None:
                calls.append(name)
                return result

            return slot

        signal.connect(answer("first", None))
        signal.connect(answer("second", 5))
        signal.connect(answer("third", 6))
        first_answer = signal.combine(lambda results: next(r for r in results if r is not None))
        assert first_answer(5) == 5
        assert calls == ["first", "second"]

    def test_collect_checks_the_count(self) -> None:
        """collect() with the wrong arguments says what the signal passes."""
        signal = Signal[[int]](name="changed")
        with pytest.raises(
            TypeError,
            match=r"^<Signal\[\[int\]\] 'changed'> passes 1 positional argument, got 2 positional$",
        ):
            signal.collect(1, 2)  # type: ignore[call-arg]
        with pytest.raises(
            TypeError, match=r"passes 1 positional argument, got 1 positional and 1 keyword$"
        ):
            signal.collect(1, x=2)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match=r"passes 2 positional arguments, got 0 positional$"):
            Signal[[int, int]]().collect()  # type: ignore[call-arg]

    def test_collect_errors(self) -> None:
        """collect() follows the signal's error rule: raise at once, or group at the end."""
        raising, grouping = Signal[[int]](), Signal[[int]](errors="group")
        for signal in (raising, grouping):
            signal.connect(lambda n: 1 // 0)
            signal.connect(lambda n: n)
        with pytest.raises(ZeroDivisionError):
            raising.collect(1)
        with pytest.raises(ExceptionGroup) as grouped:
            grouping.collect(1)
        (failure,) = grouped.value.exceptions
        assert type(failure) is ZeroDivisionError
        assert failure.__notes__ == [f"raised by slot <lambda>(n) of {grouping!r}"]


class TestAsync:
    def test_aemit_awaits_coroutines_in_order(self) -> None:
        """Coroutine slots are awaited one after the other; plain slots are called directly."""
        calls: list[object] = []
        signal = Signal[[int]]()

        async def slow(value: int) -> None:
            await asyncio.sleep(0)
            calls.append(("slow", value))

        class Handler:
            async def on_value(self, value: int) -> None:
                calls.append(("method", value))

        handler = Handler()
        signal.connect(slow)
        signal.connect(appender(calls, "plain"))
        signal.connect(handler.on_value)
        asyncio.run(signal.aemit(1))
        assert calls == [("slow", 1), ("plain", 1), ("method", 1)]

    def test_aemit_errors(self) -> None:
        """An async slot's failure carries the note; grouping collects across awaits."""

        async def fail(value: int) -> None:
            raise ValueError(value)

        raising, grouping = Signal[[int]](name="r"), Signal[[int]](errors="group")
        for signal in (raising, grouping):
            signal.connect(fail)
            signal.connect(fail)
        with pytest.raises(ValueError, match=r"^1") as caught:
            asyncio.run(raising.aemit(1))
        assert caught.value.__notes__[0].endswith("of <Signal[[int]] 'r'>")
        with pytest.raises(ExceptionGroup) as grouped:
            asyncio.run(grouping.aemit(1))
        assert [(type(e), e.args) for e in grouped.value.exceptions] == [(ValueError, (1,))] * 2
        assert str(grouped.value) == f"2 slots of {grouping!r} raised (2 sub-exceptions)"


class TestWeaklyBoundSlots:
    def test_bind_weak_connects_and_drops_out_with_its_object(self) -> None:
        """``bind_weak(panel.on_click)`` connects, is held weakly, and ends when panel is collected."""
        calls: list[object] = []
        clicked = Signal[[int]](name="clicked")
        panel = Recorder(calls)
        connection = clicked.connect(bind_weak(panel.on_value))
        clicked.emit(1)
        del panel
        gc.collect()
        clicked.emit(2)  # nothing raised: the slot has dropped out
        assert calls == [("r", 1)]
        assert not connection.connected
        assert clicked.statistics().walked == 0

    def test_bind_weak_does_not_keep_its_object_alive(self) -> None:
        """The connection holds the object no more strongly than ``bind_weak`` does."""
        clicked = Signal[[int]]()
        panel = Recorder([])
        alive = weakref.ref(panel)
        clicked.connect(bind_weak(panel.on_value))
        del panel
        gc.collect()
        assert alive() is None

    def test_disconnect_by_an_equal_bind_weak(self) -> None:
        """A fresh ``bind_weak`` of the same method disconnects the one connected."""
        calls: list[object] = []
        clicked = Signal[[int]]()
        panel = Recorder(calls)
        clicked.connect(bind_weak(panel.on_value))
        clicked.connect(panel.on_value)  # the method itself: the same slot, held the same way
        assert clicked.disconnect(bind_weak(panel.on_value)) == 2
        clicked.emit(1)
        assert calls == []

    def test_held_strongly_when_asked(self) -> None:
        """With ``weak=False`` the callback itself is held: calling it once its object is gone raises."""
        clicked = Signal[[int]]()
        panel = Recorder([])
        clicked.connect(bind_weak(panel.on_value), weak=False)
        del panel
        gc.collect()
        with pytest.raises(ExpiredCallbackError):
            clicked.emit(1)


class TestPriorityProperty:
    @given(priorities=st.lists(st.integers(-3, 3), max_size=12))
    def test_slots_run_by_priority_then_connection_order(self, priorities: list[int]) -> None:
        """Whatever the priorities, an emit calls by priority (higher first), ties in connection order."""
        order: list[int] = []
        signal = Signal[[]]()
        for number, priority in enumerate(priorities):
            signal.connect(lambda number=number: order.append(number), priority=priority)  # type: ignore[misc]
        signal.emit()
        assert order == sorted(range(len(priorities)), key=lambda n: -priorities[n])


class TestGeneratedSource:
    def test_a_traceback_through_an_emit_shows_the_line_that_called_the_slot(self) -> None:
        """The emit is generated, and its source registered: tracebacks show its lines."""
        import traceback

        signal = Signal[[int]]()

        def broken(value: int) -> None:
            raise LookupError(value)

        signal.connect(broken)
        with pytest.raises(LookupError) as raised:
            signal.emit(1)
        frames = traceback.extract_tb(raised.value.__traceback__)
        emit = next(frame for frame in frames if frame.name == "emit")
        assert emit.filename.startswith("<osv_idioms generated Signal.emit, 1 argument")
        assert emit.line == "call(arg1)"

    def test_getsource_reads_the_emit_and_a_weak_forwarder(self) -> None:
        """``inspect.getsource`` works on generated code, as on any function."""
        import inspect

        from osv_idioms.callbacks import bind_weak

        emit_source = inspect.getsource(Signal[[int, str]].emit)
        assert emit_source.startswith("def emit(self, arg1, arg2, /):")

        recorder = Recorder([])
        forwarder = bind_weak(recorder.on_value).__func__  # type: ignore[attr-defined]
        # (the forwarder itself, not the method it wraps, which getsource would unwrap to)
        assert inspect.getsource(forwarder.__code__).startswith("def forward(__ref, value):")
