"""The record ring seen from outside: its size, and snapshots of what it holds.

Recording tracepoints append tuples to one bounded deque (see ``_points``);
this module turns a copy of it into ``TraceEvent`` objects, taken without
stopping the threads that keep appending.
"""

# pyright: reportPrivateUsage=false
# (this module and _counting share the registry's internals with _points, their sibling)

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from ..checks import kind_of
from . import _points
from ._points import Ring, install_ring


def set_buffer_size(size: int) -> None:
    """Keep the newest ``size`` records (default 65536); records already kept are dropped.

    >>> from osv_idioms.trace import DEFAULT_BUFFER_SIZE
    >>> set_buffer_size(1024)
    >>> buffer_size()
    1024
    >>> set_buffer_size(DEFAULT_BUFFER_SIZE)
    """
    if isinstance(size, bool) or not isinstance(size, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"buffer size must be an int, got {kind_of(size)}")
    if not 1 <= size <= sys.maxsize:
        raise ValueError(f"buffer size must be from 1 to {sys.maxsize} records, got {size}")
    install_ring(Ring(size))


def buffer_size() -> int:
    """How many records the ring keeps before it overwrites the oldest."""
    size = _points._ring.records.maxlen
    assert size is not None
    return size


def clear() -> None:
    """Forget every record and the count of overwritten ones."""
    with _points._lock:  # the size read and the new ring agree
        install_ring(Ring(buffer_size()))


@final
@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One recorded tracepoint hit."""

    seq: int
    name: str
    ns: int
    """``time.monotonic_ns()`` when it was hit."""
    thread_id: int
    thread_name: str
    native_thread_id: int
    args: Mapping[str, object]
    backtrace: traceback.StackSummary | None
    format: str

    @property
    def message(self) -> str:
        """The arguments shown through the tracepoint's template (or as ``name=value``).

        An argument whose ``repr`` or ``__format__`` raises is shown as a
        placeholder naming the error; the other events are not affected.
        """
        if self.format:
            try:
                return self.format.format(**self.args)
            except Exception as exc:
                return f"<bad format {self.format!r}: {type(exc).__name__}: {exc}>"
        return " ".join(f"{k}={shown(v)}" for k, v in self.args.items())


def shown(value: object) -> str:
    """``repr(value)``, or a placeholder naming the error when its ``__repr__`` raises.

    >>> class Broken:
    ...     def __repr__(self) -> str:
    ...         raise RuntimeError("no")
    >>> shown(Broken())
    '<Broken object: repr() raised RuntimeError: no>'
    """
    try:
        return repr(value)
    except Exception as exc:
        return f"<{type(value).__name__} object: repr() raised {type(exc).__name__}: {exc}>"


@final
@dataclass(frozen=True, slots=True)
class TraceSnapshot:
    """The records in the ring at one moment, oldest first, and how many were overwritten."""

    events: tuple[TraceEvent, ...]
    overwritten: int


def snapshot() -> TraceSnapshot:
    """Copy the ring without stopping the threads that write to it."""
    ring = _points._ring  # read each time: set_buffer_size() and clear() replace it
    records = sorted(ring.records.copy())  # one C call: consistent even while others append
    return TraceSnapshot(tuple(_to_event(record) for record in records), _overwritten(records))


def _overwritten(records: list[tuple[Any, ...]]) -> int:
    """How many records the ring pushed out, from the sequence numbers of those it kept.

    A thread takes its record's number and then appends the record: two steps,
    which another thread's can fall between. So the ring may hold records out
    of order (hence the sort), and the oldest one kept does not tell how many
    went before it. Every number below the highest kept that is not kept was
    pushed out, or belongs to a record still being appended at the moment of
    the copy (at most one per other recording thread). Once the recording
    threads are done, the count is exact.
    """
    return records[-1][0] + 1 - len(records) if records else 0


def events() -> list[TraceEvent]:
    """The recorded events, oldest first (a snapshot; recording goes on).

    >>> from osv_idioms.trace import declare_tracepoint, disable, enable
    >>> fmt = "{size} bytes at {addr:#x}"
    >>> trace_doc_map = declare_tracepoint("doc_map", "addr", "size", fmt=fmt)
    >>> clear()
    >>> enable("doc_map")
    >>> trace_doc_map(0x10, 4)
    >>> disable("doc_map")
    >>> [(e.name, e.message) for e in events()]
    [('doc_map', '4 bytes at 0x10')]
    """
    return list(snapshot().events)


def _to_event(record: tuple[Any, ...]) -> TraceEvent:
    seq, name, ns, (ident, thread_name, native_id), stack, *values = record
    point = _points._points[name]
    return TraceEvent(
        seq,
        point.name,
        ns,
        ident,
        thread_name,
        native_id,
        dict(zip(point.params, values, strict=True)),
        stack,
        point.fmt,
    )
