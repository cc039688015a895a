"""``pytest --lockdep``: every lock of a test session checked for lock-order inversions.

Installed with the package, through the ``pytest11`` entry point. Without
``--lockdep`` it does nothing at all: the library is not even imported, so
a project that merely has osv-idioms installed runs its tests as before.

With it, lock-order checking of every ``threading`` lock is switched on in
``pytest_configure``, before any test module is imported. Inversions are
recorded, not raised, so that a report from a worker thread does not kill
the thread; each report fails the test during which it was made (setup,
call or teardown), with the report as the failure text.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

__all__ = ()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--lockdep``."""
    group = parser.getgroup("osv_idioms")
    group.addoption(
        "--lockdep",
        action="store_true",
        default=False,
        help="check the order of every threading lock made during the session; "
        "a lock-order inversion fails the test that made it (osv_idioms)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Switch checking on for the session when ``--lockdep`` was given."""
    if config.getoption("lockdep"):
        config.pluginmanager.register(_LockOrderSession(), "osv_idioms_lockdep")


class _LockOrderSession:
    """The reports of the session, and the failure of the test that made each."""

    def __init__(self) -> None:
        from osv_idioms import locking  # noqa: PLC0415 - only once --lockdep was asked for

        self._locking = locking
        self._reports: list[str] = []
        self._reports_lock = threading.Lock()  # made before every lock is checked
        locking.check_lock_order(True, action="record", all_locks=True, on_report=self._record)

    def _record(self, report: str) -> None:
        with self._reports_lock:  # reports come from any thread
            self._reports.append(report)

    def _taken(self) -> list[str]:
        with self._reports_lock:
            taken, self._reports[:] = list(self._reports), []
        return taken

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Fail the setup that made a report."""
        return (yield from self._failing_on_reports())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Fail the test whose run made a report, in its own thread or any other."""
        return (yield from self._failing_on_reports())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any, Any]:
        """Fail the teardown that made a report."""
        return (yield from self._failing_on_reports())

    def _failing_on_reports(self) -> Generator[None, Any, Any]:
        result = yield  # a report made between tests (a thread running on) goes with this one
        reports = self._taken()
        if reports:
            count = len(reports)
            header = f"{count} lock-order report{'' if count == 1 else 's'} (pytest --lockdep):"
            pytest.fail("\n\n".join([header, *reports]), pytrace=False)
        return result

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Reports made after the last test still fail the run."""
        reports = self._taken()
        if reports:
            writer = session.config.get_terminal_writer()
            writer.line(f"{len(reports)} lock-order report(s) after the last test:", red=True)
            for report in reports:
                writer.line(report)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Give ``threading`` its own locks back."""
        self._locking.check_lock_order(False)
