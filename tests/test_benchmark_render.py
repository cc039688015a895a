"""benchmarks/render.py turns pytest-benchmark's JSON into the report's tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.render import main, render


def case(name: str, group: str, minimum: float, median: float) -> dict[str, Any]:
    return {"name": name, "group": group, "stats": {"min": minimum, "median": median}}


REPORT = {
    "machine_info": {"python_version": "3.11.7", "cpu": {"count": 2, "brand_raw": "Test CPU"}},
    "datetime": "2026-11-27T07:00:00+00:00",
    "benchmarks": [
        case("test_rlock", "with-block", 280e-6, 290e-6),  # a round is 1,000 calls
        case("test_mutex_off", "with-block", 286e-6, 300e-6),
        case("test_emit[functions-1-plain-loop]", "emit 1 functions", 158e-6, 160e-6),
        case("test_emit[functions-1-osv-idioms]", "emit 1 functions", 133e-6, 135e-6),
        case("test_contended_rlock", "contended-4-threads", 3.45e-3, 5.08e-3),
        case("test_something", "unknown", 1e-6, 1e-6),
    ],
}


def test_tables_per_group_with_ratios_to_the_baseline() -> None:
    """Each group gets a table sorted by minimum, ns per call, ratio to its baseline."""
    text = render(REPORT)
    assert text.startswith("CPython 3.11.7 on 2 cores (Test CPU), 2026-11-27.\n")
    assert "| `test_rlock` (baseline) | 280 | 290 | 1.00 |" in text
    assert "| `test_mutex_off` | 286 | 300 | 1.02 |" in text
    assert "| `test_emit[functions-1-osv-idioms]` | 133 | 135 | 0.84 |" in text
    assert "#### contended-4-threads (ms per round)" in text
    assert "| `test_contended_rlock` (baseline) | 3.45 | 5.08 | 1.00 |" in text
    assert "| `test_something` | 1 | 1 | — |" in text  # a group with no baseline
    assert text.index("`test_emit[functions-1-osv-idioms]`") < text.index(
        "`test_emit[functions-1-plain-loop]`"
    )


def test_thread_scaling_groups_show_throughput_against_one_thread() -> None:
    """A group whose cases report operations per second is a throughput table."""
    scaling = [
        {**case(f"test_reads[{n}]", "scaling", 1e-3, 1e-3), "extra_info": {"operations_per_s": ops}}
        for n, ops in ((1, 4_000_000.0), (2, 7_000_000.0))
    ]
    text = render({**REPORT, "benchmarks": scaling})
    assert "#### scaling (operations per second)" in text
    assert "| `test_reads[1]` | 4,000,000 | 1.00 |" in text
    assert "| `test_reads[2]` | 7,000,000 | 1.75 |" in text


def test_scaling_groups_name_their_peer_and_show_untimed_calls_in_microseconds() -> None:
    """``bench_scaling`` groups carry their size: the baseline is the peer the name holds."""
    cases = [
        case("test_connect_many[10000-psygnal]", "connect 10000 slots", 84.8e-3, 90e-3),
        case("test_connect_many[10000-osv-idioms]", "connect 10000 slots", 20.6e-3, 21e-3),
        case("test_dict_read_at[locked-dict-10]", "dict read at 10", 182e-6, 190e-6),
        case("test_dict_read_at[rcu-dict-10]", "dict read at 10", 74.4e-6, 76e-6),
        case("test_chrome_export_of[viztracer-1000]", "chrome export of 1,000 events", 4.8, 6.6),
        case("test_chrome_export_of[osv-idioms-1000]", "chrome export of 1,000 events", 2.9, 3),
        case(
            "test_switching_watched_tracepoints[1000]",
            "switching 1,000 watched tracepoints",
            5.71e-3,
            5.8e-3,
        ),
        {
            **case("test_readers[rcu-dict-2]", "readers beside a writer: 2", 0.05, 0.06),
            "extra_info": {"reads_per_s": 723_426, "p99_read_ns": 1022},
        },
    ]
    text = render({**REPORT, "benchmarks": cases})
    assert "#### connect 10000 slots (µs per call)" in text
    assert "| `test_connect_many[10000-psygnal]` (baseline) | 84,800 | 90,000 | 1.00 |" in text
    assert "| `test_connect_many[10000-osv-idioms]` | 20,600 | 21,000 | 0.24 |" in text
    assert "| `test_dict_read_at[rcu-dict-10]` | 74.4 | 76 | 0.41 |" in text
    assert "| `test_readers[rcu-dict-2]` | 723,426 | 1,022 |" in text
    assert "#### chrome export of 1,000 events (ms per export)" in text
    assert "| `test_chrome_export_of[osv-idioms-1000]` | 2,900 | 3,000 | 0.60 |" in text
    assert "#### switching 1,000 watched tracepoints (ms per switch)" in text
    assert "| `test_switching_watched_tracepoints[1000]` | 5.71 | 5.8 | — |" in text


def test_dict_groups_timed_per_call_are_not_divided_into_unrolled_calls() -> None:
    """A snapshot+update round is one call: its time is shown as measured, in microseconds."""
    cases = [
        case(
            "test_dict_snapshot_then_update_at[locked-dict-1000]",
            "dict snapshot+update at 1000",
            5.1e-6,
            5.5e-6,
        ),
        case(
            "test_dict_snapshot_then_update_at[rcu-dict-1000]",
            "dict snapshot+update at 1000",
            6.2e-6,
            6.4e-6,
        ),
        case(
            "test_dict_update_two_keys_at[rcu-dict-10]",
            "dict update() of two keys at 10",
            2e-6,
            3e-6,
        ),
    ]
    text = render({**REPORT, "benchmarks": cases})
    assert "#### dict snapshot+update at 1000 (µs per call)" in text
    assert "| `test_dict_snapshot_then_update_at[rcu-dict-1000]` | 6.2 | 6.4 | 1.22 |" in text
    assert "| `test_dict_update_two_keys_at[rcu-dict-10]` | 2 | 3 | — |" in text


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m benchmarks.render FILE`` prints the tables; no file is a usage error."""
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(REPORT), encoding="utf-8")
    assert main([str(path)]) == 0
    assert "#### with-block (ns per call)" in capsys.readouterr().out
    assert main([]) == 2
    assert capsys.readouterr().err.startswith("usage: python -m benchmarks.render")
