"""Tracepoints with activity watchers, and a count of the pattern matches the registry makes."""

from __future__ import annotations

import fnmatch

import pytest

from osv_idioms.trace import declare_tracepoint
from osv_idioms.trace.activity import watch_activity


def watched_tracepoints(stem: str, count: int) -> dict[str, list[bool]]:
    """Declare ``stem_0`` .. ``stem_{count - 1}``, each watched by its name: what each is told."""
    told: dict[str, list[bool]] = {}
    for index in range(count):
        name = f"{stem}_{index}"
        declare_tracepoint(name, "v")
        told[name] = []
        watch_activity(name, told[name].append)
    return told


def count_matches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now until ``monkeypatch.undo()``, count the calls of ``fnmatch.fnmatchcase``."""
    calls = [0]
    real = fnmatch.fnmatchcase

    def counted(name: str, pattern: str) -> bool:
        calls[0] += 1
        return real(name, pattern)

    monkeypatch.setattr(fnmatch, "fnmatchcase", counted)
    return calls
