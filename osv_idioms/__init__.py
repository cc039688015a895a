"""The C++ systems idioms of "Lessons learned from OSv", as typed, thread-safe Python.

Each idiom is a public module, mapped to its slide in ``docs/slides.md``.
The headline names are re-exported here.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ("__version__",)
