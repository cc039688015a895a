"""osv_idioms.locking: Mutex, with_lock, drop_lock, assert_held and lock-order checking."""

from __future__ import annotations

import _thread
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osv_idioms import locking, trace
from osv_idioms.errors import LockNotHeldError, LockOrderError, LockOrderWarning, LockTimeout
from osv_idioms.locking import Mutex, assert_held, check_lock_order, drop_lock, with_lock
from tests._scripts import run_script

# Each lock sits in a reference cycle, so the collector frees it, at whatever
# point a collection starts; a hang prints where it stuck instead of passing.
LOCKS_IN_CYCLES = """
import faulthandler, gc, sys, threading
from osv_idioms.locking import Mutex, check_lock_order, recorded_lock_orders, with_lock

faulthandler.dump_traceback_later(30, exit=True)

class Holder:
    def __init__(self):
        self.lock = threading.Lock()
        self.me = self

check_lock_order(True)
keeper = Mutex("keeper")
with keeper:
    for _ in range(5_000):
        with with_lock(Holder().lock):
            pass
gc.collect()
print("orders left:", recorded_lock_orders())
"""

JOIN_TIMEOUT_S = 30.0


def in_thread(fn: Any, name: str = "other") -> Any:
    """Run ``fn`` in a named thread and return its result (or raise what it raised)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join(timeout=JOIN_TIMEOUT_S)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    return result[0] if result else None


def take_and_give_back(m: Mutex, *, wait: bool = True) -> bool:
    """Take ``m`` (waiting for it, or not), release it, and say whether it was taken."""
    taken = m.acquire(wait)
    if taken:
        m.release()
    return taken


@pytest.fixture(params=["plain", "instrumented"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test with the C methods and again with the instrumented Python ones."""
    if request.param == "instrumented":
        with trace.count("mutex_*"):
            assert locking.instrumented()
            yield request.param
    else:
        assert not locking.instrumented()
        yield request.param


class TestMutex:
    def test_recursive_with_owner_and_depth(self, mode: str) -> None:
        """The owner may take it again; depth counts the levels; the last release frees it."""
        m = Mutex("rec")
        m.lock()
        m.lock()
        assert (m.owned(), m.depth, m.owner) == (True, 2, threading.current_thread())
        m.unlock()
        assert m.depth == 1
        m.unlock()
        assert (m.owned(), m.depth, m.owner) == (False, 0, None)

    def test_other_threads_see_the_owner(self, mode: str) -> None:
        """Another thread sees who holds it and cannot take it without waiting."""
        m = Mutex("seen")
        with m:
            seen = in_thread(lambda: (m.owned(), m.owner, m.depth, m.try_lock()))
        assert seen == (False, threading.current_thread(), 1, False)

    def test_statistics_from_the_owner_and_from_another_thread(self, mode: str) -> None:
        """One frozen record of owner and depth, the same read by the owner and by others."""
        m = Mutex("stats")
        with m, m:
            mine = m.statistics()
            theirs = in_thread(m.statistics)
        assert mine == theirs
        assert (mine.locked, mine.owner, mine.owner_ident, mine.depth) == (
            True,
            threading.current_thread(),
            threading.get_ident(),
            2,
        )
        assert in_thread(m.statistics) == locking.MutexStatistics(
            "stats", "stats", False, None, 0, 0
        )

    def test_the_c_locks_repr_still_says_owner_and_count(self) -> None:
        """What another thread's view of a mutex is read from: this interpreter's RLock repr."""
        lock = threading.RLock()
        with lock, lock:
            held = repr(lock)
        assert f" owner={threading.get_ident()} count=2 " in held
        assert " owner=0 count=0 " in repr(lock)

    def test_acquire_protocol_matches_rlock(self, mode: str) -> None:
        """``acquire(blocking, timeout)`` returns, times out and checks arguments as RLock does."""
        m, r = Mutex("proto"), threading.RLock()
        for lock in (m, r):
            assert lock.acquire(True, 0.01) is True
            lock.release()
        with m, r:
            assert in_thread(lambda: (m.acquire(timeout=0.01), r.acquire(timeout=0.01))) == (
                False,
                False,
            )
            assert in_thread(lambda: (m.acquire(False), r.acquire(False))) == (False, False)
        for args in [(False, 1), (True, -2)]:
            with pytest.raises(ValueError, match="timeout") as ours:
                m.acquire(*args)
            with pytest.raises(ValueError, match="timeout") as theirs:
                r.acquire(*args)
            assert str(ours.value) == str(theirs.value)
        with pytest.raises(TypeError):
            m.acquire(True, "soon")  # type: ignore[arg-type]
        assert not m.owned()

    def test_release_by_a_non_owner(self, mode: str) -> None:
        """Releasing from another thread names the mutex and both threads, and changes nothing."""
        m = Mutex("db")
        with m:
            with pytest.raises(
                RuntimeError,
                match=r"^can't release mutex 'db' from thread 'worker-2': it is held by 'MainThread'$",
            ):
                in_thread(m.release, name="worker-2")
            assert (m.owned(), m.depth) == (True, 1)

    def test_release_when_free(self, mode: str) -> None:
        """Releasing a free mutex says it is not held."""
        m = Mutex("free")
        with pytest.raises(
            RuntimeError,
            match=r"^can't release mutex 'free' from thread 'MainThread': it is not held$",
        ):
            m.unlock()
        assert m.depth == 0

    def test_condition_wait_and_notify(self, mode: str) -> None:
        """A Mutex is the lock of a Condition: wait releases every level, notify wakes the waiter."""
        m = Mutex("cond")
        ready = threading.Condition(m)
        box: list[int] = []

        def producer() -> None:
            with ready:
                box.append(42)
                ready.notify()

        with ready, m:  # held twice: wait must still release it entirely
            thread = threading.Thread(target=producer, name="producer")
            thread.start()
            assert ready.wait_for(lambda: box, timeout=JOIN_TIMEOUT_S)
            assert m.depth == 2
        thread.join(timeout=JOIN_TIMEOUT_S)
        assert box == [42]
        with pytest.raises(RuntimeError, match="un-acquired lock"):
            ready.notify()

    def test_unnamed_mutex_is_classed_by_creation_site(self) -> None:
        """Without a name, the lock class and label are where the mutex was made."""
        m = Mutex()
        assert re.fullmatch(rf"mutex@{re.escape(__file__)}:\d+", m.lock_class)
        assert m.label == m.lock_class
        assert repr(m) == f"<Mutex {m.lock_class!r} free>"

    def test_bad_name(self) -> None:
        """A name must be a str; the error names the type that arrived."""
        with pytest.raises(TypeError, match=r"^a mutex name must be a str or None, got an int$"):
            Mutex(3)  # type: ignore[arg-type]


class TestTracepoints:
    def test_uncontended_lock_counts_lock_and_unlock_only(self) -> None:
        """Without contention: mutex_lock and mutex_unlock, never a wait."""
        m = Mutex("quiet")
        with trace.count(
            "mutex_lock", "mutex_lock_wait", "mutex_lock_wake", "mutex_unlock", "mutex_try_lock"
        ) as c:
            with m, m:
                pass
            assert m.try_lock()
            m.unlock()
        assert dict(c) == {
            "mutex_lock": 2,
            "mutex_lock_wait": 0,
            "mutex_lock_wake": 0,
            "mutex_unlock": 3,
            "mutex_try_lock": 1,
        }

    @pytest.mark.parametrize("checking", [False, True])
    def test_with_lock_fires_mutex_lock_for_every_lock_it_takes(self, checking: bool) -> None:
        """Counting mutex_lock counts each lock of a group, whether or not orders are checked."""
        a, b, c = Mutex("a"), Mutex("b"), Mutex("c")
        locking.check_lock_order(checking)
        with trace.count("mutex_lock", "mutex_try_lock", "mutex_unlock") as counts:
            with with_lock(a, b, c):
                pass
        assert dict(counts) == {"mutex_lock": 3, "mutex_try_lock": 0, "mutex_unlock": 3}

    def test_with_lock_backing_off_a_busy_lock_fires_a_failed_try(self) -> None:
        """A lock of the group found busy is a try_lock that failed; the group then waits for it."""
        a, b = Mutex("a"), Mutex("b")
        tried: list[tuple[object, ...]] = []
        handle = trace.add_probe("mutex_try_lock", lambda _n, args: tried.append(args))
        holding, release = threading.Event(), threading.Event()

        def hold_b() -> None:
            with b:
                holding.set()
                release.wait(JOIN_TIMEOUT_S)

        holder = threading.Thread(target=hold_b, name="holder")
        holder.start()
        assert holding.wait(JOIN_TIMEOUT_S)
        waiting = threading.Event()
        wait_probe = trace.add_probe("mutex_lock_wait", lambda _n, _a: waiting.set())

        def take_both() -> None:
            with with_lock(a, b):
                pass

        taker = threading.Thread(target=take_both, name="taker")
        try:
            taker.start()
            assert waiting.wait(JOIN_TIMEOUT_S)  # it tried b, backed off, and now waits for b
            release.set()
            taker.join(JOIN_TIMEOUT_S)
            holder.join(JOIN_TIMEOUT_S)
        finally:
            handle.remove()
            wait_probe.remove()
        assert not taker.is_alive() and not holder.is_alive()
        assert tried == [(b, False)]

    def test_contended_lock_fires_wait_then_wake(self) -> None:
        """A thread that must block fires mutex_lock_wait before it blocks and mutex_lock_wake after."""
        m = Mutex("busy")
        waiting = threading.Event()
        handle = trace.add_probe("mutex_lock_wait", lambda _n, _a: waiting.set())
        trace.enable("mutex_lock*")
        trace.clear()
        try:
            with m:
                thread = threading.Thread(target=take_and_give_back, args=(m,), name="waiter")
                thread.start()
                assert waiting.wait(timeout=JOIN_TIMEOUT_S)
            thread.join(timeout=JOIN_TIMEOUT_S)
        finally:
            handle.remove()
        assert not thread.is_alive()
        names = [e.name for e in trace.events() if e.thread_name == "waiter"]
        assert names == ["mutex_lock", "mutex_lock_wait", "mutex_lock_wake"]

    def test_switches_back_to_the_c_methods(self) -> None:
        """When the last mutex tracepoint is switched off, the C methods come back."""
        assert not locking.instrumented()
        assert "acquire" not in Mutex.__dict__
        with trace.count("mutex_unlock"):
            assert locking.instrumented()
            assert "acquire" in Mutex.__dict__
        assert not locking.instrumented()
        assert "acquire" not in Mutex.__dict__


class TestWithLock:
    def test_takes_all_and_releases_in_reverse(self) -> None:
        """Every lock is held in the block and released on the way out, last named first."""
        order: list[str] = []

        class Recorder:
            def __init__(self, name: str) -> None:
                self.name = name
                self.inner = threading.Lock()

            def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
                return self.inner.acquire(blocking, timeout)

            def release(self) -> None:
                order.append(self.name)
                self.inner.release()

        a, b, c = Recorder("a"), Recorder("b"), Recorder("c")
        with with_lock(a, b, c):
            assert all(x.inner.locked() for x in (a, b, c))
        assert order == ["c", "b", "a"]

    @pytest.mark.parametrize(
        "make",
        [
            threading.Lock,
            threading.RLock,
            threading.Condition,
            threading.Semaphore,
            lambda: Mutex("m"),
        ],
        ids=["Lock", "RLock", "Condition", "Semaphore", "Mutex"],
    )
    def test_any_lockable(self, make: Any) -> None:
        """threading's Lock, RLock, Condition, Semaphore and Mutex all work, alone and together."""
        first, second = make(), threading.Lock()

        def other_thread_times_out() -> bool:
            with pytest.raises(LockTimeout), with_lock(first, timeout=0.01):
                pass  # pragma: no cover - never reached
            return True

        with with_lock(first, second):
            assert second.locked()
            assert in_thread(other_thread_times_out)
        assert not second.locked()
        with with_lock(first):  # free again
            pass

    def test_lock_unlock_protocol(self) -> None:
        """Objects with OSv's lock()/unlock()/try_lock() are lockable too."""

        class OsvStyle:
            def __init__(self) -> None:
                self.inner = threading.Lock()

            def lock(self) -> None:
                self.inner.acquire()

            def unlock(self) -> None:
                self.inner.release()

            def try_lock(self) -> bool:
                return self.inner.acquire(False)

        x, y = OsvStyle(), OsvStyle()
        with with_lock(y, x):
            assert x.inner.locked() and y.inner.locked()
        assert not (x.inner.locked() or y.inner.locked())
        with pytest.raises(TypeError, match=r"^a lock\(\)/unlock\(\) lockable has no timeout"):
            with with_lock(x, timeout=1):
                pass

    def test_exception_releases_everything(self) -> None:
        """An exception in the block leaves nothing held."""
        a, b = threading.Lock(), Mutex("exc")
        with pytest.raises(ZeroDivisionError), with_lock(a, b):
            1 / 0  # noqa: B018
        assert not a.locked()
        assert not b.owned()

    def test_keyboard_interrupt_in_the_block_releases(self) -> None:
        """KeyboardInterrupt in the block releases every lock, like any other exit."""
        a, b = threading.Lock(), threading.Lock()
        with pytest.raises(KeyboardInterrupt), with_lock(a, b):
            raise KeyboardInterrupt
        assert not (a.locked() or b.locked())

    def test_interrupt_while_acquiring_releases_what_was_taken(self) -> None:
        """An interrupt raised by an acquisition gives back the locks already taken."""
        taken = threading.Lock()

        class Interrupting:
            def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
                raise KeyboardInterrupt

            def release(self) -> None:  # pragma: no cover - never taken
                raise AssertionError

        with pytest.raises(KeyboardInterrupt), with_lock(taken, Interrupting()):
            pass
        assert not taken.locked()

    def test_timeout_leaves_nothing_held(self) -> None:
        """When one lock stays busy, LockTimeout is raised with no lock of the group held."""
        free, busy = threading.Lock(), Mutex("busy")
        with busy:

            def attempt() -> bool:
                with pytest.raises(
                    LockTimeout,
                    match=r"^timed out after 0.05 s waiting for mutex 'busy'; no lock of the group is held$",
                ):
                    with with_lock(free, busy, timeout=0.05):
                        pass
                return free.locked()

            assert in_thread(attempt) is False
        assert isinstance(LockTimeout("x"), TimeoutError)

    def test_single_lock_timeout(self) -> None:
        """One busy lock and a timeout: LockTimeout names it."""
        lock = threading.Lock()
        with lock:
            with pytest.raises(LockTimeout, match=r"waiting for lock at 0x[0-9a-f]+; no lock"):
                in_thread(lambda: with_lock(lock, timeout=0).__enter__())

    @pytest.mark.parametrize("bad", [object(), 3, "lock"])
    def test_non_lockable_is_a_type_error(self, bad: object) -> None:
        """A non-lockable argument is a TypeError naming its type, at the with, holding nothing."""
        good = threading.Lock()
        for locks in [(good, bad), (bad, good), (good, good, bad)]:
            with pytest.raises(
                TypeError,
                match=rf"^with_lock\(\) takes objects with acquire\(\)/release\(\) or lock\(\)/unlock\(\)/try_lock\(\), got {type(bad).__name__}$",
            ):
                with with_lock(*locks):  # type: ignore[arg-type]
                    pass  # pragma: no cover - never reached
            assert not good.locked()

    def test_attribute_error_inside_a_lock_is_not_hidden(self) -> None:
        """An AttributeError raised by a real lock's acquire is that error, not a TypeError."""

        class Broken:
            def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
                raise AttributeError("inner bug")

            def release(self) -> None:  # pragma: no cover - never taken
                pass

        with pytest.raises(AttributeError, match=r"^inner bug$"), with_lock(Broken()):
            pass  # pragma: no cover - never reached

    @pytest.mark.parametrize(
        ("bad", "kind", "message"),
        [
            (-1, ValueError, "got -1"),
            (float("nan"), ValueError, "got nan"),
            ("1", TypeError, "got a str ('1')"),
            (True, TypeError, "got a bool (True)"),
        ],
    )
    def test_bad_timeout(self, bad: Any, kind: type[Exception], message: str) -> None:
        """A timeout is None or seconds >= 0: a wrong value is a ValueError, a wrong type a TypeError."""
        with pytest.raises(
            kind, match=rf"^timeout must be None or a number of seconds >= 0, {re.escape(message)}$"
        ):
            with_lock(threading.Lock(), timeout=bad)

    @pytest.mark.parametrize("forever", [float("inf"), 1e300, 10**30])
    def test_timeouts_too_long_to_wait_mean_for_ever(self, forever: float) -> None:
        """``inf`` and numbers past any timed wait wait for ever, as None does, instead of overflowing."""
        lock = threading.Lock()
        with with_lock(lock, timeout=forever):
            assert lock.locked()
        assert not lock.locked()

    def test_needs_a_lock(self) -> None:
        """``with_lock()`` with nothing to lock is a mistake."""
        with pytest.raises(TypeError, match=r"^with_lock\(\) needs at least one lock$"):
            with_lock()


class TestDropLock:
    def test_released_in_the_block_and_taken_back(self) -> None:
        """DROP_LOCK: free inside the block, held again after, even when the block raises."""
        m, plain = Mutex("drop"), threading.Lock()
        with m, plain:
            with pytest.raises(ValueError, match="inner"), drop_lock(m), drop_lock(plain):
                assert not m.owned()
                assert not plain.locked()
                assert in_thread(lambda: take_and_give_back(m, wait=False))  # others can take it
                raise ValueError("inner")
            assert m.owned()
            assert plain.locked()

    def test_not_held(self) -> None:
        """Dropping a lock this thread does not hold raises and changes nothing."""
        m = Mutex("nothere")
        with pytest.raises(
            LockNotHeldError, match=r"^mutex 'nothere' is not held by thread 'MainThread'$"
        ):
            with drop_lock(m):
                pass
        assert m.depth == 0

    def test_held_twice(self) -> None:
        """A recursive mutex held more than once cannot be dropped once."""
        m = Mutex("twice")
        with m, m:
            with pytest.raises(
                RuntimeError,
                match=r"^can't drop mutex 'twice': this thread holds it 2 times, and drop_lock releases it only once$",
            ):
                with drop_lock(m):
                    pass
            assert m.depth == 2


class TestAssertHeld:
    def test_owner_aware_locks(self) -> None:
        """Mutex, RLock and Condition know whether the caller holds them."""
        for lock in (Mutex("a"), threading.RLock(), threading.Condition()):
            with lock:
                assert_held(lock)
                with pytest.raises(LockNotHeldError, match=r" is not held by thread 'other'$"):
                    in_thread(lambda lock=lock: assert_held(lock))
            with pytest.raises(LockNotHeldError):
                assert_held(lock)

    def test_plain_lock_is_checked_for_being_taken(self) -> None:
        """A Lock has no owner: assert_held checks that it is taken at all."""
        lock = threading.Lock()
        with pytest.raises(
            LockNotHeldError, match=r"^lock at 0x[0-9a-f]+ is not held by thread 'MainThread'$"
        ):
            assert_held(lock)
        with lock:
            assert_held(lock)

    def test_cannot_tell(self) -> None:
        """A semaphore cannot say whether it is held; asking is a TypeError. Non-locks too."""
        with pytest.raises(
            TypeError, match=r"^can't tell whether Semaphore at 0x[0-9a-f]+ is held"
        ):
            assert_held(threading.Semaphore())
        with pytest.raises(TypeError, match=r"got object$"):
            assert_held(object())


class TestLockOrder:
    def test_inversion_across_threads_is_reported_before_deadlock(self) -> None:
        """A->B in one thread, then B->A in another (later, no overlap): the second raises."""
        check_lock_order(True)
        a, b = Mutex("A"), Mutex("B")

        def a_then_b() -> None:
            with a, b:
                pass

        def b_then_a() -> None:
            with b:
                a.acquire()  # would deadlock against a concurrent a_then_b

        in_thread(a_then_b, name="first")
        with pytest.raises(LockOrderError) as caught:
            in_thread(b_then_a, name="second")
        message = str(caught.value)
        assert message.splitlines()[0] == (
            "lock order inversion: thread 'second' takes 'A' while holding 'B', "
            "but 'A' -> 'B' was seen before; these orders can deadlock"
        )
        assert "  'B' -> 'A' now, in thread 'second':" in message
        assert "  'A' -> 'B' first seen in thread 'first':" in message
        assert "in a_then_b" in message
        assert "in b_then_a" in message
        assert not a.owned()
        assert isinstance(caught.value, RuntimeError)

    def test_three_lock_cycle(self) -> None:
        """A->B, B->C, then C->A closes a cycle of three and is reported with the whole path."""
        check_lock_order(True)
        a, b, c = Mutex("A"), Mutex("B"), Mutex("C")
        with a, b:
            pass
        with b, c:
            pass
        with c, pytest.raises(LockOrderError, match=r"but 'A' -> 'B' -> 'C' was seen before"):
            a.acquire()
        assert not a.owned()

    def test_consistent_orders_are_never_reported(self) -> None:
        """Many threads using one global order record edges and raise nothing."""
        check_lock_order(True)
        locks = [Mutex(f"L{i}") for i in range(4)]

        def ordered() -> None:
            for _ in range(50):
                with locks[0], locks[1], locks[2], locks[3]:
                    pass
                with locks[1], locks[3]:
                    pass

        for i in range(4):
            in_thread(ordered, name=f"t{i}")
        assert locking.recorded_lock_orders() == {
            "L0": ("L1", "L2", "L3"),
            "L1": ("L2", "L3"),
            "L2": ("L3",),
        }

    def test_with_lock_group_records_no_order_within(self) -> None:
        """with_lock(a, b) then with_lock(b, a) is fine: the group has no internal order."""
        check_lock_order(True)
        a, b, outer = Mutex("a"), threading.Lock(), Mutex("outer")
        with with_lock(a, b):
            pass
        with with_lock(b, a):
            pass
        with outer, with_lock(b, a):
            pass
        orders = locking.recorded_lock_orders()
        assert list(orders) == ["outer"]
        assert orders["outer"][0] == "a"
        assert orders["outer"][1].startswith("lock#")

    def test_with_lock_inversion_against_mutex_order(self) -> None:
        """Locks taken through with_lock join the same graph as nested mutexes."""
        check_lock_order(True)
        a, plain = Mutex("a"), threading.Lock()
        with a, with_lock(plain):
            pass
        with (
            with_lock(plain),
            pytest.raises(LockOrderError, match=r"takes 'a' while holding 'lock#"),
        ):
            a.acquire()

    def test_relocking_a_plain_lock_is_reported_not_hung(self) -> None:
        """Taking a non-recursive lock the thread already holds raises instead of hanging."""
        check_lock_order(True)
        lock = threading.Lock()
        with with_lock(lock):
            with pytest.raises(
                LockOrderError,
                match=r"^thread 'MainThread' is taking 'lock#\d+' again while it holds it: a non-recursive lock would wait for itself forever$",
            ):
                with with_lock(lock):
                    pass  # pragma: no cover - never reached
        assert not lock.locked()

    def test_recursive_mutex_may_be_retaken(self) -> None:
        """A Mutex taken again by its owner is no order and no report."""
        check_lock_order(True)
        m = Mutex("again")
        with m, with_lock(m), m:
            assert m.depth == 3
        assert locking.recorded_lock_orders() == {}

    def test_warn_mode(self) -> None:
        """With action='warn' the inversion is a LockOrderWarning and the lock is taken."""
        check_lock_order(True, action="warn")
        a, b = Mutex("WA"), Mutex("WB")
        with a, b:
            pass
        with b, pytest.warns(LockOrderWarning, match="lock order inversion"):
            a.acquire()
        assert a.owned()
        a.release()

    def test_bad_action(self) -> None:
        """Only 'raise', 'warn' and 'record' are actions."""
        with pytest.raises(
            ValueError, match=r"^action must be 'raise', 'warn' or 'record', got 'log'$"
        ):
            check_lock_order(True, action="log")  # type: ignore[arg-type]

    def test_off_records_nothing_and_uses_c_methods(self) -> None:
        """Off (the default), nesting records no order and the mutex runs the C methods."""
        a, b = Mutex("x"), Mutex("y")
        with a, b:
            pass
        with b, a:
            pass
        assert locking.recorded_lock_orders() == {}
        assert not locking.instrumented()

    def test_drop_lock_keeps_the_records_straight(self) -> None:
        """While dropped a lock is not held (no order from it); once taken back it is again."""
        check_lock_order(True)
        dropped, other = Mutex("dropped"), Mutex("other")
        for lock in (dropped, threading.Lock()):
            reset_key = locking.recorded_lock_orders()
            with with_lock(lock):
                with drop_lock(lock), other:
                    pass
                assert locking.recorded_lock_orders() == reset_key
                with other:
                    pass
            assert len(locking.recorded_lock_orders()) == len(reset_key) + 1

    def test_environment_switch(self) -> None:
        """OSV_LOCKDEP=1 switches checking on at import."""
        import subprocess
        import sys

        code = "from osv_idioms import locking; print(locking.lock_order_checking(), locking.instrumented())"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "OSV_LOCKDEP": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stdout) == (0, "True True\n"), done.stderr


class Account:
    """Each account's lock is made on one line: one class for all of them."""

    def __init__(self, balance: int) -> None:
        self.lock = Mutex()
        self.balance = balance


def transfer(source: Account, target: Account, amount: int) -> None:
    with source.lock, target.lock:
        source.balance -= amount
        target.balance += amount


def new_lock() -> threading.Lock:
    return threading.Lock()


class TestLockOrderOnRealPrograms:
    def test_plain_threading_locks_are_checked_with_all_locks(self) -> None:
        """``all_locks=True`` checks threading's own locks, made anywhere from then on."""
        check_lock_order(True, all_locks=True)
        first = threading.Lock()
        second = threading.Lock()
        with first, second:
            pass
        with second, pytest.raises(LockOrderError) as caught:
            first.acquire()
        assert not first.locked()
        assert caught.value.args[0].splitlines()[0] == (
            f"lock order inversion: thread 'MainThread' takes 'Lock@{__file__}:{first_line(first)}' "
            f"while holding 'Lock@{__file__}:{first_line(second)}', but "
            f"'Lock@{__file__}:{first_line(first)}' -> 'Lock@{__file__}:{first_line(second)}' "
            "was seen before; these orders can deadlock"
        )

    def test_without_all_locks_threading_locks_stay_unchecked(self) -> None:
        """Plain ``check_lock_order(True)`` leaves ``threading.Lock`` the C lock, unchecked."""
        check_lock_order(True)
        first, second = threading.Lock(), threading.Lock()
        with first, second:
            pass
        with second, first:
            pass
        assert locking.recorded_lock_orders() == {}
        assert threading.Lock is not locking.CheckedLock  # type: ignore[comparison-overlap]

    def test_switching_off_gives_threading_its_locks_back(self) -> None:
        """``check_lock_order(False)`` undoes ``all_locks``: new locks are C locks again."""
        original = threading.Lock
        check_lock_order(True, all_locks=True)
        assert isinstance(threading.Lock(), locking.CheckedLock)
        assert isinstance(threading.RLock(), Mutex)
        check_lock_order(False)
        assert threading.Lock is original

    def test_stdlib_locks_made_while_on_are_checked(self) -> None:
        """A ``queue.Queue`` and a ``threading.Condition`` made while on use checked locks."""
        import queue

        check_lock_order(True, all_locks=True)
        jobs: queue.Queue[int] = queue.Queue()
        ready = threading.Condition()
        mutex: object = jobs.mutex  # a CheckedLock, though typeshed says a C lock
        assert isinstance(mutex, locking.CheckedLock)
        with ready:  # its default lock is an RLock, checked: a Mutex
            jobs.put(1)  # takes the queue's mutex while holding the condition's
        assert locking.recorded_lock_orders() == {
            ready._lock.lock_class: (mutex.lock_class,)  # type: ignore[attr-defined]
        }

    def test_the_bank_transfer_is_reported(self) -> None:
        """Accounts whose locks come from one line: transfer(a, b), then transfer(b, a), is caught."""
        check_lock_order(True)
        alice, bob = (Account(100) for _ in range(2))
        transfer(alice, bob, 10)
        with pytest.raises(LockOrderError) as caught:
            transfer(bob, alice, 5)
        site = alice.lock.lock_class
        assert caught.value.args[0].splitlines()[0] == (
            f"lock order inversion: thread 'MainThread' takes '{site} (lock 1)' while holding "
            f"'{site} (lock 2)', but '{site} (lock 1)' -> '{site} (lock 2)' was seen before; "
            "these orders can deadlock"
        )
        assert (alice.balance, bob.balance) == (90, 110)
        assert not (alice.lock.owned() or bob.lock.owned())

    def test_consistent_nesting_within_one_class_is_fine(self) -> None:
        """Locks of one class always taken in one order (index, parent before child): no report."""
        reports: list[str] = []
        check_lock_order(True, on_report=reports.append)
        locks = [Mutex() for _ in range(5)]
        for _ in range(3):
            for start in range(4):
                with locks[start], locks[start + 1], locks[4]:
                    pass
        assert reports == []

    def test_locks_made_by_one_helper_for_two_callers_are_two_classes(self) -> None:
        """A helper making locks for different callers does not fold them into one class."""
        check_lock_order(True, all_locks=True)
        outer = new_lock()
        inner = new_lock()
        assert outer.lock_class != inner.lock_class  # type: ignore[attr-defined]
        with outer, inner:
            pass
        with inner, pytest.raises(LockOrderError):
            outer.acquire()

    def test_a_subclass_of_mutex_is_classed_where_it_is_made(self) -> None:
        """``Mutex`` subclasses made on two lines are two classes, not the subclass's ``__init__``."""

        class Named(Mutex):  # type: ignore[misc]  # RLock is final in typeshed only
            def __init__(self) -> None:
                super().__init__()

        first = Named()
        second = Named()
        assert first.lock_class != second.lock_class

    def test_trylocks_out_of_order_are_never_reported(self) -> None:
        """A trylock cannot deadlock: out of order it is not reported, yet it counts as held."""
        reports: list[str] = []
        check_lock_order(True, on_report=reports.append)
        a, b, c = Mutex("ta"), Mutex("tb"), Mutex("tc")
        with a, b:
            pass
        with b:
            assert a.acquire(False)
            with c:  # under the trylocked a: a -> c is recorded
                pass
            a.release()
            assert a.try_lock()
            a.unlock()
        assert reports == []
        assert locking.recorded_lock_orders() == {"ta": ("tb", "tc"), "tb": ("tc",)}

    def test_condition_wait_takes_its_lock_back_checked(self) -> None:
        """Holding B, ``cond_a.wait()`` re-takes A: after A -> B, that is an inversion, reported."""
        check_lock_order(True)
        a, b = Mutex("CA"), Mutex("CB")
        cond_a = threading.Condition(a)
        with a, b:
            pass
        with cond_a:
            with b, pytest.raises(LockOrderError, match=r"takes 'CA' while holding 'CB'"):
                cond_a.wait(timeout=0)
            assert a.owned()  # wait() still returned holding the condition's lock
        assert not a.owned()

    def test_short_lived_locks_leave_no_orders_behind(self) -> None:
        """40,000 locks taken under another and dropped: the orders stay as few as the live locks."""
        import gc

        check_lock_order(True)
        outer = Mutex("keeper")
        with outer:
            for _ in range(40_000):
                with with_lock(threading.Lock()):  # each a class of its own, gone with it
                    pass
        gc.collect()
        assert locking.recorded_lock_orders() == {}

    def test_locks_the_collector_frees_while_an_order_is_recorded_are_forgotten(
        self, tmp_path: Path
    ) -> None:
        """Locks in reference cycles, freed by the collector wherever it runs, inside the checker too.

        Recording a new order allocates, so a collection can start while the
        checker holds its own lock, on the very thread whose cycle of locks
        it frees: forgetting those locks must not wait for that lock. In a
        fresh interpreter, at the collector's own thresholds.
        """
        done = run_script(tmp_path / "cycles.py", LOCKS_IN_CYCLES)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "orders left: {}\n"

    def test_record_goes_ahead_and_hands_each_report_over_once(self) -> None:
        """``action='record'`` takes the lock; ``on_report`` gets the report once, not per repeat."""
        reports: list[str] = []
        check_lock_order(True, action="record", on_report=reports.append)
        a, b = Mutex("RA"), Mutex("RB")
        with a, b:
            pass
        for _ in range(3):
            with b, a:
                assert a.owned()
        assert [r.splitlines()[0] for r in reports] == [
            "lock order inversion: thread 'MainThread' takes 'RA' while holding 'RB', "
            "but 'RA' -> 'RB' was seen before; these orders can deadlock"
        ]

    def test_reports_show_the_programs_frames_only(self) -> None:
        """Both stacks of a report are the program's: no pytest, pluggy or library frames."""
        check_lock_order(True)
        a, b = Mutex("FA"), Mutex("FB")
        with a, b:
            pass
        with b, pytest.raises(LockOrderError) as caught:
            a.acquire()
        report = caught.value.args[0]
        assert "test_reports_show_the_programs_frames_only" in report
        for noise in ("_pytest", "pluggy", "osv_idioms/locking", "runpy"):
            assert noise not in report


def first_line(lock: object) -> int:
    """The line a checked lock was made on, from its class."""
    return int(lock.lock_class.rsplit(":", 1)[1])  # type: ignore[attr-defined]


class TestCheckedLock:
    def test_waiting_for_a_lock_this_thread_holds_is_reported_after_a_second(self) -> None:
        """A thread blocking on a ``Lock`` it holds is told so, instead of hanging silently."""
        check_lock_order(True, all_locks=True)
        lock = threading.Lock()
        lock.acquire()
        with pytest.raises(
            LockOrderError,
            match=rf"^thread 'MainThread' has waited 1 s for 'Lock@{re.escape(__file__)}:\d+', "
            r"which it holds itself: unless another thread releases it, it waits for ever$",
        ):
            lock.acquire()
        assert lock.locked()
        lock.release()

    def test_another_thread_may_release_it_for_the_waiter(self) -> None:
        """Taking a held ``Lock`` again to wait for another thread's release is no report."""
        reports: list[str] = []
        check_lock_order(True, all_locks=True, on_report=reports.append)
        handshake = threading.Lock()
        handshake.acquire()
        releaser = threading.Thread(target=handshake.release)
        releaser.start()
        handshake.acquire()  # waits until the other thread released it
        releaser.join(JOIN_TIMEOUT_S)
        handshake.release()
        assert reports == []

    def test_it_refuses_what_the_c_lock_refuses(self) -> None:
        """The checked ``Lock`` refuses bad arguments as ``threading.Lock`` does, word for word."""
        check_lock_order(True, all_locks=True)
        checked, plain = threading.Lock(), _thread.allocate_lock()
        for args in ((False, 1), (True, -5)):
            with pytest.raises(ValueError, match=r".") as expected:
                plain.acquire(*args)
            with pytest.raises(ValueError, match=rf"^{re.escape(str(expected.value))}$"):
                checked.acquire(*args)
        assert repr(checked).startswith("<unlocked _thread.lock object at 0x")
