"""The command line's grammar: every command, verb and option, in one place.

Building it imports nothing of the library but the slide table, so
``python -m osv_idioms --version`` and ``--help`` stay quick; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import math
import threading
from typing import Any, NoReturn, TypeAlias

from .. import __version__
from .talk import SLIDES

__all__ = ("build_parser",)


class _HelpFormatter(argparse.HelpFormatter):
    """``-e, --event EVENT``: an option's metavar once, as 3.13's argparse writes it.

    So that ``--help`` reads the same on every interpreter, and the docs can
    show it as printed.
    """

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return f"{', '.join(action.option_strings)} {metavar}"


class _Parser(argparse.ArgumentParser):
    """A parser whose mistakes are one line on stderr and exit status 2.

    argparse prints the whole usage line before the error; the usage is a
    ``--help`` away, and a script reading stderr wants the error alone.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """``python -m osv_idioms (tour | perf VERB | lockdep) ...``."""
    parser = _Parser(
        prog="python -m osv_idioms",
        description="The C++ idioms of 'Lessons learned from OSv', in Python.",
    )
    parser.add_argument("--version", action="version", version=f"osv_idioms {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    _add_tour(commands)
    _add_perf(commands)
    _add_lockdep(commands)
    return parser


_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"  # pyright: ignore[reportPrivateUsage]


def _add_tour(commands: _Commands) -> None:
    tour = commands.add_parser("tour", help="walk the talk slide by slide")
    tour.add_argument("--list", action="store_true", help="print slide numbers and titles")
    tour.add_argument("--slide", type=_slide_number, metavar="N", help="show only slide N")
    tour.add_argument("--no-color", action="store_true", help="never colour the output")


def _add_perf(commands: _Commands) -> None:
    perf = commands.add_parser("perf", help="list, count and record tracepoints")
    verbs = perf.add_subparsers(
        dest="perf_command", metavar="VERB", required=True, parser_class=_Parser
    )
    listing = verbs.add_parser("list", help="the declared tracepoints")
    listing.add_argument("pattern", nargs="?", default="*", help="shell wildcard (default *)")
    listing.add_argument(
        "-m", "--module", action="append", default=[], help="import MODULE first (repeatable)"
    )
    _add_stat(verbs)
    _add_record(verbs)
    _add_report(verbs)


_RUNS = "-- (script.py | -m module) [args]"
_EVENTS = (
    "a tracepoint name or shell wildcard, or py:MODULE:QUALNAME for calls of any Python "
    "function (entry and return, a timed pair)"
)


def _add_stat(verbs: _Commands) -> None:
    stat = verbs.add_parser(
        "stat",
        help="count tracepoints per interval while a program runs",
        description="Run a program and print a row of per-interval hit counts on stderr, one "
        "column per tracepoint, then the totals. Ctrl-C (or SIGTERM) stops the program: the "
        "last row and the totals are printed, and the exit status is 130 (143).",
        usage=f"%(prog)s [-i SECONDS] [-n ROWS] [--csv] [TAG=]EVENT ... {_RUNS}",
    )
    stat.add_argument(
        "tracepoint",
        nargs="+",
        metavar="[TAG=]EVENT",
        help=f"a column: {_EVENTS}; TAG= names its header",
    )
    stat.add_argument(
        "-i",
        "--interval",
        type=_interval,
        default=1.0,
        metavar="SECONDS",
        help="seconds between rows (default 1)",
    )
    stat.add_argument(
        "-n",
        "--rows",
        type=_positive_int,
        default=None,
        metavar="ROWS",
        help="print at most ROWS rows, then only the totals at the end (default: no limit)",
    )
    stat.add_argument("--csv", action="store_true", help="comma-separated output")


def _add_record(verbs: _Commands) -> None:
    record = verbs.add_parser(
        "record",
        help="record tracepoints while a program runs",
        description="Run a program recording tracepoint hits into a ring, then write them as "
        "Chrome Trace Event JSON (Perfetto opens it; perf report reads it). Ctrl-C (or "
        "SIGTERM) stops the program and writes what was recorded; the exit status is then "
        "130 (143).",
        usage=f"%(prog)s [-e EVENT[,EVENT...]] [-o FILE] [--buffer-size N] [-g] {_RUNS}",
    )
    record.add_argument(
        "-e",
        "--event",
        action="append",
        type=_event_list,
        metavar="EVENT[,EVENT...]",
        help=f"what to record (repeatable; default every tracepoint): {_EVENTS}",
    )
    record.add_argument(
        "-o", "--output", default="trace.json", metavar="FILE", help="where (default trace.json)"
    )
    record.add_argument(
        "--buffer-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="keep the newest N records (default 65536, or OSV_TRACE_BUFFER)",
    )
    record.add_argument(
        "-g",
        "--call-graph",
        action="store_true",
        help="record each hit's call stack, for perf report --callstack",
    )


def _add_report(verbs: _Commands) -> None:
    report = verbs.add_parser(
        "report",
        help="summarise a recorded trace",
        description="Summarise a trace written by perf record: hits per tracepoint and the "
        "timed pairs' durations, or (--timed) the pairs alone with their percentiles, or "
        "(--callstack) the most frequent call stacks of tracepoints recorded with -g.",
        usage="%(prog)s [--timed | --callstack [--top N]] [-e PATTERN[,PATTERN...]] trace.json",
    )
    report.add_argument("trace", metavar="trace.json", help="the file perf record wrote")
    shown = report.add_mutually_exclusive_group()
    shown.add_argument(
        "--timed",
        action="store_true",
        help="each timed pair: count, total, min, p50, p90, p99, max",
    )
    shown.add_argument(
        "--callstack",
        action="store_true",
        help="the most frequent call stacks of each tracepoint recorded with -g",
    )
    report.add_argument(
        "-e",
        "--event",
        action="append",
        type=_event_list,
        metavar="PATTERN[,PATTERN...]",
        help="only these tracepoints (repeatable; default all)",
    )
    report.add_argument(
        "--top",
        type=_positive_int,
        default=5,
        metavar="N",
        help="with --callstack: the N most frequent stacks of each (default 5)",
    )


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


def _interval(text: str) -> float:
    """Parse ``-i``: a finite number of seconds > 0 that a timed wait can take."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= threading.TIMEOUT_MAX):
        raise argparse.ArgumentTypeError(
            f"the interval must be a finite number of seconds > 0, got {text}"
        )
    return value


def _event_list(text: str) -> list[str]:
    """Parse ``-e``: one or more comma-separated events, none empty."""
    events = [event.strip() for event in text.split(",")]
    if not all(events):
        raise argparse.ArgumentTypeError(
            f"empty event in {text!r}: give tracepoint names or wildcards, comma-separated"
        )
    return events


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of rows, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the row count must be at least 1, got {value}")
    return value
