"""Counting hits: ``count()`` and the live ``Counters`` it returns.

In OSv a counter is a probe of its own, independent of recording. Here each
tracepoint has one ``itertools.count`` that its counting body advances with
``next()``; a ``Counters`` remembers each tracepoint's value when it started
watching, and reads the difference, so any number of them can overlap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self, final

from ..checks import kind_of
from ..interrupts import deferred
from ._bodies import Point
from ._points import check_pattern
from ._registry import Watch, registry


@final
class Counters(Mapping[str, int]):
    """Live hit counts of the tracepoints matching each name or pattern given to ``count()``.

    Read ``c[spec]`` at any time: while counting, it is the count so far;
    after ``close()`` (or the end of the ``with`` block) it stays frozen.
    A pattern's count is the sum over every tracepoint it matches, including
    tracepoints declared after counting began. Made by ``count()``.

    Args:
        specs: the names or shell wildcards to count.

    Raises:
        TypeError: ``specs`` is not a sequence of str.
        ValueError: a spec is empty.

    Examples:
        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_tick = declare_tracepoint("doc_tick_c")
        >>> counters = count("doc_tick_c")
        >>> trace_doc_tick(); counters["doc_tick_c"]
        1
        >>> counters.close(); trace_doc_tick(); counters["doc_tick_c"]
        1
    """

    __slots__ = ("_final", "_final_points", "_watch")

    @deferred  # counting on, and this object able to turn it off, together
    def __init__(self, specs: Sequence[str]) -> None:
        self._final: dict[str, int] | None = {}  # closed until watching: __del__ does nothing
        self._final_points: dict[str, int] = {}
        if isinstance(specs, str) or not isinstance(specs, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"Counters() takes a sequence of names or patterns, got {kind_of(specs)}"
            )
        for spec in specs:
            check_pattern(spec)
        self._watch: Watch = registry.watch(tuple(dict.fromkeys(specs)))
        self._final = None

    def __getitem__(self, spec: str) -> int:
        if self._final is not None:
            return self._final[spec]
        if spec not in self._watch.specs:
            raise KeyError(spec)
        return self._watch.hits(spec)

    def __iter__(self) -> Iterator[str]:
        return iter(self._watch.specs)

    def __len__(self) -> int:
        return len(self._watch.specs)

    def unmatched(self) -> tuple[str, ...]:
        """The names and patterns that have matched no declared tracepoint so far.

        >>> with count("doc_never_declared") as counters:
        ...     counters.unmatched()
        ('doc_never_declared',)
        """
        return self._watch.unmatched()

    def by_tracepoint(self) -> dict[str, int]:
        """The hits of each tracepoint counted so far, by name (frozen after ``close()``).

        A pattern's count is the sum of these over the tracepoints it
        matches; this is the same count, one tracepoint at a time, for
        exporters that label each tracepoint on its own.

        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_put = declare_tracepoint("doc_bt_put")
        >>> trace_doc_get = declare_tracepoint("doc_bt_get")
        >>> with count("doc_bt_*") as counters:
        ...     trace_doc_put(); trace_doc_put(); trace_doc_get()
        >>> sorted(counters.by_tracepoint().items())
        [('doc_bt_get', 1), ('doc_bt_put', 2)]
        """
        if self._final is not None:
            return dict(self._final_points)
        return self._watch.by_point()

    def _points(self) -> tuple[Point, ...]:
        """The tracepoints it counts (none once closed: its counts are frozen)."""
        return () if self._final is not None else self._watch.points()

    def _by_tracepoint_at(self, now: dict[Point, int]) -> dict[str, int]:
        if self._final is not None:
            return dict(self._final_points)
        return self._watch.by_point(now)

    @deferred
    def close(self) -> None:
        """Freeze the counts and stop counting what only this object watched (harmless twice)."""
        if self._final is None:
            self._final_points = self._watch.by_point()
            self._final = {spec: self._watch.hits(spec) for spec in self._watch.specs}
            self._watch.close()

    @deferred
    def __del__(self) -> None:
        """A ``Counters`` no one can read stops counting (say, one an interrupt cut off)."""
        if self._final is None:
            self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._final is not None else "counting"
        return f"<Counters {state} {dict(self)!r}>"


def read_together(*counters: Counters) -> tuple[dict[str, int], ...]:
    """Several ``Counters`` read at one instant: ``by_tracepoint()`` of each, all at once.

    Each tracepoint's count is read once and serves every ``Counters`` that
    counts it, so while threads go on hitting, the difference between two
    of them is exactly the hits one saw and the other did not. Reading them
    one after the other would let hits fall between the reads.

    Args:
        *counters: the ``Counters`` to read.

    Returns:
        Each one's ``by_tracepoint()``, in the order given.

    Raises:
        TypeError: an argument is not a ``Counters``.

    Examples:
        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_rt = declare_tracepoint("doc_rt")
        >>> early = count("doc_rt"); trace_doc_rt(); late = count("doc_rt"); trace_doc_rt()
        >>> read_together(early, late)
        ({'doc_rt': 2}, {'doc_rt': 1})
        >>> early.close(); late.close()
    """
    for each in counters:
        if not isinstance(each, Counters):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"read_together() takes Counters, got {kind_of(each)}")
    # Counters' own parts, read by this module's function (Point is no public type).
    points = {point for each in counters for point in each._points()}  # pyright: ignore[reportPrivateUsage]
    now = {point: point.hits() for point in points}
    return tuple(each._by_tracepoint_at(now) for each in counters)  # pyright: ignore[reportPrivateUsage]


def count(*specs: str) -> Counters:
    """Count hits of the tracepoints named (or matched by patterns), independently of recording.

    Use it as a context manager, or keep the object and read it while the
    program runs; ``close()`` stops counting. Any number of counts overlap.

    Args:
        *specs: tracepoint names or shell wildcards, at least one.

    Returns:
        The live ``Counters``.

    Raises:
        TypeError: no spec was given, or a spec is not a str.
        ValueError: a spec is empty.

    Examples:
        >>> from osv_idioms.trace import declare_tracepoint
        >>> trace_doc_send = declare_tracepoint("doc_send", "size")
        >>> trace_doc_recv = declare_tracepoint("doc_recv", "size")
        >>> with count("doc_send", "doc_[sr]e*") as c:
        ...     trace_doc_send(64)
        ...     trace_doc_recv(32)
        >>> dict(c)
        {'doc_send': 1, 'doc_[sr]e*': 2}
    """
    if not specs:
        raise TypeError("count() needs at least one tracepoint name or pattern")
    return Counters(specs)
