"""Running a user's program in this process, as ``python script.py`` or ``-m module`` would.

``perf stat``, ``perf record`` and ``lockdep`` all run the program after
``--`` under something switched on, so they share how it is named, checked
before any output, and run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

__all__ = (
    "Program",
    "Terminated",
    "UsageError",
    "check_program",
    "launcher_file",
    "program_path",
    "run_program",
    "sigint_held_off",
    "split_program",
)


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


@contextlib.contextmanager
def program_path(program: Program) -> Generator[None, None, None]:
    """``sys.path`` with the folder the program imports from first, as it will be when it runs."""
    folder = Path.cwd() if program.is_module else Path(program.target).resolve().parent
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


class Terminated(BaseException):
    """SIGTERM arrived: raised in the program, so that what it was doing unwinds."""


INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a program Ctrl-C stopped
TERMINATED = 128 + signal.SIGTERM  # 143


def run_program(program: Program) -> int:
    """Run ``program`` as ``__main__`` in this process; return its exit status.

    ``sys.argv`` and ``sys.path[0]`` are set as ``python script.py`` or
    ``python -m module`` would set them, and restored afterwards. An uncaught
    exception is printed as Python prints it, with the program's frames only,
    and gives status 1; Ctrl-C gives 130 and SIGTERM 143, so that whoever
    ran the program can still write what it gathered.
    """
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [program.target, *program.args]
    terminate = _TerminateByRaising()
    try:
        if program.is_module:
            sys.path.insert(0, str(Path.cwd()))
            runpy.run_module(program.target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, str(Path(program.target).resolve().parent))
            runpy.run_path(program.target, run_name="__main__")
    except SystemExit as exit_:
        return _exit_status(exit_.code)
    except KeyboardInterrupt as exc:
        _print_program_traceback(exc)
        return INTERRUPTED
    except Terminated:
        return TERMINATED
    except Exception as exc:
        _print_program_traceback(exc)
        return 1
    finally:
        terminate.close()
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


class _TerminateByRaising:
    """SIGTERM raises ``Terminated`` in the main thread while the program runs, then no more.

    Held back inside deferred library code, as Ctrl-C is: raised in the middle
    of a library operation, it could leave a lock held that the program's own
    ``finally`` then waits for.
    """

    def __init__(self) -> None:
        # Imported here, as each command imports its part of the library: --version needs none.
        from ..interrupts import deferring  # noqa: PLC0415

        self._previous: object = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, deferring(self._raise))

    @staticmethod
    def _raise(_signum: int, _frame: FrameType | None) -> None:
        raise Terminated

    def close(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]
            self._previous = None


@contextlib.contextmanager
def sigint_held_off() -> Generator[None, None, None]:
    """Ignore Ctrl-C for a moment (writing the results); it does not stop that."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_FROZEN_RUNPY = "<frozen runpy>"  # how 3.11 and later name runpy's frames


def launcher_file(filename: str) -> bool:
    """Whether a frame in ``filename`` is runpy's or this command line's, not the program's.

    Read from the path's shape, not this installation's paths, so that it
    also holds for a stack recorded in a trace file written elsewhere.
    """
    path = filename.replace("\\", "/")
    return (
        filename == _FROZEN_RUNPY
        or path.endswith(("/runpy.py", "/osv_idioms/__main__.py"))
        or "/osv_idioms/_cli/" in path
    )


def _print_program_traceback(exc: BaseException) -> None:
    """Print ``exc`` as Python would for the program alone: without runpy's frames or ours."""
    shown = traceback.TracebackException.from_exception(exc)
    frames = [frame for frame in shown.stack if not launcher_file(frame.filename)]
    shown.stack = traceback.StackSummary.from_list(frames)
    print("".join(shown.format()), end="", file=sys.stderr)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
