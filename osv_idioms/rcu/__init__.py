"""RCU: readers that never wait, grace periods, and deferred reclamation of resources.

Slide "templates - enforcing concepts at compile time":
``rcu_ptr<vector<device>> device_list; device_list.assign(new_device_list);
auto list = device_list.read();``. In Python the garbage collector already
keeps an old snapshot alive for whoever still holds it; what RCU adds is
reads no writer ever blocks, and *closing* what was replaced (devices, files,
connections) only once no reader can still be using it.

Examples:
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

from ..faces import present
from ._containers import CopyUpdate, Draft, RcuDict, RcuList, RcuPtr
from ._default import barrier, call_rcu, dispose, in_read_section, read_lock, synchronize
from ._domain import (
    RcuDomain,
    RcuStatistics,
    Reader,
    default_domain,
    trace_rcu_callbacks,
    trace_rcu_synchronize,
    trace_rcu_synchronize_ret,
)

__all__ = (
    "CopyUpdate",
    "Draft",
    "RcuDict",
    "RcuDomain",
    "RcuList",
    "RcuPtr",
    "RcuStatistics",
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

present(__name__, globals())
