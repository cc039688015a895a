"""``python -m osv_idioms perf``: OSv's ``perf list``, ``perf stat``, and a recorder.

``perf stat`` runs a program in this process and prints, every interval, one
row of per-interval hit counts with a right-aligned column per tracepoint, as
OSv's ``perf stat mutex_lock mutex_lock_wait sched_switch`` does on the slide.
The table goes to stderr (as Linux ``perf`` does), so the program's own output
stays clean.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import runpy
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import trace

__all__ = (
    "Program",
    "UsageError",
    "add_perf_parser",
    "perf_command",
    "run_program",
    "split_program",
)

LIBRARY_MODULES = ("osv_idioms.trace", "osv_idioms.locking", "osv_idioms.rcu")
"""The library's own modules, imported so their tracepoints can be listed and matched."""


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


def _import_modules(modules: Sequence[str]) -> None:
    for module in (*LIBRARY_MODULES, *modules):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UsageError(f"can't import module {module!r}: {exc}") from None


# --- perf list ---------------------------------------------------------------------


def list_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the declared tracepoints matching the pattern, one a line."""
    _import_modules(args.module)
    found = trace.tracepoints(args.pattern)
    width = max((len(t.name) for t in found), default=10)
    for info in found:
        state = "recording" if info.recording else ("counting" if info.counting else "off")
        out.write(f"{info.name:<{width}}  {state:<9}  {info.format!r:<20}  {info.site}\n")
    if not found:
        out.write(f"no tracepoint matches {args.pattern!r}\n")
    return 0


# --- perf stat ---------------------------------------------------------------------


def stat_command(args: argparse.Namespace, program: Program | None, out: TextIO) -> int:
    """Count the named tracepoints while ``program`` runs, printing a row every interval."""
    if program is None:
        raise UsageError("perf stat needs a program: ... -- script.py [args] or -- -m module")
    try:
        for text in args.tracepoint:
            trace.Column.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_program(program)
    _import_modules(())
    with trace.stat(
        *args.tracepoint, interval=args.interval, rows=args.rows, csv=args.csv, out=out
    ):
        return run_program(program)


# --- perf record / report ------------------------------------------------------------


def record_command(args: argparse.Namespace, program: Program | None, out: TextIO) -> int:
    """Record the matching tracepoints while ``program`` runs, then write a Chrome trace."""
    if program is None:
        raise UsageError("perf record needs a program: ... -- script.py [args] or -- -m module")
    check_program(program)
    _import_modules(())
    patterns = args.event or ["*"]
    trace.clear()
    for pattern in patterns:
        trace.enable(pattern)
    try:
        status = run_program(program)
    finally:
        for pattern in patterns:
            trace.disable(pattern)
    taken = trace.snapshot()
    try:
        written = trace.write_chrome_trace(args.output, taken)
    except OSError as exc:
        raise UsageError(f"can't write {args.output}: {exc.strerror or exc}") from None
    lost = f", {taken.overwritten} overwritten" if taken.overwritten else ""
    out.write(f"recorded {written} events{lost} to {args.output}\n")
    return status


def report_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the summary of a trace written by ``perf record``."""
    try:
        report = trace.summarize(json.loads(Path(args.trace).read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"can't read {args.trace}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{args.trace} is not a trace written by perf record: {exc}") from None
    out.write(str(report) + "\n")
    return 0


# --- wiring ------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the interval must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of rows, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the row count must be at least 1, got {value}")
    return value


def add_perf_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],  # pyright: ignore[reportPrivateUsage]
) -> None:
    """Add ``perf list | stat | record | report`` to the command line."""
    perf = commands.add_parser("perf", help="list, count and record tracepoints")
    verbs = perf.add_subparsers(dest="perf_command", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="the declared tracepoints")
    listing.add_argument("pattern", nargs="?", default="*", help="shell wildcard (default *)")
    listing.add_argument("-m", "--module", action="append", default=[], help="import MODULE first")
    stat = verbs.add_parser(
        "stat",
        help="count tracepoints per interval while a program runs",
        usage="%(prog)s [-i SECONDS] [-n ROWS] [--csv] [TAG=]TRACEPOINT ... "
        "-- (script.py | -m module) [args]",
    )
    stat.add_argument("tracepoint", nargs="+", metavar="[TAG=]TRACEPOINT")
    stat.add_argument("-i", "--interval", type=_positive_float, default=1.0, metavar="SECONDS")
    stat.add_argument("-n", "--rows", type=_positive_int, default=None, metavar="ROWS")
    stat.add_argument("--csv", action="store_true", help="comma-separated output")
    record = verbs.add_parser(
        "record",
        help="record tracepoints while a program runs",
        usage="%(prog)s [-e PATTERN ...] [-o trace.json] -- (script.py | -m module) [args]",
    )
    record.add_argument("-e", "--event", action="append", metavar="PATTERN")
    record.add_argument("-o", "--output", default="trace.json", metavar="FILE")
    report = verbs.add_parser("report", help="summarise a recorded trace")
    report.add_argument("trace", metavar="trace.json")


def perf_command(args: argparse.Namespace, program: Program | None) -> int:
    """Run one ``perf`` verb; a mistake is one line on stderr and exit status 2."""
    try:
        if args.perf_command == "list":
            return list_command(args, sys.stdout)
        if args.perf_command == "report":
            return report_command(args, sys.stdout)
        if args.perf_command == "stat":
            return stat_command(args, program, sys.stderr)
        return record_command(args, program, sys.stderr)
    except UsageError as exc:
        print(f"python -m osv_idioms perf {args.perf_command}: error: {exc}", file=sys.stderr)
        return 2
