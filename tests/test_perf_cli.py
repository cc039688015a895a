"""``python -m osv_idioms perf``: list, stat's exact layout, record, report and exit codes."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
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


def script_file(folder: Path, name: str, source: str) -> Path:
    """A program for the command line to run, written into ``folder``."""
    script = folder / name
    script.write_text(source, encoding="utf-8")
    return script


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    return script_file(tmp_path, "workload.py", WORKLOAD)


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
                "argument -i/--interval: the interval must be a finite number of seconds > 0, got 0",
            ),
            (
                ("stat", "-i", "inf", "x", "--", "a.py"),
                "argument -i/--interval: the interval must be a finite number of seconds > 0, "
                "got inf",
            ),
            (
                ("stat", "-i", "1e300", "x", "--", "a.py"),
                "argument -i/--interval: the interval must be a finite number of seconds > 0, "
                "got 1e300",
            ),
            (
                ("stat", "-i", "nan", "x", "--", "a.py"),
                "argument -i/--interval: the interval must be a finite number of seconds > 0, "
                "got nan",
            ),
            (
                ("record", "-e", "", "--", "a.py"),
                "argument -e/--event: empty event in '': give tracepoint names or wildcards, "
                "comma-separated",
            ),
            (
                ("record", "-e", "a,,b", "--", "a.py"),
                "argument -e/--event: empty event in 'a,,b': give tracepoint names or wildcards, "
                "comma-separated",
            ),
            (
                ("record", "--buffer-size", "0", "--", "a.py"),
                "argument --buffer-size: the row count must be at least 1, got 0",
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
            (("stat", "--", "a.py"), "the following arguments are required: [TAG=]EVENT"),
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
        """Bad options are one line on stderr, the program not run, and exit status 2."""
        done = perf(*args)
        assert done.returncode == 2
        verb = f" {args[0]}" if args[0] in ("stat", "record") else ""
        (line,) = done.stderr.splitlines()  # the choices may follow, as argparse words them
        assert line.startswith(
            (
                f"python -m osv_idioms perf{verb}: error: {message}",
                f"python -m osv_idioms: error: {message}",  # found before the verb's parser
            )
        )

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


SPIN = textwrap.dedent(
    """
    import sys
    from osv_idioms.trace import declare_tracepoint

    trace_spin_tick = declare_tracepoint("spin_tick", "n")

    def spin():
        trace_spin_tick(0)  # one hit before "ready": a signal at once still finds one
        n = 1
        print("ready", flush=True)
        while True:
            trace_spin_tick(n)
            n += 1

    spin()
    """
)


def start_perf(*args: str) -> subprocess.Popen[str]:
    """``perf ...`` in a process group of its own, as a shell runs a job; stdout is a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "osv_idioms", "perf", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OSV_TRACE": "", "OSV_LOCKDEP": ""},
    )


def stop_when_ready(child: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    """Wait for the program's "ready", send ``signum`` to the whole group, collect the output."""
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "ready\n"
        os.killpg(child.pid, signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return "ready\n" + out, err


FORKER = textwrap.dedent(
    """
    import os
    import sys
    from osv_idioms.trace import declare_tracepoint

    hit = declare_tracepoint("forker_hit", "who")
    for _ in range(3):
        hit("parent")
    pid = os.fork()
    if pid == 0:
        hit("child")
        if sys.argv[1:] == ["_exit"]:
            os._exit(0)  # as multiprocessing's children end
        # else the child returns, back into the command line
    else:
        print(pid, flush=True)
        os.waitpid(pid, 0)
        hit("parent")
    """
)


class TestForkedChildren:
    @pytest.fixture
    def forker(self, tmp_path: Path) -> Path:
        return script_file(tmp_path, "forker.py", FORKER)

    def test_record_writes_a_childs_own_records_beside_the_parents(
        self, forker: Path, tmp_path: Path
    ) -> None:
        """The parent's file keeps the parent's four hits; the child's has its one."""
        out = tmp_path / "t.json"
        done = perf("record", "-e", "forker_*", "-o", str(out), "--", str(forker))
        assert done.returncode == 0, done.stderr
        child = tmp_path / f"t.{int(done.stdout)}.json"
        told = [line for line in done.stderr.splitlines() if line.startswith("recorded")]
        assert sorted(told) == sorted(
            [f"recorded 1 events to {child}", f"recorded 4 events to {out}"]
        )
        assert _hits(out) == ["parent"] * 4
        assert _hits(child) == ["child"]

    def test_a_child_that_ends_with_exit_writes_and_prints_nothing(
        self, forker: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "t.json"
        done = perf("record", "-e", "forker_*", "-o", str(out), "--", str(forker), "_exit")
        assert done.returncode == 0, done.stderr
        assert [line for line in done.stderr.splitlines() if line.startswith("recorded")] == [
            f"recorded 4 events to {out}"
        ]
        assert sorted(path.name for path in tmp_path.glob("t*.json")) == ["t.json"]
        stat = perf("stat", "-i", "3600", "forker_hit", "--", str(forker), "_exit")
        assert stat.stderr.count("total in") == 1

    def test_stat_prints_the_parents_totals_once(self, forker: Path) -> None:
        done = perf("stat", "-i", "3600", "forker_hit", "--", str(forker))
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("total in") == 1
        lines = done.stderr.splitlines()
        assert lines[-1].split()[0] == "4"


def _hits(path: Path) -> list[str]:
    """Who made each ``forker_hit`` record in a trace file."""
    records = json.loads(path.read_text(encoding="utf-8"))["traceEvents"]
    return [r["args"]["who"] for r in records if r["name"] == "forker_hit"]


LOCKER = textwrap.dedent(
    """
    import signal
    import threading
    from osv_idioms.locking import with_lock

    locks = [threading.Lock() for _ in range(4)]
    handler = signal.getsignal(signal.SIGTERM)

    def spin():
        print("ready", flush=True)
        while True:
            with with_lock(*locks):
                pass

    try:
        spin()
    finally:
        with with_lock(*locks, timeout=5):  # a lock SIGTERM left held would time out here
            print("cleaned up; SIGTERM handler:", repr(handler).partition("(")[0], flush=True)
    """
)


class TestSignals:
    @pytest.fixture
    def spin(self, tmp_path: Path) -> Path:
        return script_file(tmp_path, "spin.py", SPIN)

    @pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
    def test_record_stopped_by_a_signal_writes_what_it_has(
        self, spin: Path, tmp_path: Path, signum: int, status: int
    ) -> None:
        out = tmp_path / "t.json"
        child = start_perf("record", "-e", "spin_*", "-o", str(out), "--", str(spin))
        _, err = stop_when_ready(child, signum)
        assert child.returncode == status, err
        written = json.loads(out.read_text(encoding="utf-8"))["traceEvents"]
        hits = sum(record["name"] == "spin_tick" for record in written)
        assert hits > 0
        last = err.splitlines()[-1]
        assert re.fullmatch(
            rf"recorded (\d+) events(, \d+ overwritten)? to {re.escape(str(out))}", last
        )
        assert int(re.findall(r"\d+", last)[0]) == len(written) - 1  # and the thread's name record
        assert_only_the_programs_frames(err, spin, signum)

    def test_sigterm_never_cuts_a_library_operation_in_half(self, tmp_path: Path) -> None:
        """SIGTERM is held back inside library code: the program's ``finally`` gets the locks."""
        locker = script_file(tmp_path, "locker.py", LOCKER)
        child = start_perf("stat", "-i", "3600", "mutex_lock", "--", str(locker))
        out, err = stop_when_ready(child, signal.SIGTERM)
        assert (child.returncode, out) == (
            143,
            "ready\ncleaned up; SIGTERM handler: deferring\n",
        ), err

    @pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
    def test_stat_stopped_by_a_signal_prints_the_totals(
        self, spin: Path, signum: int, status: int
    ) -> None:
        child = start_perf("stat", "-i", "3600", "spin_tick", "--", str(spin))
        _, err = stop_when_ready(child, signum)
        assert child.returncode == status, err
        lines = err.splitlines()
        at = lines.index("  spin_tick")
        row, rule, totals = lines[at + 1 : at + 4]
        assert int(row) > 0
        assert rule == "-" * 11
        assert totals.split()[0] == row.strip()
        assert_only_the_programs_frames(err, spin, signum)


def assert_only_the_programs_frames(err: str, script: Path, signum: int) -> None:
    """Ctrl-C shows the program's traceback as Python would, with no frame of the launcher."""
    assert "runpy" not in err
    assert "osv_idioms/_cli" not in err
    if signum == signal.SIGINT:
        assert "Traceback (most recent call last):\n" in err
        assert f'File "{script}"' in err
        assert "\nKeyboardInterrupt\n" in err
    else:
        assert "Traceback" not in err


class TestOptionsCheckedFirst:
    def test_an_unwritable_output_is_refused_before_the_program_runs(
        self, workload: Path, tmp_path: Path
    ) -> None:
        target = tmp_path / "no" / "t.json"
        done = perf("record", "-o", str(target), "--", str(workload), "1", "0")
        assert done.returncode == 2
        assert done.stdout == ""  # the program never ran
        assert done.stderr == (
            f"python -m osv_idioms perf record: error: can't write {target}: "
            f"there is no directory '{target.parent}'\n"
        )

    def test_a_directory_as_output_is_refused(self, workload: Path, tmp_path: Path) -> None:
        done = perf("record", "-o", str(tmp_path), "--", str(workload), "1", "0")
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == (
            f"python -m osv_idioms perf record: error: can't write {tmp_path}: it is a directory\n"
        )

    @pytest.mark.parametrize(
        "events", [("-e", "cli_work,cli_work_ret"), ("-e", "cli_work", "-e", "cli_work_ret")]
    )
    def test_events_as_a_comma_list_or_repeated(
        self, workload: Path, tmp_path: Path, events: tuple[str, ...]
    ) -> None:
        out = tmp_path / "t.json"
        done = perf("record", *events, "-o", str(out), "--", str(workload), "3", "0")
        assert done.returncode == 0, done.stderr
        names = [r["name"] for r in json.loads(out.read_text())["traceEvents"] if r["ph"] == "i"]
        assert names == ["cli_work", "cli_work_ret"] * 3

    def test_buffer_size_keeps_the_newest_records(self, workload: Path, tmp_path: Path) -> None:
        out = tmp_path / "t.json"
        done = perf("record", "--buffer-size", "4", "-o", str(out), "--", str(workload), "10", "0")
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"recorded 4 events, 16 overwritten to {out}\n"

    def test_the_environment_sets_the_ring_size_for_a_program_run_without_perf(
        self, tmp_path: Path
    ) -> None:
        script = tmp_path / "sized.py"
        script.write_text("from osv_idioms import trace\nprint(trace.buffer_size())\n")
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT), "OSV_TRACE_BUFFER": "1000"},
        )
        assert (done.returncode, done.stdout) == (0, "1000\n"), done.stderr

    def test_every_option_says_what_it_does(self) -> None:
        from osv_idioms._cli.parser import build_parser

        unexplained = [
            f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            for parser in walk_parsers(build_parser())
            for action in parser._actions  # argparse keeps them there
            if not action.help and not isinstance(action, argparse._SubParsersAction)
        ]
        assert unexplained == []


def walk_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += walk_parsers(sub)
    return found


PROBED = textwrap.dedent(
    """
    import json

    for n in range(4):
        json.dumps({"n": n})
    print("dumped")
    """
)


class TestFunctionProbes:
    @pytest.fixture
    def dumper(self, tmp_path: Path) -> Path:
        return script_file(tmp_path, "dumper.py", PROBED)

    def test_stat_counts_calls_of_any_function(self, dumper: Path) -> None:
        done = perf("stat", "-i", "3600", "dumps=py:json:dumps", "--", str(dumper))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "dumped\n"
        assert done.stderr.splitlines()[:2] == ["   dumps", "       4"]

    def test_record_and_report_time_a_probed_function(self, dumper: Path, tmp_path: Path) -> None:
        out = tmp_path / "t.json"
        done = perf("record", "-e", "py:json:dumps", "-o", str(out), "--", str(dumper))
        assert done.returncode == 0, done.stderr
        calls = [
            r["args"]["obj"]
            for r in json.loads(out.read_text())["traceEvents"]
            if r["name"] == "py:json:dumps" and r["ph"] == "i"
        ]
        assert calls == [repr({"n": n}) for n in range(4)]  # as the file shows a dict
        report = perf("report", "--timed", str(out))
        assert report.returncode == 0, report.stderr
        header, row = report.stdout.splitlines()
        assert header.split() == [
            "timed",
            "pair",
            "count",
            "total",
            "min",
            "p50",
            "p90",
            "p99",
            "max",
        ]
        assert row.split()[:2] == ["py:json:dumps", "4"]

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            (
                "py:no_such_mod:f",
                "can't probe no_such_mod:f: can't import 'no_such_mod': No module named 'no_such_mod'",
            ),
            ("py:json:nope", "can't probe json:nope: json has no attribute 'nope'"),
            ("py:json", "a function to probe is named MODULE:QUALNAME, as json:dumps, got 'json'"),
        ],
    )
    def test_an_unknown_function_is_refused_before_the_program_runs(
        self, dumper: Path, event: str, message: str
    ) -> None:
        done = perf("stat", event, "--", str(dumper))
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == f"python -m osv_idioms perf stat: error: {message}\n"


CALLERS = textwrap.dedent(
    """
    from osv_idioms.trace import declare_tracepoint

    trace_cs_alloc = declare_tracepoint("cs_alloc", "size")

    def small():
        trace_cs_alloc(8)

    def big():
        trace_cs_alloc(4096)

    for _ in range(3):
        small()
    big()
    """
)


class TestReports:
    def test_timed_lists_each_pair_with_its_percentiles(
        self, workload: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "t.json"
        assert (
            perf("record", "-e", "cli_*", "-o", str(out), "--", str(workload), "5", "0").returncode
            == 0
        )
        done = perf("report", "--timed", str(out))
        assert done.returncode == 0, done.stderr
        header, row = done.stdout.splitlines()
        assert header == (
            "timed pair                           count     total       min       p50       p90"
            "       p99       max"
        )
        assert row.split()[:2] == ["cli_work", "5"]
        assert len(row.split()) == 8

    def test_callstack_shows_the_most_frequent_stacks(self, tmp_path: Path) -> None:
        script = tmp_path / "callers.py"
        script.write_text(CALLERS, encoding="utf-8")
        out = tmp_path / "t.json"
        done = perf("record", "-g", "-e", "cs_*", "-o", str(out), "--", str(script))
        assert done.returncode == 0, done.stderr
        report = perf("report", "--callstack", str(out))
        assert report.returncode == 0, report.stderr
        lines = report.stdout.splitlines()
        assert lines[0] == "cs_alloc: 4 hits, 2 distinct stacks"
        assert re.fullmatch(rf"\s+3  75\.0%  small \({re.escape(str(script))}:7\)", lines[1])
        assert re.fullmatch(rf"\s+<module> \({re.escape(str(script))}:13\)", lines[2])
        assert re.fullmatch(rf"\s+1  25\.0%  big \({re.escape(str(script))}:10\)", lines[3])

    def test_event_patterns_narrow_the_report(self, workload: Path, tmp_path: Path) -> None:
        out = tmp_path / "t.json"
        done = perf("record", "-e", "cli_*", "-o", str(out), "--", str(workload), "2", "0")
        assert done.returncode == 0, done.stderr
        report = perf("report", "-e", "cli_work_ret", str(out))
        assert report.stdout.split() == ["tracepoint", "count", "cli_work_ret", "2"]

    def test_callstack_without_stacks_says_how_to_get_them(
        self, workload: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "t.json"
        assert perf("record", "-o", str(out), "--", str(workload), "1", "0").returncode == 0
        done = perf("report", "--callstack", str(out))
        assert done.stdout == "no stacks were recorded: record with perf record -g\n"
