"""Reference-counted handles against a Lock with-block, weakref.finalize and plain close().

Each round runs 1,000 operations (divide by 1,000 for ns per operation).
"""

from __future__ import annotations

import threading
import weakref

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks._unrolled import unrolled
from osv_idioms.refcount import IntrusivePtr, IntrusiveRefCounted, make_shared


class Device:
    __slots__ = ("__weakref__", "closed")

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Node(IntrusiveRefCounted):
    pass


def noop() -> None:
    """A finalizer that does nothing: only the registration is measured."""


@pytest.mark.benchmark(group="clone-release")
def test_lock_with_block(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("with lock: pass", {"lock": threading.Lock()}))


@pytest.mark.benchmark(group="clone-release")
def test_shared_clone_release(benchmark: BenchmarkFixture) -> None:
    owner = make_shared(Device)
    benchmark(unrolled("owner.clone().release()", {"owner": owner}))
    owner.release()


@pytest.mark.benchmark(group="clone-release")
def test_intrusive_clone_release(benchmark: BenchmarkFixture) -> None:
    owner = IntrusivePtr(Node())
    benchmark(unrolled("owner.clone().release()", {"owner": owner}))
    owner.release()


@pytest.mark.benchmark(group="lifecycle")
def test_construct_and_close(benchmark: BenchmarkFixture) -> None:
    benchmark(unrolled("Device().close()", {"Device": Device}))


@pytest.mark.benchmark(group="lifecycle")
def test_make_shared_and_last_release(benchmark: BenchmarkFixture) -> None:
    names = {"Device": Device, "make_shared": make_shared}
    benchmark(unrolled("make_shared(Device).release()", names))


@pytest.mark.benchmark(group="lifecycle")
def test_weakref_finalize_registration(benchmark: BenchmarkFixture) -> None:
    names = {"Device": Device, "finalize": weakref.finalize, "noop": noop}
    benchmark(unrolled("finalize(Device(), noop)", names))


@pytest.mark.benchmark(group="lifecycle")
def test_weakref_finalize_and_close(benchmark: BenchmarkFixture) -> None:
    """The peer make_shared() is held to: the stdlib's safety net registered, then close()."""
    names = {"Device": Device, "finalize": weakref.finalize, "noop": noop}
    benchmark(unrolled("device = Device(); finalize(device, noop); device.close()", names))
