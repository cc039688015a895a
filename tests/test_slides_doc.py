"""docs/slides.md maps every slide of the talk, in order, as the tour walks them."""

from __future__ import annotations

import re
from pathlib import Path

from osv_idioms._cli.talk import SLIDES

ROOT = Path(__file__).parent.parent
SLIDE_ROW = re.compile(r"^\| (\d+) \| (.+?) \|")
TALK = ROOT.parent / "shared" / "talk" / "slides.txt"


def test_slide_map_lists_every_slide_in_order() -> None:
    """The summary table has one row per slide with the tour's number and title."""
    text = (ROOT / "docs" / "slides.md").read_text(encoding="utf-8")
    rows = [m.groups() for line in text.splitlines() if (m := SLIDE_ROW.match(line))]
    assert rows == [(str(s.number), s.title) for s in SLIDES]


def test_every_code_slide_has_its_cpp_in_the_map() -> None:
    """Each code slide's C++ appears verbatim in the slide map."""
    text = (ROOT / "docs" / "slides.md").read_text(encoding="utf-8")
    for slide in SLIDES:
        if slide.cpp:
            assert f"### {slide.number}. {slide.title}\n\n```cpp\n{slide.cpp}\n```" in text


def test_code_slides_are_the_talks() -> None:
    """The C++ shown for the slides with code is the talk's, line for line."""
    code_lines = {
        line.strip()
        for slide in SLIDES
        for line in slide.cpp.splitlines()
        if line.strip() and " - " not in line  # the list slides are re-aligned
    }
    assert "WITH_LOCK(p->lock) {" in code_lines
    assert "device_list.assign(new_device_list);" in code_lines
    if TALK.is_file():  # the talk's text sits beside a checkout, not in a wheel
        talk = {line.strip() for line in TALK.read_text(encoding="utf-8").splitlines()}
        assert code_lines - talk == set()
