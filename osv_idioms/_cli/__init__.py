"""The command line, ``python -m osv_idioms``: the tour, ``perf`` and ``lockdep``.

``parser`` is the grammar; ``main`` dispatches to one command module
(``tour``, ``perf``, ``lockdep``), which imports the part of the library it
drives. ``programs`` runs a user's program in this process; ``talk`` is the
table of slides, shared with the slide map in ``docs/slides.md``.
"""

from __future__ import annotations

from .main import main, run

__all__ = ("main", "run")
