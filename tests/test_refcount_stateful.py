"""Strong and weak handles against a model: clone, release, weak, lock and reset in any order."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from osv_idioms.errors import ReleasedHandleError
from osv_idioms.refcount import SharedPtr, WeakPtr, make_shared


class Device:
    def __init__(self) -> None:
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


class HandleLifecycle(RuleBasedStateMachine):
    """use_count equals the live strong handles; the device closes once, when it reaches 0."""

    strong = Bundle("strong")
    released = Bundle("released")
    weak = Bundle("weak")

    def __init__(self) -> None:
        super().__init__()
        self.owning: list[SharedPtr[Device]] = []  # the strong handles not yet released
        self.observing: list[WeakPtr[Device]] = []
        self.device: Device | None = None
        self.gone = False

    @initialize(target=strong)
    def make(self) -> SharedPtr[Device]:
        first = make_shared(Device)
        self.device = first.get()
        self.owning.append(first)
        return first

    @rule(target=strong, handle=strong)
    def clone(self, handle: SharedPtr[Device]) -> SharedPtr[Device]:
        copy = handle.clone()
        self.owning.append(copy)
        return copy

    @rule(target=released, handle=consumes(strong))
    def release(self, handle: SharedPtr[Device]) -> SharedPtr[Device]:
        handle.release()
        self.owning.remove(handle)
        self.gone = self.gone or not self.owning
        return handle

    @rule(handle=released)
    def released_handles_stay_released(self, handle: SharedPtr[Device]) -> None:
        handle.release()
        try:
            handle.get()
        except ReleasedHandleError:
            pass
        else:
            raise AssertionError("get() on a released handle succeeded")

    @rule(target=weak, handle=strong)
    def make_weak(self, handle: SharedPtr[Device]) -> WeakPtr[Device]:
        observer = handle.weak()
        self.observing.append(observer)
        return observer

    @rule(target=strong, observer=weak)
    def lock(self, observer: WeakPtr[Device]) -> SharedPtr[Device] | MultipleResults[Any]:
        handle = observer.lock()
        if self.gone:
            assert handle is None
            return multiple()
        assert handle is not None
        self.owning.append(handle)
        return handle

    @invariant()
    def use_count_is_the_live_handles(self) -> None:
        for handle in self.owning:
            assert handle.use_count == len(self.owning)

    @invariant()
    def closed_exactly_when_the_last_let_go(self) -> None:
        if self.device is not None:
            assert self.device.closes == (1 if self.gone else 0)

    @invariant()
    def weak_handles_expire_with_the_resource(self) -> None:
        for observer in self.observing:
            assert observer.expired() == self.gone
            assert observer.weak_count == len(self.observing)

    def teardown(self) -> None:
        for handle in self.owning:
            handle.release()
        for observer in self.observing:
            observer.reset()


TestHandleLifecycle = HandleLifecycle.TestCase
TestHandleLifecycle.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
