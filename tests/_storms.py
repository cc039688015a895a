"""Storms of real interrupts: ``_thread.interrupt_main()`` fired at random moments.

Or storms of another real signal, sent with ``signal.pthread_kill``, whose
handler raises: a SIGTERM handler that raises ``SystemExit``, say.

The main thread repeats one operation while another thread interrupts it,
thousands of times, with a switch interval short enough that the interrupts
land inside the operation. The test then checks the state the operation
left: no lock held, no section open, no count wrong.

The loop that repeats the operation is itself ``deferred``, so an interrupt
never lands in the test's own bookkeeping; each call of the operation goes
through ``call_interruptibly``, so an interrupt the library holds back is
raised there and counted.
"""

from __future__ import annotations

import _thread
import gc
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from osv_idioms.interrupts import call_interruptibly, deferred, installed

INTERRUPTS = 2_000
_QUIET_CALLS = 5


@dataclass(frozen=True)
class Storm:
    """What a storm did: operations started, and interrupts that reached the test."""

    operations: int
    raised: int


@contextmanager
def _storm_conditions() -> Iterator[None]:
    """Threads switch every 10 µs, and no cyclic garbage is collected meanwhile.

    An interrupt raised in a finalizer is dropped by Python as unraisable, and
    the garbage of earlier tests has finalizers this library does not guard;
    so it is collected before the storm, and the collector waits until after.
    """
    interval = sys.getswitchinterval()
    gc.collect()
    gc.disable()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.enable()


def _fire(
    count: int, seed: int, signum: int, started: threading.Event, done: threading.Event
) -> None:
    pause = random.Random(seed)
    main = threading.main_thread().ident
    assert main is not None
    try:
        started.wait(60)  # the interrupts are for the operation, not for the test's own setup
        for _ in range(count):
            if signum == signal.SIGINT:
                _thread.interrupt_main()
            else:
                signal.pthread_kill(main, signum)
            time.sleep(pause.random() * 2e-4)
    finally:
        done.set()


def storm(
    operation: Callable[[], object],
    *,
    interrupts: int = INTERRUPTS,
    seed: int = 0,
    signum: int = signal.SIGINT,
    raised: type[BaseException] = KeyboardInterrupt,
) -> Storm:
    """Run ``operation`` over and over while ``interrupts`` interrupts arrive; return the tally.

    By default the interrupts are Ctrl-C, raising ``KeyboardInterrupt``; with
    ``signum`` they are that signal, whose handler (the caller installs it)
    raises ``raised``.
    """
    assert threading.current_thread() is threading.main_thread(), "interrupts go to the main thread"
    if signum == signal.SIGINT:
        assert installed(), "the library's SIGINT handler is not installed"
    started, done = threading.Event(), threading.Event()
    firing = threading.Thread(
        target=_fire, args=(interrupts, seed, signum, started, done), name="storm"
    )
    with _storm_conditions():
        firing.start()
        tally = _repeat(operation, raised, started, done)
        firing.join(60)
    assert not firing.is_alive()
    return tally


@deferred
def _repeat(
    operation: Callable[[], object],
    raised_by_handler: type[BaseException],
    started: threading.Event,
    done: threading.Event,
) -> Storm:
    started.set()
    operations = raised = 0
    while not done.is_set():
        try:
            operations += 1
            call_interruptibly(operation)
        except raised_by_handler:
            raised += 1
    quiet = 0
    while quiet < _QUIET_CALLS:  # interrupts held back still come: let them arrive here
        try:
            call_interruptibly(time.sleep, 0.002)
            quiet += 1
        except raised_by_handler:
            raised += 1
            quiet = 0
    return Storm(operations, raised)
