"""Timed pairs as they happen: ``x`` then ``x_ret`` in one thread or asyncio task.

One ``Pairs`` per exporter attaches a probe to each pattern a bridge asks
for, and to the pattern's ends (``x_ret``, ``x_err``, ``mutex_lock_wake``),
and tells its ``Listener`` when a pair opens and closes. Each thread, and
each asyncio task within it, has a stack of its own open pairs, so an end
closes the latest open start of its own thread or task (the rule of
``trace.start_of``), and an inner pair knows the pair around it.

A tracepoint two patterns match is handled by the probe of the oldest open
one only, so overlapping bridges see each pair once.
"""

from __future__ import annotations

import fnmatch
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .. import trace
from ._leases import PatternLeases

__all__ = ("Listener", "Pairs", "end_patterns")

_Key = tuple[int, int]  # (thread ident, id of the asyncio task or 0)


class Listener(Protocol):
    """What an exporter does with timed pairs."""

    def opened(self, name: str, args: dict[str, object], parent: object, ns: int) -> object:
        """A pair opened; return what ``closed`` gets (``parent``: the enclosing pair's)."""
        ...

    def closed(self, opened: object, end: str, args: dict[str, object], ns: int) -> None:
        """The pair ``opened`` was closed by a hit of ``end``."""
        ...

    def abandoned(self, opened: object, ns: int) -> None:
        """The pair ``opened`` was still open when its last bridge closed."""
        ...


def end_patterns(pattern: str) -> tuple[str, ...]:
    """The patterns of the tracepoints that end the pairs ``pattern`` starts."""
    ends = (pattern + "_ret", pattern + "_err")
    return (*ends, "mutex_lock_wake") if _matches(pattern, "mutex_lock_wait") else ends


def _matches(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def _task_id() -> int:
    """The running asyncio task's id, or 0 outside one (asyncio is not imported for this).

    ``_get_running_loop`` (in ``asyncio.events.__all__``) answers None outside
    a loop; ``current_task()`` would raise there, which costs seven times as
    much on every hit of a thread that runs no loop.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return 0
    loop = asyncio._get_running_loop()  # pyright: ignore[reportPrivateUsage]
    if loop is None:
        return 0
    task = asyncio.current_task(loop)
    return 0 if task is None else id(task)


class Pairs(PatternLeases[list[trace.ProbeHandle]]):
    """The timed pairs of the patterns its bridges asked for, told to ``listener``."""

    def __init__(self, listener: Listener, clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__()
        self.listener = listener
        self.clock = clock
        self._owners: dict[str, str | None] = {}
        self._params: dict[str, tuple[str, ...]] = {}
        # Each thread's (and task's) open pairs; a key goes when its stack empties.
        self._stacks: dict[_Key, list[tuple[str, object]]] = {}

    def start(self, pattern: str) -> list[trace.ProbeHandle]:
        # pairs=True: a tracepoint in no pair keeps the cost of counting
        ends = self._probe_for(pattern, ends_only=True)
        handles = [trace.add_probe(pattern, self._probe_for(pattern, ends_only=False), pairs=True)]
        return handles + [trace.add_probe(p, ends, pairs=True) for p in end_patterns(pattern)]

    def stop(self, pattern: str, value: list[trace.ProbeHandle]) -> None:
        for handle in value:
            handle.remove()
        if self.empty:
            self._abandon_all()

    def changed(self) -> None:
        self._owners.clear()

    def covers(self, start: str) -> bool:
        """Whether a watched pattern matches the start of a pair ``start``."""
        return self._owner(start) is not None

    def _abandon_all(self) -> None:
        now = self.clock()
        stacks, self._stacks = self._stacks, {}
        for stack in stacks.values():
            for _, opened in reversed(stack):
                self.listener.abandoned(opened, now)

    def _owner(self, start: str) -> str | None:
        """The oldest watched pattern matching the start ``start`` (cached until they change)."""
        try:
            return self._owners[start]
        except KeyError:
            owner = next((p for p, _ in self.leased() if _matches(p, start)), None)
            self._owners[start] = owner
            return owner

    def _arguments(self, name: str, args: tuple[object, ...]) -> dict[str, object]:
        params = self._params.get(name)
        if params is None:
            found = trace.tracepoints(name)
            params = found[0].parameters if found else ()
            self._params[name] = params
        return dict(zip(params, args, strict=False))

    def _probe_for(
        self, pattern: str, *, ends_only: bool
    ) -> Callable[[str, tuple[object, ...]], None]:
        """The probe of ``pattern`` itself, or (``ends_only``) of the ends of its pairs."""

        def on_hit(name: str, args: tuple[object, ...]) -> None:
            if ends_only and _matches(pattern, name):
                return  # the probe of the pattern itself has it: one hit, handled once
            start = trace.start_of(name)
            if self._owner(name if start is None else start) != pattern:
                return  # an older pattern's probe handles it
            if start is None:  # probed with pairs=True: it starts a pair
                self._open(name, args)
            else:
                self._close(start, name, args)

        on_hit.__qualname__ = f"telemetry {'ends' if ends_only else 'pairs'} of {pattern!r}"
        return on_hit

    def _open(self, name: str, args: tuple[object, ...]) -> None:
        key = (threading.get_ident(), _task_id())
        stack = self._stacks.setdefault(key, [])
        parent = stack[-1][1] if stack else None
        opened = self.listener.opened(name, self._arguments(name, args), parent, self.clock())
        stack.append((name, opened))

    def _close(self, start: str, end: str, args: tuple[object, ...]) -> None:
        ns = self.clock()
        key = (threading.get_ident(), _task_id())
        stack = self._stacks.get(key)
        if not stack:
            return  # its start fired before watching began, or in another thread
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == start:
                _, opened = stack.pop(index)
                if not stack:
                    self._stacks.pop(key, None)  # gone already if the last bridge just closed
                self.listener.closed(opened, end, self._arguments(end, args), ns)
                return
