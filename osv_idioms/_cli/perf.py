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
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import trace
from .programs import Program, UsageError, check_program, run_program

__all__ = ("perf_command",)

LIBRARY_MODULES = ("osv_idioms.trace", "osv_idioms.locking", "osv_idioms.rcu")
"""The library's own modules, imported so their tracepoints can be listed and matched."""


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


# --- dispatch -----------------------------------------------------------------------


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
