"""Dispatch: parse the command line, then import and run the one command it names."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .parser import build_parser
from .programs import Program, UsageError, split_program

__all__ = ("main", "run")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    options, program = _split_off_program(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(options)
    # Each command imports its part of the library only now (see parser.py).
    if args.command == "perf":
        from .perf import perf_command  # noqa: PLC0415

        return perf_command(args, program)
    if args.command == "lockdep":
        if program is None:
            parser.error("lockdep needs a program: -- script.py [args] or -- -m module [args]")
        from .lockdep import lockdep_command  # noqa: PLC0415

        return lockdep_command(program, warn_only=args.warn)
    if program is not None:
        parser.error("only perf stat, perf record and lockdep run a program after '--'")
    return _tour_command(args)


def _tour_command(args: argparse.Namespace) -> int:
    from .tour import run_tour, show_slide_list  # noqa: PLC0415

    if args.list:
        show_slide_list(sys.stdout)
        return 0
    return run_tour(sys.stdout, only=args.slide, color=_wants_color(args.no_color))


def _wants_color(no_color: bool) -> bool:
    """Colour only a terminal, and never when NO_COLOR is set (no-color.org)."""
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _split_off_program(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], Program | None]:
    """Take ``-- (script.py | -m module) [args]`` off the end, before argparse sees it."""
    try:
        return split_program(argv)
    except UsageError as exc:
        parser.error(str(exc))


def run() -> int:
    """``main()``, stopping quietly when the reader of its output goes away (``| head``)."""
    try:
        return main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
