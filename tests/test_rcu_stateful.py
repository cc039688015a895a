"""The RCU domain's lifecycle against a model: sections, callbacks and grace periods in any order."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Mapping

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from osv_idioms.errors import GracePeriodTimeout
from osv_idioms.rcu import RcuDict, RcuDomain

WORKERS = 3
TIMEOUT_S = 30.0


class Worker:
    """A thread that opens and closes read sections when told, and says which section is open."""

    def __init__(self, domain: RcuDomain, index: int) -> None:
        self.domain = domain
        self.commands: queue.Queue[str] = queue.Queue()
        self.acks: queue.Queue[None] = queue.Queue()
        self.nesting = 0
        self.open_section: int | None = None  # the outermost section's serial, while open
        self.thread = threading.Thread(target=self._serve, name=f"reader-{index}", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        reader = self.domain.read_lock()
        while (command := self.commands.get(timeout=TIMEOUT_S)) != "stop":
            if command == "enter":
                reader.__enter__()
                if reader.nesting == 1:
                    self.open_section = next(_sections)  # set after entering: never early
            else:
                if reader.nesting == 1:
                    self.open_section = None  # cleared before leaving: never late
                reader.leave()
            self.acks.put(None)

    def tell(self, command: str) -> None:
        self.commands.put(command)
        self.acks.get(timeout=TIMEOUT_S)
        self.nesting += 1 if command == "enter" else -1


_sections = itertools.count(1)


class DomainLifecycle(RuleBasedStateMachine):
    """No callback runs while a section that was open when it was queued is still open."""

    readers = Bundle("readers")

    def __init__(self) -> None:
        super().__init__()
        self.domain = RcuDomain("model")
        self.workers = [Worker(self.domain, i) for i in range(WORKERS)]
        self.violations: list[str] = []
        self.queued = 0
        self.ran: list[int] = []

    def open_sections(self) -> set[int]:
        return {w.open_section for w in self.workers if w.open_section is not None}

    @initialize(target=readers)
    def start_the_readers(self) -> MultipleResults[Worker]:
        return multiple(*self.workers)

    @rule(worker=readers)
    def enter(self, worker: Worker) -> None:
        worker.tell("enter")

    @rule(worker=readers)
    def leave(self, worker: Worker) -> None:
        if worker.nesting > 0:
            worker.tell("leave")

    @rule()
    def queue_callback(self) -> None:
        waited_for = self.open_sections()
        ticket = self.queued
        self.queued += 1
        self.domain.call_rcu(self._make_callback(ticket, waited_for))

    def _make_callback(self, ticket: int, waited_for: set[int]) -> Callable[[], None]:
        def callback() -> None:
            still_open = waited_for & self.open_sections()
            if still_open:
                self.violations.append(f"callback {ticket} ran inside sections {still_open}")
            self.ran.append(ticket)

        return callback

    @precondition(lambda self: not any(w.nesting for w in self.workers))
    @rule()
    def barrier_with_no_section_open(self) -> None:
        self.domain.barrier(timeout=TIMEOUT_S)
        assert sorted(self.ran) == list(range(self.queued))

    @rule()
    def short_grace_period(self) -> None:
        try:
            self.domain.synchronize(timeout=0.01)
        except GracePeriodTimeout:
            assert any(w.nesting for w in self.workers)

    @invariant()
    def no_callback_ran_early(self) -> None:
        assert self.violations == []

    @invariant()
    def callbacks_run_in_order(self) -> None:
        ran = list(self.ran)  # one copy: the reclaimer may append while we compare
        assert ran == sorted(ran)

    def teardown(self) -> None:
        for worker in self.workers:
            while worker.nesting:
                worker.tell("leave")
        self.domain.barrier(timeout=TIMEOUT_S)
        assert sorted(self.ran) == list(range(self.queued))
        assert self.violations == []
        for worker in self.workers:
            worker.commands.put("stop")
            worker.thread.join(TIMEOUT_S)
        self.domain.close()


TestDomainLifecycle = DomainLifecycle.TestCase
TestDomainLifecycle.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


class Box:
    """A value that retires: closed once, after a grace period."""

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


class RcuDictAgainstADict(RuleBasedStateMachine):
    """An RcuDict growing past many doublings, against a dict, with snapshots kept along the way.

    Keys include equal keys of different types (1, 1.0, True) and keys whose
    hashes collide in the low bits. The invariant looks keys up without a
    snapshot, so runs of writes store in place between the snapshots that
    ``walk`` and ``take_snapshot`` hand out, and the write after each copies.
    """

    keys = Bundle("keys")
    snapshots = Bundle("snapshots")

    def __init__(self) -> None:
        super().__init__()
        self.domain = RcuDomain("dict-model")
        self.table: RcuDict[object, Box] = RcuDict(domain=self.domain, retire=Box.close)
        self.model: dict[object, Box] = {}
        self.retired: list[Box] = []
        self.serials = itertools.count()

    def _box(self) -> Box:
        return Box(next(self.serials))

    @rule(
        target=keys,
        key=st.one_of(
            st.integers(-(2**70), 2**70),
            st.text(max_size=3),
            st.sampled_from([1, 1.0, True, 0, 0.0, False]),
            st.integers(0, 50).map(lambda n: n << 40),
        ),
    )
    def make_key(self, key: object) -> object:
        return key

    @rule(key=keys)
    def put(self, key: object) -> None:
        box = self._box()
        old = self.model.get(key)
        assert self.table.put(key, box) is old
        if old is not None:
            self.retired.append(old)
        self.model[key] = box

    @rule(key=keys)
    def remove(self, key: object) -> None:
        if key in self.model:
            assert self.table.remove(key) is self.model[key]
            self.retired.append(self.model.pop(key))
        else:
            with pytest.raises(KeyError):
                self.table.remove(key)

    @rule(first=st.lists(keys, max_size=40), many=st.integers(0, 300))
    def update(self, first: list[object], many: int) -> None:
        """Set some bundled keys and up to 300 fresh ones at once: enough to make it grow."""
        pairs = {key: self._box() for key in first} | {
            ("fresh", next(self.serials)): self._box() for _ in range(many)
        }
        self.retired.extend(self.model[key] for key in pairs if key in self.model)
        self.table.update(pairs)
        self.model.update(pairs)

    @rule()
    def clear(self) -> None:
        self.retired.extend(self.model.values())
        self.table.clear()
        self.model.clear()

    @rule(target=snapshots)
    def take_snapshot(self) -> tuple[Mapping[object, Box], dict[object, Box]]:
        return self.table.snapshot(), dict(self.model)

    @rule(taken=snapshots)
    def a_snapshot_never_changes(
        self, taken: tuple[Mapping[object, Box], dict[object, Box]]
    ) -> None:
        snapshot, then = taken
        assert dict(snapshot.items()) == then
        assert len(snapshot) == len(then)
        assert all(key in snapshot for key in then)

    @rule(key=keys)
    def look_up(self, key: object) -> None:
        assert self.table.get(key) is self.model.get(key)
        assert (key in self.table) == (key in self.model)

    @rule()
    def walk(self) -> None:
        assert dict(self.table.items()) == self.model
        assert sorted(map(repr, self.table)) == sorted(map(repr, self.model))

    @invariant()
    def same_contents(self) -> None:
        assert len(self.table) == len(self.model)
        assert all(self.table[key] is box for key, box in self.model.items())

    def teardown(self) -> None:
        self.domain.barrier(timeout=TIMEOUT_S)
        assert [box.closes for box in self.retired] == [1] * len(self.retired)
        assert all(box.closes == 0 for box in self.model.values())
        self.domain.close()


TestRcuDictAgainstADict = RcuDictAgainstADict.TestCase
TestRcuDictAgainstADict.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
