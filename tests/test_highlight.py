"""The tour's Python highlighting: colours added, and nothing else changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osv_idioms._cli.highlight import highlight

ROOT = Path(__file__).parent.parent
SOURCES = sorted((ROOT / "examples").glob("*.py")) + sorted((ROOT / "osv_idioms").rglob("*.py"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_removing_the_colours_gives_the_source_back(path: Path) -> None:
    """Every example and module of the package survives highlighting byte for byte."""
    source = path.read_text(encoding="utf-8")
    coloured = highlight(source)
    assert coloured != source
    assert ANSI.sub("", coloured) == source


@given(st.text(alphabet="abc def()@:'\"#1\n\t=+", max_size=60))
def test_any_text_is_kept(text: str) -> None:
    """Whatever the text, tokenizable or not, only colour codes are added."""
    assert ANSI.sub("", highlight(text)) == text


def test_what_gets_which_colour() -> None:
    """Keywords, defined names, decorators, strings, numbers and comments each get theirs."""
    source = "@wraps\ndef f(x):\n    return x @ y + 'a' + 2  # note\n"
    coloured = highlight(source)
    assert "\x1b[35m@\x1b[0m\x1b[35mwraps\x1b[0m" in coloured
    assert "\x1b[1;34mdef\x1b[0m \x1b[1;33mf\x1b[0m" in coloured
    assert "x @ y" in coloured  # a matrix product is not a decorator
    assert "\x1b[32m'a'\x1b[0m" in coloured
    assert "\x1b[36m2\x1b[0m" in coloured
    assert "\x1b[2;37m# note\x1b[0m" in coloured
    assert "type(x)" in highlight("type(x)\n")  # soft keywords stay plain
