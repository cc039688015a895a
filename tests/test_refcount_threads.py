"""osv_idioms.refcount under threads: one close, after the last release, never under a user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import SupportsIndex

from osv_idioms.refcount import (
    IntrusivePtr,
    IntrusiveRefCounted,
    SharedPtr,
    WeakPtr,
    make_shared,
    ref_if_positive,
)
from tests._threads import run_threads

THREADS = 8
ROUNDS = 2_000
JOIN_TIMEOUT_S = 60.0


class Device:
    def __init__(self) -> None:
        self.closes = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.closes += 1


class Node(IntrusiveRefCounted):
    def __init__(self) -> None:
        self.closes = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.closes += 1


def test_clone_and_release_from_eight_threads() -> None:
    """8 threads clone and release one resource 2,000 times each: one close, after the last."""
    owner = make_shared(Device)
    device = owner.get()
    in_use_closed: list[int] = []

    def work() -> None:
        for _ in range(ROUNDS):
            handle = owner.clone()
            if handle.get().closes:
                in_use_closed.append(1)
            handle.release()

    run_threads([work] * THREADS)
    assert (device.closes, owner.use_count) == (0, 1)
    owner.release()
    assert device.closes == 1
    assert in_use_closed == []


def test_last_releases_race_to_one_close() -> None:
    """Many owners released at once from many threads: the deleter runs exactly once."""
    for _ in range(50):
        owner = make_shared(Device)
        handles = [owner.clone() for _ in range(THREADS - 1)] + [owner]
        device = owner.get()
        run_threads([handle.release for handle in handles])
        assert device.closes == 1


def lock_until_gone(weak: WeakPtr[Device], bad: list[int]) -> Callable[[], None]:
    """A thread body: lock the weak handle and use the device, until lock() says it is gone."""

    def run() -> None:
        for _ in range(200):
            handle = weak.lock()
            if handle is None:
                return
            if handle.get().closes:
                bad.append(1)
            handle.release()

    return run


def find_until_gone(node: Node, bad: list[int]) -> Callable[[], None]:
    """A thread body: take a reference if positive and use the node, until there is none."""

    def run() -> None:
        for _ in range(200):
            handle = ref_if_positive(node)
            if handle is None:
                return
            if node.closes:
                bad.append(1)
            handle.release()

    return run


def test_weak_lock_racing_the_last_release() -> None:
    """weak.lock() against the last release gives a live owner or None, never a closed device."""
    for _ in range(50):
        owner = make_shared(Device)
        weak = owner.weak()
        device = owner.get()
        bad: list[int] = []
        locker = lock_until_gone(weak, bad)
        run_threads([locker, locker, locker, owner.release])
        assert bad == []
        assert device.closes == 1
        assert weak.lock() is None


def test_intrusive_ref_if_positive_racing_the_last_release() -> None:
    """ref_if_positive against the last release never revives a node being torn down."""
    for _ in range(50):
        node = Node()
        owner = IntrusivePtr(node)
        bad: list[int] = []
        finder = find_until_gone(node, bad)
        run_threads([finder, finder, finder, owner.release])
        assert bad == []
        assert (node.closes, node.ref_count) == (1, 0)


class _PausingOwners(list[object]):
    """An owner list that stops the main thread's pop, and the other thread's append, midway.

    The race below needs one thread's release to fall between two steps of
    another thread's ``lock()``: too narrow a window to hit by chance, so the
    test builds it. It replaces the control block's list, the one place the
    library code can be paused from outside.
    """

    def __init__(self, items: list[object], main: int) -> None:
        super().__init__(items)
        self.main = main
        self.releasing, self.locking, self.released = (threading.Event() for _ in range(3))

    def pop(self, index: SupportsIndex = -1) -> object:
        if threading.get_ident() != self.main:
            return super().pop(index)
        self.releasing.set()  # the other thread goes now, up to its append
        self.locking.wait(JOIN_TIMEOUT_S)
        try:
            return super().pop(index)
        finally:
            self.released.set()

    def append(self, item: object) -> None:
        if threading.get_ident() != self.main:
            self.locking.set()  # the main thread's pop goes now, before this append
            self.released.wait(JOIN_TIMEOUT_S)
        super().append(item)


def test_weak_lock_never_revives_what_a_concurrent_last_release_closes() -> None:
    """A weak handle locked while the last owner's release pops gives None, not a closed device.

    Owner A releases; owner B makes a weak handle, releases, and locks it, its
    ``lock()`` seeing an owner left (A's) just before A's release takes it.
    """
    first = make_shared(Device)
    second = first.clone()
    device = first.get()
    owners = _PausingOwners(first._control.owners, threading.get_ident())  # pyright: ignore[reportPrivateUsage]
    first._control.owners = owners  # pyright: ignore[reportPrivateUsage]
    locked: list[SharedPtr[Device] | None] = []

    def observe() -> None:
        owners.releasing.wait(JOIN_TIMEOUT_S)
        weak = second.weak()
        second.release()
        locked.append(weak.lock())

    thread = threading.Thread(target=observe)
    thread.start()
    first.release()
    thread.join(JOIN_TIMEOUT_S)
    assert not thread.is_alive()
    assert (locked, device.closes) == ([None], 1)
