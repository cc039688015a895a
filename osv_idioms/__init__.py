"""The C++ systems idioms of "Lessons learned from OSv", as typed, thread-safe Python.

Each idiom is a public module (``osv_idioms.trace``, ...), mapped to its slide
in ``docs/slides.md``. Its types, and the ``tracepoint`` decorator, are
re-exported here; its verbs (``trace.enable``) stay in their module.
"""

from __future__ import annotations

from .errors import ProbeFailedWarning as ProbeFailedWarning
from .errors import TracepointError as TracepointError
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
    "Column",
    "Counters",
    "DurationStats",
    "PerfStat",
    "ProbeFailedWarning",
    "ProbeHandle",
    "TraceEvent",
    "TraceSnapshot",
    "TraceSummary",
    "TracepointError",
    "TracepointInfo",
    "__version__",
    "tracepoint",
)
