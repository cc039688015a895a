"""osv_idioms.rcu: read sections, grace periods, deferred callbacks and the containers."""

from __future__ import annotations

import _thread
import contextlib
import itertools
import os
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from osv_idioms import rcu, trace
from osv_idioms.errors import GracePeriodTimeout, RcuCallbackWarning, RcuReaderExitedWarning
from osv_idioms.rcu import RcuDict, RcuDomain, RcuList, RcuPtr
from tests._forking import in_a_child
from tests._scripts import run_script

JOIN_TIMEOUT_S = 30.0

LEAKS_THE_COLLECTOR_QUEUES = """
import faulthandler, gc, threading, warnings
from osv_idioms.rcu import RcuDomain
from osv_idioms.refcount import SharedPtr

faulthandler.dump_traceback_later(30, exit=True)  # a thread waiting for itself fails, not hangs
warnings.simplefilter("ignore", ResourceWarning)  # the leaks below are on purpose

class Device:
    def close(self):
        closed.append(self)

def leak_on(domain):  # in a cycle: only the collector frees the handle, whose release queues a close
    device = Device()
    device.handle = SharedPtr(device, rcu=domain)

def reclaimers_of(domain):
    return [t for t in threading.enumerate() if t.name == f"rcu-reclaimer-{domain.name}"]

closed, ran, wrong = [], [], []
running = RcuDomain("running")
running.call_rcu(ran.append, "first")  # its reclaimer runs from now on
for threshold in range(1, 41):  # so that a collection starts at each step in turn
    for _ in range(5):
        gc.disable()  # the cycles stay young, for the next collection to free them
        fresh = RcuDomain("fresh")
        gc.collect()  # and the count starts low
        leak_on(running)
        leak_on(fresh)
        gc.set_threshold(threshold)
        gc.enable()
        running.call_rcu(ran.append, "running")
        fresh.call_rcu(ran.append, "fresh")  # its first call_rcu starts its reclaimer
        gc.collect()
        if len(reclaimers_of(fresh)) != 1:
            wrong.append((threshold, len(reclaimers_of(fresh))))
        running.barrier()  # returns once "running" was run: the tickets kept the queue's order
        fresh.close()
print("ran:", len(ran), "closed:", len(closed), "reclaimers wrong:", wrong)
"""


class Device:
    """A resource whose close() must not happen while a reader uses it.

    Given the parked reader that uses it, it notes whether it was closed
    while that reader's section was still open.
    """

    def __init__(self, name: str, reader: InSection | None = None) -> None:
        self.name = name
        self.closed = False
        self.closed_under_a_reader = False
        self._reader = reader

    def close(self) -> None:
        self.closed = True
        self.closed_under_a_reader = self._reader is not None and self._reader.open

    def __repr__(self) -> str:
        return f"Device({self.name!r})"


_domains = itertools.count()


@pytest.fixture
def domain() -> Iterator[RcuDomain]:
    """A domain of the test's own, closed (callbacks run) at the end."""
    made = RcuDomain(f"test-{next(_domains)}")  # its own name: probes can tell it apart
    yield made
    made.close(timeout=JOIN_TIMEOUT_S)


class InSection:
    """A thread parked inside a read section until ``release()``."""

    def __init__(self, domain: RcuDomain, *, nested: int = 1) -> None:
        self.open = False  # True from entering the section until just before leaving it
        self.entered = threading.Event()
        self._leave = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(domain, nested), name="parked")
        self.thread.start()
        assert self.entered.wait(JOIN_TIMEOUT_S)

    def _run(self, domain: RcuDomain, nested: int) -> None:
        reader = domain.read_lock()
        for _ in range(nested):
            reader.__enter__()
        self.open = True
        self.entered.set()
        self._leave.wait(JOIN_TIMEOUT_S)
        self.open = False  # whatever runs after a grace period must see this
        for _ in range(nested):
            reader.leave()

    def release(self) -> None:
        self._leave.set()
        self.thread.join(JOIN_TIMEOUT_S)
        assert not self.thread.is_alive()


@contextlib.contextmanager
def grace_period_begun(domain: RcuDomain) -> Iterator[threading.Event]:
    """An event set when another thread (a waiter, the reclaimer) begins a grace period of ``domain``.

    Seen through the ``rcu_synchronize`` tracepoint, which fires as a grace
    period begins. Waiting for it before ending a parked section makes sure
    the grace period started while that section was open.
    """
    begun = threading.Event()
    me = threading.get_ident()

    def probe(name: str, args: tuple[object, ...]) -> None:
        if args == (domain.name,) and threading.get_ident() != me:
            begun.set()

    handle = trace.add_probe("rcu_synchronize", probe)
    try:
        yield begun
    finally:
        handle.remove()


def in_thread(fn: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=fn, name="helper")
    thread.start()
    return thread


class TestReadSections:
    def test_nested_sections_count_as_one(self, domain: RcuDomain) -> None:
        """Nested sections keep the outer one's grace period; leaving the last ends it."""
        with domain.read_lock() as reader:
            period = reader.period
            with domain.read_lock():
                assert (reader.nesting, reader.period) == (2, period)
            assert domain.in_read_section()
        assert (reader.nesting, reader.period, domain.in_read_section()) == (0, 0, False)

    def test_one_reader_per_thread(self, domain: RcuDomain) -> None:
        """``read_lock()`` returns the same reusable object in a thread, another in another."""
        mine = domain.read_lock()
        assert domain.read_lock() is mine
        other: list[rcu.Reader] = []
        in_thread(lambda: other.append(domain.read_lock())).join(JOIN_TIMEOUT_S)
        assert other[0] is not mine
        assert other[0].thread.name == "helper"

    def test_leaving_a_section_not_entered(self, domain: RcuDomain) -> None:
        """Leaving with no section open is a RuntimeError naming the thread; nothing changes."""
        reader = domain.read_lock()
        with pytest.raises(
            RuntimeError, match=r"^thread 'MainThread' left a read section it had not entered$"
        ):
            reader.leave()
        assert reader.nesting == 0

    def test_domains_are_independent(self, domain: RcuDomain) -> None:
        """A section in one domain does not hold up another domain's grace period."""
        with rcu.read_lock():
            domain.synchronize(timeout=JOIN_TIMEOUT_S)
            assert not domain.in_read_section()


class TestSynchronize:
    def test_waits_for_a_section_that_began_before(self, domain: RcuDomain) -> None:
        """synchronize() returns only after an older section has ended."""
        parked = InSection(domain)
        parked_open_at_return: list[bool] = []

        def synchronize_then_say_so() -> None:
            domain.synchronize(timeout=JOIN_TIMEOUT_S)
            parked_open_at_return.append(parked.open)

        with grace_period_begun(domain) as begun:
            waiter = in_thread(synchronize_then_say_so)
            assert begun.wait(JOIN_TIMEOUT_S)
        with pytest.raises(GracePeriodTimeout):  # one look: the parked section holds it up
            domain.synchronize(timeout=0)
        parked.release()
        waiter.join(JOIN_TIMEOUT_S)
        assert parked_open_at_return == [False]

    def test_nested_section_is_waited_for_until_the_outermost_ends(self, domain: RcuDomain) -> None:
        """A section entered three times is one section: waited for until fully left."""
        parked = InSection(domain, nested=3)
        with pytest.raises(GracePeriodTimeout):
            domain.synchronize(timeout=0.05)
        parked.release()
        domain.synchronize(timeout=JOIN_TIMEOUT_S)

    def test_ignores_sections_that_begin_later(self, domain: RcuDomain) -> None:
        """A section that begins after the call, and stays open, does not hold it up."""
        start_late_section = threading.Event()
        late_section_open = threading.Event()
        stop = threading.Event()

        def late_reader() -> None:
            start_late_section.wait(JOIN_TIMEOUT_S)
            with domain.read_lock():
                late_section_open.set()
                stop.wait(JOIN_TIMEOUT_S)

        parked = InSection(domain)
        reader = in_thread(late_reader)
        outcome: list[str] = []

        def synchronizer() -> None:
            domain.synchronize(timeout=JOIN_TIMEOUT_S)
            outcome.append("done")

        period_before = domain.period
        waiter = in_thread(synchronizer)
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while domain.period == period_before and time.monotonic() < deadline:
            time.sleep(0.001)  # until synchronize() has begun its grace period
        start_late_section.set()
        assert late_section_open.wait(JOIN_TIMEOUT_S)
        parked.release()  # the only older section ends: the late one, still open, must not matter
        waiter.join(JOIN_TIMEOUT_S)
        done_while_late_section_open = outcome == ["done"] and not stop.is_set()
        stop.set()
        reader.join(JOIN_TIMEOUT_S)
        assert done_while_late_section_open

    def test_timeout_names_the_reader(self, domain: RcuDomain) -> None:
        """A bounded wait raises GracePeriodTimeout naming the thread still inside."""
        parked = InSection(domain)
        try:
            with pytest.raises(
                GracePeriodTimeout,
                match=r"^synchronize\(\) timed out after 0.01 s: thread 'parked' is still in a read section of 'test-\d+'$",
            ):
                domain.synchronize(timeout=0.01)
        finally:
            parked.release()
        assert isinstance(GracePeriodTimeout("x"), TimeoutError)

    def test_inside_a_section_is_refused(self, domain: RcuDomain) -> None:
        """synchronize() and barrier() in a section would wait for themselves: refused."""
        with domain.read_lock():
            for call in (domain.synchronize, domain.barrier):
                with pytest.raises(
                    RuntimeError, match=r"inside a read section would wait for that section to end"
                ):
                    call()
            assert domain.in_read_section()

    def test_thread_that_exits_inside_is_reported(self, domain: RcuDomain) -> None:
        """A thread that ended inside a section is reported and no longer waited for."""

        def leave_open() -> None:
            domain.read_lock().__enter__()

        thread = threading.Thread(target=leave_open, name="quitter")
        thread.start()
        thread.join(JOIN_TIMEOUT_S)
        with pytest.warns(
            RcuReaderExitedWarning,
            match=r"^thread 'quitter' ended inside a read section of 'test-\d+'; grace periods no longer wait for it$",
        ):
            domain.synchronize(timeout=JOIN_TIMEOUT_S)
        domain.synchronize(timeout=JOIN_TIMEOUT_S)  # forgotten: no second report

    def test_records_of_ended_threads_are_dropped(self, domain: RcuDomain) -> None:
        """Short-lived reader threads leave no record behind: each goes as its thread ends."""
        before = domain.readers

        def one_section() -> None:
            with domain.read_lock():
                pass

        workers = [threading.Thread(target=one_section) for _ in range(20)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(JOIN_TIMEOUT_S)
        assert domain.readers == before

    def test_records_of_raw_threads_are_dropped(self, domain: RcuDomain) -> None:
        """Threads made with ``_thread.start_new_thread`` are forgotten as they end too."""
        before = domain.readers
        done = threading.Semaphore(0)

        def one_section() -> None:
            with domain.read_lock():
                pass
            done.release()

        for _ in range(20):
            _thread.start_new_thread(one_section, ())
        for _ in range(20):
            assert done.acquire(timeout=JOIN_TIMEOUT_S)
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while domain.readers != before and time.monotonic() < deadline:
            time.sleep(0.001)  # the thread's state is cleared just after its function returns
        assert domain.readers == before

    def test_ten_thousand_threads_leave_bounded_records(self, domain: RcuDomain) -> None:
        """10,000 reader threads, 50 at a time: records never pile up beyond the live ones."""
        before = domain.readers
        most = 0

        def one_section() -> None:
            with domain.read_lock():
                pass

        for _ in range(200):
            workers = [threading.Thread(target=one_section) for _ in range(50)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(JOIN_TIMEOUT_S)
            most = max(most, domain.readers - before)
        assert most == 0
        domain.synchronize(timeout=JOIN_TIMEOUT_S)

    def test_grace_periods_are_traced_as_a_timed_pair(self, domain: RcuDomain) -> None:
        """rcu_synchronize / rcu_synchronize_ret bracket each grace period."""
        with trace.count("rcu_synchronize", "rcu_synchronize_ret") as counts:
            domain.synchronize()
            domain.synchronize()
        assert dict(counts) == {"rcu_synchronize": 2, "rcu_synchronize_ret": 2}


class TestCallbacks:
    def test_call_rcu_runs_after_older_sections(self, domain: RcuDomain) -> None:
        """A callback queued while a section is open runs only after it ends."""
        parked = InSection(domain)
        parked_open_when_run: list[bool] = []
        with grace_period_begun(domain) as begun:
            domain.call_rcu(lambda: parked_open_when_run.append(parked.open))
            assert begun.wait(JOIN_TIMEOUT_S)  # the reclaimer's grace period, with parked open
        parked.release()
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert parked_open_when_run == [False]

    def test_call_rcu_never_blocks_inside_a_section(self, domain: RcuDomain) -> None:
        """Queuing from inside a section returns at once; the callback waits for the section."""
        inside = [False]
        seen_inside: list[bool] = []
        with grace_period_begun(domain) as begun, domain.read_lock():
            inside[0] = True
            domain.call_rcu(lambda: seen_inside.append(inside[0]))
            assert domain.pending() == 1
            assert begun.wait(JOIN_TIMEOUT_S)
            inside[0] = False
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert (seen_inside, domain.pending()) == ([False], 0)

    def test_callbacks_run_in_order_with_their_arguments(self, domain: RcuDomain) -> None:
        """Callbacks run in the order queued, each with its own arguments."""
        order: list[int] = []
        for i in range(20):
            domain.call_rcu(order.append, i)
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert order == list(range(20))

    def test_exception_is_reported_and_later_callbacks_run(self, domain: RcuDomain) -> None:
        """A failing callback is reported through on_error; the next still runs."""
        errors: list[tuple[object, BaseException]] = []
        reporting = RcuDomain("reporting", on_error=lambda fn, exc: errors.append((fn, exc)))
        ran: list[str] = []

        def broken() -> None:
            raise ValueError("close failed")

        reporting.call_rcu(broken)
        reporting.call_rcu(ran.append, "after")
        reporting.barrier(timeout=JOIN_TIMEOUT_S)
        reporting.close()
        assert ran == ["after"]
        assert [(fn, str(exc)) for fn, exc in errors] == [(broken, "close failed")]

    def test_default_report_is_a_warning(self, domain: RcuDomain) -> None:
        """Without on_error, a failing callback is an RcuCallbackWarning."""

        def broken() -> None:
            raise ValueError("nope")

        domain.call_rcu(broken)
        with pytest.warns(
            RcuCallbackWarning, match=r"RCU callback '.*broken' raised ValueError: nope"
        ):
            domain.barrier(timeout=JOIN_TIMEOUT_S)

    def test_dispose_closes_after_a_grace_period(self, domain: RcuDomain) -> None:
        """dispose(obj) is obj.close() after a grace period (OSv's rcu_dispose)."""
        parked = InSection(domain)
        device = Device("eth0", parked)
        with grace_period_begun(domain) as begun:
            domain.dispose(device)
            assert begun.wait(JOIN_TIMEOUT_S)
        parked.release()
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert (device.closed, device.closed_under_a_reader) == (True, False)

    def test_bad_arguments(self, domain: RcuDomain) -> None:
        """A non-callable or a closeless object is refused at the call; nothing is queued."""
        with pytest.raises(
            TypeError,
            match=r"^call_rcu\(\)'s callback must be callable as fn\(\*args\), got an int \(3\)$",
        ):
            domain.call_rcu(3)  # type: ignore[arg-type]
        with pytest.raises(
            TypeError, match=r"^dispose\(\) needs an object with a close\(\) method, got a str$"
        ):
            domain.dispose("text")
        assert domain.pending() == 0

    def test_barrier_timeout(self, domain: RcuDomain) -> None:
        """barrier() with a timeout gives up while an older section stays open."""
        parked = InSection(domain)
        domain.call_rcu(lambda: None)
        try:
            with pytest.raises(
                GracePeriodTimeout,
                match=r"^barrier\(\) timed out after 0.05 s with callbacks of 'test-\d+' still waiting",
            ):
                domain.barrier(timeout=0.05)
        finally:
            parked.release()

    def test_closed_domain_refuses_callbacks(self) -> None:
        """After close() (which runs what was queued), call_rcu is refused."""
        closing = RcuDomain("closing")
        ran: list[int] = []
        closing.call_rcu(ran.append, 1)
        closing.close()
        assert ran == [1]
        with pytest.raises(RuntimeError, match=r"^RCU domain 'closing' is closed$"):
            closing.call_rcu(ran.append, 2)

    def test_callbacks_left_at_exit_run(self, tmp_path: Any) -> None:
        """Callbacks still queued when the interpreter exits are run."""
        done = run_script(
            tmp_path / "atexit_rcu.py",
            "from osv_idioms import rcu\nrcu.call_rcu(print, 'ran at exit')\n",
        )
        assert (done.returncode, done.stdout) == (0, "ran at exit\n"), done.stderr


class TestReclaimerLifecycle:
    def test_a_reclaimer_that_could_not_start_is_started_by_the_next_call(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``call_rcu()`` says the thread could not start; the callback waits, and the next starts it."""
        unstartable = RcuDomain("unstartable")
        ran: list[int] = []

        def refuse(thread: threading.Thread) -> None:
            raise RuntimeError("can't start new thread")

        monkeypatch.setattr(threading.Thread, "start", refuse)
        with pytest.raises(RuntimeError, match=r"^can't start new thread$"):
            unstartable.call_rcu(ran.append, 1)
        monkeypatch.undo()
        unstartable.call_rcu(ran.append, 2)
        unstartable.close(timeout=JOIN_TIMEOUT_S)
        assert ran == [1, 2]

    def test_call_rcu_from_the_collector_inside_call_rcu_neither_hangs_nor_starts_two_reclaimers(
        self, tmp_path: Any
    ) -> None:
        """Leaked ``SharedPtr``s with an RCU deleter, freed while ``call_rcu()`` holds its locks.

        A collection can start inside ``call_rcu()``: while it queues, while
        it starts the reclaimer, or while it wakes it. Each leaked handle it
        frees calls ``call_rcu()`` again in that thread. In a fresh
        interpreter, with the threshold swept so that a collection starts at
        each step in turn: no thread waits for itself, each domain has one
        reclaimer, every callback and close runs, and ``barrier()`` returns.
        """
        done = run_script(tmp_path / "leaks.py", LEAKS_THE_COLLECTOR_QUEUES)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "ran: 401 closed: 400 reclaimers wrong: []\n"

    @pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt, GeneratorExit])
    def test_callbacks_raising_base_exceptions_are_reported(
        self, kind: type[BaseException]
    ) -> None:
        """A callback raising SystemExit, KeyboardInterrupt or GeneratorExit is reported; the rest run."""
        errors: list[BaseException] = []
        reporting = RcuDomain("reporting", on_error=lambda fn, exc: errors.append(exc))
        ran: list[int] = []

        def fails() -> None:
            raise kind("from a callback")

        reporting.call_rcu(ran.append, 1)
        reporting.call_rcu(fails)
        reporting.call_rcu(ran.append, 2)
        reporting.barrier(timeout=JOIN_TIMEOUT_S)
        reporting.call_rcu(ran.append, 3)  # the reclaimer survived
        reporting.close(timeout=JOIN_TIMEOUT_S)
        assert ran == [1, 2, 3]
        assert [(type(e), str(e)) for e in errors] == [(kind, "from a callback")]

    def test_an_on_error_that_raises_is_reported_and_the_reclaimer_goes_on(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An ``on_error`` that raises is printed as Python prints an unraisable; callbacks go on."""

        def on_error(fn: object, exc: BaseException) -> None:
            raise SystemExit(f"on_error gave up on {exc}")

        def fails() -> None:
            raise LookupError("the callback failed")

        reporting = RcuDomain("picky", on_error=on_error)
        ran: list[int] = []
        reporting.call_rcu(fails)
        reporting.call_rcu(ran.append, 1)
        reporting.barrier(timeout=JOIN_TIMEOUT_S)
        reporting.close(timeout=JOIN_TIMEOUT_S)
        assert ran == [1]
        printed = capsys.readouterr().err.splitlines()
        assert printed[0] == "Exception ignored in on_error of RCU domain 'picky':"
        assert printed[-1] == "SystemExit: on_error gave up on the callback failed"

    @pytest.mark.parametrize("verb", ["barrier", "close"])
    def test_waiting_for_the_reclaimer_from_a_callback_is_refused(self, verb: str) -> None:
        """``barrier()`` or ``close()`` inside a callback is a RuntimeError, not a deadlock."""
        errors: list[BaseException] = []
        reporting = RcuDomain("selfish", on_error=lambda fn, exc: errors.append(exc))
        reporting.call_rcu(getattr(reporting, verb))
        reporting.barrier(timeout=JOIN_TIMEOUT_S)
        reporting.close(timeout=JOIN_TIMEOUT_S)
        assert [str(e) for e in errors] == [
            f"{verb}() called by an RCU callback of 'selfish' would wait for that callback "
            "to finish: a deadlock. Queue the work with call_rcu() instead"
        ]

    def test_close_raises_while_a_taken_batch_waits_for_a_reader(self, domain: RcuDomain) -> None:
        """``close(timeout)`` raises while a reader holds back a batch; nothing is dropped."""
        device = Device("eth0")
        parked = InSection(domain)
        domain.dispose(device)
        with pytest.raises(
            GracePeriodTimeout,
            match=r"^barrier\(\) timed out after 0.05 s with callbacks of 'test-\d+' still waiting",
        ):
            domain.close(timeout=0.05)
        assert not device.closed
        parked.release()
        domain.close(timeout=JOIN_TIMEOUT_S)
        assert device.closed

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_parent_and_child_keep_working_after_fork(self, domain: RcuDomain) -> None:
        """After ``os.fork()``, both processes run callbacks, the batch in flight included."""
        domain.call_rcu(int)
        domain.barrier(timeout=JOIN_TIMEOUT_S)  # the reclaimer has started
        parked = InSection(domain)  # holds the next batch back in the parent's reclaimer
        device = Device("eth0")
        with grace_period_begun(domain) as begun:
            domain.dispose(device)
            assert begun.wait(JOIN_TIMEOUT_S)  # the reclaimer has taken the batch: in flight

        def child() -> bool:  # the parked reader does not exist here
            domain.barrier(timeout=JOIN_TIMEOUT_S)
            ran: list[int] = []
            domain.call_rcu(ran.append, 1)
            domain.barrier(timeout=JOIN_TIMEOUT_S)
            return device.closed and ran == [1]

        assert in_a_child(child) == 0
        assert not device.closed  # the parent still waits for its reader
        parked.release()
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert device.closed

    def test_everything_disposed_before_the_interpreter_ends_is_closed(self, tmp_path: Any) -> None:
        """At exit, disposals after the exit hook still close: from atexit, ``__del__`` and leaks."""
        done = run_script(
            tmp_path / "late.py",
            textwrap.dedent(
                """
                import atexit

                class Device:
                    def __init__(self, name):
                        self.name = name
                    def close(self):
                        print("closed", self.name, flush=True)

                def late():  # registered before the library's hook, so it runs after it
                    rcu.dispose(Device("from atexit"))
                    shared.release()

                atexit.register(late)
                from osv_idioms import rcu
                from osv_idioms.refcount import SharedPtr

                shared = SharedPtr(Device("rcu handle"), rcu=True)
                leaked = SharedPtr(Device("leaked"), rcu=True)

                class Owner:
                    def __del__(self):
                        rcu.dispose(Device("from __del__"))

                keeper = Owner()
                leaked_cycle = [leaked]
                leaked_cycle.append(leaked_cycle)
                """
            ),
            "-W",
            "ignore::ResourceWarning",
        )
        assert done.returncode == 0, done.stderr
        assert sorted(done.stdout.splitlines()) == [
            "closed from __del__",
            "closed from atexit",
            "closed leaked",
            "closed rcu handle",
        ], done.stderr


class TestRcuPtr:
    def test_read_assign_and_bool(self, domain: RcuDomain) -> None:
        """read() loads, assign() publishes and returns the old value, bool() tests for None."""
        ptr: RcuPtr[tuple[str, ...] | None] = RcuPtr(None, domain=domain)
        assert not ptr
        assert ptr.assign(("a",)) is None
        assert ptr
        assert ptr.read() == ptr.read_by_owner() == ("a",)
        assert repr(ptr) == "RcuPtr(('a',))"

    def test_copy_update_publishes_and_retires(self, domain: RcuDomain) -> None:
        """The draft is a copy; a clean exit publishes it and retires the old value."""
        original = [Device("a")]
        ptr = RcuPtr(original, domain=domain)
        retired: list[list[Device]] = []
        with ptr.copy_update(retire=retired.append) as draft:
            draft.value.append(Device("b"))
            assert ptr.read() is original  # readers still see the old list
            assert ptr.writer.owned()
        assert [d.name for d in ptr.read()] == ["a", "b"]
        assert [d.name for d in original] == ["a"]
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert retired == [original]
        assert not ptr.writer.owned()

    def test_copy_update_exception_publishes_nothing(self, domain: RcuDomain) -> None:
        """An exception in the block leaves the value and the writer mutex as they were."""
        ptr: RcuPtr[tuple[int, ...]] = RcuPtr((1, 2), domain=domain)
        with pytest.raises(KeyError), ptr.copy_update() as draft:
            draft.value = (3,)
            raise KeyError("abandon")
        assert ptr.read() == (1, 2)
        assert not ptr.writer.owned()

    def test_writer_mutex_is_named_after_the_creation_site(self, domain: RcuDomain) -> None:
        """Unnamed pointers get a lock class of their own creation site; a name wins."""
        ptr = RcuPtr(0, domain=domain)
        assert ptr.writer.label.startswith(f"rcu_ptr@{__file__}:")
        assert RcuPtr(0, domain=domain, name="devices").writer.label == "devices"

    def test_copy_update_inside_copy_update_is_refused(self, domain: RcuDomain) -> None:
        """An inner block of the same pointer would be published over: it is refused, the outer goes on."""
        ptr: RcuPtr[tuple[int, ...]] = RcuPtr((1,), domain=domain)
        with ptr.copy_update() as draft:
            with pytest.raises(RuntimeError) as refused, ptr.copy_update():
                pass  # never reached: entering the inner block raises
            draft.value = (2,)
        assert str(refused.value) == (
            "RcuPtr.copy_update() was called inside another write to the same RcuPtr in this "
            "thread (inside its copy_update() block, or the value's __copy__), which would undo "
            "it: write once that call has returned"
        )
        assert ptr.read() == (2,)
        assert not ptr.writer.owned()
        with ptr.copy_update() as draft:  # closing the outer block unmarked the pointer
            draft.value = (3,)
        assert ptr.read() == (3,)

    def test_copy_update_from_the_values_copy_is_refused_and_publishes_nothing(
        self, domain: RcuDomain
    ) -> None:
        """A ``__copy__`` that updates the same pointer: the outer entry fails, nothing changes."""

        class Config:
            def __copy__(self) -> Config:
                with ptr.copy_update() as inner:  # refused: the outer entry is copying
                    inner.value = Config()
                return Config()

        first = Config()
        ptr = RcuPtr(first, domain=domain)
        with pytest.raises(RuntimeError) as refused:
            ptr.copy_update().__enter__()
        assert str(refused.value).startswith(
            "RcuPtr.copy_update() was called inside another write to the same RcuPtr"
        )
        assert ptr.read() is first
        assert not ptr.writer.owned()
        ptr.assign(None)  # type: ignore[arg-type]  # a value whose copy updates nothing
        with ptr.copy_update() as draft:  # the refused entry unmarked the pointer
            draft.value = first
        assert ptr.read() is first


class TestRcuList:
    def test_reads_see_a_snapshot(self, domain: RcuDomain) -> None:
        """An iteration started before a write sees the list as it was."""
        items = RcuList([1, 2, 3], domain=domain)
        walk = iter(items)
        items.append(4)
        assert list(walk) == [1, 2, 3]
        assert (list(items), len(items), items[0], items[1:3], 4 in items) == (
            [1, 2, 3, 4],
            4,
            1,
            (2, 3),
            True,
        )
        assert repr(items) == "RcuList([1, 2, 3, 4])"

    def test_writes(self, domain: RcuDomain) -> None:
        """append, extend, insert, remove, pop and clear publish new tuples."""
        items: RcuList[str] = RcuList(domain=domain)
        items.extend(["b", "d"])
        items.insert(0, "a")
        items.insert(2, "c")
        assert items.snapshot() == ("a", "b", "c", "d")
        assert items.pop() == "d"
        assert items.pop(0) == "a"
        items.remove("b")
        assert items.snapshot() == ("c",)
        items.clear()
        assert items.snapshot() == ()

    def test_removed_values_are_retired_after_a_grace_period(self, domain: RcuDomain) -> None:
        """remove/pop/clear pass what they removed to retire, after a grace period."""
        parked = InSection(domain)
        a, b, c = (Device(name, parked) for name in "abc")
        devices = RcuList([a, b, c], domain=domain)
        with grace_period_begun(domain) as begun:
            devices.remove(a, retire=Device.close)
            devices.pop(retire=Device.close)
            assert begun.wait(JOIN_TIMEOUT_S)
        parked.release()
        devices.clear(retire=Device.close)
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert [(d.closed, d.closed_under_a_reader) for d in (a, b, c)] == [(True, False)] * 3

    def test_bad_removals_change_nothing(self, domain: RcuDomain) -> None:
        """Removing what is absent, or popping an empty list, raises and changes nothing."""
        items = RcuList([1], domain=domain)
        with pytest.raises(ValueError, match=r"^RcuList.remove\(2\): not in the list$"):
            items.remove(2)
        items.pop()
        with pytest.raises(IndexError, match=r"^pop from an empty RcuList$"):
            items.pop()
        assert items.snapshot() == ()
        assert not items.writer.owned()

    @pytest.mark.parametrize(
        ("call", "inner"),
        [
            ("append()", lambda items: items.append(9)),
            ("extend()", lambda items: items.extend([9])),
            ("insert()", lambda items: items.insert(0, 9)),
            ("remove()", lambda items: items.remove(1)),
            ("pop()", lambda items: items.pop()),
            ("clear()", lambda items: items.clear()),
        ],
    )
    def test_a_write_from_an_items_eq_inside_remove_is_refused(
        self, domain: RcuDomain, call: str, inner: Callable[[RcuList[Any]], object]
    ) -> None:
        """remove() compares items with their Python ``__eq__``; a write from there is refused."""
        refused: list[str] = []

        class Probe:
            """Equal to 2; its first comparison writes to the list."""

            armed = True

            def __eq__(self, other: object) -> bool:
                if self.armed:
                    self.armed = False
                    try:
                        inner(items)
                    except RuntimeError as error:
                        refused.append(str(error))
                return other == 2

            def __hash__(self) -> int:
                return hash(2)

        items: RcuList[Any] = RcuList([1, 2, 3], domain=domain)
        items.remove(Probe())
        assert refused == [
            f"RcuList.{call} was called inside another write to the same RcuList in this "
            "thread (from an item's __eq__, as remove() compares it), which would undo it: "
            "write once that call has returned"
        ]
        assert items.snapshot() == (1, 3)
        assert not items.writer.owned()
        items.append(4)  # remove() unmarked the list on its way out
        assert items.snapshot() == (1, 3, 4)


def _allocated_at_most(work: Callable[[], object]) -> int:
    """The most memory ``work()`` held at once beyond what was held before (tracemalloc on)."""
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    work()
    return tracemalloc.get_traced_memory()[1] - before


def _set_then_wait(done: threading.Event, then: threading.Event) -> Callable[[], None]:
    """A hook that says a thread got there, then holds it until told to go on."""

    def hook() -> None:
        done.set()
        assert then.wait(JOIN_TIMEOUT_S)

    return hook


class Collider:
    """A key that shares its hash with every other, so dicts compare keys with its Python ``__eq__``.

    ``park_once(hook)`` runs ``hook`` in the calling thread at its next
    comparison, once: how a test stops a thread inside a dict operation.
    """

    _hooks: dict[int, Callable[[], object]] = {}  # noqa: RUF012 - one table for all keys

    def __init__(self, n: int) -> None:
        self.n = n

    @classmethod
    def with_no_hooks(cls) -> Callable[[int], Collider]:
        """The keys' constructor, with no hook left over from an earlier test."""
        cls._hooks.clear()
        return cls

    @classmethod
    def park_once(cls, hook: Callable[[], object]) -> None:
        cls._hooks[threading.get_ident()] = hook

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        hook = self._hooks.pop(threading.get_ident(), None)
        if hook is not None:
            hook()
        return isinstance(other, Collider) and other.n == self.n


class TestRcuDict:
    def test_lookups_see_a_snapshot(self, domain: RcuDomain) -> None:
        """A snapshot taken before a write never changes."""
        table = RcuDict({"a": 1}, domain=domain)
        before = table.snapshot()
        table["b"] = 2
        assert dict(before) == {"a": 1}
        assert (table["b"], table.get("z"), "a" in table, len(table), sorted(table)) == (
            2,
            None,
            True,
            2,
            ["a", "b"],
        )
        assert repr(table) == "RcuDict({'a': 1, 'b': 2})"
        with pytest.raises(TypeError):
            before["c"] = 3  # type: ignore[index]

    def test_writes_and_retire(self, domain: RcuDomain) -> None:
        """put returns and retires a replaced value; remove and clear retire removed ones."""
        old, new, other = Device("old"), Device("new"), Device("other")
        table = RcuDict([("eth0", old)], domain=domain)
        assert table.put("eth0", new, retire=Device.close) is old
        assert table.put("eth1", other, retire=Device.close) is None
        table.update({"lo": Device("lo")})
        assert table.remove("eth1", retire=Device.close) is other
        del table["lo"]
        table.clear(retire=Device.close)
        domain.barrier(timeout=JOIN_TIMEOUT_S)
        assert [d.closed for d in (old, other, new)] == [True, True, True]
        assert len(table) == 0

    def test_missing_key(self, domain: RcuDomain) -> None:
        """Removing an absent key is a KeyError and nothing changes."""
        table = RcuDict({"a": 1}, domain=domain)
        with pytest.raises(KeyError, match="'b'"):
            table.remove("b")
        assert dict(table) == {"a": 1}
        assert not table.writer.owned()

    def test_the_first_write_after_a_snapshot_copies_and_the_rest_store_in_place(
        self, domain: RcuDomain
    ) -> None:
        """A snapshot shares the published dict: the next write copies it, once."""
        table = RcuDict({n: n for n in range(10_000)}, domain=domain)
        snapshot = table.snapshot()
        one_copy = sys.getsizeof(dict(snapshot))
        tracemalloc.start()
        try:
            first = _allocated_at_most(lambda: table.put(0, -1))
            rest = _allocated_at_most(lambda: [table.put(n, -n) for n in range(1, 100)])
        finally:
            tracemalloc.stop()
        assert (first > one_copy // 2, rest < one_copy // 10) == (True, True)
        assert (snapshot[0], snapshot[99], table[0], table[99]) == (0, 99, -1, -99)

    def test_a_write_copies_nothing_while_no_snapshot_is_out(self, domain: RcuDomain) -> None:
        """Puts, removes and lookups alone never copy the dict, whatever its size."""
        table = RcuDict({n: n for n in range(10_000)}, domain=domain)
        one_copy = sys.getsizeof(dict.fromkeys(range(10_000)))
        tracemalloc.start()
        try:

            def churn() -> None:
                for n in range(100):
                    table[n] = -n
                    del table[n + 5_000]
                    assert table[n] == -n and n + 5_000 not in table

            peak = _allocated_at_most(churn)
        finally:
            tracemalloc.stop()
        assert peak < one_copy // 10
        assert len(table) == 9_900

    def test_a_snapshot_taken_mid_write_is_not_changed_by_that_write(
        self, domain: RcuDomain
    ) -> None:
        """A writer parked between looking at the dict and storing: the snapshot keeps out its store."""
        key = Collider.with_no_hooks()
        table = RcuDict({key(1): "one"}, domain=domain)
        parked, taken = threading.Event(), threading.Event()

        def write() -> None:
            Collider.park_once(_set_then_wait(parked, taken))
            table.put(key(2), "two")  # its lookup of key 2 compares it with key 1, and parks

        writer = threading.Thread(target=write)
        writer.start()
        assert parked.wait(JOIN_TIMEOUT_S)
        snapshot = table.snapshot()
        taken.set()
        writer.join(JOIN_TIMEOUT_S)
        assert not writer.is_alive()
        assert (sorted(c.n for c in snapshot), sorted(c.n for c in table)) == ([1], [1, 2])

    def test_a_copy_the_parked_writer_spoils_is_made_again(self, domain: RcuDomain) -> None:
        """The writer's store lands in the middle of the snapshot's copy: the copy is made again.

        Removals leave the dict with holes, so C copies it key by key, calling
        the keys' Python ``__eq__``; the snapshot parks in one while the
        writer finishes its store, and C then refuses the copy it was making.
        """
        key = Collider.with_no_hooks()
        table = RcuDict({key(n): n for n in range(9)}, domain=domain)
        for n in range(5):
            del table[key(n)]
        parked, go, stored = threading.Event(), threading.Event(), threading.Event()

        def write() -> None:
            Collider.park_once(_set_then_wait(parked, go))
            table.put(key(100), 100)
            stored.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert parked.wait(JOIN_TIMEOUT_S)
        Collider.park_once(_set_then_wait(go, stored))
        snapshot = table.snapshot()
        writer.join(JOIN_TIMEOUT_S)
        assert not writer.is_alive()
        assert sorted(c.n for c in snapshot) == [5, 6, 7, 8, 100]
        assert sorted(c.n for c in table.snapshot()) == [5, 6, 7, 8, 100]

    @pytest.mark.parametrize("outer", ["put", "remove", "update"])
    @pytest.mark.parametrize(
        ("call", "inner"),
        [
            ("put()", lambda table: table.put("inner", 0)),
            ("remove()", lambda table: table.remove("inner")),
            ("update()", lambda table: table.update({"inner": 0})),
            ("clear()", lambda table: table.clear()),
        ],
    )
    def test_a_write_from_a_keys_eq_inside_a_write_is_refused_and_changes_nothing(
        self, domain: RcuDomain, outer: str, call: str, inner: Callable[[RcuDict[Any, Any]], object]
    ) -> None:
        """A key's ``__eq__`` writing to the dict it is compared in: that write is refused.

        Left to go on, the outer write, working from what it saw before, would
        undo it. The error reaches the outer caller through the ``__eq__``, and
        neither write changes anything.
        """
        key = Collider.with_no_hooks()
        table: RcuDict[Any, Any] = RcuDict({key(1): 1, key(2): 2, "inner": -1}, domain=domain)
        before = table.snapshot()
        outer_write: dict[str, Callable[[], object]] = {
            "put": lambda: table.put(key(3), 3),
            "remove": lambda: table.remove(key(2)),
            "update": lambda: table.update({key(3): 3}),
        }
        Collider.park_once(lambda: inner(table))
        with pytest.raises(RuntimeError) as refused:
            outer_write[outer]()
        assert str(refused.value) == (
            f"RcuDict.{call} was called inside another write to the same RcuDict in this "
            "thread (from a key's __eq__ or __hash__), which would undo it: write once that "
            "call has returned"
        )
        assert table.snapshot() == before
        assert not table.writer.owned()
        table.put(key(4), 4)  # the outer write unmarked the dict on its way out
        assert sorted(k.n for k in table if isinstance(k, Collider)) == [1, 2, 4]

    def test_a_keys_eq_may_look_up_the_same_dict_and_write_another(self, domain: RcuDomain) -> None:
        """Only a write to the same dict is refused: lookups in it, and other dicts, are not."""
        key = Collider.with_no_hooks()
        table: RcuDict[Any, str] = RcuDict({key(1): "one", "seen": "yes"}, domain=domain)
        other: RcuDict[str, str] = RcuDict(domain=domain)
        Collider.park_once(lambda: other.put("copied", table["seen"]))
        table.put(key(2), "two")
        assert sorted((k.n, v) for k, v in table.items() if isinstance(k, Collider)) == [
            (1, "one"),
            (2, "two"),
        ]
        assert dict(other) == {"copied": "yes"}

    def test_an_outer_write_goes_on_when_the_eq_takes_the_refusal(self, domain: RcuDomain) -> None:
        """An ``__eq__`` that catches the refusal: the outer write lands, and only it."""
        key = Collider.with_no_hooks()
        table: RcuDict[Any, str] = RcuDict({key(1): "one"}, domain=domain)
        refused: list[RuntimeError] = []

        def write_inside() -> None:
            try:
                table.put("inner", "lost")
            except RuntimeError as error:
                refused.append(error)

        Collider.park_once(write_inside)
        table.put(key(2), "two")
        assert len(refused) == 1
        assert sorted((k.n, v) for k, v in table.items()) == [(1, "one"), (2, "two")]
