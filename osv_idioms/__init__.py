"""The C++ systems idioms of "Lessons learned from OSv", as typed, thread-safe Python.

Each idiom is a public module (``osv_idioms.trace``, ...), mapped to its slide
in ``docs/slides.md``. Its types are re-exported here, with ``tracepoint``,
``with_lock``, ``drop_lock`` and ``make_shared``; its verbs (``trace.enable``,
``locking.check_lock_order``, ``callbacks.bind``) stay in their module.
"""

from __future__ import annotations

from .callbacks import Arity as Arity
from .callbacks import Bound as Bound
from .callbacks import Function as Function
from .callbacks import Placeholder as Placeholder
from .errors import BadFunctionCall as BadFunctionCall
from .errors import BadWeakPtr as BadWeakPtr
from .errors import ExpiredCallbackError as ExpiredCallbackError
from .errors import GracePeriodTimeout as GracePeriodTimeout
from .errors import LeakedHandleError as LeakedHandleError
from .errors import LockNotHeldError as LockNotHeldError
from .errors import LockOrderError as LockOrderError
from .errors import LockOrderWarning as LockOrderWarning
from .errors import LockTimeout as LockTimeout
from .errors import ProbeFailedWarning as ProbeFailedWarning
from .errors import RcuCallbackWarning as RcuCallbackWarning
from .errors import RcuReaderExitedWarning as RcuReaderExitedWarning
from .errors import RefCountError as RefCountError
from .errors import ReleasedHandleError as ReleasedHandleError
from .errors import TracepointError as TracepointError
from .locking import AcquireLockable as AcquireLockable
from .locking import CheckedLock as CheckedLock
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
from .refcount import Handle as Handle
from .refcount import IntrusivePtr as IntrusivePtr
from .refcount import IntrusiveRefCounted as IntrusiveRefCounted
from .refcount import SharedFromThis as SharedFromThis
from .refcount import SharedPtr as SharedPtr
from .refcount import WeakPtr as WeakPtr
from .refcount import make_shared as make_shared
from .signals import Connection as Connection
from .signals import ScopedConnection as ScopedConnection
from .signals import Signal as Signal
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
    "Arity",
    "BadFunctionCall",
    "BadWeakPtr",
    "Bound",
    "CheckedLock",
    "Column",
    "Connection",
    "CopyUpdate",
    "Counters",
    "Draft",
    "DurationStats",
    "ExpiredCallbackError",
    "Function",
    "GracePeriodTimeout",
    "Handle",
    "IntrusivePtr",
    "IntrusiveRefCounted",
    "LeakedHandleError",
    "LockNotHeldError",
    "LockOrderError",
    "LockOrderWarning",
    "LockTimeout",
    "LockUnlockable",
    "Mutex",
    "PerfStat",
    "Placeholder",
    "ProbeFailedWarning",
    "ProbeHandle",
    "RcuCallbackWarning",
    "RcuDict",
    "RcuDomain",
    "RcuList",
    "RcuPtr",
    "RcuReaderExitedWarning",
    "Reader",
    "RefCountError",
    "ReleasedHandleError",
    "ScopedConnection",
    "SharedFromThis",
    "SharedPtr",
    "Signal",
    "TraceEvent",
    "TraceSnapshot",
    "TraceSummary",
    "TracepointError",
    "TracepointInfo",
    "WeakPtr",
    "__version__",
    "drop_lock",
    "make_shared",
    "tracepoint",
    "with_lock",
)
