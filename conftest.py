"""Sybil runs every ```python block in README.md and docs/, and every >>> in the package."""

from __future__ import annotations

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
