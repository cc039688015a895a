"""Lock-order checking, after Linux's lockdep: find a deadlock before it happens.

Locks are grouped in classes (a mutex's name, else where it was created; a
plain ``threading`` lock is a class of its own). Each thread keeps the locks it
holds; taking lock B while holding A records the order "A -> B" with the stack
where it was first seen. An acquisition whose new order closes a cycle in that
graph can deadlock with the code that made the other orders, even if they ran
in other threads long ago, so it is reported before it is attempted.

Off by default: then nothing here runs on the lock path.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import traceback
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import LockOrderError, LockOrderWarning
from ..interrupts import deferred

Action = Literal["raise", "warn"]
_STACK_DEPTH = 12


@dataclass(frozen=True, slots=True)
class _Edge:
    """The first time "held -> acquired" was seen: which thread, and where."""

    thread: str
    stack: traceback.StackSummary


class _State:
    """Whether checking is on, and what to do on a cycle; read without a lock."""

    enabled = False
    action: Action = "raise"


state = _State()
_graph: dict[str, dict[str, _Edge]] = {}  # held class -> acquired class -> first sighting
_graph_lock = threading.Lock()  # writers only; readers look edges up without it
os.register_at_fork(after_in_child=getattr(_graph_lock, "_at_fork_reinit"))  # noqa: B009
_plain_classes: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_plain_serial = iter(range(1, sys.maxsize))


class _Held(threading.local):
    """The locks this thread holds, in the order taken (the locks themselves: no allocation)."""

    def __init__(self) -> None:
        self.stack: list[object] = []


held = _Held()
_held = held  # the name used inside this module


def class_of(lock: object) -> str:
    """A lock's class: a mutex says its own; any other lock is a class of its own."""
    key: str | None = getattr(lock, "lock_class", None)
    return key if key is not None else class_of_plain_lock(lock)


def class_of_plain_lock(lock: object) -> str:
    """A ``threading`` lock has no name or creation site we can see: it is a class of its own."""
    try:
        return _plain_classes[lock]
    except KeyError:
        key = f"{type(lock).__name__}#{next(_plain_serial)}"
        _plain_classes[lock] = key
        return key
    except TypeError:  # not weakly referenceable: fall back on identity
        return f"{type(lock).__name__}@{id(lock):#x}"


def _still_held(lock: object) -> bool:
    """Whether a lock on this thread's list is still held (a mutex can tell; others are trusted)."""
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else True


def before_acquire(key: str, lock: object, *, recursive: bool) -> None:
    """Check the orders "each held lock -> ``key``" before ``lock`` is taken.

    Raises:
        LockOrderError: the new order closes a cycle, or ``lock`` is a
            non-recursive lock this thread already holds (it would hang).
    """
    new_orders: list[str] = []
    for held in _held.stack:
        if held is lock:
            if not _still_held(held):
                continue
            if recursive:
                return
            _report(
                f"thread {_thread_name()!r} is taking {key!r} again while it holds it: "
                "a non-recursive lock would wait for itself forever"
            )
            return
        held_key = class_of(held)
        if held_key != key and key not in _graph.get(held_key, _NO_EDGES) and _still_held(held):
            new_orders.append(held_key)
    for held_key in new_orders:  # rare: an order never seen before
        _add_edge(held_key, key)


_NO_EDGES: dict[str, _Edge] = {}


def after_acquire(lock: object) -> None:
    """Remember that this thread now holds ``lock``."""
    _held.stack.append(lock)


def after_release(lock: object) -> None:
    """Forget the latest entry for ``lock`` (absent if it was taken while checking was off)."""
    stack = _held.stack
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is lock:
            del stack[index]
            return


def _thread_name() -> str:
    return threading.current_thread().name


def _caller_stack() -> traceback.StackSummary:
    """Where the acquisition happened: the stack outside this package."""
    frames = [
        (frame, line)
        for frame, line in traceback.walk_stack(sys._getframe(1))  # pyright: ignore[reportPrivateUsage]
        if not frame.f_code.co_filename.startswith(_PACKAGE_DIR)
    ]
    summary = traceback.StackSummary.extract(iter(frames), limit=_STACK_DEPTH)
    summary.reverse()
    return summary


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)  # frames inside osv_idioms are noise


def _path(start: str, goal: str) -> list[str] | None:
    """A path of recorded orders from ``start`` to ``goal``, if there is one (depth first)."""
    trail: dict[str, str] = {}
    pending = [start]
    seen = {start}
    while pending:
        node = pending.pop()
        if node == goal:
            path = [goal]
            while path[-1] != start:
                path.append(trail[path[-1]])
            return path[::-1]
        for nxt in _graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                trail[nxt] = node
                pending.append(nxt)
    return None


def _add_edge(held_key: str, key: str) -> None:
    """Record "held -> key"; if "key -> ... -> held" exists, the two orders can deadlock."""
    here = _Edge(_thread_name(), _caller_stack())
    message = ""
    with _graph_lock:
        if key in _graph.get(held_key, ()):
            return
        cycle = _path(key, held_key)
        if cycle is None or state.action == "warn":
            _graph.setdefault(held_key, {})[key] = here
        if cycle is not None:
            message = _inversion_message(held_key, key, here, cycle)
    if message:
        _report(message)


def _inversion_message(held_key: str, key: str, here: _Edge, cycle: list[str]) -> str:
    """Both orders, each with the stack where it was first seen."""
    lines = [
        f"lock order inversion: thread {here.thread!r} takes {key!r} while holding "
        f"{held_key!r}, but {' -> '.join(repr(k) for k in cycle)} was seen before; "
        "these orders can deadlock",
        f"  {held_key!r} -> {key!r} now, in thread {here.thread!r}:",
        *_indent(here.stack),
    ]
    for first, second in _pairs(cycle):
        edge = _graph[first][second]
        lines.append(f"  {first!r} -> {second!r} first seen in thread {edge.thread!r}:")
        lines.extend(_indent(edge.stack))
    return "\n".join(lines)


def _pairs(path: list[str]) -> Iterator[tuple[str, str]]:
    return itertools.pairwise(path)


def _indent(stack: traceback.StackSummary) -> list[str]:
    return ["  " + line for chunk in stack.format() for line in chunk.rstrip("\n").splitlines()]


def _report(message: str) -> None:
    if state.action == "warn":
        warnings.warn(message, LockOrderWarning, stacklevel=4)
    else:
        raise LockOrderError(message)


@deferred
def reset() -> None:
    """Forget every recorded order (this thread's held list too)."""
    with _graph_lock:
        _graph.clear()
    _held.stack.clear()


@deferred
def recorded_orders() -> dict[str, tuple[str, ...]]:
    """The orders seen so far: for each lock class, the classes taken while holding it."""
    with _graph_lock:
        return {held: tuple(sorted(after)) for held, after in sorted(_graph.items())}
