"""``pytest --lockdep`` and ``python -m osv_idioms lockdep``, each run for real in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

TIMEOUT_S = 120

INVERTING_PROGRAM = textwrap.dedent(
    """
    import threading
    first = threading.Lock()
    second = threading.Lock()

    def in_order():
        with first, second:
            pass

    def inverted():
        with second, first:
            pass

    for work in (in_order, inverted, inverted):  # the same inversion twice: reported once
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    print("program finished")
    raise SystemExit(7)
    """
)

TESTS_WITH_INVERSIONS = textwrap.dedent(
    """
    import threading

    A = threading.Lock()  # made at import, after --lockdep switched checking on
    B = threading.Lock()

    def test_orders_a_then_b():
        with A, B:
            pass

    def test_inverts_in_its_own_thread():
        with B, A:
            pass

    def test_inverts_in_a_worker_thread():
        C, D = threading.RLock(), threading.RLock()
        with C, D:
            pass
        def work():
            with D, C:
                pass
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()

    def test_clean():
        with A:
            pass
    """
)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env=environment,
    )


class TestProgramRunner:
    def test_reports_each_inversion_once_and_exits_3(self, tmp_path: Path) -> None:
        """An inverting program runs to its end; the report is printed once; the status is 3."""
        script = tmp_path / "inverting.py"
        script.write_text(INVERTING_PROGRAM, encoding="utf-8")
        done = run(["-m", "osv_idioms", "lockdep", "--", str(script)], tmp_path)
        assert done.stdout == "program finished\n"
        assert done.returncode == 3
        reports = [line for line in done.stderr.splitlines() if line.startswith("lockdep: ")]
        assert reports == [
            f"lockdep: lock order inversion: thread 'Thread-2 (inverted)' takes 'Lock@{script}:3' "
            f"while holding 'Lock@{script}:4', but 'Lock@{script}:3' -> 'Lock@{script}:4' was seen "
            "before; these orders can deadlock",
            "lockdep: 1 lock-order inversion reported",
        ]
        assert f'File "{script}", line 11, in inverted' in done.stderr
        assert f'File "{script}", line 7, in in_order' in done.stderr

    def test_warn_keeps_the_programs_status(self, tmp_path: Path) -> None:
        """``--warn`` still prints the report, but exits with the program's own status."""
        script = tmp_path / "inverting.py"
        script.write_text(INVERTING_PROGRAM, encoding="utf-8")
        done = run(["-m", "osv_idioms", "lockdep", "--warn", "--", str(script)], tmp_path)
        assert done.returncode == 7
        assert "lockdep: 1 lock-order inversion reported" in done.stderr

    def test_a_clean_program_keeps_its_status_and_says_nothing(self, tmp_path: Path) -> None:
        """No inversion: no output of the runner's own, and the program's exit status."""
        script = tmp_path / "clean.py"
        script.write_text("import threading\nwith threading.Lock():\n    print('ok')\n", "utf-8")
        done = run(["-m", "osv_idioms", "lockdep", "--", str(script)], tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")

    def test_needs_a_program(self, tmp_path: Path) -> None:
        """Without a program after ``--`` it is a usage error, exit 2."""
        done = run(["-m", "osv_idioms", "lockdep"], tmp_path)
        assert done.returncode == 2
        assert done.stderr.splitlines()[-1] == (
            "python -m osv_idioms: error: lockdep needs a program: "
            "-- script.py [args] or -- -m module [args]"
        )


class TestPytestPlugin:
    def test_each_inversion_fails_the_test_that_made_it(self, tmp_path: Path) -> None:
        """In the test's thread or a worker's, the inversion fails that test, with the report."""
        (tmp_path / "test_inversions.py").write_text(TESTS_WITH_INVERSIONS, encoding="utf-8")
        done = run(["-m", "pytest", "--lockdep", "-q", "-p", "no:cacheprovider", "-rf"], tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        summary = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
        assert [line.split(" - ")[0] for line in summary] == [
            "FAILED test_inversions.py::test_inverts_in_its_own_thread",
            "FAILED test_inversions.py::test_inverts_in_a_worker_thread",
        ]
        assert "2 failed, 2 passed" in done.stdout
        assert "1 lock-order report (pytest --lockdep):" in done.stdout
        assert "lock order inversion: thread 'MainThread' takes 'Lock@" in done.stdout

    def test_without_the_option_nothing_is_checked(self, tmp_path: Path) -> None:
        """Installed but not asked for, the plugin changes nothing: the same tests pass."""
        (tmp_path / "test_inversions.py").write_text(TESTS_WITH_INVERSIONS, encoding="utf-8")
        done = run(["-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "4 passed" in done.stdout

    def test_the_plugin_comes_with_the_package(self, tmp_path: Path) -> None:
        """The option is there because the package registers the plugin, not a conftest."""
        done = run(["-m", "pytest", "--help"], tmp_path)
        assert "--lockdep" in done.stdout
