"""The default domain's verbs: what ``rcu.read_lock()``, ``rcu.synchronize()`` ... call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typing_extensions import TypeVarTuple

from ._domain import Reader, default_domain

__all__ = ("barrier", "call_rcu", "dispose", "in_read_section", "read_lock", "synchronize")

_Ts = TypeVarTuple("_Ts")

read_lock: Callable[[], Reader] = default_domain.read_lock
"""The calling thread's read section in the default domain (see ``RcuDomain.read_lock``).

Bound once, so a read section costs no extra call; keep the returned object
in a hot loop (``section = read_lock()``, then ``with section:``).
"""


def synchronize(timeout: float | None = None) -> None:
    """Wait for every read section of the default domain that began before this call."""
    default_domain.synchronize(timeout)


def call_rcu(fn: Callable[[*_Ts], object], *args: *_Ts) -> None:
    """Run ``fn(*args)`` after a grace period of the default domain, on its reclaimer."""
    default_domain.call_rcu(fn, *args)


def barrier(timeout: float | None = None) -> None:
    """Wait until every callback queued in the default domain so far has run."""
    default_domain.barrier(timeout)


def dispose(resource: Any) -> None:
    """Call ``resource.close()`` after a grace period of the default domain."""
    default_domain.dispose(resource)


def in_read_section() -> bool:
    """Whether the calling thread is inside a read section of the default domain."""
    return default_domain.in_read_section()
