"""A forked child finds every lock the library made free, and goes on working.

Each test forks for real while another thread of the parent is inside the
library, holding one of its locks: inside a write to an RCU container, a
signal's change, a count's change, a bridge being made. The child has only
the forking thread, so nobody is left to release that lock; the child then
uses the same object. A child that waits for ever is ended by an alarm and
the test fails. The parent's thread then finishes, and the parent is checked
as well.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from osv_idioms import forks, rcu, trace
from osv_idioms.locking import Mutex
from osv_idioms.rcu import RcuDict, RcuList, RcuPtr
from osv_idioms.refcount import IntrusivePtr, IntrusiveRefCounted, SharedPtr
from osv_idioms.signals import Signal
from osv_idioms.telemetry import to_prometheus
from osv_idioms.trace import declare_tracepoint
from tests._forking import in_a_child, kill_if_stuck
from tests._scripts import run_script
from tests._threads import JOIN_TIMEOUT_S, run_threads

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


class Gate:
    """Where a thread of the parent stops, inside the library, until the test lets it go."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.open = threading.Event()
        self.closed = True  # only the first arrival stops

    def stop_here(self) -> None:
        if self.closed and threading.current_thread() is not threading.main_thread():
            self.closed = False
            self.inside.set()
            assert self.open.wait(JOIN_TIMEOUT_S)


@contextlib.contextmanager
def stopped_inside(gate: Gate, work: Callable[[], object]) -> Iterator[list[BaseException]]:
    """Run ``work`` in a thread until it stops at ``gate``; let it finish on leaving."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="inside")
    thread.start()
    try:
        assert gate.inside.wait(JOIN_TIMEOUT_S)
        yield errors
    finally:
        gate.open.set()
        thread.join(JOIN_TIMEOUT_S)
    assert not thread.is_alive()


class Key:
    """A key whose ``__eq__`` stops at the gate: a write comparing it is under way."""

    def __init__(self, name: str, gate: Gate) -> None:
        self.name, self.gate = name, gate

    def __hash__(self) -> int:
        return 1  # every Key collides, so a store compares them

    def __eq__(self, other: object) -> bool:
        self.gate.stop_here()
        return isinstance(other, Key) and other.name == self.name


class TestRcuContainers:
    def test_a_dict_written_in_another_thread_at_the_fork_takes_the_childs_writes(self) -> None:
        """The writer was inside ``put()``, comparing keys: the child puts and reads its own."""
        gate = Gate()
        first = Key("a", gate)
        entries: RcuDict[Key | str, int] = RcuDict([(first, 1)])

        with stopped_inside(gate, lambda: entries.put(Key("b", gate), 2)) as errors:

            def child() -> bool:
                entries.put("mine", 3)
                entries.remove(first)
                return dict(entries) == {"mine": 3}

            assert in_a_child(child) == 0
        assert errors == []
        names = sorted(key.name for key in entries if isinstance(key, Key))
        assert names == ["a", "b"]  # the parent's put went on

    def test_a_list_written_in_another_thread_at_the_fork_takes_the_childs_writes(self) -> None:
        """The writer was inside ``remove()``, comparing items: the child appends and removes."""
        gate = Gate()
        item = Key("a", gate)
        items: RcuList[object] = RcuList([item])

        with stopped_inside(gate, lambda: items.remove(Key("a", gate))) as errors:

            def child() -> bool:
                items.append("mine")
                items.remove("mine")
                return items.snapshot() == (item,)

            assert in_a_child(child) == 0
        assert errors == []
        assert items.snapshot() == ()

    def test_a_copy_update_open_in_another_thread_at_the_fork_does_not_stop_the_childs(
        self,
    ) -> None:
        """The parent's block stays open over the fork; the child opens and publishes its own."""
        gate = Gate()
        pointer: RcuPtr[list[str]] = RcuPtr(["start"])

        def update() -> None:
            with pointer.copy_update() as draft:
                gate.stop_here()
                draft.value.append("parent")

        with stopped_inside(gate, update) as errors:

            def child() -> bool:
                with pointer.copy_update() as draft:
                    draft.value.append("child")
                return pointer.read() == ["start", "child"]

            assert in_a_child(child) == 0
        assert errors == []
        assert pointer.read() == ["start", "parent"]

    def test_a_block_the_forking_thread_is_in_goes_on_in_the_child(self) -> None:
        """Forked inside ``copy_update()``: each process ends its own block, and writes again."""
        pointer: RcuPtr[list[str]] = RcuPtr(["start"])
        pid = -1
        try:
            with pointer.copy_update() as draft:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:
                    kill_if_stuck()
                draft.value.append("child" if pid == 0 else "parent")
            if pid == 0:
                with pointer.copy_update() as again:
                    again.value.append("again")
                os._exit(0 if pointer.read() == ["start", "child", "again"] else 1)
        except BaseException:
            if pid == 0:  # never back into the test run from the child
                traceback.print_exc()
                os._exit(2)
            raise
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert pointer.read() == ["start", "parent"]


def test_a_signal_changed_in_another_thread_at_the_fork_connects_and_emits_in_the_child() -> None:
    """Another thread held the signal's slot list: the child connects, emits, disconnects.

    Nothing public holds that lock for longer than a copy, so the test takes
    it, standing for a thread caught in the middle of a change.
    """
    changed = Signal[[int]](name="changed")
    heard: list[str] = []
    changed.connect(lambda n: heard.append(f"parent {n}"))
    gate = Gate()

    def hold() -> None:
        with changed._slots.lock:  # pyright: ignore[reportPrivateUsage]
            gate.stop_here()

    with stopped_inside(gate, hold) as errors:

        def child() -> bool:
            connection = changed.connect(lambda n: heard.append(f"child {n}"))
            changed.emit(1)
            connection.disconnect()
            changed.emit(2)
            return heard == ["parent 1", "child 1", "parent 2"]

        assert in_a_child(child) == 0
    assert errors == []
    changed.emit(3)
    assert heard == ["parent 3"]


def test_a_child_finishes_a_signal_change_its_parent_left_half_done() -> None:
    """Cut off between the steps of a change, the slot list is whole again in the child.

    The state each cut leaves is made by hand here (a fork cannot be aimed
    between two lines): an entry dropped but still listed, a cell whose call
    disagrees with its blocks, and a lowest priority above the last entry's.
    """
    changed = Signal[[]](name="half")
    heard: list[str] = []
    changed.connect(lambda: heard.append("first"), priority=5)
    changed.connect(lambda: heard.append("second"), priority=5)
    changed.connect(lambda: heard.append("third"), priority=1)
    slots = changed._slots  # pyright: ignore[reportPrivateUsage]
    first, _, third = slots.entries
    gate = Gate()

    def cut_short() -> None:
        with slots.lock:
            first.live = False  # the first step of a drop, and no more
            third.cell[0] = lambda: heard.append("stale")  # blocked or unblocked half way
            slots._lowest = 9  # pyright: ignore[reportPrivateUsage]
            gate.stop_here()

    with stopped_inside(gate, cut_short) as errors:

        def child() -> bool:
            changed.connect(lambda: heard.append("middle"), priority=3)
            changed.emit()
            return heard == ["second", "middle", "third"] and changed.statistics().connected == 3

        assert in_a_child(child) == 0
    assert errors == []


class Counted(IntrusiveRefCounted):
    """A counted object whose first count change stops at the gate, under its lock stripe."""

    gate: Gate | None = None

    def __getattr__(self, name: str) -> Any:
        if name == "_osv_refs" and Counted.gate is not None:
            Counted.gate.stop_here()
        raise AttributeError(name)


def test_a_count_changed_in_another_thread_at_the_fork_changes_in_the_child() -> None:
    """Another thread was inside ``add_ref()``, holding the object's lock stripe."""
    gate = Gate()
    Counted.gate = gate
    node = Counted()
    try:
        with stopped_inside(gate, node.add_ref) as errors:

            def child() -> bool:
                handle = IntrusivePtr(node)
                handle.clone().release()
                counted = node.ref_count
                handle.release()
                return counted == 1 and node.ref_count == 0

            assert in_a_child(child) == 0
        assert errors == []
        assert node.ref_count == 1  # the parent's add_ref() went on
        node.release()
    finally:
        Counted.gate = None


class SlowRegistry(CollectorRegistry):
    """A registry whose ``register`` stops at the gate: a bridge is being made."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def register(self, collector: Any) -> None:
        self.gate.stop_here()
        super().register(collector)


def test_a_bridge_made_in_another_thread_at_the_fork_does_not_stop_the_childs(
    unique: Callable[[str], str],
) -> None:
    """Another thread was inside ``to_prometheus()``: the child makes a bridge and scrapes it."""
    name = unique("forked_hits")
    point = declare_tracepoint(name)
    gate = Gate()
    slow = SlowRegistry(gate)

    with stopped_inside(gate, lambda: to_prometheus(name, registry=slow).close()) as errors:

        def child() -> bool:
            registry = CollectorRegistry()
            with to_prometheus(name, registry=registry):
                point()
                scraped = generate_latest(registry).decode()
            return f'osv_tracepoint_hits_total{{tracepoint="{name}"}} 1.0' in scraped

        assert in_a_child(child) == 0
    assert errors == []


def test_an_export_scraped_in_another_thread_at_the_fork_counts_and_times_in_the_child(
    unique: Callable[[str], str],
) -> None:
    """Another thread held a registry's export: the child's pair is timed, and its scrape shows it.

    A scrape and a pair's end hold the export's locks only while they copy or
    add a number, so the test takes them (the histograms' and the leases'),
    standing for a thread caught at that moment.
    """
    from osv_idioms.telemetry._bridge import _registries  # pyright: ignore[reportPrivateUsage]

    name = unique("forked_op")
    start, end = declare_tracepoint(name), declare_tracepoint(f"{name}_ret")
    registry = CollectorRegistry()
    bridge = to_prometheus(f"{name}*", registry=registry)
    export = _registries[registry]
    gate = Gate()

    def hold() -> None:
        with export._lock, export.tally.lock, export.pairs.lock:  # pyright: ignore[reportPrivateUsage]
            gate.stop_here()

    with stopped_inside(gate, hold) as errors:

        def child() -> bool:
            with to_prometheus(f"{name}*", registry=registry):
                start()
                end()
                scraped = generate_latest(registry).decode()
            return f'osv_tracepoint_duration_seconds_count{{tracepoint="{name}"}} 1.0' in scraped

        assert in_a_child(child) == 0
    assert errors == []
    bridge.close()


class GatedTable(io.StringIO):
    """A table whose writer stops at the gate: the sampler is printing a row, holding its lock."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    def write(self, text: str, /) -> int:
        self.gate.stop_here()
        return super().write(text)


def test_a_stat_printing_at_the_fork_is_the_parents_table_alone(
    unique: Callable[[str], str],
) -> None:
    """The sampler was printing a row at the fork: the child's copy prints nothing, and ends.

    The child's hits still count until it closes its copy, and a ``stat()``
    of its own prints as usual; the parent prints one table, of its own hits.
    """
    name = unique("forked_tick")
    tick = declare_tracepoint(name)
    gate = Gate()
    table = GatedTable(gate)
    running = trace.stat(name, interval=0.001, out=table)  # the sampler prints at once
    tick()
    assert gate.inside.wait(JOIN_TIMEOUT_S)
    try:

        def child() -> bool:
            tick()
            counted = running.counters[name]
            running.print_row()
            running.close()  # never takes the lock the sampler held
            tick()  # not counted: the copy's counting is off
            own = io.StringIO()
            with trace.stat(name, interval=3600, out=own):
                tick()
            return (counted, running.counters[name], table.getvalue()) == (2, 2, "") and (
                own.getvalue().splitlines()[1].split() == ["1"]
            )

        assert in_a_child(child) == 0
    finally:
        gate.open.set()
    tick()
    running.close()
    assert table.getvalue().count("total in") == 1
    assert table.getvalue().splitlines()[-1].split()[0] == "2"


def test_every_lock_a_library_module_keeps_is_free_in_the_child() -> None:
    """Each lock the library keeps for the process, held at the fork, is free in the child.

    The locks are found by walking the library's modules, so a lock added
    later without being registered fails here.
    """
    held = _module_locks()
    assert len(held) >= 7
    gate = Gate()

    def hold_them_all() -> None:
        with contextlib.ExitStack() as stack:
            for lock in held:
                assert lock.acquire(timeout=JOIN_TIMEOUT_S)
                stack.callback(lock.release)
            gate.stop_here()

    with stopped_inside(gate, hold_them_all) as errors:
        assert in_a_child(lambda: all(lock.acquire(timeout=5) for lock in held)) == 0
    assert errors == []


def _module_locks() -> list[Any]:
    """Every lock a library module, or a class of one, holds as an attribute."""
    import importlib
    import pkgutil

    import osv_idioms

    kinds = (type(threading.Lock()), type(threading.RLock()))
    found: dict[int, Any] = {}
    for info in pkgutil.walk_packages(osv_idioms.__path__, "osv_idioms."):
        if info.name.endswith(("__main__", "_pytest_plugin")) or "._cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        for value in list(vars(module).values()):
            places = [value, *vars(value).values()] if isinstance(value, type) else [value]
            for place in places:
                if isinstance(place, kinds) and not isinstance(place, Mutex):
                    found[id(place)] = place
    return list(found.values())


def test_children_forked_while_threads_write_everything_go_on_writing() -> None:
    """Forks while threads write to a dict, a signal and counts: each child writes to all three.

    Where a fork falls among the threads' steps is left to chance, many
    times over; each child must find every lock it needs free.
    """
    entries: RcuDict[int, int] = RcuDict()
    changed = Signal[[int]](name="busy")
    resource = SharedPtr(object())
    stop = threading.Event()
    codes: list[int] = []

    def write() -> None:
        for n in range(200_000):
            if stop.is_set():
                return
            entries[n % 64] = n

    def connect() -> None:
        for _ in range(200_000):
            if stop.is_set():
                return
            changed.connect(print).disconnect()

    def count() -> None:
        for _ in range(200_000):
            if stop.is_set():
                return
            resource.clone().release()

    def fork() -> None:
        try:
            codes.extend(in_a_child(child) for _ in range(20))
        finally:
            stop.set()

    def child() -> bool:
        entries[-1] = -1
        heard: list[int] = []
        changed.connect(heard.append)
        changed.emit(7)
        resource.clone().release()
        with rcu.read_lock():
            return entries[-1] == -1 and heard == [7]

    run_threads([write, connect, count, fork])
    resource.release()
    assert codes == [0] * 20


class TestRefusals:
    def test_a_lock_that_is_not_one_is_refused_and_none_of_the_others_is_kept(self) -> None:
        """``free_in_child`` checks every lock before it keeps any."""
        kept = len(forks._locks)  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(TypeError) as raised:
            forks.free_in_child(threading.Lock(), "lock")
        assert (
            str(raised.value) == "free_in_child() takes threading.Lock or RLock objects, got a str"
        )
        assert len(forks._locks) == kept  # pyright: ignore[reportPrivateUsage]

    def test_free_lock_refuses_what_is_not_a_lock(self) -> None:
        with pytest.raises(TypeError) as raised:
            forks.free_lock(object())
        assert (
            str(raised.value) == "free_lock() takes threading.Lock or RLock objects, got an object"
        )

    def test_an_owner_that_cannot_be_held_weakly_is_refused(self) -> None:
        with pytest.raises(TypeError) as raised:
            forks.reset_in_child(3, print)
        assert str(raised.value) == (
            "reset_in_child() holds its owner weakly, and an int can't be: "
            "give its class a __weakref__ slot"
        )

    def test_a_reset_that_is_not_callable_is_refused(self) -> None:
        with pytest.raises(TypeError) as raised:
            forks.reset_in_child(Gate(), "reset")  # type: ignore[arg-type]
        assert str(raised.value) == "reset must be callable as reset(owner), got a str ('reset')"

    def test_a_reset_that_is_a_coroutine_function_is_refused(self) -> None:
        async def reset(owner: Gate) -> None: ...

        with pytest.raises(TypeError) as raised:
            forks.reset_in_child(Gate(), reset)  # type: ignore[arg-type]
        assert str(raised.value) == (
            "reset must be callable as reset(owner), got the coroutine function "
            "'TestRefusals.test_a_reset_that_is_a_coroutine_function_is_refused.<locals>.reset': "
            "calling it would only make a coroutine that nothing awaits"
        )

    def test_an_owner_is_forgotten_when_it_goes(self) -> None:
        """Registering holds nothing alive, and leaves nothing behind once the owner has gone."""
        owners = forks._owners  # pyright: ignore[reportPrivateUsage]
        before = set(owners)
        owner = Gate()
        forks.reset_in_child(owner, Gate.stop_here)
        (key,) = set(owners) - before
        assert owners[key][0]() is owner
        del owner
        gc.collect()
        assert key not in owners


def test_an_owner_left_in_a_scripts_globals_goes_quietly_at_exit(tmp_path: Path) -> None:
    """An owner still alive at shutdown may go after the library's module globals: it goes quietly.

    With a reset that is the script's own ``lambda``, the owner went after
    ``osv_idioms.forks`` had been cleared, and its weak reference's callback
    failed (3.11 to 3.13 here; the free-threaded build did so at the end of
    the whole test suite).
    """
    done = run_script(
        tmp_path / "left.py",
        "from osv_idioms import forks\n"
        "class Owner:\n"
        "    pass\n"
        "owner = Owner()\n"
        "forks.reset_in_child(owner, lambda owner: None)\n"
        "print('done', flush=True)\n",
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "done\n", "")
