"""``python -m osv_idioms lockdep -- prog``: a program run with every lock's order checked."""

from __future__ import annotations

import sys

from ..locking import check_lock_order
from .programs import Program, UsageError, check_program, run_program

__all__ = ("LOCKDEP_FOUND", "lockdep_command")

LOCKDEP_FOUND = 3
"""The exit status of ``lockdep`` when the program made lock-order reports."""


def lockdep_command(program: Program, *, warn_only: bool) -> int:
    """Run ``program`` with every lock checked; print each report once, as it is made."""
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
