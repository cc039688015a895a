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
import threading
import time
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, final

from typing_extensions import TypeVarTuple

from ..errors import GracePeriodTimeout, RcuCallbackWarning, RcuReaderExitedWarning
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
    """

    __slots__ = ("__weakref__", "_domain", "nesting", "period", "thread")

    def __init__(self, domain: RcuDomain, thread: threading.Thread) -> None:
        self._domain = domain
        self.thread: threading.Thread = thread
        self.nesting: int = 0  # written only by the owning thread
        self.period: int = 0  # the grace period its outermost section began; 0 when outside

    def __enter__(self) -> Self:
        if self.nesting == 0:
            self.period = self._domain.period
        self.nesting += 1  # thread-owned: no other thread writes it
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        """Close one read section.

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


class _ThreadReaders(threading.local):
    """Finds the calling thread's reader; the first lookup in a thread registers one."""

    reader: Reader

    def __init__(self, domain: RcuDomain) -> None:
        self.reader = domain._register(threading.current_thread())  # pyright: ignore[reportPrivateUsage]


@final
class RcuDomain:
    """An independent set of readers, grace periods and deferred callbacks.

    The module-level functions use a default domain; libraries and tests can
    make their own, so their grace periods wait only for their own readers.

    >>> domain = RcuDomain("doc")
    >>> with domain.read_lock():
    ...     domain.in_read_section()
    True
    >>> domain.synchronize()
    >>> domain.close()
    """

    __slots__ = (
        "__weakref__",
        "_batches_done",
        "_callbacks",
        "_closed",
        "_done",
        "_grace_lock",
        "_local",
        "_on_error",
        "_queue_lock",
        "_queued",
        "_readers",
        "_reclaimer",
        "_register_lock",
        "_wake",
        "name",
        "period",
    )

    def __init__(self, name: str = "rcu", *, on_error: ErrorHandler | None = None) -> None:
        self.name: str = name
        self.period: int = 1  # read by every reader at entry; only synchronize() advances it
        self._readers: tuple[Reader, ...] = ()  # replaced, never mutated
        self._register_lock = threading.Lock()
        self._local = _ThreadReaders(self)
        self._on_error = on_error
        self._callbacks: deque[tuple[int, Callable[..., object], tuple[Any, ...]]] = deque()
        self._queued = 0  # callbacks queued so far; a callback's ticket is its number: _queue_lock
        self._queue_lock = threading.Lock()
        self._grace_lock = threading.Lock()
        self._done = threading.Condition(threading.Lock())
        self._batches_done = 0  # the highest ticket run; guarded by _done
        self._wake = threading.Event()
        self._closed = False
        self._reclaimer: threading.Thread | None = None
        _live_domains.add(self)

    def __repr__(self) -> str:
        return f"<RcuDomain {self.name!r} period {self.period} readers {len(self._readers)}>"

    # --- readers -----------------------------------------------------------------------

    def _register(self, thread: threading.Thread) -> Reader:
        reader = Reader(self, thread)
        with self._register_lock:
            self._readers = (*self._readers, reader)
        return reader

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

        Raises:
            RuntimeError: called inside a read section of this domain.
            GracePeriodTimeout: ``timeout`` seconds passed first.
        """
        self._refuse_inside_section("synchronize()")
        trace_rcu_synchronize(self.name)
        self._wait_for_older_readers(timeout)
        trace_rcu_synchronize_ret(self.name)

    def _wait_for_older_readers(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._grace_lock:  # the counter only ever moves forward
            self.period += 1
            target = self.period
        pause = _POLL_START_S
        for reader in self._readers:
            while 0 < reader.period < target:
                if not reader.thread.is_alive():
                    self._forget_dead_reader(reader)
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise GracePeriodTimeout(
                        f"synchronize() timed out after {timeout:g} s: thread "
                        f"{reader.thread.name!r} is still in a read section of {self.name!r}"
                    )
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MAX_S)
        self._prune_ended_threads()

    def _prune_ended_threads(self) -> None:
        """Drop the records of threads that ended outside any section (short-lived workers)."""
        ended = [r for r in self._readers if r.period == 0 and not r.thread.is_alive()]
        if ended:
            with self._register_lock:
                self._readers = tuple(r for r in self._readers if r not in ended)

    @property
    def readers(self) -> int:
        """How many threads have a reader record in this domain."""
        return len(self._readers)

    def _forget_dead_reader(self, reader: Reader) -> None:
        warnings.warn(
            f"thread {reader.thread.name!r} ended inside a read section of {self.name!r}; "
            "grace periods no longer wait for it",
            RcuReaderExitedWarning,
            stacklevel=4,  # the caller of synchronize()
        )
        reader.period = 0
        with self._register_lock:
            self._readers = tuple(r for r in self._readers if r is not reader)

    # --- deferred callbacks ------------------------------------------------------------

    def call_rcu(self, fn: Callable[[*Ts], object], *args: *Ts) -> None:
        """Run ``fn(*args)`` on the reclaimer thread after a grace period.

        It never blocks the caller and never waits inside the caller's section:
        the callback is queued, and the reclaimer batches callbacks behind one
        grace period. An exception in a callback is reported (``on_error``, else
        ``RcuCallbackWarning``) and later callbacks still run.
        """
        if not callable(fn):
            raise TypeError(f"call_rcu() needs a callable, got {type(fn).__name__}")
        if self._closed:
            raise RuntimeError(f"RCU domain {self.name!r} is closed")
        with self._queue_lock:  # tickets and queue order agree, so barrier() can trust them
            self._queued += 1
            self._callbacks.append((self._queued, fn, args))
        self._ensure_reclaimer()
        self._wake.set()

    def dispose(self, resource: Any) -> None:
        """Call ``resource.close()`` after a grace period (OSv's ``rcu_dispose``)."""
        close = getattr(resource, "close", None)
        if not callable(close):
            raise TypeError(
                f"dispose() needs an object with a close() method, got {type(resource).__name__}"
            )
        self.call_rcu(close)

    def barrier(self, timeout: float | None = None) -> None:
        """Wait until every callback queued before this call has run.

        Raises:
            RuntimeError: called inside a read section of this domain.
            GracePeriodTimeout: ``timeout`` seconds passed first.
        """
        self._refuse_inside_section("barrier()")
        with self._queue_lock:
            ticket = self._queued
        with self._done:
            if not self._done.wait_for(lambda: self._batches_done >= ticket, timeout):
                raise GracePeriodTimeout(
                    f"barrier() timed out after {timeout:g} s with callbacks of "
                    f"{self.name!r} still waiting for a grace period"
                )

    def pending(self) -> int:
        """How many callbacks are queued and not yet run."""
        with self._done:
            return self._queued - self._batches_done

    def _ensure_reclaimer(self) -> None:
        if self._reclaimer is not None:
            return
        with self._register_lock:
            if self._reclaimer is None:
                thread = threading.Thread(
                    target=_reclaim_forever,
                    args=(weakref.ref(self), self._wake),
                    name=f"rcu-reclaimer-{self.name}",
                    daemon=True,
                )
                thread.start()
                self._reclaimer = thread

    def _run_batch(self) -> None:
        """Take every queued callback, wait one grace period, run them in order."""
        batch: list[tuple[int, Callable[..., object], tuple[Any, ...]]] = []
        while self._callbacks:
            batch.append(self._callbacks.popleft())
        if not batch:
            return
        self.synchronize()
        trace_rcu_callbacks(self.name, len(batch))
        for _, fn, args in batch:
            try:
                fn(*args)
            except Exception as exc:
                self._report(fn, exc)
        with self._done:
            self._batches_done = batch[-1][0]
            self._done.notify_all()

    def _report(self, fn: Callable[..., object], exc: BaseException) -> None:
        if self._on_error is not None:
            self._on_error(fn, exc)
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
        """Run the callbacks still queued, then stop the reclaimer; later ``call_rcu`` fails."""
        if self._closed:
            return
        if self._callbacks:
            self.barrier(timeout)
        self._closed = True
        self._wake.set()
        reclaimer = self._reclaimer
        if reclaimer is not None and reclaimer is not threading.current_thread():
            reclaimer.join(timeout)
        _live_domains.discard(self)


def _reclaim_forever(domain_ref: weakref.ref[RcuDomain], wake: threading.Event) -> None:
    """The reclaimer thread: holds its domain only while a batch runs."""
    while True:
        if not wake.wait(timeout=_RECLAIMER_IDLE_S):
            if domain_ref() is None:
                return  # the domain was collected: nothing can queue work any more
            continue
        wake.clear()
        domain = domain_ref()
        if domain is None:
            return
        domain._run_batch()  # pyright: ignore[reportPrivateUsage]
        if domain._closed and not domain._callbacks:  # pyright: ignore[reportPrivateUsage]
            return
        del domain


_live_domains: weakref.WeakSet[RcuDomain] = weakref.WeakSet()

default_domain: RcuDomain = RcuDomain("default")
"""The domain the module-level functions and containers use unless given another."""


@atexit.register
def _run_callbacks_left_at_exit() -> None:
    """Callbacks queued when the interpreter exits still run (a bounded wait)."""
    for domain in list(_live_domains):
        try:
            domain.close(_EXIT_BARRIER_S)
        except (GracePeriodTimeout, RuntimeError) as exc:
            warnings.warn(
                f"RCU domain {domain.name!r} at exit: {exc}", RuntimeWarning, stacklevel=2
            )
