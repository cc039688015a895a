"""Slide 21: Performance and tracing -- TRACEPOINT and a live perf stat.

``TRACEPOINT(trace_mutex_lock, "%p", mutex *);`` becomes a decorated stub; the
mutex in ``osv_idioms.locking`` fires ``mutex_lock`` and ``mutex_lock_wait``
as OSv's does. Four threads contend for one mutex while ``perf stat`` prints a
row of per-interval counts, as on the slide; then a short recording is
summarised with the time threads spent waiting for the lock.
"""

from __future__ import annotations

import sys
import threading
import time

from osv_idioms import trace
from osv_idioms.locking import Mutex
from osv_idioms.trace import tracepoint


@tracepoint("{depth}")
def trace_queue_push(depth: int) -> None: ...


queue: list[int] = []
queue_lock = Mutex("queue")


def producer(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with queue_lock:
            queue.append(1)
            trace_queue_push(len(queue))
            time.sleep(0.0001)  # hold the lock a little: the others must wait


def contended_workload(seconds: float, threads: int = 4) -> None:
    workers = [
        threading.Thread(target=producer, args=(seconds,), name=f"producer-{i}")
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 30)


if __name__ == "__main__":
    print("$ perf stat mutex_lock mutex_lock_wait queue_push  (every 0.1 s)")
    with trace.stat("mutex_lock", "mutex_lock_wait", "queue_push", interval=0.1, out=sys.stdout):
        contended_workload(0.45)

    trace.clear()
    trace.enable("mutex_lock_w*")  # record the waits and wakes: timed pairs
    contended_workload(0.1)
    trace.disable("mutex_lock_w*")
    waits = trace.summary().durations.get("mutex_lock_wait")
    if waits is not None:
        print(
            f"\n{waits.count} waits for the queue lock: "
            f"p50 {waits.p50_ns / 1e3:.0f} us, max {waits.max_ns / 1e3:.0f} us"
        )
