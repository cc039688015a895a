r"""Compile-time checks: mypy and pyright report errors exactly where tests/typing/ marks them.

Each file in ``tests/typing/`` is checked by ``mypy --strict`` and by pyright
(strict) and never run. A line ending in ``# E: code[, code]`` must get those
mypy error codes and no others, and a pyright error (its rule names differ,
so only the line is compared); every other line must be clean for both. This is the Python form of the talk's
"templates - enforcing concepts at compile time": misuse is rejected before
the program runs, and the harness fails if the types stop rejecting it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from mypy import api as mypy_api

TYPING_DIR = Path(__file__).parent / "typing"
CASES = sorted(TYPING_DIR.glob("check_*.py"))
EXPECTED = re.compile(r"#\s*E:\s*([\w\-, ]+)$")
REPORTED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w\-]+)\]$")

Errors = dict[int, set[str]]


def expected_errors(path: Path) -> Errors:
    found: Errors = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := EXPECTED.search(line):
            found[number] = {code.strip() for code in match.group(1).split(",")}
    return found


def reported_errors(mypy_output: str, path: Path) -> Errors:
    found: defaultdict[int, set[str]] = defaultdict(set)
    for line in mypy_output.splitlines():
        match = REPORTED.match(line)
        if match and Path(match["file"]).resolve() == path.resolve():
            found[int(match["line"])].add(match["code"])
    return dict(found)


@pytest.fixture(scope="module")
def mypy_output() -> str:
    """One mypy run over every case file (a run per file would cost seconds each)."""
    stdout, stderr, _status = mypy_api.run(
        ["--strict", "--show-error-codes", "--no-error-summary", "--no-pretty"]
        + ["--hide-error-context", "--show-absolute-path"]
        + [str(p) for p in CASES]
    )
    assert stderr == ""
    return stdout


def test_there_are_cases() -> None:
    """The harness has files to check, so it cannot pass by checking nothing."""
    assert CASES


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_errors_exactly_where_marked(case: Path, mypy_output: str) -> None:
    """mypy rejects each marked line with the marked codes, and accepts every other line."""
    expected = expected_errors(case)
    assert expected, f"{case.name} marks no expected error: it shows nothing rejected"
    assert reported_errors(mypy_output, case) == expected


@pytest.fixture(scope="module")
def pyright_errors() -> dict[Path, set[int]]:
    """One pyright run over every case file: the lines where it reports an error."""
    completed = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
        + [str(p) for p in CASES],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(completed.stdout)
    found: defaultdict[Path, set[int]] = defaultdict(set)
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            found[Path(diagnostic["file"]).resolve()].add(diagnostic["range"]["start"]["line"] + 1)
    assert report["summary"]["filesAnalyzed"] == len(CASES)
    return dict(found)


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_pyright_rejects_the_same_lines(case: Path, pyright_errors: dict[Path, set[int]]) -> None:
    """pyright finds an error on each marked line, and on no other."""
    assert pyright_errors.get(case.resolve(), set()) == set(expected_errors(case))


def test_the_harness_sees_a_missing_error() -> None:
    """A mark on a clean line shows up as a difference, so a lost check fails."""
    assert expected_errors(Path(__file__)) == {}
    output = f"{CASES[0]}:1: error: something  [arg-type]\n"
    assert reported_errors(output, CASES[0]) == {1: {"arg-type"}}
