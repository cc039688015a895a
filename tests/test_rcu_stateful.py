"""The RCU domain's lifecycle against a model: sections, callbacks and grace periods in any order."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable

from hypothesis import settings
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
from osv_idioms.rcu import RcuDomain

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
