"""``perf stat`` as a context manager: a row of per-interval counts while a block runs.

OSv's ``perf stat mutex_lock mutex_lock_wait sched_switch`` prints one
right-aligned column per tracepoint and one row per second of the hits in that
second. ``stat()`` does the same for the block it wraps, from a sampler thread
that only reads counters, so the traced threads never wait for it.

A table belongs to the process that started it. A forked child has a copy of
the running stat but not its sampler, and counts that began as the parent's:
its rows and totals would be neither process's, so the copy prints nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TextIO, final

from ..checks import flag, kind_of
from ..forks import reset_in_child
from ..interrupts import deferred
from ._counting import Counters, count

HEADER_EVERY = 25
"""The header is printed again before every 25th row, as OSv's perf stat does."""


@final
@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table: the tag in its header and the name or pattern it counts.

    Attributes:
        tag: what the header shows.
        spec: the tracepoint name or shell wildcard counted.

    Raises:
        TypeError: ``tag`` or ``spec`` is not a str.
        ValueError: either is empty.

    Examples:
        >>> Column("waits", "mutex_lock_wait").width
        8
    """

    tag: str
    spec: str

    def __post_init__(self) -> None:
        for field, value in (("tag", self.tag), ("spec", self.spec)):
            if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"a column's {field} must be a str, got {kind_of(value)}")
            if not value:
                raise ValueError(f"a column's {field} must not be empty")

    @property
    def width(self) -> int:
        """``max(8, len(tag) + 2)``: room for the tag with two spaces before it."""
        return max(8, len(self.tag) + 2)

    @classmethod
    def parse(cls, text: str) -> Column:
        """Read ``TAG=PATTERN``, or ``PATTERN`` alone (its own tag).

        Args:
            text: the column as the command line gives it.

        Returns:
            The column.

        Raises:
            TypeError: ``text`` is not a str.
            ValueError: the tag or the pattern is empty.

        Examples:
            >>> Column.parse("waits=mutex_lock_wait"), Column.parse("mutex_*")
            (Column(tag='waits', spec='mutex_lock_wait'), Column(tag='mutex_*', spec='mutex_*'))
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a column is TRACEPOINT or TAG=TRACEPOINT, a str; got {kind_of(text)}")
        tag, sep, spec = text.partition("=")
        if not sep:
            tag, spec = text, text
        if not tag or not spec:
            raise ValueError(f"bad column {text!r}: expected TRACEPOINT or TAG=TRACEPOINT")
        return cls(tag, spec)


def format_header(columns: Sequence[Column]) -> str:
    """The tags, each right-aligned in its column.

    >>> format_header([Column.parse("mutex_lock"), Column.parse("sched_switch")])
    '  mutex_lock  sched_switch'
    """
    _check_columns(columns)
    return "".join(f"{c.tag:>{c.width}}" for c in columns)


def format_row(columns: Sequence[Column], values: Sequence[int]) -> str:
    """One row of counts, each right-aligned under its tag.

    >>> format_row([Column.parse("mutex_lock"), Column.parse("x")], [885, 0])
    '         885       0'
    """
    _check_columns(columns)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"values must be a sequence of ints, got {kind_of(values)}")
    if len(values) != len(columns) or not all(type(v) is int for v in values):
        raise ValueError(f"values must be one int for each of the {len(columns)} columns")
    return "".join(f"{v:>{c.width}}" for c, v in zip(columns, values, strict=True))


def _check_columns(columns: object) -> None:
    if isinstance(columns, str | bytes) or not isinstance(columns, Sequence):
        raise TypeError(f"columns must be a sequence of Column, got {kind_of(columns)}")
    if not all(isinstance(c, Column) for c in columns):  # pyright: ignore[reportUnknownVariableType]
        raise TypeError(
            "columns must be a sequence of Column; Column.parse('TAG=PATTERN') makes one"
        )


@final
class PerfStat:
    """A running ``perf stat``: made by ``stat()``; read ``counters`` or ``rows`` at any time.

    A sampler thread prints a row every ``interval`` seconds; ``print_row()``
    prints one at once (a row per round of work, say, instead of per second).
    In a child forked while it runs, the copy prints nothing, and ``close()``
    only switches its counting off: the table is the parent's, and a child
    wanting one of its own starts a ``stat()`` of its own.

    Args:
        columns: the columns, in order.
        interval: seconds between rows, finite and above 0.
        rows: print at most this many rows (None: no limit).
        csv: comma-separated rows instead of the aligned table.
        out: the text stream the table goes to.

    Raises:
        TypeError: an argument is of the wrong type (see ``stat()``).
        ValueError: ``interval`` is not above 0 and finite, or ``rows`` below 1.

    Examples:
        >>> import io
        >>> table = io.StringIO()
        >>> with stat("doc_none", interval=3600, out=table) as running:
        ...     running.print_row()
        >>> print(table.getvalue().splitlines()[1])
                 0
    """

    __slots__ = (
        "__weakref__",  # reset_in_child holds it weakly
        "_is_forked_copy",
        "_last",
        "_rows_done",
        "_sampler",
        "_started",
        "_stop",
        "_write_lock",
        "columns",
        "counters",
        "csv",
        "interval",
        "max_rows",
        "out",
    )

    @deferred  # counting on and the sampler started, together
    def __init__(
        self,
        columns: Sequence[Column],
        *,
        interval: float,
        rows: int | None,
        csv: bool,
        out: TextIO,
    ) -> None:
        _check_columns(columns)
        if isinstance(interval, bool) or not isinstance(interval, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the interval must be a number of seconds, got {kind_of(interval)}")
        if not 0 < interval < threading.TIMEOUT_MAX:  # nan and inf fail this too
            raise ValueError(
                f"the interval must be a finite number of seconds > 0; got {interval!r}"
            )
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the row count must be an int or None, got {kind_of(rows)}")
        if rows is not None and rows < 1:
            raise ValueError(f"the row count must be at least 1, got {rows!r}")
        flag(csv, "csv")
        if not callable(getattr(out, "write", None)) or not callable(getattr(out, "flush", None)):
            raise TypeError(f"out must be a text stream (write() and flush()), got {kind_of(out)}")
        if not columns:
            raise TypeError("stat() needs at least one tracepoint name or pattern")
        self.columns: tuple[Column, ...] = tuple(columns)
        self.interval: float = interval
        self.max_rows: int | None = rows
        self.csv: bool = csv
        self.out: TextIO = out
        self.counters: Counters = count(*(c.spec for c in self.columns))
        self._last = [0] * len(self.columns)
        self._rows_done = 0
        self._write_lock = threading.Lock()  # the sampler and the final row both print
        self._stop = threading.Event()
        self._is_forked_copy = False  # set in a forked child: this copy prints nothing
        self._started = time.monotonic()
        self._sampler = threading.Thread(target=self._sample, name="perf-stat", daemon=True)
        reset_in_child(self, PerfStat._after_fork_in_child)
        self._sampler.start()

    def _after_fork_in_child(self) -> None:
        """The copy in a child: no sampler, no table; only its counting is left to close.

        The copy never takes the write lock, which the sampler may have held at
        the fork; the stop event is new because the sampler may have been
        inside the old one's own lock, and close() sets it.
        """
        self._stop = threading.Event()
        self._is_forked_copy = True

    @property
    def rows(self) -> int:
        """How many rows have been printed."""
        return self._rows_done

    def _sample(self) -> None:
        while not self._stop.wait(self.interval) and self._wants_row():
            self.print_row()

    def _wants_row(self) -> bool:
        return self.max_rows is None or self._rows_done < self.max_rows

    @deferred
    def print_row(self) -> None:
        """Print the hits since the previous row (the header first, when it is due).

        In a forked child this prints nothing (see the class).
        """
        if self._is_forked_copy:
            return
        with self._write_lock:
            now = [self.counters[c.spec] for c in self.columns]
            deltas = [n - before for n, before in zip(now, self._last, strict=True)]
            self._last = now
            if self.csv:
                if self._rows_done == 0:
                    self.out.write(",".join(["interval", *(c.tag for c in self.columns)]) + "\n")
                self.out.write(",".join(map(str, [self._rows_done + 1, *deltas])) + "\n")
            else:
                if self._rows_done % HEADER_EVERY == 0:
                    self.out.write(format_header(self.columns) + "\n")
                self.out.write(format_row(self.columns, deltas) + "\n")
            self.out.flush()
            self._rows_done += 1

    def close(self) -> None:
        """Stop sampling; print the last partial interval, the totals, and what never matched.

        Harmless twice. Ctrl-C can end the wait for the sampler, but never what
        follows it: the counts are always closed and the totals printed. In a
        forked child's copy this only switches the counting off.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        try:
            self._sampler.join(timeout=self.interval + 5.0)  # Ctrl-C may end this wait...
        finally:
            self._finish()  # ...but never what follows it

    @deferred
    def _finish(self) -> None:
        if self._is_forked_copy:
            self.counters.close()
            return
        if self._wants_row():
            self.print_row()
        self.counters.close()
        totals = [self.counters[c.spec] for c in self.columns]
        seconds = time.monotonic() - self._started
        if self.csv:
            self.out.write(",".join(map(str, ["total", *totals])) + "\n")
        else:
            self.out.write("-" * sum(c.width for c in self.columns) + "\n")
            self.out.write(format_row(self.columns, totals) + f"  total in {seconds:.2f} s\n")
        unmatched = self.counters.unmatched()
        if unmatched:
            self.out.write(f"never matched a declared tracepoint: {', '.join(unmatched)}\n")
        self.out.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def stat(
    *columns: str,
    interval: float = 1.0,
    rows: int | None = None,
    csv: bool = False,
    out: TextIO | None = None,
) -> PerfStat:
    r"""Print a row of per-interval hit counts while the ``with`` block runs (OSv's ``perf stat``).

    Rows go to ``out`` every ``interval`` seconds, at most ``rows`` of them; on
    exit, the last partial interval, a totals line, and the names that never
    matched a declared tracepoint. The header is printed again every 25 rows.

    Args:
        *columns: each ``TRACEPOINT`` or ``TAG=TRACEPOINT`` (a name or a shell
            wildcard), at least one.
        interval: seconds between rows, finite and above 0.
        rows: print at most this many rows (None: no limit).
        csv: comma-separated rows instead of the aligned table.
        out: a text stream; stderr by default, as Linux ``perf`` does.

    Returns:
        The running ``PerfStat``; leave the ``with`` block (or ``close()``) to stop.

    Raises:
        TypeError: no column, a column not a str, ``interval`` not a number,
            ``rows`` not an int, ``csv`` not a bool, or ``out`` not a stream.
        ValueError: a column is malformed, ``interval`` is not above 0 and
            finite, or ``rows`` is below 1.

    Examples:
        >>> import io
        >>> from osv_idioms.trace import tracepoint
        >>> @tracepoint()
        ... def trace_doc_tick() -> None: ...
        >>> table = io.StringIO()
        >>> with stat("doc_tick", "idle=doc_idle", interval=60, out=table):
        ...     for _ in range(885):
        ...         trace_doc_tick()
        >>> print("\n".join(table.getvalue().splitlines()[:3]))
          doc_tick    idle
               885       0
        ------------------
    """
    return PerfStat(
        [Column.parse(text) for text in columns],
        interval=interval,
        rows=rows,
        csv=csv,
        out=sys.stderr if out is None else out,
    )
