"""Ctrl-C anywhere: storms of real interrupts against every operation, and the handler itself."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from osv_idioms import interrupts, locking, rcu, trace
from osv_idioms.interrupts import (
    acquire_into,
    call_interruptibly,
    call_into,
    deferred,
    interruptible,
)
from osv_idioms.locking import Mutex, drop_lock, with_lock
from osv_idioms.rcu import RcuDomain, RcuList, RcuPtr
from osv_idioms.refcount import IntrusivePtr, IntrusiveRefCounted, make_shared
from osv_idioms.signals import Signal
from tests._storms import Storm, storm

JOIN_TIMEOUT_S = 30.0


class Device:
    """A resource: ``closed`` tells whether its owner closed it."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Node(IntrusiveRefCounted):
    pass


@pytest.fixture
def domain() -> Iterator[RcuDomain]:
    made = RcuDomain("storm")
    yield made
    made.close(timeout=JOIN_TIMEOUT_S)


def other_thread_can(action: Callable[[], object]) -> bool:
    """Whether ``action`` completes in another thread (a lock left held would block it)."""
    finished = threading.Event()

    def run() -> None:
        action()
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return finished.wait(JOIN_TIMEOUT_S)


class TestLockingUnderStorms:
    def test_with_lock_over_two_locks(self) -> None:
        """Thousands of interrupts into ``with with_lock(a, b)`` leave neither lock held."""
        a, b = threading.Lock(), threading.Lock()

        def operation() -> None:
            with with_lock(a, b):
                pass

        tally = storm(operation)
        assert tally.raised > 0
        assert not a.locked()
        assert not b.locked()

    def test_with_lock_over_two_mutexes(self) -> None:
        """The same over two ``Mutex``es: neither is held, by this thread or any."""
        a, b = Mutex("storm-a"), Mutex("storm-b")

        def operation() -> None:
            with with_lock(b, a):
                pass

        storm(operation)
        assert (a.depth, b.depth) == (0, 0)
        assert other_thread_can(lambda: with_lock(a, b).__enter__())

    def test_with_lock_general_path(self) -> None:
        """Three locks and a timeout take the general path: nothing is left held either."""
        plain, recursive, mutex = threading.Lock(), threading.RLock(), Mutex("storm-c")

        def operation() -> None:
            with with_lock(plain, recursive, mutex, timeout=5):
                pass

        storm(operation)
        assert not plain.locked()
        assert other_thread_can(lambda: [lock.acquire() for lock in (plain, recursive, mutex)])

    def test_mutex_with_lock_order_checking(self) -> None:
        """``with outer: with inner:`` under lock-order checking: both free, no order corrupted."""
        outer, inner = Mutex("storm-outer"), Mutex("storm-inner")
        locking.check_lock_order(True)

        def operation() -> None:
            with outer, inner:
                pass

        storm(operation)
        assert not outer.owned()
        assert not inner.owned()
        assert locking.recorded_lock_orders() == {"storm-outer": ("storm-inner",)}
        with outer, inner:  # the records still agree with what is held
            pass

    def test_mutex_with_its_tracepoints_counting(self) -> None:
        """With the mutex tracepoints counting, the mutex is free after the storm."""
        mutex = Mutex("storm-traced")

        def operation() -> None:
            with mutex:
                pass

        with trace.count("mutex_lock", "mutex_unlock"):
            storm(operation)
        assert not mutex.owned()
        assert other_thread_can(mutex.acquire)

    def test_drop_lock(self) -> None:
        """``drop_lock`` takes the lock back on every way out, interrupts included."""
        mutex = Mutex("storm-drop")

        def operation() -> None:
            with drop_lock(mutex):
                pass

        mutex.acquire()  # outside the storm: a with statement over a C lock is not ours to guard
        storm(operation)
        assert mutex.depth == 1
        mutex.release()


class TestRcuUnderStorms:
    def test_read_sections(self, domain: RcuDomain) -> None:
        """``with read_lock(): p.read()`` leaves no section open: grace periods still end."""
        ptr = RcuPtr((1, 2), domain=domain)

        def operation() -> None:
            with domain.read_lock():
                ptr.read()

        storm(operation)
        assert not domain.in_read_section()
        assert other_thread_can(lambda: domain.synchronize(timeout=JOIN_TIMEOUT_S))

    def test_call_rcu(self, domain: RcuDomain) -> None:
        """Every callback whose ``call_rcu`` returned runs; ``barrier()`` ends."""
        ran: list[int] = []
        queued: list[int] = []

        def operation() -> None:
            domain.call_rcu(ran.append, 1)
            queued.append(1)

        storm(operation)
        domain.barrier(JOIN_TIMEOUT_S)
        assert domain.pending() == 0
        assert len(queued) <= len(ran) <= len(queued) + 1  # the last may be cut after it queued

    def test_container_writers(self, domain: RcuDomain) -> None:
        """``RcuList`` writers and ``copy_update`` leave the writers' mutex free."""
        items = RcuList([0], domain=domain)
        ptr = RcuPtr(0, domain=domain)

        def operation() -> None:
            items.append(1)
            items.pop()
            with ptr.copy_update() as draft:
                draft.value += 1

        storm(operation)
        assert not items.writer.owned()
        assert not ptr.writer.owned()
        assert other_thread_can(items.writer.acquire)


class TestHandlesUnderStorms:
    def test_clone_and_release(self) -> None:
        """``root.clone().release()`` keeps ``use_count`` right: the resource closes at the end."""
        root = make_shared(Device)
        device = root.get()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # a clone cut off before it was named
            storm(lambda: root.clone().release())
            gc.collect()
        assert root.use_count == 1
        root.release()
        assert device.closed

    def test_make_shared_and_release(self) -> None:
        """Every device a factory made ends closed, whether its handle was released or lost."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            storm(lambda: make_shared(Device).release())
            gc.collect()
        assert [o for o in gc.get_objects() if type(o) is Device and not o.closed] == []

    def test_weak_lock_and_release(self) -> None:
        """``weak.lock().release()`` leaves one owner."""
        root = make_shared(Device)
        weak = root.weak()

        def operation() -> None:
            handle = weak.lock()
            if handle is not None:
                handle.release()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            storm(operation)
            gc.collect()
        assert root.use_count == 1
        root.release()

    def test_intrusive_clone_and_release(self) -> None:
        """``IntrusivePtr`` clone and release keep the count in the object right."""
        node = Node()
        root = IntrusivePtr(node)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            storm(lambda: root.clone().release())
            gc.collect()
        assert node.ref_count == 1
        root.release()


class TestSignalsAndTraceUnderStorms:
    def test_connect_and_disconnect(self) -> None:
        """Connecting and disconnecting: every slot left connected is the one emits call."""
        changed = Signal[[int]]()
        calls: list[int] = []

        def slot(value: int) -> None:
            calls.append(value)

        def operation() -> None:
            changed.connect(slot).disconnect()

        storm(operation)
        left = len(changed)  # a connection cut off before it was returned stays connected
        changed.emit(1)
        assert len(calls) == left
        assert changed.disconnect(slot) == left
        changed.emit(2)
        assert len(calls) == left

    def test_counting(self, unique: Callable[[str], str]) -> None:
        """``with count(name): tp()``: counting is off again afterwards."""
        name = unique("storm")
        point = trace.declare_tracepoint(name, "v")

        def operation() -> None:
            with trace.count(name):
                point(1)

        storm(operation)
        (info,) = trace.tracepoints(name)
        assert info.counting is False


USER_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


def terminate(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler as services write it: raise ``SystemExit`` and let the program unwind."""
    raise SystemExit(128 + signum)


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises ``SystemExit`` through ``deferring`` while the test runs."""
    previous = signal.signal(signal.SIGTERM, interrupts.deferring(terminate))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def sigterm_storm(operation: Callable[[], object]) -> Storm:
    """A storm of real SIGTERMs sent to the main thread, each raising ``SystemExit``."""
    tally = storm(operation, signum=signal.SIGTERM, raised=SystemExit)
    assert tally.raised > 0
    return tally


@pytest.mark.usefixtures("sigterm_raises")
class TestARaisingHandlerOfOnesOwnUnderStorms:
    """A handler of the program's own, wrapped by ``deferring``, cuts no operation in half."""

    def test_with_lock_over_two_locks(self) -> None:
        """SIGTERMs raising ``SystemExit`` into ``with with_lock(a, b)`` leave neither held."""
        a, b = threading.Lock(), threading.Lock()

        def operation() -> None:
            with with_lock(a, b):
                pass

        sigterm_storm(operation)
        assert not a.locked()
        assert not b.locked()

    def test_with_lock_general_path(self) -> None:
        """The general path, over three kinds of lock, leaves none held."""
        plain, recursive, mutex = threading.Lock(), threading.RLock(), Mutex("term-c")

        def operation() -> None:
            with with_lock(plain, recursive, mutex, timeout=5):
                pass

        sigterm_storm(operation)
        assert not plain.locked()
        assert other_thread_can(lambda: [lock.acquire() for lock in (plain, recursive, mutex)])

    def test_clone_and_release(self) -> None:
        """``root.clone().release()`` keeps ``use_count`` right: the resource closes at the end."""
        root = make_shared(Device)
        device = root.get()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # a clone cut off before it was named
            sigterm_storm(lambda: root.clone().release())
            gc.collect()
        assert root.use_count == 1
        root.release()
        assert device.closed

    def test_read_sections(self, domain: RcuDomain) -> None:
        """Read sections are all closed: grace periods still end."""
        ptr = RcuPtr((1, 2), domain=domain)

        def operation() -> None:
            with domain.read_lock():
                ptr.read()

        sigterm_storm(operation)
        assert not domain.in_read_section()
        assert other_thread_can(lambda: domain.synchronize(timeout=JOIN_TIMEOUT_S))

    def test_connect_and_disconnect(self) -> None:
        """Every slot left connected is one that emits call."""
        changed = Signal[[int]]()
        calls: list[int] = []

        def operation() -> None:
            changed.connect(calls.append).disconnect()

        sigterm_storm(operation)
        left = len(changed)  # a connection cut off before it was returned stays connected
        changed.emit(1)
        assert len(calls) == left


class TestHandler:
    def test_installed_at_import(self) -> None:
        """Importing the library in the main thread installed the handler, under Python's name too."""
        assert interrupts.installed()
        assert signal.default_int_handler is signal.getsignal(signal.SIGINT)

    def test_deferred_code_is_never_cut_in_half(self) -> None:
        """Two changes made by deferred code always agree; the same code undeferred soon does not."""
        state = [0, 0]

        @deferred
        def change_deferred() -> None:
            state[0] += 1
            [None for _ in range(3)]
            state[1] += 1

        def change() -> None:
            state[0] += 1
            [None for _ in range(3)]
            state[1] += 1

        storm(change_deferred)
        assert state[0] == state[1]
        state[:] = [0, 0]
        storm(change)
        assert state[0] != state[1]

    def test_interruptible_code_inside_deferred_code_is_interrupted(self) -> None:
        """A function marked interruptible, called from deferred code, gets the interrupt."""
        reached: list[int] = []

        @interruptible
        def user_code() -> None:
            reached.append(1)

        @deferred
        def library_code() -> None:
            user_code()

        tally = storm(library_code)
        assert tally.raised > 0
        assert reached

    def test_acquire_into_notes_the_lock_as_it_takes_it(self) -> None:
        """``acquire_into`` appends the lock it took, and nothing when it timed out."""
        lock = threading.Lock()
        held: list[object] = []
        assert acquire_into(held, lock) is True
        assert held == [lock]
        assert acquire_into(held, lock, 0.01) is False
        assert held == [lock]
        lock.release()

    def test_call_into_keeps_the_result(self) -> None:
        """``call_into`` appends what the call returned; a call that raises appends nothing."""
        made: list[object] = []
        call_into(made, dict, a=1)
        with pytest.raises(ZeroDivisionError):
            call_into(made, divmod, 1, 0)
        assert made == [{"a": 1}]


class TestDeferring:
    def test_wraps_the_handler(self) -> None:
        """The handler made is named after the one it calls, and wrapping it again changes nothing."""
        wrapped = interrupts.deferring(terminate)
        assert wrapped.__wrapped__ is terminate  # type: ignore[attr-defined]
        assert repr(wrapped) == f"deferring({terminate!r})"
        assert interrupts.deferring(wrapped) is wrapped

    def test_the_installed_sigint_handler_is_deferring_already(self) -> None:
        """Python's default handler, once the library replaced it, is returned as it is."""
        assert interrupts.deferring(signal.default_int_handler) is signal.default_int_handler

    def test_a_handler_outside_deferred_code_is_called_at_once(self) -> None:
        """Outside deferred code the handler is called there and then, with what Python passed."""
        calls: list[tuple[int, FrameType | None]] = []
        wrapped = interrupts.deferring(lambda signum, frame: calls.append((signum, frame)))
        here = sys._getframe()
        assert wrapped(signal.SIGTERM, here) is None
        assert calls == [(signal.SIGTERM, here)]

    @pytest.mark.parametrize(
        ("handler", "message"),
        [
            (
                signal.SIG_DFL,
                "deferring() wraps a handler that Python calls; signal.SIG_DFL is not one: "
                "Python runs no code for it, so there is nothing to hold back",
            ),
            (
                signal.SIG_IGN,
                "deferring() wraps a handler that Python calls; signal.SIG_IGN is not one: "
                "Python runs no code for it, so there is nothing to hold back",
            ),
            (
                None,
                "deferring()'s handler must be callable as handler(signum, frame), got None",
            ),
            (
                len,
                "deferring()'s handler must be callable as handler(signum, frame); "
                "'len' can't take two arguments",
            ),
        ],
    )
    def test_refuses_what_is_not_a_handler(self, handler: object, message: str) -> None:
        with pytest.raises(TypeError) as refused:
            interrupts.deferring(handler)  # type: ignore[arg-type]
        assert str(refused.value) == message

    def test_a_coroutine_function_is_refused(self) -> None:
        async def handler(signum: int, frame: object) -> None: ...

        with pytest.raises(TypeError) as refused:
            interrupts.deferring(handler)
        assert str(refused.value) == (
            "deferring()'s handler must be callable as handler(signum, frame), got the "
            "coroutine function "
            "'TestDeferring.test_a_coroutine_function_is_refused.<locals>.handler': calling it "
            "would only make a coroutine that nothing awaits"
        )

    def test_two_kinds_of_signal_held_back_together_both_arrive(self) -> None:
        """SIGUSR1 and SIGUSR2 held back by one operation are each handled once it is over."""
        steps: list[str] = []

        def note(signum: int, frame: FrameType | None) -> None:
            steps.append(signal.Signals(signum).name)

        @deferred
        def operation() -> None:
            steps.append("started")
            signal.raise_signal(signal.SIGUSR1)
            signal.raise_signal(signal.SIGUSR2)
            steps.append("finished")

        @deferred
        def operation_then_wait() -> None:
            operation()
            for _ in range(int(JOIN_TIMEOUT_S / 0.01)):
                if len(steps) == 4:
                    return
                call_interruptibly(time.sleep, 0.01)

        previous = [signal.signal(kind, interrupts.deferring(note)) for kind in USER_SIGNALS]
        try:
            operation_then_wait()
        finally:
            for kind, handler in zip(USER_SIGNALS, previous, strict=True):
                signal.signal(kind, handler)
        assert steps[:2] == ["started", "finished"]
        assert sorted(steps[2:]) == ["SIGUSR1", "SIGUSR2"]


def run_child(
    source: str, *, interrupt_after: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a new interpreter; once it prints ``interrupt_after``, send it SIGINT.

    SIGINT is sent again every 50 ms until the child ends, so a child that
    waits for the interrupt in a particular place gets one there.
    """
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            if interrupt_after is not None:
                _interrupt_once_it_says(child, interrupt_after)
            out, err = child.communicate(timeout=JOIN_TIMEOUT_S)
        finally:
            child.kill()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def _interrupt_once_it_says(child: subprocess.Popen[str], ready: str) -> None:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line == ready + "\n", (line, child.stderr.read() if child.stderr else "")
    for _ in range(int(JOIN_TIMEOUT_S / 0.05)):
        child.send_signal(signal.SIGINT)
        try:
            child.wait(0.05)
        except subprocess.TimeoutExpired:
            continue
        return


class TestRealSignals:
    def test_ctrl_c_breaks_a_wait_for_a_lock_that_never_comes(self) -> None:
        """A real SIGINT ends ``with_lock`` waiting for a lock held for ever, with nothing held."""
        done = run_child(
            """
            import os, threading, traceback
            from osv_idioms.interrupts import call_interruptibly, deferred
            from osv_idioms.locking import Mutex, with_lock

            free, busy = threading.Lock(), Mutex("busy")
            threading.Thread(target=busy.acquire, daemon=True).start()
            while not busy.depth:
                pass

            def attempt():
                with with_lock(free, busy):
                    print("entered")

            @deferred
            def until_interrupted_in_the_wait():
                print("waiting", flush=True)
                while True:
                    try:
                        call_interruptibly(attempt)
                    except KeyboardInterrupt as interrupt:
                        frames = traceback.extract_tb(interrupt.__traceback__)
                        if "acquire_into" in [frame.name for frame in frames]:
                            print("interrupted in the wait; free held:", free.locked(), flush=True)
                            # The SIGINTs go on until the process ends: end it here, where they
                            # are held back, and not at exit, where one would kill it.
                            os._exit(0)

            until_interrupted_in_the_wait()
            """,
            interrupt_after="waiting",
        )
        assert (done.returncode, done.stdout) == (0, "interrupted in the wait; free held: False\n")

    def test_with_no_thread_to_send_it_again_an_interrupt_is_raised_at_once(self) -> None:
        """Out of threads, an interrupt in deferred code is raised where it landed, not lost."""
        done = run_child(
            """
            import _thread, signal
            from osv_idioms.interrupts import deferred

            steps = []

            @deferred
            def operation():
                steps.append("started")
                signal.raise_signal(signal.SIGINT)
                steps.append("finished")

            _thread.stack_size(2**46)  # no thread can start now: there is no room for its stack
            try:
                operation()
            except BaseException as exc:
                print(type(exc).__name__, steps)
            """
        )
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            "KeyboardInterrupt ['started']\n",
            "",
        )

    def test_a_signal_the_program_let_go_meanwhile_is_not_sent_again(self) -> None:
        """A handler put back to SIG_DFL while its signal was held back is not run, nor the default."""
        done = run_child(
            """
            import _thread, signal, time
            from osv_idioms.interrupts import call_interruptibly, deferred, deferring

            noted = []
            for kind in (signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(kind, deferring(lambda signum, frame: noted.append(signum)))

            @deferred
            def operation():
                signal.raise_signal(signal.SIGUSR1)  # held back: it is on its way again
                signal.raise_signal(signal.SIGUSR2)  # and so is this one, after it
                signal.signal(signal.SIGUSR1, signal.SIG_DFL)  # whose default ends the process

            @deferred
            def operation_then_wait():
                operation()
                # Until SIGUSR2 came and the threads sending them again have ended: a SIGUSR1
                # sent to SIG_DFL would have ended this process within its thread's call.
                for _ in range(3000):
                    if noted and _thread._count() == 0:
                        break
                    call_interruptibly(time.sleep, 0.01)

            operation_then_wait()
            print("still running; noted:", [signal.Signals(kind).name for kind in noted])
            """
        )
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            "still running; noted: ['SIGUSR2']\n",
            "",
        )

    def test_another_handler_is_left_alone(self) -> None:
        """A program that set its own SIGINT handler first keeps it."""
        done = run_child(
            """
            import signal
            def mine(signum, frame):
                pass
            signal.signal(signal.SIGINT, mine)
            from osv_idioms import interrupts
            print(interrupts.installed(), signal.getsignal(signal.SIGINT) is mine)
            """
        )
        assert done.stdout == "False True\n"

    def test_the_environment_can_keep_pythons_handler(self) -> None:
        """``OSV_IDIOMS_DEFER_INTERRUPTS=0`` leaves SIGINT as Python set it."""
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "from osv_idioms import interrupts; print(interrupts.installed())",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "OSV_IDIOMS_DEFER_INTERRUPTS": "0"},
            check=True,
            timeout=JOIN_TIMEOUT_S,
        )
        assert child.stdout == "False\n"

    def test_asyncio_run_still_cancels_the_main_task(self) -> None:
        """``asyncio.run`` still sees the default handler and turns Ctrl-C into cancellation."""
        done = run_child(
            """
            import asyncio
            import osv_idioms
            async def main():
                print("running", flush=True)
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    print("cancelled", flush=True)
                    raise
            try:
                asyncio.run(main())
            except KeyboardInterrupt:
                print("KeyboardInterrupt")
            """,
            interrupt_after="running",
        )
        assert done.stdout == "cancelled\nKeyboardInterrupt\n"


def test_rcu_module_functions_too() -> None:
    """The default domain's ``read_lock`` is as safe as any domain's."""

    def operation() -> None:
        with rcu.read_lock():
            pass

    storm(operation)
    assert not rcu.in_read_section()
