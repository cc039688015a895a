"""``python -m osv_idioms tour``: the talk walked slide by slide.

Each stop prints the slide's title, the C++ from the slide where it has code,
the Python that replaces it (the example's source) and that example's output.
Slides without code get a short remark on what Python has to say about them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from .highlight import highlight
from .talk import SLIDES, Slide

__all__ = ("examples_by_slide", "examples_dir", "run_tour", "show_slide_list")

_EXAMPLE_TIMEOUT_S = 60.0


def examples_dir() -> Path | None:
    """Where the runnable examples are: inside the wheel, or beside a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_examples", package.parent / "examples"):
        if candidate.is_dir():
            return candidate
    return None


def examples_by_slide() -> dict[int, list[Path]]:
    """The example scripts of each slide, by the slide their docstring names (``Slide N:``)."""
    folder = examples_dir()
    if folder is None:
        return {}
    found: dict[int, list[Path]] = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.py")):
        found.setdefault(_slide_of_example(path), []).append(path)
    found.pop(0, None)  # a script that names no slide
    return found


def _slide_of_example(path: Path) -> int:
    """The slide an example shows, read from its docstring's ``Slide N:`` opening (0 if none)."""
    for line in path.read_text(encoding="utf-8").splitlines()[:10]:
        text = line.lstrip('"')
        if text.startswith("Slide "):
            number, _, _ = text.removeprefix("Slide ").partition(":")
            if number.isdigit():
                return int(number)
    return 0


def show_slide_list(out: TextIO) -> None:
    """Print every slide's number and title, one a line."""
    width = len(str(len(SLIDES)))
    for slide in SLIDES:
        out.write(f"{slide.number:>{width}}  {slide.title}\n")


def run_tour(out: TextIO, *, only: int | None = None, color: bool = False) -> int:
    """Walk the slides (or just slide ``only``), returning the exit status of the tour."""
    status = 0
    examples = examples_by_slide()
    for slide in SLIDES:
        if only is not None and slide.number != only:
            continue
        _show_stop(out, slide, color=color)
        for example in examples.get(slide.number, []):
            status = max(status, _run_example(out, example, color=color))
    return status


def _show_stop(out: TextIO, slide: Slide, *, color: bool) -> None:
    heading = f"[{slide.number}/{len(SLIDES)}] {slide.title}"
    out.write("\n" + _style(heading, "1", color=color) + "\n")
    out.write("=" * len(heading) + "\n")
    if slide.cpp:
        out.write(_style("C++ on the slide:", "2", color=color) + "\n")
        out.write(_indent(slide.cpp) + "\n")
    if slide.remark:
        out.write(slide.remark + "\n")


def _run_example(out: TextIO, example: Path, *, color: bool) -> int:
    out.write(_style(f"Python ({example.name}):", "2", color=color) + "\n")
    source = example.read_text(encoding="utf-8").rstrip()
    out.write(_indent(highlight(source) if color else source) + "\n")
    out.write(_style("Running it:", "2", color=color) + "\n")
    out.flush()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        done = subprocess.run(
            [sys.executable, str(example)],
            capture_output=True,
            text=True,
            timeout=_EXAMPLE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        out.write(f"  {example.name} did not finish within {_EXAMPLE_TIMEOUT_S:g} s\n")
        return 1
    shown = "\n".join(part.rstrip() for part in (done.stdout, done.stderr) if part.strip())
    out.write(_indent(shown) + "\n")
    if done.returncode != 0:
        out.write(f"  {example.name} exited with status {done.returncode}\n")
        return 1
    return 0


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def _style(text: str, sgr: str, *, color: bool) -> str:
    """Wrap ``text`` in an ANSI SGR sequence when colour is on."""
    return f"\x1b[{sgr}m{text}\x1b[0m" if color else text
