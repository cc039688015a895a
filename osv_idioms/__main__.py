"""The command line: ``python -m osv_idioms tour`` walks the talk; ``--version`` says which."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__
from ._perf import (
    Program,
    UsageError,
    add_perf_parser,
    check_program,
    perf_command,
    run_program,
    split_program,
)
from ._talk import SLIDES
from ._tour import run_tour, show_slide_list

__all__ = ("main",)


def _slide_number(text: str) -> int:
    """Parse ``--slide``: an int naming one of the talk's slides."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a slide number, got {text!r}") from None
    if not 1 <= number <= len(SLIDES):
        raise argparse.ArgumentTypeError(f"slides are numbered 1 to {len(SLIDES)}, got {number}")
    return number


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m osv_idioms",
        description="The C++ idioms of 'Lessons learned from OSv', in Python.",
    )
    parser.add_argument("--version", action="version", version=f"osv_idioms {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tour = commands.add_parser("tour", help="walk the talk slide by slide")
    tour.add_argument("--list", action="store_true", help="print slide numbers and titles")
    tour.add_argument("--slide", type=_slide_number, metavar="N", help="show only slide N")
    tour.add_argument("--no-color", action="store_true", help="never colour the output")
    add_perf_parser(commands)
    lockdep = commands.add_parser(
        "lockdep",
        help="run a program with every lock's order checked",
        usage="%(prog)s [--warn] -- (script.py | -m module) [args]",
        description="Run a program with lock-order checking of every threading lock from its "
        "first line. Each lock-order inversion is printed once to stderr when it is seen; the "
        "exit status is 3 if any was, else the program's own.",
    )
    lockdep.add_argument(
        "--warn",
        action="store_true",
        help="exit with the program's own status even when inversions were reported",
    )
    return parser


def _wants_color(no_color: bool) -> bool:
    """Colour only a terminal, and never when NO_COLOR is set (no-color.org)."""
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _tour_command(args: argparse.Namespace) -> int:
    if args.list:
        show_slide_list(sys.stdout)
        return 0
    return run_tour(sys.stdout, only=args.slide, color=_wants_color(args.no_color))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = _build_parser()
    options, program = _split_off_program(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(options)
    if args.command == "perf":
        return perf_command(args, program)
    if args.command == "lockdep":
        if program is None:
            parser.error("lockdep needs a program: -- script.py [args] or -- -m module [args]")
        return lockdep_command(program, warn_only=args.warn)
    if program is not None:
        parser.error("only perf stat, perf record and lockdep run a program after '--'")
    return _tour_command(args)


LOCKDEP_FOUND = 3
"""The exit status of ``lockdep`` when the program made lock-order reports."""


def lockdep_command(program: Program, *, warn_only: bool) -> int:
    """Run ``program`` with every lock checked; print each report once, as it is made."""
    from .locking import check_lock_order  # noqa: PLC0415 - only this command needs it

    try:
        check_program(program)
    except UsageError as exc:
        print(f"python -m osv_idioms lockdep: error: {exc}", file=sys.stderr)
        return 2
    reports: list[str] = []

    def report(message: str) -> None:
        reports.append(message)
        print(f"lockdep: {message}", file=sys.stderr, flush=True)

    check_lock_order(True, action="record", all_locks=True, on_report=report)
    try:
        status = run_program(program)
    finally:
        check_lock_order(False)
    if reports:
        count = len(reports)
        print(
            f"lockdep: {count} lock-order inversion{'' if count == 1 else 's'} reported",
            file=sys.stderr,
        )
        if not warn_only:
            return LOCKDEP_FOUND
    return status


def _split_off_program(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], Program | None]:
    """Take ``-- (script.py | -m module) [args]`` off the end, before argparse sees it."""
    try:
        return split_program(argv)
    except UsageError as exc:
        parser.error(str(exc))


def _run() -> int:
    try:
        return main()
    except BrokenPipeError:  # e.g. ``| head``: stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(_run())
