"""Forking in a test: the child checks something and exits, never back into the test run."""

from __future__ import annotations

import os
import signal
import traceback
import warnings
from collections.abc import Callable

CHILD_ALARM_S = 20  # a child still waiting by then is killed by SIGALRM: the test fails


def kill_if_stuck() -> None:
    """In a child: end the process by SIGALRM if it still runs after ``CHILD_ALARM_S``."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # not the test run's timeout handler
    signal.alarm(CHILD_ALARM_S)


def in_a_child(check: Callable[[], bool]) -> int:
    """Fork; the child runs ``check`` and exits 0 if it says True. The child's exit code.

    A child that raises prints the traceback and exits 2; one that waits for
    ever is killed by its alarm (-14), whatever handler the test run had set.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pid = os.fork()
    if pid == 0:
        code = 3
        try:
            kill_if_stuck()
            code = 0 if check() else 1
        except BaseException:
            traceback.print_exc()
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
