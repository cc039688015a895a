"""A test's own Python script, run in a fresh interpreter: what happens at its exit is real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT_TIMEOUT_S = 60


def run_script(path: Path, source: str, *python_options: str) -> subprocess.CompletedProcess[str]:
    """Write ``source`` to ``path`` and run it with this interpreter; its output, captured."""
    path.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, *python_options, str(path)],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
