"""Every script in examples/ runs to completion and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path) -> None:
    """The example exits 0 within its time limit and prints something to read."""
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_examples_are_numbered_in_talk_order() -> None:
    """Names are ``NN_slide_title.py`` so a listing reads in the order of the talk."""
    for script in EXAMPLES:
        prefix, _, rest = script.stem.partition("_")
        assert len(prefix) == 2, script.name
        assert prefix.isdigit(), script.name
        assert rest, script.name
