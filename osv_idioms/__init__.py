"""The C++ systems idioms of "Lessons learned from OSv", as typed, thread-safe Python.

Each idiom is a public module (``osv_idioms.trace``, ...), mapped to its slide
in ``docs/slides.md``. Its types are re-exported here, with ``tracepoint``,
``with_lock``, ``drop_lock`` and ``make_shared``; its verbs (``trace.enable``,
``locking.check_lock_order``, ``callbacks.bind``) stay in their module.

A name is imported from its module the first time it is used, so that
``import osv_idioms`` (and ``python -m osv_idioms --version``) costs nothing
until an idiom is wanted.

Examples:
    >>> import osv_idioms
    >>> osv_idioms.Mutex is __import__("osv_idioms.locking").locking.Mutex
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
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
    from .locking import MutexStatistics as MutexStatistics
    from .locking import drop_lock as drop_lock
    from .locking import with_lock as with_lock
    from .rcu import CopyUpdate as CopyUpdate
    from .rcu import Draft as Draft
    from .rcu import RcuDict as RcuDict
    from .rcu import RcuDomain as RcuDomain
    from .rcu import RcuList as RcuList
    from .rcu import RcuPtr as RcuPtr
    from .rcu import RcuStatistics as RcuStatistics
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
    from .signals import SignalStatistics as SignalStatistics
    from .telemetry import Bridge as Bridge
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

# Each public name, and the module that defines it.
_HOMES: dict[str, str] = {
    "RcuStatistics": "rcu",
    "MutexStatistics": "locking",
    "SignalStatistics": "signals",
    "Arity": "callbacks",
    "Bound": "callbacks",
    "Function": "callbacks",
    "Placeholder": "callbacks",
    "BadFunctionCall": "errors",
    "BadWeakPtr": "errors",
    "ExpiredCallbackError": "errors",
    "GracePeriodTimeout": "errors",
    "LeakedHandleError": "errors",
    "LockNotHeldError": "errors",
    "LockOrderError": "errors",
    "LockOrderWarning": "errors",
    "LockTimeout": "errors",
    "ProbeFailedWarning": "errors",
    "RcuCallbackWarning": "errors",
    "RcuReaderExitedWarning": "errors",
    "RefCountError": "errors",
    "ReleasedHandleError": "errors",
    "TracepointError": "errors",
    "AcquireLockable": "locking",
    "CheckedLock": "locking",
    "LockUnlockable": "locking",
    "Mutex": "locking",
    "drop_lock": "locking",
    "with_lock": "locking",
    "CopyUpdate": "rcu",
    "Draft": "rcu",
    "RcuDict": "rcu",
    "RcuDomain": "rcu",
    "RcuList": "rcu",
    "RcuPtr": "rcu",
    "Reader": "rcu",
    "Handle": "refcount",
    "IntrusivePtr": "refcount",
    "IntrusiveRefCounted": "refcount",
    "SharedFromThis": "refcount",
    "SharedPtr": "refcount",
    "WeakPtr": "refcount",
    "make_shared": "refcount",
    "Connection": "signals",
    "ScopedConnection": "signals",
    "Signal": "signals",
    "Column": "trace",
    "Counters": "trace",
    "DurationStats": "trace",
    "PerfStat": "trace",
    "ProbeHandle": "trace",
    "TraceEvent": "trace",
    "TracepointInfo": "trace",
    "TraceSnapshot": "trace",
    "TraceSummary": "trace",
    "tracepoint": "trace",
    "Bridge": "telemetry",
}


def __getattr__(name: str) -> object:
    """Import a re-exported name from its module on first use, then keep it here."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = (
    "AcquireLockable",
    "Arity",
    "BadFunctionCall",
    "BadWeakPtr",
    "Bound",
    "Bridge",
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
    "MutexStatistics",
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
    "RcuStatistics",
    "Reader",
    "RefCountError",
    "ReleasedHandleError",
    "ScopedConnection",
    "SharedFromThis",
    "SharedPtr",
    "Signal",
    "SignalStatistics",
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
