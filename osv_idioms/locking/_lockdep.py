"""Lock-order checking, after Linux's lockdep: find a deadlock before it happens.

Locks are grouped in classes: a mutex's name, else where it was made (the
line, and the line that called it when that was inside a function, so that
locks made by one helper or one ``__init__`` for different callers stay
apart). A lock nobody can place (a ``threading`` lock made before checking
was on) is a class of its own. Each thread keeps the locks it holds; taking
B while holding A records the order "A -> B", with the thread and the stack
where it was first seen. An acquisition whose new order closes a cycle can
deadlock with the code that made the other orders, even if that ran in
another thread long ago, so it is reported before it is attempted.

Two locks of one class (every account's lock, made on one line) are ordered
per instance instead: "account 1 -> account 2" then "account 2 -> account 1"
is the classic transfer deadlock, while always taking a parent before its
child, or locks in index order, is fine. Instance orders, and the classes of
locks nobody could place, go when their locks are collected, so memory is
bounded by the live locks, not by every lock ever made.

A held stack whose chain of classes was checked before is not checked again:
as in Linux, each stack entry carries a hash of the classes below it, and a
chain seen before costs one set lookup, whatever the depth.

Trylocks (``acquire(False)``) are recorded as held, so what is taken under
them is ordered after them, but they are never reported and make no order
of their own: a trylock does not wait, so it cannot deadlock.

Off by default: then nothing here runs on the lock path.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import os
import sys
import threading
import traceback
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import LockOrderError, LockOrderWarning
from ..forks import free_in_child
from ..interrupts import deferred

Action = Literal["raise", "warn", "record"]
Node = str | tuple[str, int]  # a class, or one lock of a class (class, id) for same-class orders
Frame = tuple[str, int, str]  # file, line number, function: a stack frame, its source not yet read
_STACK_DEPTH = 12


@dataclass(frozen=True, slots=True)
class _Edge:
    """The first time "held -> acquired" was seen: which thread, and where."""

    thread: str
    stack: tuple[Frame, ...]


class _State:
    """Whether checking is on, what an inversion does, who hears of it; read without a lock."""

    enabled = False
    action: Action = "raise"
    on_report: Callable[[str], object] | None = None


state = _State()
_graph: dict[Node, dict[Node, _Edge]] = {}  # held -> acquired -> first sighting
_incoming: dict[Node, set[Node]] = {}  # acquired -> the nodes with an order into it
chains: set[int] = set()  # chain keys of held stacks whose every order is recorded
_graph_lock = threading.Lock()  # writers only; readers look edges up without it
free_in_child(_graph_lock)
_anonymous: dict[int, str] = {}  # id(lock) -> the class of a lock nobody could place
_anonymous_keys: set[str] = (
    set()
)  # those classes, whose chains are not kept (they go with the lock)
_instance_labels: dict[int, str] = {}  # id(lock) -> how reports name one lock of a class
_serial = itertools.count(1)


class _Held(threading.local):
    """The locks this thread holds, in the order taken, each followed by its chain key.

    ``entries`` is ``[lock0, key0, lock1, key1, ...]``, one list so that the hot
    path reaches it with one thread-local lookup: ``key_i`` hashes the classes
    of the locks up to ``lock_i``, so a new lock's key starts from ``entries[-1]``.
    """

    def __init__(self) -> None:
        self.entries: list[object] = []

    def locks(self) -> list[object]:
        return self.entries[0::2]


held = _Held()


# --- classes -------------------------------------------------------------------------

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)  # frames inside osv_idioms are noise
_THREADING_FILE = threading.__file__


def creation_site(depth: int) -> str:
    """Where a lock is being made, as its class says it.

    The first frame from ``depth`` up outside this library and ``threading``,
    and its caller when that frame is inside a function.
    """
    frame = sys._getframe(depth + 1)  # pyright: ignore[reportPrivateUsage]
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR)
        or frame.f_code.co_filename == _THREADING_FILE
    ):
        frame = frame.f_back
    site = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    caller = frame.f_back
    if frame.f_code.co_name == "<module>" or caller is None or _is_noise(caller.f_code.co_filename):
        return site  # made at module level, or called by a test runner: the line says it all
    return f"{site} via {caller.f_code.co_filename}:{caller.f_lineno}"


def class_of(lock: object) -> str:
    """A lock's class: its own ``lock_class`` when it has one, else a class of its own."""
    key: str | None = getattr(lock, "lock_class", None)
    return key if key is not None else _class_of_anonymous(lock)


def _class_of_anonymous(lock: object) -> str:
    key = _anonymous.get(id(lock))
    if key is None:
        key = f"{type(lock).__name__}#{next(_serial)}"
        _anonymous[id(lock)] = key
        _anonymous_keys.add(key)
        _forget_when_collected(lock, key)
    return key


def _forget_when_collected(lock: object, node: Node) -> None:
    """Drop ``node`` (and the orders into and out of it) when ``lock`` is collected."""
    with contextlib.suppress(TypeError):  # not weakly referenceable: kept, as before
        weakref.finalize(lock, _forget_node, node, id(lock))


_forgotten: list[Node] = []  # nodes of collected locks whose orders are still in the graph


@deferred
def _forget_node(node: Node, ident: int) -> None:
    """A lock was collected: drop its name now, and its orders as soon as the graph is free.

    The collector calls this wherever it runs, possibly on a thread that is
    inside ``_graph_lock`` (recording an order allocates). Waiting for the
    lock there would wait for ever, so the node is queued, and dropped here
    if the lock is free, else by the next writer (``_drop_forgotten``).
    Its id may be reused at once, so the maps keyed by id are cleared now.
    """
    if isinstance(node, str):
        _anonymous.pop(ident, None)
        _anonymous_keys.discard(node)
    else:
        _instance_labels.pop(ident, None)
    _forgotten.append(node)
    if _graph_lock.acquire(blocking=False):
        try:
            _drop_forgotten()
        finally:
            _graph_lock.release()


def _drop_forgotten() -> None:
    """Drop the orders into and out of every queued node; the caller holds ``_graph_lock``."""
    while _forgotten:
        node = _forgotten.pop()
        for after in _graph.pop(node, {}):
            _incoming.get(after, set()).discard(node)
        for before in _incoming.pop(node, set()):
            _graph.get(before, {}).pop(node, None)


# --- the hot path ----------------------------------------------------------------------


_MASK = (1 << 61) - 1


def chain_key(below: int, key: str) -> int:
    """The chain key of a stack whose top has class ``key`` over a stack keyed ``below``.

    Written out where it is hot (``Mutex.__enter__``): keep the two the same.
    """
    return (below * 1_000_003 + hash(key)) & _MASK


def check(lock: object, key: str, *, recursive: bool | None) -> int:
    """Check the orders "each held lock -> ``lock``" before it is taken; return its chain key.

    ``recursive`` says whether the holder may take it again: True (a mutex),
    False (taking it again is reported), None (a ``Lock``, which another
    thread may release for it: that waits, and is reported after a while).

    Raises:
        LockOrderError: the new order closes a cycle, or ``lock`` is a
            non-recursive lock this thread already holds (it would hang).
    """
    entries = held.entries
    new = chain_key(entries[-1] if entries else 0, key)  # type: ignore[arg-type]
    if new in chains:
        return new  # this very chain of classes was checked before
    return check_new_chain(lock, key, new, recursive=recursive)


def check_new_chain(lock: object, key: str, new: int, *, recursive: bool | None) -> int:
    """The slow path of ``check``: a chain not seen before, checked lock by lock."""
    same_class = False
    cacheable = key not in _anonymous_keys
    for holding in held.locks():
        if holding is lock:
            if not _still_held(holding):
                continue
            if recursive is not False:
                return new
            _report(
                f"thread {_thread_name()!r} is taking {key!r} again while it holds it: "
                "a non-recursive lock would wait for itself forever"
            )
            return new
        if not _still_held(holding):
            continue
        holding_key = class_of(holding)
        cacheable = cacheable and holding_key not in _anonymous_keys
        if holding_key == key:
            same_class = True
            _add_edge(_instance(holding, key), _instance(lock, key))
        elif key not in _graph.get(holding_key, _NO_EDGES):
            _add_edge(holding_key, key)
    if cacheable and not same_class:
        chains.add(new)
    return new


_NO_EDGES: dict[Node, _Edge] = {}


def _instance(lock: object, key: str) -> Node:
    """The node of one lock of class ``key``, for orders between locks of one class."""
    ident = id(lock)
    if ident not in _instance_labels:
        _instance_labels[ident] = f"{key} (lock {len(_instance_labels) + 1})"
        _forget_when_collected(lock, (key, ident))
    return (key, ident)


def push(lock: object, chain: int) -> None:
    """This thread now holds ``lock``, whose chain key is ``chain``."""
    held.entries += (lock, chain)


def push_unchecked(lock: object) -> None:
    """This thread now holds ``lock`` without a check (a trylock, or a group's member)."""
    entries = held.entries
    push(lock, chain_key(entries[-1] if entries else 0, class_of(lock)))  # type: ignore[arg-type]


def pop(lock: object) -> None:
    """Forget the latest entry for ``lock`` (absent if it was taken while checking was off)."""
    entries = held.entries
    if entries and entries[-2] is lock:
        del entries[-2:]
        return
    for index in range(len(entries) - 2, -1, -2):
        if entries[index] is lock:
            _rechain(index)
            return


def _rechain(start: int) -> None:
    """Remove the entry at ``start``: the keys of the entries above it change."""
    entries = held.entries
    above = entries[start + 2 :: 2]
    del entries[start:]
    for lock in above:
        push(lock, chain_key(entries[-1] if entries else 0, class_of(lock)))  # type: ignore[arg-type]


def _still_held(lock: object) -> bool:
    """Whether a lock on this thread's list is still held by it (when the lock can tell).

    A plain lock may be released by another thread: a checked one knows.
    """
    is_owned = getattr(lock, "_is_owned", None) or getattr(lock, "held_here", None)
    return bool(is_owned()) if is_owned is not None else True


# --- recording and reporting -------------------------------------------------------------


def _thread_name() -> str:
    return threading.current_thread().name


# Frames that are never the user's: this library, threading, the test runner, runpy.
_NOISE = (
    _PACKAGE_DIR,
    _THREADING_FILE,
    os.path.dirname(traceback.__file__) + os.sep + "runpy.py",
    os.sep + "_pytest" + os.sep,
    os.sep + "pluggy" + os.sep,
    os.sep + "unittest" + os.sep,
    "<frozen runpy>",
    "<frozen importlib._bootstrap",
)


@functools.lru_cache(maxsize=4096)
def _is_noise(filename: str) -> bool:
    return any(filename.startswith(n) or n in filename for n in _NOISE)


def _caller_stack() -> tuple[Frame, ...]:
    """Where the acquisition happened: the user's own innermost frames, outermost first.

    Every new order keeps one, and few are ever reported, so this keeps
    where each frame is and leaves reading the source lines to the report.
    """
    frames: list[Frame] = []
    frame: types.FrameType | None = sys._getframe(1)  # pyright: ignore[reportPrivateUsage]
    while frame is not None and len(frames) < _STACK_DEPTH:
        code = frame.f_code
        if not _is_noise(code.co_filename):
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)


def _path(start: Node, goal: Node) -> list[Node] | None:
    """The shortest path of recorded orders from ``start`` to ``goal``, if any (breadth first)."""
    trail: dict[Node, Node] = {}
    pending = collections.deque([start])
    seen = {start}
    while pending:
        node = pending.popleft()
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


def _add_edge(before: Node, after: Node) -> None:
    """Record "before -> after"; if "after -> ... -> before" exists, the two can deadlock."""
    if after in _graph.get(before, _NO_EDGES) and not _forgotten:
        return  # seen before (orders within one class are checked on every acquisition)
    here = _Edge(_thread_name(), _caller_stack())
    message = ""
    with _graph_lock:
        _drop_forgotten()  # a queued node's id may be one of these locks' now
        if after in _graph.get(before, ()):
            return
        cycle = _path(after, before)
        if cycle is None or state.action != "raise":
            _graph.setdefault(before, {})[after] = here
            _incoming.setdefault(after, set()).add(before)
        if cycle is not None:
            message = _inversion_message(before, after, here, cycle)
    if message:
        _report(message)


def _name(node: Node) -> str:
    if isinstance(node, str):
        return repr(node)
    return repr(_instance_labels.get(node[1], f"{node[0]} (a lock)"))


def _inversion_message(before: Node, after: Node, here: _Edge, cycle: list[Node]) -> str:
    """The cycle, and each of its orders with the thread and the stack where it was first seen."""
    lines = [
        f"lock order inversion: thread {here.thread!r} takes {_name(after)} while holding "
        f"{_name(before)}, but {' -> '.join(_name(k) for k in cycle)} was seen before; "
        "these orders can deadlock",
        f"  {_name(before)} -> {_name(after)} now, in thread {here.thread!r}:",
        *_indent(here.stack),
    ]
    for first, second in _pairs(cycle):
        edge = _graph[first][second]
        lines.append(f"  {_name(first)} -> {_name(second)} first seen in thread {edge.thread!r}:")
        lines.extend(_indent(edge.stack))
    return "\n".join(lines)


def _pairs(path: list[Node]) -> Iterator[tuple[Node, Node]]:
    return itertools.pairwise(path)


def _indent(stack: tuple[Frame, ...]) -> list[str]:
    summary = traceback.StackSummary.from_list([traceback.FrameSummary(*frame) for frame in stack])
    return ["  " + line for chunk in summary.format() for line in chunk.rstrip("\n").splitlines()]


def report_self_wait(lock: object, key: str, seconds: float) -> None:
    """Report a thread that has waited ``seconds`` for a lock it holds itself."""
    _report(
        f"thread {_thread_name()!r} has waited {seconds:g} s for {key!r}, which it holds "
        "itself: unless another thread releases it, it waits for ever"
    )


def _report(message: str) -> None:
    on_report = state.on_report
    if on_report is not None:
        on_report(message)
    if state.action == "warn":
        warnings.warn(message, LockOrderWarning, stacklevel=5)
    elif state.action == "raise":
        raise LockOrderError(message)


@deferred
def reset() -> None:
    """Forget every recorded order (this thread's held list too)."""
    with _graph_lock:
        _forgotten.clear()
        _graph.clear()
        _incoming.clear()
        chains.clear()
    held.entries.clear()


@deferred
def recorded_orders() -> dict[str, tuple[str, ...]]:
    """The orders seen so far between classes: for each class, the classes taken while holding it.

    Orders between two locks of one class are kept per lock, and not listed.
    """
    with _graph_lock:
        _drop_forgotten()
        return {
            before: tuple(sorted(a for a in after if isinstance(a, str)))
            for before, after in sorted(
                ((b, a) for b, a in _graph.items() if isinstance(b, str)), key=lambda item: item[0]
            )
            if any(isinstance(a, str) for a in after)
        }
