"""Counting hits: ``count()`` and the live ``Counters`` it returns.

In OSv a counter is a probe of its own, independent of recording. Here each
tracepoint has one ``itertools.count`` that its counting body advances with
``next()``; a ``Counters`` remembers each tracepoint's value when it started
watching, and reads the difference, so any number of them can overlap.
"""

# pyright: reportPrivateUsage=false
# (this module and _records share the registry's internals with _points, their sibling)

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self, final

from ..checks import kind_of
from ..interrupts import deferred
from ._points import _check_pattern, _lock, _matches, _Point, _points, _watchers


@final
class Counters(Mapping[str, int]):
    """Live hit counts of the tracepoints matching each name or pattern given to ``count()``.

    Read ``c[spec]`` at any time: while counting, it is the count so far;
    after ``close()`` (or the end of the ``with`` block) it stays frozen.
    A pattern's count is the sum over every tracepoint it matches, including
    tracepoints declared after counting began.
    """

    __slots__ = ("__weakref__", "_baselines", "_final", "_specs")

    @deferred  # registered, and counting on, together
    def __init__(self, specs: Sequence[str]) -> None:
        self._final: dict[str, int] | None = {}  # closed until registered: __del__ does nothing
        if isinstance(specs, str) or not isinstance(specs, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"Counters() takes a sequence of names or patterns, got {kind_of(specs)}"
            )
        for spec in specs:
            _check_pattern(spec)
        self._specs = tuple(dict.fromkeys(specs))
        # point -> counter value when it started being watched; replaced, never mutated
        self._baselines: dict[_Point, int] = {}
        with _lock:
            self._final = None
            _watchers[id(self)] = self
            for point in _points.values():
                self._attach(point)

    def _attach(self, point: _Point) -> None:
        """Start counting ``point`` if a spec matches it (writers only, under the lock)."""
        if point in self._baselines or not any(_matches(s, point.name) for s in self._specs):
            return
        point.counting += 1
        point.refresh()
        self._baselines = {**self._baselines, point: point.read()}

    def __getitem__(self, spec: str) -> int:
        if self._final is not None:
            return self._final[spec]
        if spec not in self._specs:
            raise KeyError(spec)
        return sum(
            point.read() - base
            for point, base in self._baselines.items()
            if _matches(spec, point.name)
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def unmatched(self) -> tuple[str, ...]:
        """The names and patterns that have matched no declared tracepoint so far."""
        points = tuple(self._baselines)
        return tuple(s for s in self._specs if not any(_matches(s, p.name) for p in points))

    @deferred
    def close(self) -> None:
        """Freeze the counts and stop counting what only this object watched."""
        with _lock:
            if self._final is not None:
                return
            self._final = {spec: self[spec] for spec in self._specs}
            _watchers.pop(id(self), None)
            for point in self._baselines:
                point.counting -= 1
                point.refresh()

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


def count(*specs: str) -> Counters:
    """Count hits of the tracepoints named (or matched by patterns), independently of recording.

    Use it as a context manager, or keep the object and read it while the
    program runs; ``close()`` stops counting.

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
