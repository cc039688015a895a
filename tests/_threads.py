"""Running test threads the same way everywhere: start together, bounded join, errors re-raised."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

JOIN_TIMEOUT_S = 60.0


def run_threads(targets: Sequence[Callable[[], object]], *, names: str = "t") -> None:
    """Run each target in its own thread, started together on a barrier.

    Joins with a timeout, asserts every thread ended, and re-raises the first
    exception a thread raised, so a failed assertion in a worker fails the test.
    """
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def start(target: Callable[[], object]) -> None:
        try:
            barrier.wait(JOIN_TIMEOUT_S)
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=start, args=(target,), name=f"{names}{index}")
        for index, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


def run_together(work: Callable[[int], object], threads: int, *, names: str = "w") -> None:
    """Run ``work(index)`` in ``threads`` threads named ``{names}{index}``, as ``run_threads``."""
    run_threads([functools.partial(work, index) for index in range(threads)], names=names)
