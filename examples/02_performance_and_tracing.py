"""Slide 21: Performance and tracing -- TRACEPOINT and a live perf stat.

``TRACEPOINT(trace_mutex_lock, "%p", mutex *);`` becomes a decorated stub; the
mutex in ``osv_idioms.locking`` fires ``mutex_lock`` and ``mutex_lock_wait``
as OSv's does. In each round the main thread holds the queue's mutex until
three producers are all waiting for it, then lets them through: ``perf
stat`` prints a row of that round's counts, as on the slide. A row is
printed when its round ends, not on a timer, so the table reads the same on
every run. Then one round is recorded, and its waits summarised as timed
pairs (``mutex_lock_wait`` closed by ``mutex_lock_wake``).
"""

from __future__ import annotations

import sys
import threading

from osv_idioms import trace
from osv_idioms.locking import Mutex
from osv_idioms.trace import tracepoint


@tracepoint("{depth}")
def trace_queue_push(depth: int) -> None: ...


queue: list[int] = []
queue_lock = Mutex("queue")
PRODUCERS = 3


def producer() -> None:
    with queue_lock:
        queue.append(1)
        trace_queue_push(len(queue))


def contended_round() -> None:
    """Hold the queue lock until every producer waits for it, then let them through."""
    all_waiting = threading.Event()
    waits: list[object] = []

    def on_wait(name: str, args: tuple[object, ...]) -> None:
        if args[0] is queue_lock:
            waits.append(args[0])
            if len(waits) == PRODUCERS:
                all_waiting.set()

    probe = trace.add_probe("mutex_lock_wait", on_wait)
    try:
        with queue_lock:
            producers = [
                threading.Thread(target=producer, name=f"producer-{i}") for i in range(PRODUCERS)
            ]
            for thread in producers:
                thread.start()
            all_waiting.wait(timeout=30)
    finally:
        probe.remove()
    for thread in producers:
        thread.join(timeout=30)


if __name__ == "__main__":
    print("$ perf stat mutex_lock mutex_lock_wait queue_push  (a row per round)")
    rows = 4
    with trace.stat(
        "mutex_lock", "mutex_lock_wait", "queue_push", interval=3600, rows=rows, out=sys.stdout
    ) as table:
        for _ in range(rows):
            contended_round()
            table.print_row()

    trace.clear()
    trace.enable("mutex_lock_w*")  # record the waits and wakes: timed pairs
    contended_round()
    trace.disable("mutex_lock_w*")
    waits = trace.summary().durations["mutex_lock_wait"]
    print(f"\nrecorded one round: {waits.count} waits for the queue lock, each closed by a wake")
