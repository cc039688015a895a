"""Strong and weak handles against a model: clone, release, weak, lock and reset in any order."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from osv_idioms.errors import ReleasedHandleError
from osv_idioms.refcount import SharedPtr, WeakPtr, make_shared


class Device:
    def __init__(self) -> None:
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


class HandleLifecycle(RuleBasedStateMachine):
    """use_count equals the live strong handles; the device closes once, when it reaches 0."""

    def __init__(self) -> None:
        super().__init__()
        first = make_shared(Device)
        self.device = first.get()
        self.strong: list[SharedPtr[Device]] = [first]
        self.released: list[SharedPtr[Device]] = []
        self.weak: list[WeakPtr[Device]] = []
        self.gone = False

    def live(self) -> int:
        return len(self.strong)

    @precondition(lambda self: self.strong)
    @rule(index=st.integers(0, 100))
    def clone(self, index: int) -> None:
        self.strong.append(self.strong[index % len(self.strong)].clone())

    @precondition(lambda self: self.strong)
    @rule(index=st.integers(0, 100))
    def release(self, index: int) -> None:
        handle = self.strong.pop(index % len(self.strong))
        handle.release()
        self.released.append(handle)
        self.gone = self.gone or not self.strong

    @precondition(lambda self: self.released)
    @rule(index=st.integers(0, 100))
    def released_handles_stay_released(self, index: int) -> None:
        handle = self.released[index % len(self.released)]
        handle.release()
        try:
            handle.get()
        except ReleasedHandleError:
            pass
        else:
            raise AssertionError("get() on a released handle succeeded")

    @precondition(lambda self: self.strong)
    @rule(index=st.integers(0, 100))
    def make_weak(self, index: int) -> None:
        self.weak.append(self.strong[index % len(self.strong)].weak())

    @precondition(lambda self: self.weak)
    @rule(index=st.integers(0, 100))
    def lock(self, index: int) -> None:
        handle = self.weak[index % len(self.weak)].lock()
        if self.gone:
            assert handle is None
        else:
            assert handle is not None
            self.strong.append(handle)

    @invariant()
    def use_count_is_the_live_handles(self) -> None:
        for handle in self.strong:
            assert handle.use_count == self.live()

    @invariant()
    def closed_exactly_when_the_last_let_go(self) -> None:
        assert self.device.closes == (1 if self.gone else 0)

    @invariant()
    def weak_handles_expire_with_the_resource(self) -> None:
        for weak in self.weak:
            assert weak.expired() == self.gone
            assert weak.weak_count == len(self.weak)

    def teardown(self) -> None:
        for handle in self.strong:
            handle.release()
        for weak in self.weak:
            weak.reset()


TestHandleLifecycle = HandleLifecycle.TestCase
TestHandleLifecycle.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
