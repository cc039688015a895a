"""Static tracepoints, counters and a trace ring: OSv's ``TRACEPOINT`` and ``perf`` in Python.

Slide "Performance and tracing": ``TRACEPOINT(trace_mutex_lock, "%p", mutex *);``
declared once, called in ``mutex::lock()``, counted by ``perf stat``. Here a
tracepoint is declared by decorating a typed stub; off, a call costs what an
empty function call costs, because the function's body *is* empty until
something is switched on.

Switching on: ``enable(pattern)`` records into a bounded ring (``events()``,
``write_chrome_trace()``, ``summary()``), ``count(...)`` counts,
``add_probe(pattern, fn)`` calls a sink of your own; ``reset()`` switches
everything off again. ``OSV_TRACE="mutex_*,sched_*"`` in the environment
records those patterns from the start (see ``osv_idioms.environment``).

Examples:
    >>> from osv_idioms.trace import tracepoint, count
    >>> @tracepoint("{m!r}")
    ... def trace_doc_mutex_lock(m: object) -> None: ...
    >>> with count("doc_mutex_lock") as c:
    ...     for _ in range(3):
    ...         trace_doc_mutex_lock("lock")
    >>> c["doc_mutex_lock"]
    3
"""

from __future__ import annotations

from ..faces import present
from ._bodies import Probe
from ._counting import Counters, count, read_together
from ._events import (
    TraceEvent,
    TraceSnapshot,
    buffer_size,
    clear,
    events,
    overwritten,
    set_buffer_size,
    snapshot,
)
from ._export import (
    DurationStats,
    TraceSummary,
    chrome_trace,
    summarize,
    summary,
    write_chrome_trace,
)
from ._functions import probe_function
from ._pairing import start_of
from ._points import (
    ProbeHandle,
    TracepointInfo,
    add_probe,
    declare_tracepoint,
    disable,
    enable,
    reset,
    tracepoint,
    tracepoints,
)
from ._registry import DEFAULT_BUFFER_SIZE
from ._stat import Column, PerfStat, stat

__all__ = (
    "DEFAULT_BUFFER_SIZE",
    "Column",
    "Counters",
    "DurationStats",
    "PerfStat",
    "Probe",
    "ProbeHandle",
    "TraceEvent",
    "TraceSnapshot",
    "TraceSummary",
    "TracepointInfo",
    "add_probe",
    "buffer_size",
    "chrome_trace",
    "clear",
    "count",
    "declare_tracepoint",
    "disable",
    "enable",
    "events",
    "overwritten",
    "probe_function",
    "read_together",
    "reset",
    "set_buffer_size",
    "snapshot",
    "start_of",
    "stat",
    "summarize",
    "summary",
    "tracepoint",
    "tracepoints",
    "write_chrome_trace",
)

present(__name__, globals())
