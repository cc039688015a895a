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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import trace
from ..errors import TracepointError
from .programs import (
    Program,
    UsageError,
    check_program,
    program_path,
    run_program,
    sigint_held_off,
)
from .reports import callstack_table, only, timed_table

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


# --- naming what to watch -----------------------------------------------------------


def _checked_events(events: Sequence[str], program: Program, *, whole_pairs: bool) -> list[str]:
    """The patterns to switch on: each checked, each ``py:MODULE:QUALNAME`` probed first.

    A function probe is a timed pair; with ``whole_pairs`` its return and
    exception tracepoints are named too, so that a recording has both ends.
    """
    patterns: list[str] = []
    for event in events:
        if event.startswith("py:"):
            name = _probe(event.removeprefix("py:"), program)
            patterns += [name, name + "_ret", name + "_err"] if whole_pairs else [name]
            continue
        try:
            trace.tracepoints(event)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        patterns.append(event)
    return patterns


def _probe(target: str, program: Program) -> str:
    """Probe ``MODULE:QUALNAME``, importing MODULE as the program will find it."""
    with program_path(program):
        try:
            return trace.probe_function(target)
        except TracepointError as exc:
            raise UsageError(str(exc)) from None


# --- perf stat ---------------------------------------------------------------------


def stat_command(args: argparse.Namespace, program: Program | None, out: TextIO) -> int:
    """Count the named tracepoints while ``program`` runs, printing a row every interval."""
    if program is None:
        raise UsageError("perf stat needs a program: ... -- script.py [args] or -- -m module")
    try:
        columns = [trace.Column.parse(text) for text in args.tracepoint]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_program(program)
    _import_modules(())
    _checked_events([column.spec for column in columns], program, whole_pairs=False)
    # A child the program forks, and that returns here, closes its copy too:
    # only the parent's prints (trace.stat() keeps the table the parent's).
    with trace.stat(
        *args.tracepoint, interval=args.interval, rows=args.rows, csv=args.csv, out=out
    ):
        return run_program(program)


# --- perf record / report ------------------------------------------------------------


def record_command(args: argparse.Namespace, program: Program | None, out: TextIO) -> int:
    """Record the matching tracepoints while ``program`` runs, then write a Chrome trace.

    Everything is checked before the program starts. However the program
    ends (Ctrl-C and SIGTERM included) what was recorded is written.
    """
    if program is None:
        raise UsageError("perf record needs a program: ... -- script.py [args] or -- -m module")
    check_program(program)
    _import_modules(())
    events = [event for given in args.event or [["*"]] for event in given]
    patterns = _checked_events(events, program, whole_pairs=True)
    _check_writable(args.output)
    if args.buffer_size is not None:
        try:
            trace.set_buffer_size(args.buffer_size)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    trace.clear()
    for pattern in patterns:
        trace.enable(pattern, backtrace=args.call_graph)
    started_in = os.getpid()
    _Recording.on = True
    try:
        status = run_program(program)
    finally:
        _Recording.on = False
        for pattern in patterns:
            trace.disable(pattern)
    output = args.output if os.getpid() == started_in else _child_output(args.output)
    with sigint_held_off():  # a second Ctrl-C must not cut the file short
        try:
            written = trace.write_chrome_trace(output)  # streamed from the ring
        except OSError as exc:
            raise UsageError(f"can't write {output}: {exc.strerror or exc}") from None
    pushed_out = trace.overwritten()  # nothing records now: the count is the file's
    lost = f", {pushed_out} overwritten" if pushed_out else ""
    out.write(f"recorded {written} events{lost} to {output}\n")
    return status


class _Recording:
    """Whether ``perf record`` is running a program in this process now."""

    on = False


def _after_fork_in_child() -> None:
    """A child forked while recording keeps only its own records, for a file of its own."""
    if _Recording.on:
        trace.clear()  # what the parent recorded before the fork is in the parent's file


os.register_at_fork(after_in_child=_after_fork_in_child)


def _child_output(path: str) -> str:
    """Where a forked child writes its records: ``t.json`` becomes ``t.<pid>.json``.

    The parent writes the file it was asked for; a child writing it too would
    replace it (or be replaced), so each child has its own, beside it.
    """
    target = Path(path)
    return str(target.with_name(f"{target.stem}.{os.getpid()}{target.suffix}"))


def _check_writable(path: str) -> None:
    """Refuse an output file that could not be written, before the program runs."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"can't write {path}: it is a directory")
    if not folder.is_dir():
        raise UsageError(f"can't write {path}: there is no directory {str(folder)!r}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"can't write {path}: permission denied")


def report_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the summary, the timed pairs or the call stacks of a trace ``perf record`` wrote."""
    try:
        document = json.loads(Path(args.trace).read_text(encoding="utf-8"))
        summary = trace.summarize(document)
    except OSError as exc:
        raise UsageError(f"can't read {args.trace}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{args.trace} is not a trace written by perf record: {exc}") from None
    patterns = [pattern for given in args.event or [["*"]] for pattern in given]
    if args.timed:
        out.write(timed_table(summary, patterns) + "\n")
    elif args.callstack:
        out.write(callstack_table(document, patterns, top=args.top) + "\n")
    else:
        out.write(str(only(summary, patterns)) + "\n")
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
