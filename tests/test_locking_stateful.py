"""A Mutex's lifecycle against a model: any sequence of lock, try, unlock, drop and mode switches."""

from __future__ import annotations

import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from osv_idioms import locking, trace
from osv_idioms.errors import LockNotHeldError
from osv_idioms.locking import Mutex, drop_lock, with_lock


class MutexLifecycle(RuleBasedStateMachine):
    """The depth and ownership always equal the model's, whichever methods run underneath."""

    def __init__(self) -> None:
        super().__init__()
        self.mutex = Mutex("model")
        self.depth = 0
        self.counters: trace.Counters | None = None

    @rule(how=st.sampled_from(["lock", "acquire", "enter", "try_lock", "with_lock"]))
    def take(self, how: str) -> None:
        m = self.mutex
        if how == "lock":
            m.lock()
        elif how == "acquire":
            assert m.acquire(timeout=1)
        elif how == "enter":
            m.__enter__()
        elif how == "try_lock":
            assert m.try_lock()
        else:
            with_lock(m).__enter__()
        self.depth += 1

    @precondition(lambda self: self.depth > 0)
    @rule(how=st.sampled_from(["unlock", "release", "exit"]))
    def give(self, how: str) -> None:
        m = self.mutex
        if how == "exit":
            m.__exit__(None, None, None)
        else:
            getattr(m, how)()
        self.depth -= 1

    @precondition(lambda self: self.depth == 0)
    @rule()
    def unlock_when_free_is_refused(self) -> None:
        with pytest.raises(RuntimeError, match=r"it is not held$"):
            self.mutex.unlock()

    @rule()
    def drop(self) -> None:
        if self.depth == 1:
            with drop_lock(self.mutex):
                assert not self.mutex.owned()
        elif self.depth == 0:
            with pytest.raises(LockNotHeldError), drop_lock(self.mutex):
                pass  # pragma: no cover - never reached
        else:
            with pytest.raises(RuntimeError, match="holds it"), drop_lock(self.mutex):
                pass  # pragma: no cover - never reached

    @rule()
    def another_thread_takes_it_only_when_free(self) -> None:
        taken: list[bool] = []

        def attempt() -> None:
            got = self.mutex.try_lock()
            if got:
                self.mutex.release()
            taken.append(got)

        thread = threading.Thread(target=attempt, name="other")
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert taken == [self.depth == 0]

    @rule(on=st.booleans())
    def switch_tracing(self, on: bool) -> None:
        if on and self.counters is None:
            self.counters = trace.count("mutex_*")
        elif not on and self.counters is not None:
            self.counters.close()
            self.counters = None

    @rule(on=st.booleans())
    def switch_lock_order_checking(self, on: bool) -> None:
        locking.check_lock_order(on)

    @invariant()
    def depth_and_ownership_follow_the_model(self) -> None:
        assert self.mutex.depth == self.depth
        assert self.mutex.owned() == (self.depth > 0)

    @invariant()
    def instrumented_exactly_while_watched(self) -> None:
        assert locking.instrumented() == (
            self.counters is not None or locking.lock_order_checking()
        )

    def teardown(self) -> None:
        while self.depth:
            self.mutex.release()
            self.depth -= 1
        if self.counters is not None:
            self.counters.close()
        locking.check_lock_order(False)


TestMutexLifecycle = MutexLifecycle.TestCase
TestMutexLifecycle.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
