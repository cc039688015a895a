"""The command line's grammar: every command, verb and option, in one place.

Building it imports nothing of the library but the slide table, so
``python -m osv_idioms --version`` and ``--help`` stay quick; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
from typing import TypeAlias

from .. import __version__
from .talk import SLIDES

__all__ = ("build_parser",)


def build_parser() -> argparse.ArgumentParser:
    """``python -m osv_idioms (tour | perf VERB | lockdep) ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m osv_idioms",
        description="The C++ idioms of 'Lessons learned from OSv', in Python.",
    )
    parser.add_argument("--version", action="version", version=f"osv_idioms {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_tour(commands)
    _add_perf(commands)
    _add_lockdep(commands)
    return parser


_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # pyright: ignore[reportPrivateUsage]


def _add_tour(commands: _Commands) -> None:
    tour = commands.add_parser("tour", help="walk the talk slide by slide")
    tour.add_argument("--list", action="store_true", help="print slide numbers and titles")
    tour.add_argument("--slide", type=_slide_number, metavar="N", help="show only slide N")
    tour.add_argument("--no-color", action="store_true", help="never colour the output")


def _add_perf(commands: _Commands) -> None:
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


def _add_lockdep(commands: _Commands) -> None:
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


def _slide_number(text: str) -> int:
    """Parse ``--slide``: an int naming one of the talk's slides."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a slide number, got {text!r}") from None
    if not 1 <= number <= len(SLIDES):
        raise argparse.ArgumentTypeError(f"slides are numbered 1 to {len(SLIDES)}, got {number}")
    return number


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
