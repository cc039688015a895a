"""The command lines docs/trace.md shows, run as a user would, printing what the page says.

The page's ``py`` blocks that start with ``# NAME.py`` are written to a
fresh folder; each ``console`` block's ``$ python -m osv_idioms ...`` lines
are run there in order, and what each prints must be the lines below it.
Durations, which change from run to run, are compared as durations.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "trace.md"
_FILE = re.compile(r"```py\n# (\w+\.py)\n(.*?)```", re.S)
_CONSOLE = re.compile(r"```console\n(.*?)```", re.S)
_DURATION = re.compile(r"\b\d+(\.\d+)?(ns|us|ms|s)\b")
_TOTAL = re.compile(r"total in \d+(\.\d+)? s")


def commands(text: str) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of the page's console blocks, and the lines it prints."""
    found: list[tuple[str, list[str]]] = []
    for block in _CONSOLE.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return found


def masked(lines: list[str]) -> list[str]:
    """The lines with each duration as ``T`` and the runs of spaces as one."""
    return [
        " ".join(_DURATION.sub("T", _TOTAL.sub("total in T s", line)).split()) for line in lines
    ]


def test_the_page_shows_commands() -> None:
    shown = commands(PAGE.read_text(encoding="utf-8"))
    assert len(shown) >= 7
    assert {command.split()[4] for command, _ in shown} == {"list", "stat", "record", "report"}


def test_every_command_prints_what_the_page_shows(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    for name, source in _FILE.findall(text):
        (tmp_path / name).write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "OSV_TRACE": ""}
    env.pop("NO_COLOR", None)
    for command, expected in commands(text):
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "osv_idioms"], command
        done = subprocess.run(
            [sys.executable, *argv[1:]],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}"
        assert masked(done.stdout.splitlines()) == masked(expected), command


@pytest.mark.parametrize("verb", ["list", "stat", "record", "report"])
def test_the_page_shows_each_verbs_help(verb: str) -> None:
    shown = [command for command, _ in commands(PAGE.read_text(encoding="utf-8"))]
    assert f"python -m osv_idioms perf {verb} --help" in shown
