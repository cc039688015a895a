"""Looking at a trace: Chrome Trace Event JSON, and the summary ``perf report`` prints.

As OSv's ``scripts/trace.py`` does, timed pairs are matched per thread: a
``foo_ret`` or ``foo_err`` closes the latest open ``foo``, and
``mutex_lock_wake`` closes ``mutex_lock_wait``. The summary is computed from
the Chrome document itself, so ``summary()`` in a program and ``perf report``
on the file it wrote always agree.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TextIO, cast, final

from ..checks import kind_of
from ._events import (
    Hit,
    TraceEvent,
    TraceSnapshot,
    hits_of,
    snapshot,
    streamed_hits,
)
from ._pairing import start_of
from ._registry import registry
from ._texts import ArgsText, args_text, text

ChromeDocument = dict[str, Any]


def _frame(frame: traceback.FrameSummary) -> str:
    """One frame of a recorded stack, as ``perf report --callstack`` shows it."""
    return f"{frame.name} ({frame.filename}:{frame.lineno})"


def chrome_trace(events: Sequence[TraceEvent], *, pid: int | None = None) -> ChromeDocument:
    """Build a Chrome Trace Event document (Perfetto and chrome://tracing load it).

    Every hit is an instant event with its arguments; timed pairs (``x`` closed
    by ``x_ret`` or ``x_err``, ``mutex_lock_wait`` by ``mutex_lock_wake``, in
    the same thread) also become duration slices; each thread gets a
    ``thread_name`` metadata record. Timestamps are microseconds from the first
    event.

    Args:
        events: the events, oldest first (``events()``, or a snapshot's).
        pid: the process id to show; this process's by default.

    Returns:
        The document, ready for ``json.dumps``.

    Raises:
        TypeError: ``events`` is not a sequence of ``TraceEvent``, or ``pid``
            not an int.

    Examples:
        >>> from osv_idioms.trace import TraceEvent
        >>> def hit(name, ns):
        ...     return TraceEvent(0, name, ns, 1, "main", 7, {}, None, "")
        >>> document = chrome_trace([hit("read", 1000), hit("read_ret", 3000)], pid=1)
        >>> [(r["name"], r["ph"]) for r in document["traceEvents"]]
        [('thread_name', 'M'), ('read', 'i'), ('read_ret', 'i'), ('read', 'X')]
    """
    given = cast("object", events)  # as called, whatever the annotations say
    if not isinstance(given, Sequence) or not all(isinstance(e, TraceEvent) for e in given):  # pyright: ignore[reportUnknownVariableType]
        raise TypeError(f"chrome_trace() takes a sequence of TraceEvent, got {kind_of(events)}")
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"pid must be an int or None, got {kind_of(pid)}")
    names: dict[int, str] = {}
    process = os.getpid() if pid is None else pid
    texts = _chrome_texts(hits_of(events), process, names, _pair_starts(events))
    trace: list[dict[str, Any]] = json.loads(f"[{','.join(texts)}]")  # what a file holds
    return {"traceEvents": _thread_names(names, pid) + trace, "displayTimeUnit": "ns"}


def _chrome_texts(
    hits: Iterable[Hit], process: int, names: dict[int, str], starts: frozenset[str]
) -> Iterator[str]:
    """The JSON text of each hit's records: its instant, and the slice it closes if any.

    Thread names go in ``names``. Holds only the start times of pairs not yet
    closed (a hit of a name in ``starts``, the names some tracepoint closes),
    so a whole ring can be written out without a copy of it in memory.
    Timestamps are written with three decimals (nanoseconds), which reads
    back as the same float as ``repr`` would write, at half its cost.
    """
    origin: int | None = None
    open_starts: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
    shapes: dict[str, _Shape] = {}
    where = f',"pid":{process},"tid":'
    for name, ns, tid, thread_name, params, values, backtrace, template in hits:
        if origin is None:
            origin = ns
        if tid not in names:
            names[tid] = thread_name
        shape = shapes.get(name)
        if shape is None or shape.params != params or shape.template != template:
            shape = shapes[name] = _Shape.of(name, params, template)
        stack = "" if backtrace is None else _stack_text(backtrace)
        instant = (
            f"{shape.instant}{(ns - origin) / 1000:.3f}{where}{tid},"
            f'"args":{shape.args_text(*values)}{stack}}}'
        )
        closes = shape.closes
        if closes is not None and (opened := open_starts[(tid, closes)]):
            started = opened.pop()
            yield (
                f"{instant},{shape.slice}{(started - origin) / 1000:.3f},"
                f'"dur":{(ns - started) / 1000:.3f}{where}{tid},{shape.slice_end}'
            )
            continue
        if name in starts:
            open_starts[(tid, name)].append(ns)
        yield instant


class _Shape(NamedTuple):
    """The JSON text every hit of one tracepoint writes the same way, worked out once."""

    params: tuple[str, ...]
    template: str
    args_text: ArgsText
    """Writes a hit's ``args`` from its values."""
    instant: str
    """An instant record up to its timestamp."""
    closes: str | None
    """The start a hit closes as a timed pair, if any."""
    slice: str
    """The slice a hit closes, up to its timestamp ("" when it closes none)."""
    slice_end: str
    """The slice's arguments, which end it."""

    @classmethod
    def of(cls, name: str, params: tuple[str, ...], template: str) -> _Shape:
        closes = start_of(name)
        return cls(
            params,
            template,
            args_text(params, template),
            f'{{"name":{text(name)},"cat":"tracepoint","ph":"i","s":"t","ts":',
            closes,
            "" if closes is None else f'{{"name":{text(closes)},"cat":"duration","ph":"X","ts":',
            f'"args":{{"end":{text(name)}}}}}',
        )


def _stack_text(backtrace: traceback.StackSummary) -> str:
    """The ``stack`` field of a hit recorded with ``backtrace=True``."""
    return ',"stack":' + json.dumps([_frame(frame) for frame in backtrace])


def _pair_starts(events: Iterable[TraceEvent]) -> frozenset[str]:
    """The names that some event of ``events`` closes as a timed pair."""
    return frozenset(filter(None, (start_of(event.name) for event in events)))


def _thread_names(names: Mapping[int, str], pid: int | None) -> list[dict[str, Any]]:
    process = os.getpid() if pid is None else pid
    return [
        {"name": "thread_name", "ph": "M", "pid": process, "tid": tid, "args": {"name": name}}
        for tid, name in names.items()
    ]


def write_chrome_trace(path: str | os.PathLike[str], trace: TraceSnapshot | None = None) -> int:
    """Write the recorded events (or ``trace``) as Chrome Trace Event JSON.

    The file also says how many records the ring had overwritten, so that
    ``perf report`` on it can say so.

    Args:
        path: the file to write (replaced if it exists).
        trace: a snapshot to write; by default, one taken now.

    Returns:
        How many events were written.

    Raises:
        TypeError: ``path`` is not a path, or ``trace`` not a ``TraceSnapshot``.
        OSError: the file cannot be written.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from osv_idioms.trace import clear
        >>> clear()
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "trace.json"
        >>> write_chrome_trace(out)
        0
        >>> json.loads(out.read_text())["traceEvents"]
        []
    """
    if not isinstance(path, str | os.PathLike):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"write_chrome_trace() takes a file path, got {kind_of(path)}")
    if trace is None:  # from the ring: the pairs any declared tracepoint closes
        hits, pushed_out = streamed_hits()
        starts = registry.pair_starts()
    else:  # a snapshot, made anywhere: the pairs its own events close
        taken = _taken(trace)
        hits, pushed_out = hits_of(taken.events), taken.overwritten
        starts = _pair_starts(taken.events)
    with Path(path).open("w", encoding="utf-8") as file:
        return _write_document(file, hits, pushed_out, starts)


_BATCH = 2048
"""Hits written by one ``file.write``: joined first, the texts cost one call a batch."""


def _write_document(
    file: TextIO, hits: Iterator[Hit], pushed_out: int, starts: frozenset[str]
) -> int:
    """Write the Chrome document a batch of records at a time; the threads' names go last.

    Chrome and Perfetto take the records in any order. Written this way, an
    export of 1,000,000 events holds the ring's copy and one batch, not the
    whole document (which took 1.2 GB).
    """
    names: dict[int, str] = {}
    texts = _chrome_texts(hits, os.getpid(), names, starts)
    file.write('{"displayTimeUnit": "ns", "otherData": ')
    file.write(json.dumps({"overwritten": pushed_out}))
    file.write(', "traceEvents": [')
    written = 0
    separator = "\n"
    while batch := list(itertools.islice(texts, _BATCH)):
        written += len(batch)  # one text per hit
        file.write(separator)
        file.write(",\n".join(batch))
        separator = ",\n"
    if names:
        file.write(separator)
        file.write(json.dumps(_thread_names(names, None))[1:-1])
    file.write("\n]}\n")
    return written


def _taken(trace: object) -> TraceSnapshot:
    """The snapshot given, or a new one; anything else is a TypeError."""
    if trace is None:
        return snapshot()
    if not isinstance(trace, TraceSnapshot):
        raise TypeError(f"trace must be a TraceSnapshot or None, got {kind_of(trace)}")
    return trace


@final
@dataclass(frozen=True, slots=True)
class DurationStats:
    """The durations of one timed pair, in nanoseconds.

    Attributes:
        count: how many pairs.
        mean_ns: their mean.
        p50_ns: the median (nearest rank).
        p99_ns: the 99th percentile (nearest rank).
        max_ns: the longest.
        total_ns: their sum.
        min_ns: the shortest.
        p90_ns: the 90th percentile (nearest rank).

    Examples:
        >>> DurationStats.of([100, 200, 300, 400, 1000])
        DurationStats(count=5, mean_ns=400.0, p50_ns=300, p99_ns=1000, max_ns=1000, \
total_ns=2000, min_ns=100, p90_ns=1000)
    """

    count: int
    mean_ns: float
    p50_ns: int
    p99_ns: int
    max_ns: int
    total_ns: int
    min_ns: int
    p90_ns: int

    @classmethod
    def of(cls, durations: Sequence[int]) -> DurationStats:
        """Summarise a non-empty sequence of durations (nearest-rank percentiles).

        Args:
            durations: durations in nanoseconds, in any order.

        Returns:
            Their count, mean, percentiles, extremes and sum.

        Raises:
            TypeError: ``durations`` is not a sequence of ints.
            ValueError: it is empty.

        Examples:
            >>> DurationStats.of([5]).p99_ns
            5
        """
        if isinstance(durations, str | bytes) or not isinstance(durations, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"durations must be a sequence of ints, got {kind_of(durations)}")
        if not all(type(d) is int for d in durations):
            raise TypeError("durations must be a sequence of ints (nanoseconds)")
        if not durations:
            raise ValueError("DurationStats.of() needs at least one duration")
        ordered = sorted(durations)
        total = sum(ordered)
        return cls(
            count=len(ordered),
            mean_ns=total / len(ordered),
            p50_ns=_percentile(ordered, 50),
            p99_ns=_percentile(ordered, 99),
            max_ns=ordered[-1],
            total_ns=total,
            min_ns=ordered[0],
            p90_ns=_percentile(ordered, 90),
        )


def _percentile(ordered: Sequence[int], percent: int) -> int:
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@final
@dataclass(frozen=True, slots=True)
class TraceSummary:
    """Hits per tracepoint and, for timed pairs, their durations; ``str()`` is a table.

    Attributes:
        counts: each tracepoint's name and its hits.
        durations: each timed pair's name and its ``DurationStats``.
        overwritten: how many older records the ring had pushed out.

    Examples:
        >>> print(TraceSummary({"read": 2}, {}))
        tracepoint                            count
        read                                      2
    """

    counts: Mapping[str, int]
    durations: Mapping[str, DurationStats]
    overwritten: int = 0

    def __str__(self) -> str:
        lines = [f"{'tracepoint':<32} {'count':>10}"]
        lines += [f"{name:<32} {n:>10}" for name, n in sorted(self.counts.items())]
        if self.durations:
            lines += [
                "",
                f"{'timed pair':<32} {'count':>8} {'mean':>10} {'p50':>10} {'p99':>10} {'max':>10}",
            ]
            lines += [
                f"{name:<32} {s.count:>8} {_ns(s.mean_ns):>10} {_ns(s.p50_ns):>10} "
                f"{_ns(s.p99_ns):>10} {_ns(s.max_ns):>10}"
                for name, s in sorted(self.durations.items())
            ]
        if self.overwritten:
            lines += [
                "",
                f"{self.overwritten} older records were overwritten (a bigger buffer keeps them)",
            ]
        return "\n".join(lines)


def _ns(value: float) -> str:
    """A duration in the unit that keeps it short: ns, us, ms or s."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}ns"


def summarize(document: object) -> TraceSummary:
    """Summarise a Chrome Trace Event document (parsed JSON) written by ``write_chrome_trace``.

    ``perf report`` prints this for a file; ``summary()`` computes the same
    from the ring, through the same document, so the two always agree.

    Args:
        document: the parsed JSON.

    Returns:
        The counts, and the durations of timed pairs.

    Raises:
        ValueError: the document is not a trace of this shape.

    Examples:
        >>> summarize({"traceEvents": [{"name": "read", "ph": "i"}]}).counts
        {'read': 1}
    """
    if not isinstance(document, dict):
        raise ValueError("the top level is not a JSON object")  # noqa: TRY004 - bad content
    fields = cast("dict[str, object]", document)
    records = fields.get("traceEvents")
    if not isinstance(records, list):
        raise ValueError("no 'traceEvents' list: not a Chrome trace")  # noqa: TRY004
    counts: Counter[str] = Counter()
    durations: defaultdict[str, list[int]] = defaultdict(list)
    for record in _records(cast("list[object]", records)):
        if record.get("ph") == "i":
            counts[str(record["name"])] += 1
        elif record.get("ph") == "X":
            durations[str(record["name"])].append(round(float(record["dur"]) * 1000))
    other = fields.get("otherData")
    extra = cast("dict[str, object]", other) if isinstance(other, dict) else {}
    overwritten = extra.get("overwritten", 0)
    return TraceSummary(
        dict(counts),
        {name: DurationStats.of(values) for name, values in durations.items()},
        overwritten if isinstance(overwritten, int) else 0,
    )


def _records(records: Iterable[object]) -> Iterable[dict[str, Any]]:
    for record in records:
        if not isinstance(record, dict) or "name" not in record:
            raise ValueError(f"trace record {record!r} has no name")
        yield record  # pyright: ignore[reportUnknownVariableType]


def summary(trace: TraceSnapshot | None = None) -> TraceSummary:
    """The hits per tracepoint and the durations of timed pairs in what was recorded.

    Args:
        trace: a snapshot to summarise; by default, one taken now.

    Returns:
        The summary; ``print()`` it for a table.

    Raises:
        TypeError: ``trace`` is not a ``TraceSnapshot``.

    Examples:
        >>> from osv_idioms.trace import clear
        >>> clear()
        >>> summary().counts
        {}
    """
    taken = _taken(trace)
    document = chrome_trace(taken.events)
    document["otherData"] = {"overwritten": taken.overwritten}
    return summarize(document)
