"""Render pytest-benchmark's JSON as the markdown tables of docs/benchmarks.md.

    python -m pytest benchmarks --benchmark-min-rounds=200 --benchmark-json=bench.json
    python -m benchmarks.render bench.json

One table per benchmark group, in the order the groups first appear: each
case's minimum and median, and the ratio of its minimum to the group's
baseline (the peer its issue names as the limit). Unrolled cases are shown
per call (a round is ``CALLS_PER_ROUND`` calls); the contended and
grace-period cases, per round.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks._unrolled import CALLS_PER_ROUND

# The baseline of each group: the case every other one is divided by.
BASELINES = {
    "tracepoint": "test_empty_function",
    "recording, step by step": "test_recording_step[empty-call]",
    "with-block": "test_rlock",
    "two-locks": "test_nested_with",
    "contended-4-threads": "test_contended_rlock",
    "read": "test_attribute_method",
    "read-section": "test_lock_with_block",
    "contended": "test_contended_lock",
    "grace-period": "test_synchronize_no_readers_inside",
    "clone-release": "test_lock_with_block",
    "lifecycle": "test_construct_and_close",
    "connect+disconnect": "test_connect_disconnect_psygnal",
    "weak method: bind": "test_bind_weakmethod",
    "weak method: first bind": "test_first_bind_weakmethod",
    "weak method: call": "test_call_weakmethod",
}
PER_ROUND = frozenset({"contended-4-threads", "contended", "grace-period"})

# The scaling groups (bench_scaling.py) are named with their size: matched by how
# the name starts. The baseline is the case whose name holds the peer's word.
SCALING_PEERS = {
    "connect ": "psygnal",
    "connect+disconnect": "psygnal",
    "dict ": "locked-dict",
    "list ": "locked-list",
    "readers": "locked-dict",
    "chrome export": "viztracer",
}
# Not unrolled: stats are per call.
PER_CALL_UNTIMED = (
    "connect ",
    "emit to ",
    "list ",
    "readers",
    "dict snapshot+update ",
    "dict update() ",
)
# Groups where one call is a whole run, shown in milliseconds: what one call is.
WHOLE_RUNS = {"chrome export": "export", "switching ": "switch"}


def baseline_of(group: str, names: Iterable[str]) -> str | None:
    """The baseline's name: the listed one, or for an emit group its plain loop."""
    names = list(names)
    wanted = BASELINES.get(group)
    if wanted in names:
        return wanted
    peer = next((word for start, word in SCALING_PEERS.items() if group.startswith(start)), None)
    return next((name for name in names if (peer or "plain-loop") in name), None)


def render(report: dict[str, Any]) -> str:
    """The markdown for a whole pytest-benchmark report."""
    machine = report["machine_info"]
    cpu = machine.get("cpu", {})
    lines = [
        f"CPython {machine['python_version']} on {cpu.get('count', '?')} cores "
        f"({cpu.get('brand_raw', 'unknown CPU')}), {report['datetime'][:10]}.",
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in report["benchmarks"]:
        groups.setdefault(case["group"] or "(no group)", []).append(case)
    for group, cases in groups.items():
        lines += ["", *table(group, cases)]
    return "\n".join(lines) + "\n"


def table(group: str, cases: list[dict[str, Any]]) -> list[str]:
    """One group's table: name, min, median, ratio to the baseline."""
    if all("operations_per_s" in case.get("extra_info", {}) for case in cases):
        return throughput_table(group, cases)
    if all("p99_read_ns" in case.get("extra_info", {}) for case in cases):
        return readers_table(group, cases)
    per_round = group in PER_ROUND
    scale, unit = (1e3, "ms per round") if per_round else (1e9 / CALLS_PER_ROUND, "ns per call")
    if group.startswith(PER_CALL_UNTIMED):
        scale, unit = (1e6, "µs per call")
    whole = next((run for start, run in WHOLE_RUNS.items() if group.startswith(start)), None)
    if whole is not None:
        scale, unit = (1e3, f"ms per {whole}")
    by_name = {case["name"]: case for case in cases}
    base = baseline_of(group, by_name)
    base_min = by_name[base]["stats"]["min"] if base else None
    rows = [f"#### {group} ({unit})", "", "| case | min | median | ratio |", "|---|---:|---:|---:|"]
    for case in sorted(cases, key=lambda c: c["stats"]["min"]):
        stats = case["stats"]
        ratio = f"{stats['min'] / base_min:.2f}" if base_min else "—"
        marker = " (baseline)" if case["name"] == base else ""
        rows.append(
            f"| `{case['name']}`{marker} | {_figure(stats['min'] * scale)} "
            f"| {_figure(stats['median'] * scale)} | {ratio} |"
        )
    return rows


def throughput_table(group: str, cases: list[dict[str, Any]]) -> list[str]:
    """A thread-scaling group: operations per second, and each case against its 1-thread run."""
    rate = {case["name"]: case["extra_info"]["operations_per_s"] for case in cases}
    rows = [f"#### {group} (operations per second)", "", "| case | ops/s | vs 1 thread |"]
    rows.append("|---|---:|---:|")
    for case in cases:
        single = rate.get(case["name"].rsplit("[", 1)[0] + "[1]")
        versus = f"{rate[case['name']] / single:.2f}" if single else "—"
        rows.append(f"| `{case['name']}` | {rate[case['name']]:,.0f} | {versus} |")
    return rows


def readers_table(group: str, cases: list[dict[str, Any]]) -> list[str]:
    """Readers beside a writer: reads per second over all readers, and the p99 of one read."""
    rows = [f"#### {group}", "", "| case | reads/s | p99 read (ns) |", "|---|---:|---:|"]
    for case in cases:
        info = case["extra_info"]
        rows.append(f"| `{case['name']}` | {info['reads_per_s']:,} | {info['p99_read_ns']:,} |")
    return rows


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main(argv: list[str]) -> int:
    """Print the tables of each JSON file named."""
    if not argv:
        print("usage: python -m benchmarks.render BENCH.json [...]", file=sys.stderr)
        return 2
    for path in argv:
        print(render(json.loads(Path(path).read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
