"""The C++ systems idioms of "Lessons learned from OSv", as typed, thread-safe Python.

Each idiom is a public module (``osv_idioms.trace``, ...), mapped to its slide
in ``docs/slides.md``. Its types, and the ``tracepoint`` decorator, are
re-exported here, with ``tracepoint``, ``with_lock`` and ``drop_lock``; its
verbs (``trace.enable``, ``locking.check_lock_order``) stay in their module.
"""

from __future__ import annotations

from .errors import GracePeriodTimeout as GracePeriodTimeout
from .errors import LockNotHeldError as LockNotHeldError
from .errors import LockOrderError as LockOrderError
from .errors import LockOrderWarning as LockOrderWarning
from .errors import LockTimeout as LockTimeout
from .errors import ProbeFailedWarning as ProbeFailedWarning
from .errors import RcuCallbackWarning as RcuCallbackWarning
from .errors import RcuReaderExitedWarning as RcuReaderExitedWarning
from .errors import TracepointError as TracepointError
from .locking import AcquireLockable as AcquireLockable
from .locking import LockUnlockable as LockUnlockable
from .locking import Mutex as Mutex
from .locking import drop_lock as drop_lock
from .locking import with_lock as with_lock
from .rcu import CopyUpdate as CopyUpdate
from .rcu import Draft as Draft
from .rcu import RcuDict as RcuDict
from .rcu import RcuDomain as RcuDomain
from .rcu import RcuList as RcuList
from .rcu import RcuPtr as RcuPtr
from .rcu import Reader as Reader
from .trace import Column as Column
from .trace import Counters as Counters
from .trace import DurationStats as DurationStats
from .trace import PerfStat as PerfStat
from .trace import ProbeHandle as ProbeHandle
from .trace import TraceEvent as TraceEvent
from .trace import TracepointInfo as TracepointInfo
from .trace import TraceSnapshot as TraceSnapshot
from .trace import TraceSummary as TraceSummary
from .trace import tracepoint as tracepoint

__version__ = "0.1.0"

__all__ = (
    "AcquireLockable",
    "Column",
    "CopyUpdate",
    "Counters",
    "Draft",
    "DurationStats",
    "GracePeriodTimeout",
    "LockNotHeldError",
    "LockOrderError",
    "LockOrderWarning",
    "LockTimeout",
    "LockUnlockable",
    "Mutex",
    "PerfStat",
    "ProbeFailedWarning",
    "ProbeHandle",
    "RcuCallbackWarning",
    "RcuDict",
    "RcuDomain",
    "RcuList",
    "RcuPtr",
    "RcuReaderExitedWarning",
    "Reader",
    "TraceEvent",
    "TraceSnapshot",
    "TraceSummary",
    "TracepointError",
    "TracepointInfo",
    "__version__",
    "drop_lock",
    "tracepoint",
    "with_lock",
)
