"""``python -m osv_idioms perf``: list, stat's exact layout, record, report and exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from osv_idioms import trace
from osv_idioms.trace import Column, declare_tracepoint

ROOT = Path(__file__).resolve().parent.parent
Unique = Callable[[str], str]

WORKLOAD = textwrap.dedent(
    """
    import sys
    from osv_idioms.trace import tracepoint

    @tracepoint("{n}")
    def trace_cli_work(n: int) -> None: ...

    @tracepoint()
    def trace_cli_work_ret() -> None: ...

    for n in range(int(sys.argv[1])):
        trace_cli_work(n)
        trace_cli_work_ret()
    print("worked", sys.argv[1:])
    sys.exit(int(sys.argv[2]))
    """
)


def perf(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "osv_idioms", "perf", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OSV_TRACE": "", "OSV_LOCKDEP": ""},
    )


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    script = tmp_path / "workload.py"
    script.write_text(WORKLOAD, encoding="utf-8")
    return script


class TestTableLayout:
    def test_widths_are_max_8_and_tag_plus_2(self, unique: Unique) -> None:
        """Each column is max(8, len(tag)+2) wide, right-aligned, header and rows alike."""
        name_a, name_w = unique("a"), unique("w")
        a, w = declare_tracepoint(name_a), declare_tracepoint(name_w)
        specs = [f"a={name_a}", f"mutex_lock_wait={unique('none')}", f"w={name_w}"]
        assert [Column.parse(spec).width for spec in specs] == [8, 17, 8]
        table = io.StringIO()
        with trace.stat(*specs, interval=60, out=table):
            for _ in range(11):
                a()
            w()
            w()
        assert table.getvalue().splitlines()[:2] == [
            "       a  mutex_lock_wait       w",
            "      11                0       2",
        ]

    def test_bad_columns_are_refused(self) -> None:
        """``=x`` and ``x=`` name no tag or no tracepoint."""
        for text in ("=x", "x="):
            with pytest.raises(ValueError, match=r"expected TRACEPOINT or TAG=TRACEPOINT$"):
                Column.parse(text)

    def test_rows_are_deltas_and_the_header_repeats_every_25(self, unique: Unique) -> None:
        """Row k shows the hits since row k-1; the header comes before rows 1, 26, 51..."""
        name = unique("rows")
        point = declare_tracepoint(name, "v")
        out = io.StringIO()
        with trace.stat(f"hits={name}", interval=3600, out=out) as running:
            for row in range(30):
                for _ in range(row):
                    point(0)
                running.print_row()
            point(0)
        lines = out.getvalue().splitlines()
        header = "    hits"
        assert lines[0] == header
        assert lines[26] == header
        data = [line for line in lines[:-2] if line != header]
        assert data == [f"{n:>8}" for n in [*range(30), 1]]
        assert lines[-2] == "-" * 8
        assert lines[-1].startswith(f"{sum(range(30)) + 1:>8}  total in ")
        assert lines.count(header) == 2

    def test_rows_limit_and_csv(self, unique: Unique) -> None:
        """``rows`` caps the printed rows; ``csv`` prints a header once and a total row."""
        name = unique("csv")
        point = declare_tracepoint(name, "v")
        out = io.StringIO()
        with trace.stat(
            name, "never_declared_xyz", interval=3600, rows=2, csv=True, out=out
        ) as running:
            point(1)
            running.print_row()
            point(2)
            point(3)
        running.close()
        assert out.getvalue().splitlines() == [
            f"interval,{name},never_declared_xyz",
            "1,1,0",
            "2,2,0",
            "total,3,0",
            "never matched a declared tracepoint: never_declared_xyz",
        ]

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            (
                {"interval": 0},
                ValueError,
                "the interval must be a finite number of seconds > 0; got 0",
            ),
            ({"rows": 0}, ValueError, "the row count must be at least 1, got 0"),
        ],
    )
    def test_bad_settings(
        self, kwargs: dict[str, float], error: type[Exception], message: str
    ) -> None:
        """A zero interval or row count is refused before anything starts."""
        with pytest.raises(error, match=rf"^{message}$"):
            trace.stat("x", **kwargs)  # type: ignore[arg-type]

    def test_needs_a_column(self) -> None:
        """``stat()`` with nothing to count is a TypeError."""
        with pytest.raises(TypeError, match=r"^stat\(\) needs at least one"):
            trace.stat()


class TestStatCommand:
    def test_table_totals_unmatched_and_exit_status(self, workload: Path) -> None:
        """The program runs with its arguments; its status is kept; the table goes to stderr."""
        done = perf(
            "stat",
            "-i",
            "3600",
            "cli_work",
            "R=cli_work_ret",
            "nope_*",
            "--",
            str(workload),
            "7",
            "3",
        )
        assert done.returncode == 3
        assert done.stdout == "worked ['7', '3']\n"
        lines = done.stderr.splitlines()
        assert lines[0] == "  cli_work       R  nope_*"
        assert lines[1] == "         7       7       0"
        assert lines[2] == "-" * 26
        assert lines[3].startswith("         7       7       0  total in ")
        assert lines[4] == "never matched a declared tracepoint: nope_*"

    def test_runs_a_module(self, workload: Path) -> None:
        """``-- -m module args`` runs the module as ``__main__`` from the current folder."""
        done = perf(
            "stat",
            "-i",
            "3600",
            "--csv",
            "cli_work",
            "--",
            "-m",
            "workload",
            "2",
            "0",
            cwd=workload.parent,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines()[:2] == ["interval,cli_work", "1,2"]

    def test_program_exception_is_shown_and_gives_1(self, tmp_path: Path) -> None:
        """An uncaught exception in the program prints its traceback and exits 1."""
        script = tmp_path / "crash.py"
        script.write_text("raise RuntimeError('crashed')\n", encoding="utf-8")
        done = perf("stat", "x", "--", str(script))
        assert done.returncode == 1
        assert "RuntimeError: crashed" in done.stderr
        assert "total in" in done.stderr

    def test_exit_with_message(self, tmp_path: Path) -> None:
        """``sys.exit("message")`` prints the message and exits 1, as Python does."""
        script = tmp_path / "bye.py"
        script.write_text("import sys\nsys.exit('bye')\n", encoding="utf-8")
        done = perf("stat", "x", "--", str(script))
        assert (done.returncode, done.stderr.splitlines()[0]) == (1, "bye")

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ("stat", "x", "--", "missing.py"),
                "perf stat: error: can't open file 'missing.py': no such file",
            ),
            (
                ("stat", "x", "--", "-m", "no_such_module_xyz"),
                "perf stat: error: no module named 'no_such_module_xyz'",
            ),
            (
                ("stat", "x"),
                "perf stat: error: perf stat needs a program: ... -- script.py [args] or -- -m module",
            ),
            (
                ("record",),
                "perf record: error: perf record needs a program: ... -- script.py [args] or -- -m module",
            ),
            (
                ("list", "-m", "no_such_module_xyz"),
                "perf list: error: can't import module 'no_such_module_xyz'",
            ),
        ],
    )
    def test_mistakes_are_one_line_and_exit_2(self, args: tuple[str, ...], message: str) -> None:
        """A missing program or module is one line on stderr and exit status 2, no traceback."""
        done = perf(*args)
        assert done.returncode == 2
        assert len(done.stderr.splitlines()) == 1
        assert done.stderr.startswith(f"python -m osv_idioms {message}")
        assert "Traceback" not in done.stderr

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ("stat", "-i", "0", "x", "--", "a.py"),
                "argument -i/--interval: the interval must be positive, got 0",
            ),
            (
                ("stat", "-i", "soon", "x", "--", "a.py"),
                "argument -i/--interval: expected seconds, got 'soon'",
            ),
            (
                ("stat", "-n", "0", "x", "--", "a.py"),
                "argument -n/--rows: the row count must be at least 1, got 0",
            ),
            (
                ("stat", "-n", "many", "x", "--", "a.py"),
                "argument -n/--rows: expected a number of rows, got 'many'",
            ),
            (("stat", "--", "a.py"), "the following arguments are required: [TAG=]TRACEPOINT"),
            (
                ("stat", "=x", "--", "a.py"),
                "bad column '=x': expected TRACEPOINT or TAG=TRACEPOINT",
            ),
            (("stat", "x", "--"), "nothing to run after '--': give script.py or -m module"),
            (("stat", "x", "--", "-m"), "-m needs a module name"),
            (("frob",), "argument VERB: invalid choice: 'frob'"),
        ],
    )
    def test_bad_options_exit_2(self, args: tuple[str, ...], message: str) -> None:
        """Bad options are argparse errors: the reason on stderr and exit status 2."""
        done = perf(*args)
        assert done.returncode == 2
        assert message in done.stderr
        assert "Traceback" not in done.stderr

    def test_tour_refuses_a_program(self) -> None:
        """Only perf stat and perf record run a program after ``--``."""
        done = subprocess.run(
            [sys.executable, "-m", "osv_idioms", "tour", "--", "x.py"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert "only perf stat, perf record and lockdep run a program after '--'" in done.stderr


class TestListCommand:
    def test_lists_module_tracepoints_matching(self, workload: Path) -> None:
        """``perf list -m MODULE PATTERN`` imports the module and lists what matches."""
        module = workload.parent / "declares.py"
        module.write_text(
            "from osv_idioms.trace import tracepoint\n"
            "@tracepoint('{n}')\n"
            "def trace_listed_a(n: int) -> None: ...\n"
            "@tracepoint()\n"
            "def trace_other_b() -> None: ...\n",
            encoding="utf-8",
        )
        done = perf("list", "-m", "declares", "listed_*", cwd=workload.parent)
        assert done.returncode == 0, done.stderr
        (line,) = done.stdout.splitlines()
        assert line.split()[:3] == ["listed_a", "off", "'{n}'"]
        assert line.endswith(f"{module}:2")

    def test_nothing_matches(self) -> None:
        """A pattern that matches nothing says so and exits 0."""
        done = perf("list", "no_such_tracepoint_*")
        assert (done.returncode, done.stdout) == (
            0,
            "no tracepoint matches 'no_such_tracepoint_*'\n",
        )


class TestRecordAndReport:
    def test_record_then_report(self, workload: Path, tmp_path: Path) -> None:
        """``record`` writes a Chrome trace of the matching tracepoints; ``report`` summarises it."""
        out = tmp_path / "t.json"
        done = perf("record", "-e", "cli_*", "-o", str(out), "--", str(workload), "5", "0")
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"recorded 10 events to {out}\n"
        document = json.loads(out.read_text(encoding="utf-8"))
        assert {r["ph"] for r in document["traceEvents"]} == {"M", "i", "X"}
        report = perf("report", str(out))
        assert report.returncode == 0
        lines = report.stdout.splitlines()
        assert lines[1].split() == ["cli_work", "5"]
        assert lines[2].split() == ["cli_work_ret", "5"]
        assert lines[5].split()[:2] == ["cli_work", "5"]

    def test_record_keeps_the_exit_status_and_counts_overwrites(
        self, workload: Path, tmp_path: Path
    ) -> None:
        """The program's status is kept, and lost records are reported."""
        out = tmp_path / "t.json"
        done = perf("record", "-o", str(out), "--", str(workload), "40000", "4")
        assert done.returncode == 4
        assert done.stderr == f"recorded 65536 events, 14464 overwritten to {out}\n"

    def test_unwritable_output(self, workload: Path, tmp_path: Path) -> None:
        """An output path that cannot be written is one line and exit status 2."""
        done = perf("record", "-o", str(tmp_path / "no" / "t.json"), "--", str(workload), "1", "0")
        assert done.returncode == 2
        assert done.stderr.splitlines()[-1].startswith(
            "python -m osv_idioms perf record: error: can't write"
        )

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (None, "can't read {path}: No such file or directory"),
            ("not json", "{path} is not a trace written by perf record: Expecting value"),
            (
                "[1]",
                "{path} is not a trace written by perf record: the top level is not a JSON object",
            ),
            (
                '{"traceEvents": 3}',
                "{path} is not a trace written by perf record: no 'traceEvents' list",
            ),
        ],
    )
    def test_unreadable_traces_exit_2(
        self, tmp_path: Path, content: str | None, message: str
    ) -> None:
        """A missing or malformed trace file is one line on stderr and exit status 2."""
        path = tmp_path / "bad.json"
        if content is not None:
            path.write_text(content, encoding="utf-8")
        done = perf("report", str(path))
        assert done.returncode == 2
        assert len(done.stderr.splitlines()) == 1
        assert done.stderr.startswith(
            f"python -m osv_idioms perf report: error: {message.format(path=path)}"
        )
