"""Shared fixtures: each test gets fresh tracepoint names and leaves the registry as it found it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from osv_idioms import locking, trace

_serial = itertools.count()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Make a tracepoint name no other test uses (the registry lives as long as the process)."""

    def make(stem: str) -> str:
        return f"t{next(_serial)}_{stem}"

    return make


@pytest.fixture(autouse=True)
def reset_tracing() -> Iterator[None]:
    """Each test ends with every tracepoint off, no probes, and an empty ring of the default size."""
    yield
    trace.reset()


@pytest.fixture(autouse=True)
def restore_lock_order_checking() -> Iterator[None]:
    """Each test starts and ends with lock-order checking off and no recorded orders."""
    locking.check_lock_order(False)
    locking.reset_lock_order()
    yield
    locking.check_lock_order(False)
    locking.reset_lock_order()
