"""Shared fixtures: each test gets fresh tracepoint names and leaves the registry as it found it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from osv_idioms import locking, trace
from osv_idioms.trace import _points

_serial = itertools.count()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Make a tracepoint name no other test uses (the registry lives as long as the process)."""

    def make(stem: str) -> str:
        return f"t{next(_serial)}_{stem}"

    return make


@pytest.fixture(autouse=True)
def restore_trace_registry() -> Iterator[None]:
    """Undo the enable/disable rules and probes a test added, and empty the ring."""
    rules, probes = list(_points._rules), list(_points._probe_rules)
    size = trace.buffer_size()
    yield
    with _points._lock:
        _points._rules[:] = rules
        _points._probe_rules[:] = probes
        for point in _points._points.values():
            _points._apply_rules(point)
            point.refresh()
    trace.set_buffer_size(size)


@pytest.fixture(autouse=True)
def restore_lock_order_checking() -> Iterator[None]:
    """Each test starts and ends with lock-order checking off and no recorded orders."""
    locking.check_lock_order(False)
    locking.reset_lock_order()
    yield
    locking.check_lock_order(False)
    locking.reset_lock_order()
