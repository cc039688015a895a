"""The command line: ``--version``, ``tour`` and argparse's exit status 2 on misuse."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from osv_idioms import __version__
from osv_idioms._cli import main
from osv_idioms._cli.talk import SLIDES
from osv_idioms._cli.tour import run_tour


def run_cli(*args: str, python: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``python [python options] -m osv_idioms args``, in a child process."""
    return subprocess.run(
        [sys.executable, *python, "-m", "osv_idioms", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestVersion:
    def test_prints_the_package_version(self) -> None:
        """``--version`` prints the name and version and exits 0."""
        done = run_cli("--version")
        assert done.returncode == 0
        assert done.stdout == f"osv_idioms {__version__}\n"


class TestMisuse:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((), "the following arguments are required: COMMAND"),
            (("bogus",), "argument COMMAND: invalid choice: 'bogus'"),
            (("tour", "--frobnicate"), "unrecognized arguments: --frobnicate"),
            (("tour", "--slide", "0"), "argument --slide: slides are numbered 1 to 30, got 0"),
            (("tour", "--slide", "31"), "argument --slide: slides are numbered 1 to 30, got 31"),
            (("tour", "--slide", "x"), "argument --slide: expected a slide number, got 'x'"),
        ],
    )
    def test_exits_2_with_one_line(self, args: tuple[str, ...], message: str) -> None:
        """Bad commands and options are one line on stderr, the reason, and exit 2."""
        done = run_cli(*args)
        assert done.returncode == 2
        command = " tour" if "--slide" in args else ""  # which parser found the mistake
        (line,) = done.stderr.splitlines()  # the choices may follow, as argparse words them
        assert line.startswith(f"python -m osv_idioms{command}: error: {message}")
        assert done.stdout == ""


class TestTour:
    def test_list_prints_every_slide_in_order(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``tour --list`` prints one numbered line per slide."""
        assert main(["tour", "--list"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines == [f"{s.number:>2}  {s.title}" for s in SLIDES]

    def test_walks_every_title_in_order(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The whole tour shows each slide's heading, in the order of the talk."""
        assert main(["tour", "--no-color"]) == 0
        out = capsys.readouterr().out
        positions = [out.index(f"[{s.number}/{len(SLIDES)}] {s.title}\n") for s in SLIDES]
        assert positions == sorted(positions)
        assert "\x1b[" not in out

    def test_one_slide_shows_its_cpp(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--slide 20`` shows only the scoped-locking slide, with its C++."""
        assert main(["tour", "--slide", "20", "--no-color"]) == 0
        out = capsys.readouterr().out
        assert "[20/30] Scoped locking" in out
        assert "WITH_LOCK(p->lock) {" in out
        assert "[21/30]" not in out
        assert "[19/30]" not in out

    def test_text_slides_show_their_remark(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A slide without code says what Python has to say about it."""
        assert main(["tour", "--slide", "19", "--no-color"]) == 0
        assert "decorators, context managers, descriptors" in capsys.readouterr().out

    def test_a_slide_with_two_examples_shows_both(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Slide 24 has two examples: the concepts, then the RCU device list, each run."""
        assert main(["tour", "--slide", "24", "--no-color"]) == 0
        out = capsys.readouterr().out
        first = out.index("Python (05_concepts_at_compile_time.py):")
        second = out.index("Python (05_rcu_device_list.py):")
        assert first < second
        assert out.count("Running it:") == 2

    def test_colour_highlights_the_source(self) -> None:
        """With colour on, headings are bold and the example's keywords coloured."""
        out = io.StringIO()
        assert run_tour(out, only=28, color=True) == 0
        text = out.getvalue()
        assert "\x1b[1m[28/30] Signals and slots\x1b[0m" in text
        assert "\x1b[1;34mclass\x1b[0m \x1b[1;33mDevice\x1b[0m" in text

    def test_runs_from_the_command_line_without_input(self) -> None:
        """The tour exits 0 with stdin closed, so it never waits for a person."""
        done = subprocess.run(
            [sys.executable, "-m", "osv_idioms", "tour"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "[30/30] Resources" in done.stdout


class TestLightStart:
    def test_version_imports_none_of_the_idioms(self) -> None:
        """``--version`` loads the command line and nothing of trace, locking, rcu and the rest."""
        done = run_cli("--version", python=("-X", "importtime"))
        assert done.returncode == 0
        loaded = {
            line.rsplit("|", 1)[-1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }
        ours = sorted(name for name in loaded if name.startswith("osv_idioms"))
        assert ours == [
            "osv_idioms",
            "osv_idioms._cli",
            "osv_idioms._cli.main",
            "osv_idioms._cli.parser",
            "osv_idioms._cli.programs",
            "osv_idioms._cli.talk",
        ]
