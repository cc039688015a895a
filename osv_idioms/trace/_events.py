"""The record ring seen from outside: its size, and snapshots of what it holds.

Recording tracepoints append to the registry's ring (see ``_ring`` for the
layout); this module turns a copy of it into ``TraceEvent`` objects, taken
without stopping the threads that keep appending.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, final

from ..checks import kind_of
from ._registry import registry
from ._ring import ARGS, BACKTRACE, NAME, NS, THREAD, Record

__all__ = (
    "Hit",
    "TraceEvent",
    "TraceSnapshot",
    "bad_format",
    "buffer_size",
    "clear",
    "events",
    "hits_of",
    "message_of",
    "overwritten",
    "set_buffer_size",
    "shown",
    "snapshot",
    "streamed_hits",
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
        return message_of(self.format, self.args)


def message_of(template: str, args: Mapping[str, object]) -> str:
    """``args`` shown through ``template``, or as ``name=value`` when there is none.

    An argument whose ``repr`` or ``__format__`` raises is shown as a
    placeholder naming the error, so one bad value never sinks an export.

    >>> message_of("{n} bytes", {"n": 4}), message_of("", {"n": 4, "fd": 3})
    ('4 bytes', 'n=4 fd=3')
    """
    if template:
        try:
            return template.format(**args)
        except Exception as exc:
            return bad_format(template, exc)
    return " ".join(f"{k}={shown(v)}" for k, v in args.items())


def bad_format(template: str, error: Exception) -> str:
    """What a message says when formatting ``template`` raised ``error``.

    >>> bad_format("{n:d}", ValueError("no"))
    "<bad format '{n:d}': ValueError: no>"
    """
    return f"<bad format {template!r}: {type(error).__name__}: {error}>"


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
    return registry.raw_records()[1]


Hit: TypeAlias = tuple[
    str, int, int, str, tuple[str, ...], tuple[object, ...], traceback.StackSummary | None, str
]
"""What an export reads of one hit, in this order: its name, ns, native thread id, thread name,
parameter names, argument values (in that order), backtrace and template. A plain tuple: the
cheapest thing to make and unpack."""


def streamed_hits() -> tuple[Iterator[Hit], int]:
    """The hits in the ring now, each read as it is reached, and how many were overwritten.

    Read straight from the ring's records, without a ``Record`` or a
    ``TraceEvent`` (making those took a quarter of an export's time).
    """
    raw, pushed_out = registry.raw_records()
    return _hits_of_records(raw), pushed_out


def _hits_of_records(raw: Iterable[tuple[Any, ...]]) -> Iterator[Hit]:
    shapes: dict[str, tuple[tuple[str, ...], str]] = {}  # each point's params and template
    for record in raw:
        name = record[NAME]
        try:
            params, template = shapes[name]
        except KeyError:
            point = registry.point(name)
            params, template = shapes[name] = (point.params, point.fmt)
        _, thread_name, native_id = record[THREAD]
        values = record[ARGS:]
        yield name, record[NS], native_id, thread_name, params, values, record[BACKTRACE], template


def hits_of(events: Iterable[TraceEvent]) -> Iterator[Hit]:
    """The hits of ``events``, as ``streamed_hits()`` reads them from the ring."""
    for event in events:
        yield (
            event.name,
            event.ns,
            event.native_thread_id,
            event.thread_name,
            tuple(event.args),
            tuple(event.args.values()),
            event.backtrace,
            event.format,
        )


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
