"""Sybil runs every ```python block in README.md and docs/, and every >>> in the package."""

from __future__ import annotations

import os
import sys

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser
from sybil.parsers.rest import DocTestParser

_markdown = Sybil(
    parsers=[PythonCodeBlockParser()],
    patterns=["README.md", "docs/*.md"],
)
_docstrings = Sybil(
    parsers=[DocTestParser()],
    patterns=["osv_idioms/*.py", "osv_idioms/**/*.py"],
    excludes=["osv_idioms/__main__.py"],
)

pytest_collect_file = (_markdown + _docstrings).pytest()


def _gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On the free-threaded build in CI, fail the run if anything turned the GIL back on.

    An extension module that does not declare free-threading support re-enables
    the GIL when imported, with a warning that is easy to miss; the tests would
    then pass without showing anything about the code without the GIL.
    """
    if os.environ.get("OSV_IDIOMS_REQUIRE_NO_GIL") and _gil_enabled():
        session.config.get_terminal_writer().line(
            "OSV_IDIOMS_REQUIRE_NO_GIL is set, but the GIL was enabled during the run", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
