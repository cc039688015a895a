"""The registry: every tracepoint, what each is switched to, the open counts, and the ring.

One object owns all of it, behind one lock that every writer (declare,
enable, add_probe, count, the ring's size) takes. Tracepoints themselves
never take it: a writer fills a point's globals and then swaps its code
(see ``_bodies``).
"""

from __future__ import annotations

import fnmatch
import inspect
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .. import environment
from ..errors import ProbeFailedWarning, TracepointError
from ..forks import free_lock, reset_in_child
from ..interrupts import deferred
from ._bodies import OFF, Point, Probe
from ._pairing import start_of
from ._ring import Record, Ring, overwritten, read

__all__ = ("DEFAULT_BUFFER_SIZE", "Registry", "Watch", "matches", "registry")

DEFAULT_BUFFER_SIZE = 65536
"""How many records the ring keeps, unless ``OSV_TRACE_BUFFER`` or ``set_buffer_size()`` says."""


def matches(pattern: str, name: str) -> bool:
    """Whether a tracepoint ``name`` matches the shell wildcard ``pattern`` (case counts)."""
    return fnmatch.fnmatchcase(name, pattern)


def _is_one_name(pattern: str) -> bool:
    """Whether ``pattern`` has no wildcard, so that it matches exactly the name it spells."""
    return not any(char in pattern for char in "*?[")


class _ChangeLock:
    """The registry's lock, for ``with`` alone: reentrant, and it finishes queued closes.

    A count can be closed while its thread is already inside a registry
    change: the garbage collector runs ``Counters.__del__`` at whatever
    allocation it starts on, and watchers' callbacks run under this lock.
    Closing there would change the registry halfway through that change
    (a watch closed while it is being attached would leave the point counting
    for ever), so the registry queues such a close in ``queued``, and the
    outermost block of the change under way runs ``on_last_exit`` to finish it.
    """

    __slots__ = ("__weakref__", "_depth", "_on_last_exit", "_owner", "_rlock", "queued")

    def __init__(self, on_last_exit: Callable[[], None]) -> None:
        self._rlock = threading.RLock()
        self._depth = 0  # blocks entered by the owner; only the owner changes it
        self._owner = 0  # the owner's ident, 0 when free; read by others, it never is theirs
        self._on_last_exit = on_last_exit
        self.queued: list[Watch] = []
        reset_in_child(self, _ChangeLock._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        """Free the lock a thread the fork left behind may have held, with its count.

        Left as it is when the forking thread holds it (a watcher that forks):
        that thread's blocks still end, and release it.
        """
        if free_lock(self._rlock):
            self._depth = self._owner = 0

    def held_here(self) -> bool:
        """Whether the calling thread is inside a block of this lock."""
        return self._owner == threading.get_ident()

    @deferred
    def __enter__(self) -> None:
        self._rlock.acquire()
        self._depth += 1
        self._owner = threading.get_ident()

    @deferred
    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._depth == 1:
                self._on_last_exit()
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._owner = 0
            self._rlock.release()


class Registry:
    """The tracepoints of the process, and everything that says what they do.

    ``lock`` serialises the writers; a forked child gets it back unheld
    (``osv_idioms.forks``). Rules are kept as well as applied, so that a tracepoint
    declared later gets the state the rules already asked for.
    """

    __slots__ = (
        "_activity",
        "_activity_of",
        "_points",
        "_probe_rules",
        "_ring",
        "_rules",
        "_starts",
        "_watches",
        "default_size",
        "lock",
    )

    def __init__(self, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        self.default_size = buffer_size  # what reset() goes back to
        self.lock = _ChangeLock(self._close_queued)
        self._points: dict[str, Point] = {}
        self._rules: list[tuple[str, bool, bool]] = []  # (pattern, record, backtrace); last wins
        # (pattern, probe, handle, pairs only); pairs only: just the tracepoints of timed pairs
        self._probe_rules: list[tuple[str, Probe, object, bool]] = []
        self._starts: set[str] = set()  # the names some declared tracepoint's hit closes
        # The open counts, held weakly: one no one can read any more is collected.
        self._watches: weakref.WeakSet[Watch] = weakref.WeakSet()
        # Activity watchers: those with a wildcard, and those of one name, by that name
        # (a probed function has three): looked up, so a change costs O(1) in the latter.
        self._activity: list[_ActivityWatcher] = []
        self._activity_of: dict[str, list[_ActivityWatcher]] = {}
        self._ring = Ring(buffer_size)

    # -- declaring -----------------------------------------------------------------

    @deferred
    def declare(
        self, name: str, fmt: str, signature: inspect.Signature, site: str, label: str
    ) -> Point:
        """Register a tracepoint, or return the one this same site declared before."""
        with self.lock:
            existing = self._points.get(name)
            if existing is not None:
                same = existing.signature == signature and existing.fmt == fmt
                if existing.site == site and same:
                    return existing  # the same declaration run again (a module reload)
                raise TracepointError(
                    f"tracepoint {name!r} declared at {site} is already declared at "
                    f"{existing.site}; give one of them another name"
                )
            point = Point(name, fmt, signature, site, label, fire=self._fire)
            self._points[name] = point
            for watch in list(self._watches):
                watch.attach(point)
            self._apply(point)
            start = start_of(name)
            if start is not None and start not in self._starts:
                self._starts.add(start)
                if start in self._points:  # it starts a pair only now: pairs-only probes reach it
                    self._apply(self._points[start])
            return point

    @deferred
    def matching(self, pattern: str) -> list[Point]:
        """The declared tracepoints whose names match ``pattern``, sorted by name."""
        with self.lock:
            found = [p for p in self._points.values() if matches(pattern, p.name)]
        return sorted(found, key=lambda p: p.name)

    # -- what the tracepoints do ------------------------------------------------------

    @deferred
    def set_rule(self, pattern: str, record: bool, backtrace: bool) -> None:
        """Record (or not) the tracepoints matching ``pattern``, now and when declared later."""
        with self.lock:
            self._rules[:] = [rule for rule in self._rules if rule[0] != pattern]
            self._rules.append((pattern, record, backtrace))
            self._apply_matching(pattern)

    @deferred
    def add_probe(self, pattern: str, probe: Probe, handle: object, pairs: bool) -> None:
        """Call ``probe`` on every hit of the tracepoints matching ``pattern``, until removed.

        With ``pairs``, only on those that start or end a timed pair.
        """
        with self.lock:
            self._probe_rules.append((pattern, probe, handle, pairs))
            self._apply_matching(pattern)

    @deferred
    def remove_probes(self, which: Callable[[Probe, object], bool]) -> None:
        """Detach every probe for which ``which(probe, handle)`` is true."""
        with self.lock:
            removed = [rule for rule in self._probe_rules if which(rule[1], rule[2])]
            if not removed:
                return
            self._probe_rules[:] = [rule for rule in self._probe_rules if rule not in removed]
            for pattern, _, _, _ in removed:
                self._apply_matching(pattern)

    @deferred
    def has_probe(self, handle: object) -> bool:
        """Whether the probe added with ``handle`` is still attached."""
        with self.lock:
            return any(h is handle for _, _, h, _ in self._probe_rules)

    @deferred
    def watch(self, specs: Sequence[str]) -> Watch:
        """Start counting the tracepoints matching any of ``specs``, now and when declared."""
        with self.lock:
            watch = Watch(self, tuple(specs))
            self._watches.add(watch)
            for point in self._points.values():
                watch.attach(point)
            return watch

    @deferred
    def unwatch(self, watch: Watch) -> None:
        """Stop ``watch`` counting (harmless twice).

        Called while this thread is inside another change (by the garbage
        collector freeing a count, or by a watcher's callback), it is queued,
        and that change finishes it as it ends (``_ChangeLock``).
        """
        if self.lock.held_here():
            self.lock.queued.append(watch)
            return
        with self.lock:
            self._unwatch_now(watch)

    def _unwatch_now(self, watch: Watch) -> None:
        if watch.closed:
            return
        watch.closed = True
        self._watches.discard(watch)
        for point in watch.points():
            point.counting -= 1
            self.refresh(point)

    def _close_queued(self) -> None:
        """Close the watches queued during the change now ending (its lock held)."""
        queued = self.lock.queued
        while queued:
            self._unwatch_now(queued.pop())

    @deferred
    def watch_activity(self, pattern: str, callback: Callable[[bool], None]) -> None:
        """Call ``callback(active)`` now and when tracepoints matching ``pattern`` turn on or off.

        For the library's own packages (see ``osv_idioms.trace.activity``).
        """
        with self.lock:
            watcher = _ActivityWatcher(pattern, callback)
            if _is_one_name(pattern):
                self._activity_of.setdefault(pattern, []).append(watcher)
                point = self._points.get(pattern)
                watcher.start(() if point is None else (point,))
            else:
                self._activity.append(watcher)
                watcher.start(self._points.values())

    @deferred
    def reset(self) -> None:
        """Switch every tracepoint off: no rules, no probes, an empty ring of the default size.

        Open counts go on counting: they belong to whoever holds them.
        """
        with self.lock:
            self._rules.clear()
            self._probe_rules.clear()
            self._ring = Ring(self.default_size)
            for point in self._points.values():
                self._apply(point)

    # -- the ring -------------------------------------------------------------------

    @property
    def buffer_size(self) -> int:
        """How many records the ring keeps before it overwrites the oldest."""
        return self._ring.size

    @deferred
    def install_ring(self, size: int | None = None) -> None:
        """Replace the ring with an empty one of ``size`` records (None: the same size)."""
        with self.lock:
            self._ring = Ring(self._ring.size if size is None else size)
            for point in self._points.values():
                point.refresh(self._ring)

    def records(self) -> tuple[list[Record], int]:
        """The records in the ring now, oldest first, and how many were overwritten.

        Taken without the lock: the ring is read in one C call, and each record
        names its point, which is never removed.
        """
        raw, pushed_out = self.raw_records()
        return list(map(read, raw)), pushed_out

    def raw_records(self) -> tuple[list[tuple[Any, ...]], int]:
        """``records()`` as the ring holds them, for readers that make no ``Record`` (exports)."""
        raw = self._ring.copy()  # read each time: install_ring() replaces it
        return raw, overwritten(raw)

    def pair_starts(self) -> frozenset[str]:
        """The names that a declared tracepoint closes as a timed pair (``x`` of ``x_ret``)."""
        return frozenset(filter(None, map(start_of, list(self._points))))

    def point(self, name: str) -> Point:
        """The tracepoint named ``name`` (one a record names: it exists)."""
        return self._points[name]

    # -- under the lock ---------------------------------------------------------------

    def _apply(self, point: Point) -> None:
        """Give ``point`` the state the rules and probes ask for, and its body for it."""
        point.recording, point.backtrace = False, False
        for pattern, record, backtrace in self._rules:
            if matches(pattern, point.name):
                point.recording, point.backtrace = record, backtrace
        paired = point.name in self._starts or start_of(point.name) is not None
        point.probes = tuple(
            probe
            for pattern, probe, _, pairs in self._probe_rules
            if matches(pattern, point.name) and (paired or not pairs)
        )
        self.refresh(point)

    def refresh(self, point: Point) -> None:
        """Swap in the body for ``point``'s state, and tell the activity watchers (lock held)."""
        point.refresh(self._ring)
        for watcher in self._activity_of.get(point.name, ()):
            watcher.changed(point)
        for watcher in self._activity:
            if matches(watcher.pattern, point.name):
                watcher.changed(point)

    def _apply_matching(self, pattern: str) -> None:
        for point in self._points.values():
            if matches(pattern, point.name):
                self._apply(point)

    def _remove_failed(self, probe: Probe) -> None:
        self.remove_probes(_is(probe))

    def _fire(self, point: Point, probes: tuple[Probe, ...], args: tuple[object, ...]) -> None:
        """Call each probe; one that raises is removed with a warning, and the caller goes on."""
        for probe in probes:
            try:
                probe(point.name, args)
            except Exception as exc:
                self._remove_failed(probe)
                warnings.warn(
                    f"probe {callable_name(probe)} on tracepoint {point.name!r} raised "
                    f"{type(exc).__name__}: {exc}; it has been removed",
                    ProbeFailedWarning,
                    stacklevel=3,
                )


def _is(failed: Probe) -> Callable[[Probe, object], bool]:
    def is_failed(candidate: Probe, _handle: object) -> bool:
        return candidate is failed

    return is_failed


def callable_name(fn: object) -> str:
    """How messages name a probe: its qualified name, or its repr."""
    return getattr(fn, "__qualname__", None) or repr(fn)


class Watch:
    """One open count: each point it watches, and that point's hit count when watching began.

    The baselines are replaced, never changed in place, so a reader needs no
    lock; only the registry (holding its lock) adds to them.
    """

    __slots__ = ("__weakref__", "_baselines", "_registry", "closed", "specs")

    def __init__(self, registry: Registry, specs: tuple[str, ...]) -> None:
        self._registry = registry
        self.specs = specs
        self._baselines: dict[Point, int] = {}
        self.closed = False

    def attach(self, point: Point) -> None:
        """Start counting ``point`` if a spec matches it (the registry's lock held)."""
        if point in self._baselines or not any(matches(s, point.name) for s in self.specs):
            return
        point.counting += 1
        self._registry.refresh(point)
        self._baselines = {**self._baselines, point: point.hits()}

    def hits(self, spec: str) -> int:
        """The hits since watching began, summed over the points ``spec`` matches."""
        return sum(
            point.hits() - base
            for point, base in self._baselines.items()
            if matches(spec, point.name)
        )

    def by_point(self, now: Mapping[Point, int] | None = None) -> dict[str, int]:
        """The hits since watching began of each point watched, by name.

        ``now`` gives each point's count as read once for several watches, so
        that they are read at one instant; by default each is read here.
        """
        if now is None:
            return {point.name: point.hits() - base for point, base in self._baselines.items()}
        return {point.name: now[point] - base for point, base in self._baselines.items()}

    def unmatched(self) -> tuple[str, ...]:
        """The specs that have matched no declared tracepoint so far."""
        points = tuple(self._baselines)
        return tuple(s for s in self.specs if not any(matches(s, p.name) for p in points))

    def points(self) -> tuple[Point, ...]:
        """The points it counts."""
        return tuple(self._baselines)

    def close(self) -> None:
        """Stop counting what only this watch counted. Idempotent."""
        self._registry.unwatch(self)


class _ActivityWatcher:
    """Tells a library package when any tracepoint matching a pattern starts or stops working.

    The mutex uses it to run its instrumented methods only while one of its
    tracepoints is on. The callback runs under the registry lock, so it must
    be quick and must not call back into the registry; it is never user code.

    It keeps the matching points that are on, and hears of each point whose
    state changes: rescanning every point at each change made switching n
    points off O(n²), 2.8 s for 4,000.
    """

    __slots__ = ("active", "callback", "pattern", "working")

    def __init__(self, pattern: str, callback: Callable[[bool], None]) -> None:
        self.pattern = pattern
        self.callback = callback
        self.active = False
        self.working: set[Point] = set()

    def start(self, points: Iterable[Point]) -> None:
        """Find the matching points that are on now, and tell the callback."""
        self.working = {p for p in points if matches(self.pattern, p.name) and p.state() != OFF}
        self._tell()

    def changed(self, point: Point) -> None:
        """``point``, which matches, has just been given the body for its state."""
        if point.state() != OFF:
            self.working.add(point)
        else:
            self.working.discard(point)
        self._tell()

    def _tell(self) -> None:
        active = bool(self.working)
        if active != self.active:
            self.active = active
            self.callback(active)


registry = Registry(environment.trace_buffer_size() or DEFAULT_BUFFER_SIZE)
"""The process's one registry."""

for _pattern in environment.trace_patterns():
    registry.set_rule(_pattern, True, False)  # OSV_TRACE: recording from the start
