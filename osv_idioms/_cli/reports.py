"""``perf report --timed`` and ``--callstack``: OSv's ``scripts/trace.py`` analyses of a trace file.

Both read the Chrome Trace Event document ``perf record`` wrote: the timed
pairs are the summary's durations; the stacks are those recorded with
``perf record -g``, innermost frame first, without the frames of the
command line that ran the program.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

from .. import trace
from .programs import launcher_file

__all__ = ("callstack_table", "only", "timed_table")


def _wanted(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def only(summary: trace.TraceSummary, patterns: Sequence[str]) -> trace.TraceSummary:
    """The summary of the tracepoints matching ``patterns`` alone."""
    return trace.TraceSummary(
        {name: n for name, n in summary.counts.items() if _wanted(name, patterns)},
        {name: d for name, d in summary.durations.items() if _wanted(name, patterns)},
        summary.overwritten,
    )


def timed_table(summary: trace.TraceSummary, patterns: Sequence[str]) -> str:
    """Each timed pair matching ``patterns``: count, total, min, p50, p90, p99 and max."""
    header = ("count", "total", "min", "p50", "p90", "p99", "max")
    lines = [f"{'timed pair':<32}" + "".join(f" {h:>9}" for h in header)]
    for name, stats in sorted(summary.durations.items()):
        if not _wanted(name, patterns):
            continue
        values = (
            stats.total_ns,
            stats.min_ns,
            stats.p50_ns,
            stats.p90_ns,
            stats.p99_ns,
            stats.max_ns,
        )
        lines.append(
            f"{name:<32} {stats.count:>9}" + "".join(f" {_duration(v):>9}" for v in values)
        )
    if len(lines) == 1:
        lines.append("no timed pair (x then x_ret or x_err in one thread) was recorded")
    return "\n".join(lines)


def _duration(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.1f}{unit}"
    return f"{ns:.0f}ns"


def callstack_table(document: object, patterns: Sequence[str], *, top: int) -> str:
    """The ``top`` most frequent stacks of each tracepoint matching ``patterns``, with counts."""
    stacks: dict[str, Counter[tuple[str, ...]]] = {}
    for record in cast("dict[str, Any]", document)["traceEvents"]:
        if (
            record.get("ph") != "i"
            or "stack" not in record
            or not _wanted(record["name"], patterns)
        ):
            continue
        frames = tuple(f for f in reversed(record["stack"]) if not _launcher(f))
        stacks.setdefault(record["name"], Counter())[frames] += 1
    if not stacks:
        return "no stacks were recorded: record with perf record -g"
    lines: list[str] = []
    for name, counted in sorted(stacks.items()):
        hits = sum(counted.values())
        lines.append(f"{name}: {hits} hits, {len(counted)} distinct stacks")
        for frames, count in counted.most_common(top):
            lines.append(f"  {count:>8} {100 * count / hits:5.1f}%  {frames[0] if frames else '?'}")
            lines += [f"{'':>18}{frame}" for frame in frames[1:]]
    return "\n".join(lines)


def _launcher(frame: str) -> bool:
    """Whether a recorded frame, ``name (file:line)``, is what ran the program."""
    filename = frame.rpartition(" (")[2].rpartition(":")[0]
    return launcher_file(filename)
