"""Every script in examples/ runs, exits 0, and prints what ``tests/example_output/`` says.

The expected output is the same on every run and interpreter: each example
orders its threads with events and barriers rather than timing, so what it
prints never depends on scheduling. The one figure masked is perf stat's
elapsed time (``total in N s``), which is wall-clock by nature.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))
EXPECTED = Path(__file__).parent / "example_output"
_ELAPSED = re.compile(r"total in \d+\.\d+ s")


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path) -> None:
    """The example exits 0 within its time limit and prints exactly its expected output."""
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = (EXPECTED / f"{script.stem}.txt").read_text(encoding="utf-8")
    assert _ELAPSED.sub("total in N s", done.stdout + done.stderr) == expected


def test_every_example_has_its_expected_output() -> None:
    """No expected output is left over from an example that is gone, and none is missing."""
    assert sorted(p.stem for p in EXPECTED.glob("*.txt")) == [p.stem for p in EXAMPLES]


def test_examples_are_numbered_in_talk_order() -> None:
    """Names are ``NN_slide_title.py`` so a listing reads in the order of the talk."""
    for script in EXAMPLES:
        prefix, _, rest = script.stem.partition("_")
        assert len(prefix) == 2, script.name
        assert prefix.isdigit(), script.name
        assert rest, script.name
