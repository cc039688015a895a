"""RCU: readers that never wait, grace periods, and deferred reclamation of resources.

Slide "templates - enforcing concepts at compile time":
``rcu_ptr<vector<device>> device_list; device_list.assign(new_device_list);
auto list = device_list.read();``. In Python the garbage collector already
keeps an old snapshot alive for whoever still holds it; what RCU adds is
reads no writer ever blocks, and *closing* what was replaced (devices, files,
connections) only once no reader can still be using it.

>>> from osv_idioms.rcu import RcuPtr, read_lock, dispose, barrier
>>> class Device:
...     closed = False
...     def close(self) -> None:
...         self.closed = True
>>> devices = RcuPtr((Device(),))
>>> with read_lock():
...     (current,) = devices.read()
...     old = devices.assign((Device(),))   # a writer replaces the list...
...     dispose(old[0])                      # ...and retires the old device
...     current.closed                       # a reader's value is never closed under it
False
>>> barrier()                                # every queued retirement has now run
>>> old[0].closed
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typing_extensions import TypeVarTuple

from ._containers import CopyUpdate, Draft, RcuDict, RcuList, RcuPtr
from ._domain import (
    RcuDomain,
    Reader,
    default_domain,
    trace_rcu_callbacks,
    trace_rcu_synchronize,
    trace_rcu_synchronize_ret,
)

_Ts = TypeVarTuple("_Ts")

__all__ = (
    "CopyUpdate",
    "Draft",
    "RcuDict",
    "RcuDomain",
    "RcuList",
    "RcuPtr",
    "Reader",
    "barrier",
    "call_rcu",
    "default_domain",
    "dispose",
    "in_read_section",
    "read_lock",
    "synchronize",
    "trace_rcu_callbacks",
    "trace_rcu_synchronize",
    "trace_rcu_synchronize_ret",
)

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
