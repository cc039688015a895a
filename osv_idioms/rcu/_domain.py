"""Read sections, grace periods and deferred callbacks: the RCU domain.

The readers are a userspace-RCU "memb" flavour. Each thread has one reader
record per domain, found through a ``threading.local``. Entering the outermost
read section copies the domain's grace-period counter into the record; leaving
it stores 0. ``synchronize()`` advances the counter and waits for every record
holding an older, non-zero value: exactly the sections that began before it.
Sections that begin later carry the new value and are not waited for.

Deferred callbacks go to one reclaimer thread per domain, which takes them in
batches: one grace period, then every callback of the batch, in order.
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import sys
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, final

from typing_extensions import TypeVarTuple

from ..checks import accepts, check_callable, kind_of
from ..checks import timeout as checks_timeout
from ..errors import GracePeriodTimeout, RcuCallbackWarning, RcuReaderExitedWarning
from ..interrupts import acquire_into, deferred
from ..trace import tracepoint

Ts = TypeVarTuple("Ts")
ErrorHandler = Callable[[Callable[..., object], BaseException], object]


@tracepoint("{domain}")
def trace_rcu_synchronize(domain: str) -> None:
    """A grace period starts: ``perf report`` times it against ``rcu_synchronize_ret``."""


@tracepoint("{domain}")
def trace_rcu_synchronize_ret(domain: str) -> None:
    """A grace period ended: every read section older than it has closed."""


@tracepoint("{domain} {size}")
def trace_rcu_callbacks(domain: str, size: int) -> None:
    """The reclaimer runs a batch of ``size`` callbacks after one grace period."""


_POLL_START_S = 0.00005
_POLL_MAX_S = 0.002
_EXIT_BARRIER_S = 10.0
_RECLAIMER_IDLE_S = 1.0


@final
class Reader:
    """One thread's read-section state in one domain; ``read_lock()`` returns it.

    It is a reusable context manager: entering it opens a read section (nested
    sections count as one), leaving it closes one. Only its own thread uses it.

    Args:
        domain: the domain it belongs to.
        thread: the thread it records.

    Raises:
        TypeError: ``domain`` is not an ``RcuDomain``, or ``thread`` not a
            ``threading.Thread``.

    Examples:
        >>> domain = RcuDomain("doc-reader")
        >>> section = domain.read_lock()
        >>> with section, section:
        ...     section.nesting
        2
        >>> section.nesting
        0
        >>> domain.close()
    """

    __slots__ = ("__weakref__", "_domain", "nesting", "period", "thread")

    def __init__(self, domain: RcuDomain, thread: threading.Thread) -> None:
        """A record for ``thread`` in ``domain``; ``read_lock()`` makes it, once per thread."""
        if not isinstance(domain, RcuDomain):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a Reader belongs to an RcuDomain, got {kind_of(domain)}")
        if not isinstance(thread, threading.Thread):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"a Reader belongs to a threading.Thread, got {kind_of(thread)}")
        self._domain = domain
        self.thread: threading.Thread = thread
        self.nesting: int = 0  # written only by the owning thread
        self.period: int = 0  # the grace period its outermost section began; 0 when outside

    @deferred  # period and nesting change together, or not at all
    def __enter__(self) -> Self:
        if self.nesting == 0:
            self.period = self._domain.period
        self.nesting += 1  # thread-owned: no other thread writes it
        return self

    @deferred
    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        """Close one read section.

        Args:
            exc_type: ignored (the ``with`` statement's arguments).
            exc: ignored.
            tb: ignored.

        Raises:
            RuntimeError: this thread is not in a read section; nothing changes.
        """
        if self.nesting == 0:
            raise RuntimeError(
                f"thread {self.thread.name!r} left a read section it had not entered"
            )
        self.nesting -= 1
        if self.nesting == 0:
            self.period = 0

    leave = __exit__  # for sections opened with ``__enter__()`` by hand


class _ThreadEnd:
    """Kept in a thread's thread-local data, so it dies with the thread.

    The domain holds a weak reference to it whose callback forgets the
    thread's reader: records go as threads end, however the thread was made.
    """

    __slots__ = ("__weakref__",)


class _ThreadReaders(threading.local):
    """Finds the calling thread's reader; the first lookup in a thread registers one."""

    reader: Reader
    end: _ThreadEnd

    def __init__(self, domain: RcuDomain) -> None:
        self.end = _ThreadEnd()
        self.reader = domain._register(threading.current_thread(), self.end)  # pyright: ignore[reportPrivateUsage]


def _thread_ended(domain_ref: weakref.ref[RcuDomain], reader: Reader, _end: object) -> None:
    """A reader's thread ended: forget its record (and note it if it was inside a section)."""
    domain = domain_ref()
    if domain is not None:
        domain._forget(reader)  # pyright: ignore[reportPrivateUsage]


@final
@dataclass(frozen=True, slots=True)
class RcuStatistics:
    """What ``RcuDomain.statistics()`` reports, at one moment.

    Attributes:
        name: the domain's name.
        period: the grace-period counter: it grows by one with each
            ``synchronize()``.
        readers: how many live threads have a reader record in the domain.
        in_sections: how many of them are inside a read section now.
        pending: how many ``call_rcu`` callbacks are queued and not yet run.
        callbacks_run: how many have run (or, raising, been reported).
        closed: whether ``close()`` has shut the domain.

    Examples:
        >>> stats = RcuDomain("doc-record").statistics()
        >>> stats.readers, stats.pending, stats.closed   # the thread that made it has a record
        (1, 0, False)
    """

    name: str
    period: int
    readers: int
    in_sections: int
    pending: int
    callbacks_run: int
    closed: bool


@final
class RcuDomain:
    """An independent set of readers, grace periods and deferred callbacks.

    The module-level functions use a default domain; libraries and tests can
    make their own, so their grace periods wait only for their own readers.

    Args:
        name: names the domain in messages, traces and its reclaimer thread.
        on_error: called as ``on_error(callback, exception)`` for each
            callback that raises; without it, an ``RcuCallbackWarning``.

    Raises:
        TypeError: ``name`` is not a str, or ``on_error`` is not callable with
            two arguments.

    Examples:
        >>> domain = RcuDomain("doc")
        >>> with domain.read_lock():
        ...     domain.in_read_section()
        True
        >>> domain.synchronize()
        >>> domain.close()
    """

    __slots__ = (
        "__weakref__",
        "_barrier_gates",
        "_batches_done",
        "_callbacks",
        "_closed",
        "_ended_inside",
        "_grace_lock",
        "_in_flight",
        "_local",
        "_on_error",
        "_pid",
        "_queue_lock",
        "_queued",
        "_readers",
        "_reclaimer",
        "_register_lock",
        "_thread_ends",
        "_wake",
        "name",
        "period",
    )

    def __init__(self, name: str = "rcu", *, on_error: ErrorHandler | None = None) -> None:
        if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"an RCU domain's name must be a str, got {kind_of(name)}")
        if on_error is not None:
            check_callable(on_error, "on_error", "on_error(callback, exception)")
            if accepts(on_error, 2) is False:
                raise TypeError(
                    "on_error must be callable as on_error(callback, exception); "
                    f"{getattr(on_error, '__qualname__', on_error)!r} can't take two arguments"
                )
        self.name: str = name
        self.period: int = 1  # read by every reader at entry; only synchronize() advances it
        self._readers: tuple[Reader, ...] = ()  # replaced, never mutated
        # The weak references that forget a reader when its thread ends: kept alive here.
        self._thread_ends: dict[Reader, weakref.ref[_ThreadEnd]] = {}
        self._ended_inside: list[str] = []  # threads that ended inside a section, to report
        self._pid = os.getpid()  # threads a fork leaves behind did not end inside anything
        self._on_error = on_error
        self._callbacks: deque[_Queued] = deque()
        self._queued = 0  # callbacks queued so far; a callback's ticket is its number: _queue_lock
        self._batches_done = 0  # the highest ticket run; written by the reclaimer only
        # barrier() waiters: (ticket, a lock held until that ticket has run), under _queue_lock.
        self._barrier_gates: list[tuple[int, threading.Lock]] = []
        # The batch the reclaimer is running, and how many of it it has started.
        self._in_flight: tuple[list[_Queued], list[int]] = ([], [0])
        self._closed = False
        self._reclaimer: threading.Thread | None = None
        self._make_locks()
        self._local = _ThreadReaders(self)
        _live_domains.add(self)

    def _make_locks(self) -> None:
        """Make the locks and the wake-up queue anew (in a forked child too: old ones may be held).

        The garbage collector may start while a thread holds one of the first
        two, and a leaked ``SharedPtr`` with an RCU deleter that it frees calls
        ``call_rcu()`` in that same thread: so they are reentrant, or it would
        wait for itself. ``call_rcu()`` takes its ticket and queues with no call
        or allocation in between, so such a call comes before or after, never in
        between; ``_ensure_reclaimer()`` claims the reclaimer with no call
        between its last look and the claim, so it never starts a second.
        """
        self._register_lock = threading.RLock()
        self._queue_lock = threading.RLock()
        self._grace_lock = threading.Lock()
        # Woken by a token put in: SimpleQueue.put() may be called from a finalizer the
        # collector runs inside another put(), where Event.set() would wait for itself.
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()

    def __repr__(self) -> str:
        return f"<RcuDomain {self.name!r} period {self.period} readers {len(self._readers)}>"

    # --- readers -----------------------------------------------------------------------

    @deferred
    def _register(self, thread: threading.Thread, end: _ThreadEnd) -> Reader:
        reader = Reader(self, thread)
        with self._register_lock:
            self._thread_ends[reader] = weakref.ref(
                end, functools.partial(_thread_ended, weakref.ref(self), reader)
            )
            self._readers = (*self._readers, reader)
        return reader

    @deferred
    def _forget(self, reader: Reader) -> None:
        """Drop the record of a thread that ended; note it if it ended inside a section."""
        if reader.nesting and self._pid == os.getpid():  # not a thread a fork left behind
            self._ended_inside.append(reader.thread.name)
        reader.period = 0
        with self._register_lock:
            self._thread_ends.pop(reader, None)
            self._readers = tuple(r for r in self._readers if r is not reader)

    def read_lock(self) -> Reader:
        """The calling thread's read section, as a nestable context manager.

        Inside it, a reader may keep using whatever it read from an ``RcuPtr``:
        nothing retired after it was read is reclaimed until the section ends.
        """
        return self._local.reader

    def in_read_section(self) -> bool:
        """Whether the calling thread is inside one of this domain's read sections."""
        return self._local.reader.nesting > 0

    def _refuse_inside_section(self, what: str) -> None:
        if self._local.reader.nesting > 0:
            raise RuntimeError(
                f"{what} inside a read section would wait for that section to end, "
                "which cannot happen while it waits: a deadlock. Call it outside "
                "the section, or use call_rcu() to run code after a grace period"
            )

    # --- grace periods -----------------------------------------------------------------

    def synchronize(self, timeout: float | None = None) -> None:
        """Return once every read section that began before this call has ended.

        Sections that begin later are not waited for. A thread that ended while
        inside a section is reported with ``RcuReaderExitedWarning`` and not
        waited for.

        Args:
            timeout: seconds to wait at most (None: for ever).

        Raises:
            RuntimeError: called inside a read section of this domain.
            GracePeriodTimeout: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or nan.
        """
        seconds = checks_timeout(timeout)
        self._refuse_inside_section("synchronize()")
        trace_rcu_synchronize(self.name)
        self._wait_for_older_readers(seconds)
        trace_rcu_synchronize_ret(self.name)

    def _wait_for_older_readers(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        target = self._next_period()
        self._report_ended_inside()
        pause = _POLL_START_S
        for reader in self._readers:
            while 0 < reader.period < target:
                if deadline is not None and time.monotonic() >= deadline:
                    raise GracePeriodTimeout(
                        f"synchronize() timed out after {timeout:g} s: thread "
                        f"{reader.thread.name!r} is still in a read section of {self.name!r}"
                    )
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MAX_S)

    @deferred
    def _next_period(self) -> int:
        with self._grace_lock:  # the counter only ever moves forward
            self.period += 1
            return self.period

    def _report_ended_inside(self) -> None:
        while self._ended_inside:
            name = self._ended_inside.pop(0)
            warnings.warn(
                f"thread {name!r} ended inside a read section of {self.name!r}; "
                "grace periods no longer wait for it",
                RcuReaderExitedWarning,
                stacklevel=4,  # the caller of synchronize()
            )

    @property
    def readers(self) -> int:
        """How many live threads have a reader record in this domain."""
        return len(self._readers)

    def statistics(self) -> RcuStatistics:
        """The domain at one moment: its readers, its grace periods and its callbacks.

        >>> domain = RcuDomain("doc-stats")
        >>> with domain.read_lock():
        ...     inside = domain.statistics()
        >>> inside.readers, inside.in_sections
        (1, 1)
        >>> domain.call_rcu(print, "reclaimed"); domain.barrier()
        reclaimed
        >>> after = domain.statistics()
        >>> after.in_sections, after.pending, after.callbacks_run, after.closed
        (0, 0, 1, False)
        >>> domain.close()
        """
        readers = self._readers
        done = self._batches_done
        return RcuStatistics(
            name=self.name,
            period=self.period,
            readers=len(readers),
            in_sections=sum(1 for reader in readers if reader.nesting),
            pending=self._queued - done,
            callbacks_run=done,
            closed=self._closed,
        )

    # --- deferred callbacks ------------------------------------------------------------

    @deferred  # the ticket and the queued callback go together
    def call_rcu(self, fn: Callable[[*Ts], object], *args: *Ts) -> None:
        """Run ``fn(*args)`` on the reclaimer thread after a grace period.

        It never blocks the caller and never waits inside the caller's section:
        the callback is queued, and the reclaimer batches callbacks behind one
        grace period. Whatever a callback raises (``SystemExit`` and
        ``KeyboardInterrupt`` included) is reported (``on_error``, else
        ``RcuCallbackWarning``) and the later callbacks still run. Once the
        interpreter is exiting, a domain closed by the exit hook runs the
        callback at once, after a grace period, in the calling thread.

        Args:
            fn: the callback.
            *args: its arguments.

        Raises:
            TypeError: ``fn`` is not callable.
            RuntimeError: the domain was closed; or the reclaimer thread could
                not start, when ``fn`` stays queued and the next ``call_rcu()``
                or ``barrier()`` starts it.
        """
        check_callable(fn, "call_rcu()'s callback", "fn(*args)")
        queued: _Queued = [0, fn, args]  # made before the lock: nothing allocated under it
        with self._queue_lock:  # tickets and queue order agree, so barrier() can trust them
            accepted = not self._closed
            if accepted:
                self._queued += 1
                queued[0] = self._queued
                self._callbacks.append(queued)
        if accepted:
            self._ensure_reclaimer()
            self._wake.put(None)
        elif _Exit.started:
            self._run_now(fn, args)
        else:
            raise RuntimeError(f"RCU domain {self.name!r} is closed")

    def _run_now(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        """At interpreter exit, after the reclaimer stopped: a grace period, then the callback."""
        try:
            self.synchronize(_EXIT_BARRIER_S)
        except BaseException as exc:
            self._report(fn, exc)
            return
        self._run_one(fn, args)

    def dispose(self, resource: Any) -> None:
        """Call ``resource.close()`` after a grace period (OSv's ``rcu_dispose``).

        Args:
            resource: an object with a ``close()`` method.

        Raises:
            TypeError: ``resource`` has no ``close()``.
            RuntimeError: the domain was closed.
        """
        close = getattr(resource, "close", None)
        if not callable(close):
            raise TypeError(
                f"dispose() needs an object with a close() method, got {kind_of(resource)}"
            )
        self.call_rcu(close)

    def barrier(self, timeout: float | None = None) -> None:
        """Wait until every callback queued before this call has run.

        Args:
            timeout: seconds to wait at most (None: for ever).

        Raises:
            RuntimeError: called inside a read section of this domain, or by
                an RCU callback of this domain (it would wait for itself).
            GracePeriodTimeout: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or nan.
        """
        seconds = checks_timeout(timeout)
        self._refuse_inside_section("barrier()")
        self._refuse_in_callback("barrier()")
        gate = self._barrier_gate()
        if gate is None:
            return
        try:
            # The wait is a plain acquire of a lock the reclaimer releases: Ctrl-C can end
            # it, and nothing of a Condition's can be left held by an interrupt.
            if not acquire_into([], gate, -1 if seconds is None else seconds):
                raise GracePeriodTimeout(
                    f"barrier() timed out after {timeout:g} s with callbacks of "
                    f"{self.name!r} still waiting for a grace period"
                )
        finally:
            self._drop_gate(gate)

    @deferred
    def _barrier_gate(self) -> threading.Lock | None:
        """A held lock the reclaimer releases once all queued so far has run; None if it has."""
        with self._queue_lock:
            ticket = self._queued
            if self._batches_done >= ticket:
                return None
            gate = threading.Lock()
            gate.acquire()
            self._barrier_gates.append((ticket, gate))
        self._ensure_reclaimer()  # after a fork, the child's is started here
        self._wake.put(None)
        return gate

    @deferred
    def _drop_gate(self, gate: threading.Lock) -> None:
        with self._queue_lock:
            self._barrier_gates = [(t, g) for t, g in self._barrier_gates if g is not gate]

    @deferred
    def _open_gates(self) -> None:
        """Let through the barrier() waiters whose callbacks have all run (for the reclaimer)."""
        with self._queue_lock:
            done = self._batches_done
            for ticket, gate in self._barrier_gates:
                if ticket <= done and gate.locked():
                    gate.release()

    def _refuse_in_callback(self, what: str) -> None:
        if self._reclaimer is threading.current_thread():
            raise RuntimeError(
                f"{what} called by an RCU callback of {self.name!r} would wait for that "
                "callback to finish: a deadlock. Queue the work with call_rcu() instead"
            )

    def pending(self) -> int:
        """How many callbacks are queued and not yet run."""
        return self._queued - self._batches_done

    @deferred
    def _ensure_reclaimer(self) -> None:
        if self._has_reclaimer():
            return
        # Made before the lock: a collection starting here may call_rcu and start one first.
        thread = threading.Thread(
            target=_reclaim_forever,
            args=(weakref.ref(self), self._wake),
            name=f"rcu-reclaimer-{self.name}",
            daemon=True,
        )
        with self._register_lock:
            if self._reclaimer is not None:  # an attribute, not a call: none before the claim
                return
            self._reclaimer = thread  # before start(): a call_rcu made inside it finds this one
            try:
                thread.start()
            except BaseException:
                self._reclaimer = None
                raise

    def _has_reclaimer(self) -> bool:
        """Whether a reclaimer runs or is starting: a method, so no checker keeps the answer."""
        return self._reclaimer is not None

    def _run_batch(self) -> None:
        """Take every queued callback, wait one grace period, run them in order.

        Nothing taken is ever lost: should anything but a callback raise, the
        callbacks not yet started go back in front of the queue.
        """
        batch: list[_Queued] = []
        while self._callbacks:
            batch.append(self._callbacks.popleft())
        if not batch:
            return
        started = [0]
        self._in_flight = (batch, started)  # what a forked child must queue again
        try:
            self._grace_period_for_batch()
            trace_rcu_callbacks(self.name, len(batch))
            for index, (_, fn, args) in enumerate(batch):
                started[0] = index + 1
                self._run_one(fn, args)
        except BaseException:
            self._callbacks.extendleft(reversed(batch[started[0] :]))
            raise
        finally:
            self._in_flight = ([], [0])
        self._batches_done = batch[-1][0]
        self._open_gates()

    def _grace_period_for_batch(self) -> None:
        """``synchronize()`` for the reclaimer, where a warning made an error must not stop it."""
        while True:
            try:
                self.synchronize()
            except Warning as warning:  # said here; the next try has one thing less to say
                _unraisable(warning, f"the reclaimer of RCU domain {self.name!r}")
            else:
                return

    def _run_one(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            self._report(fn, exc)

    def _report(self, fn: Callable[..., object], exc: BaseException) -> None:
        """Say that a callback raised: ``on_error`` if given, else a warning; never raise."""
        if self._on_error is not None:
            try:
                self._on_error(fn, exc)
            except BaseException as failure:
                _unraisable(failure, f"on_error of RCU domain {self.name!r}")
            return
        try:
            warnings.warn(
                f"RCU callback {getattr(fn, '__qualname__', fn)!r} raised "
                f"{type(exc).__name__}: {exc}",
                RcuCallbackWarning,
                stacklevel=1,
            )
        except Warning:  # warnings turned into errors: still say it, then go on
            traceback.print_exception(exc)

    def close(self, timeout: float | None = _EXIT_BARRIER_S) -> None:
        """Run every callback queued so far, then stop the reclaimer; later ``call_rcu`` fails.

        Harmless twice. Domains still open are closed when the interpreter exits.

        Args:
            timeout: seconds to wait for the callbacks (None: for ever).

        Raises:
            GracePeriodTimeout: the callbacks could not all run within
                ``timeout``; the domain stays open, with nothing dropped.
            RuntimeError: called inside a read section, or by an RCU callback.
            ValueError: ``timeout`` is negative or nan.
        """
        seconds = checks_timeout(timeout)
        self._refuse_in_callback("close()")
        if not self._mark_closed(True):
            return
        try:
            self.barrier(seconds)
        except BaseException:
            self._mark_closed(False)
            raise
        self._wake.put(None)
        with self._register_lock:  # a reclaimer being started is seen once it has started
            reclaimer = self._reclaimer
        if reclaimer is not None:
            reclaimer.join(seconds)
        _live_domains.discard(self)

    @deferred
    def _mark_closed(self, closed: bool) -> bool:
        """Refuse (or accept again) ``call_rcu``; whether that changed anything."""
        with self._queue_lock:  # call_rcu checks under it: no callback slips in after
            changed = self._closed != closed
            self._closed = closed
        return changed

    def _after_fork_in_child(self) -> None:
        """In a forked child: new locks, this thread's reader only, and the work still to do.

        The other threads, the reclaimer among them, do not exist in the child;
        the callbacks the reclaimer had taken but not started go back in front.
        """
        self._make_locks()
        me = threading.current_thread()
        self._readers = tuple(r for r in self._readers if r.thread is me)
        self._thread_ends = {r: e for r, e in self._thread_ends.items() if r.thread is me}
        self._pid = os.getpid()
        self._barrier_gates = []  # their waiters were threads the child does not have
        batch, started = self._in_flight
        self._callbacks.extendleft(reversed(batch[started[0] :]))
        self._in_flight = ([], [0])
        self._reclaimer = None
        if self._callbacks:
            self._wake.put(None)


# A queued callback: [ticket, fn, args]. A list, made before the ticket is known.
_Queued = list[Any]


def _unraisable(exc: BaseException, where: str) -> None:
    """Report an exception no caller can see, as Python prints one raised in ``__del__``."""
    try:
        print(f"Exception ignored in {where}:", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
    except BaseException:  # stderr is gone (late at exit): nothing more can be said
        pass


def _reclaim_forever(domain_ref: weakref.ref[RcuDomain], wake: queue.SimpleQueue[None]) -> None:
    """The reclaimer thread: holds its domain only while a batch runs."""
    while True:
        if not _woken(wake):
            if domain_ref() is None:
                return  # the domain was collected: nothing can queue work any more
            continue
        domain = domain_ref()
        if domain is None:
            return
        try:
            domain._run_batch()  # pyright: ignore[reportPrivateUsage]
        except BaseException as exc:
            _unraisable(exc, f"the reclaimer of RCU domain {domain.name!r}")
        if domain._closed and not domain._callbacks:  # pyright: ignore[reportPrivateUsage]
            return
        del domain


def _woken(wake: queue.SimpleQueue[None]) -> bool:
    """Wait for a wake-up, then take every token: one batch answers all the wakes so far."""
    try:
        wake.get(timeout=_RECLAIMER_IDLE_S)
    except queue.Empty:
        return False
    try:
        while True:
            wake.get_nowait()
    except queue.Empty:
        return True


class _Exit:
    """Whether the interpreter is exiting: closed domains then run callbacks at once."""

    started = False


_live_domains: weakref.WeakSet[RcuDomain] = weakref.WeakSet()

default_domain: RcuDomain = RcuDomain("default")
"""The domain the module-level functions and containers use unless given another."""


@atexit.register
def _run_callbacks_left_at_exit() -> None:
    """Callbacks queued at exit still run (a bounded wait); those queued later, at once."""
    _Exit.started = True
    for domain in list(_live_domains):
        try:
            domain.close(_EXIT_BARRIER_S)
        except (GracePeriodTimeout, RuntimeError) as exc:
            warnings.warn(
                f"RCU domain {domain.name!r} at exit: {exc}", RuntimeWarning, stacklevel=2
            )


def _after_fork_in_child() -> None:
    for domain in list(_live_domains):
        domain._after_fork_in_child()  # pyright: ignore[reportPrivateUsage]


os.register_at_fork(after_in_child=_after_fork_in_child)
