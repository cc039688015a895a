"""Running a user's program in this process, as ``python script.py`` or ``-m module`` would.

``perf stat``, ``perf record`` and ``lockdep`` all run the program after
``--`` under something switched on, so they share how it is named, checked
before any output, and run.
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ("Program", "UsageError", "check_program", "run_program", "split_program")


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


@dataclass(frozen=True, slots=True)
class Program:
    """What to run: a script path or ``-m module``, and its arguments."""

    target: str
    is_module: bool
    args: tuple[str, ...]


def split_program(argv: Sequence[str]) -> tuple[list[str], Program | None]:
    """Split ``OPTIONS -- (script.py | -m module) ARGS`` at the first ``--``."""
    if "--" not in argv:
        return list(argv), None
    at = list(argv).index("--")
    options, rest = list(argv[:at]), list(argv[at + 1 :])
    if not rest:
        raise UsageError("nothing to run after '--': give script.py or -m module")
    if rest[0] == "-m":
        if len(rest) < 2:
            raise UsageError("-m needs a module name")
        return options, Program(rest[1], True, tuple(rest[2:]))
    return options, Program(rest[0], False, tuple(rest[1:]))


def check_program(program: Program) -> None:
    """Refuse a script that does not exist or a module that cannot be found, before any output."""
    if program.is_module:
        sys.path.insert(0, str(Path.cwd()))
        try:
            found = importlib.util.find_spec(program.target)
        except (ImportError, ValueError):
            found = None
        finally:
            sys.path.pop(0)
        if found is None:
            raise UsageError(f"no module named {program.target!r}")
    elif not Path(program.target).is_file():
        raise UsageError(f"can't open file {program.target!r}: no such file")


def run_program(program: Program) -> int:
    """Run ``program`` as ``__main__`` in this process; return its exit status.

    ``sys.argv`` and ``sys.path[0]`` are set as ``python script.py`` or
    ``python -m module`` would set them, and restored afterwards. An uncaught
    exception is printed as Python prints it, and gives status 1.
    """
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [program.target, *program.args]
    try:
        if program.is_module:
            sys.path.insert(0, str(Path.cwd()))
            runpy.run_module(program.target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, str(Path(program.target).resolve().parent))
            runpy.run_path(program.target, run_name="__main__")
    except SystemExit as exit_:
        return _exit_status(exit_.code)
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
