"""The record ring seen from outside: its size, and snapshots of what it holds.

Recording tracepoints append to the registry's ring (see ``_ring`` for the
layout); this module turns a copy of it into ``TraceEvent`` objects, taken
without stopping the threads that keep appending.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import final

from ..checks import kind_of
from ._registry import registry
from ._ring import Record

__all__ = (
    "TraceEvent",
    "TraceSnapshot",
    "buffer_size",
    "clear",
    "events",
    "overwritten",
    "set_buffer_size",
    "shown",
    "snapshot",
    "streamed",
)


def set_buffer_size(size: int) -> None:
    """Keep the newest ``size`` records (default 65536); records already kept are dropped.

    Args:
        size: how many records the ring keeps before it overwrites the oldest.

    Raises:
        TypeError: ``size`` is not an int.
        ValueError: ``size`` is below 1 or above ``sys.maxsize``.

    Examples:
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
    registry.install_ring(size)


def buffer_size() -> int:
    """How many records the ring keeps before it overwrites the oldest.

    >>> buffer_size() >= 1
    True
    """
    return registry.buffer_size


def clear() -> None:
    """Forget every record and the count of overwritten ones; the size stays.

    >>> clear(); events()
    []
    """
    registry.install_ring()


@final
@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One recorded tracepoint hit.

    Attributes:
        seq: its place in the order of hits since the ring was last cleared.
        name: the tracepoint's name.
        ns: ``time.monotonic_ns()`` when it was hit.
        thread_id: the hitting thread's ``threading.get_ident()``.
        thread_name: that thread's name.
        native_thread_id: its id for the operating system (``perf``, ``top``).
        args: each parameter's name and value.
        backtrace: the caller's stack, when recorded with ``backtrace=True``.
        format: the tracepoint's template.

    Examples:
        >>> event = TraceEvent(0, "alloc", 0, 1, "main", 1, {"size": 64}, None, "{size} bytes")
        >>> event.message
        '64 bytes'
    """

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
    """The records in the ring at one moment, oldest first, and how many were overwritten.

    Attributes:
        events: the events kept.
        overwritten: how many older ones the ring had pushed out.

    Examples:
        >>> clear(); snapshot()
        TraceSnapshot(events=(), overwritten=0)
    """

    events: tuple[TraceEvent, ...]
    overwritten: int


def snapshot() -> TraceSnapshot:
    """Copy the ring without stopping the threads that write to it.

    Returns:
        The events kept, oldest first, and how many were overwritten.

    Examples:
        >>> clear(); snapshot().overwritten
        0
    """
    records, overwritten = registry.records()
    return TraceSnapshot(tuple(_to_event(record) for record in records), overwritten)


def overwritten() -> int:
    """How many records the ring has pushed out since it was last cleared.

    The count ``snapshot().overwritten`` gives, without making every event:
    for a program that streams the ring (``write_chrome_trace()`` does).

    Returns:
        The count, exact once the threads that record have stopped.

    Examples:
        >>> clear(); overwritten()
        0
    """
    return registry.streamed_records()[1]


def streamed() -> tuple[Iterator[TraceEvent], int]:
    """The events in the ring now, each made as it is reached, and how many were overwritten."""
    records, pushed_out = registry.streamed_records()
    return map(_to_event, records), pushed_out


def events() -> list[TraceEvent]:
    """The recorded events, oldest first (a snapshot; recording goes on).

    Returns:
        The events in the ring now; ``snapshot()`` also says how many the
        ring had overwritten.

    Examples:
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


def _to_event(record: Record) -> TraceEvent:
    point = registry.point(record.name)
    ident, thread_name, native_id = record.thread
    return TraceEvent(
        record.seq,
        point.name,
        record.ns,
        ident,
        thread_name,
        native_id,
        dict(zip(point.params, record.args, strict=True)),
        record.backtrace,
        point.fmt,
    )
