"""One record in the trace ring, and the ring: the layout is written here, and only here.

A recording tracepoint appends one flat tuple per hit: the fields of
``Record`` but ``args``, then the argument values themselves. Flat, because
packing the values into a tuple of their own costs a second allocation per
hit (about a sixth of a recording call). ``appended_source`` writes the
tuple's source for the generated bodies and ``read`` turns one back into a
``Record``, both from ``Record._fields``.
"""

from __future__ import annotations

import itertools
import traceback
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = (
    "ARGS",
    "BACKTRACE",
    "NAME",
    "NS",
    "THREAD",
    "Record",
    "Ring",
    "appended_source",
    "overwritten",
    "read",
)


class Record(NamedTuple):
    """A tracepoint hit as the ring holds it."""

    seq: int
    """Its place in the order of hits, counted from 0 for each new ring."""
    name: str
    """The tracepoint's name."""
    ns: int
    """``time.monotonic_ns()`` when it was hit."""
    thread: tuple[int, str, int]
    """The calling thread's ident, name and native id."""
    backtrace: traceback.StackSummary | None
    """The caller's stack, when recorded with ``backtrace=True``."""
    args: tuple[object, ...]
    """The argument values, in the order of the tracepoint's parameters."""


_STORED = Record._fields[:-1]  # stored one by one; the argument values follow them
_SEQ = Record._fields.index("seq")  # first, so that sorting the raw tuples sorts by it

# Where an appended tuple holds each field, for readers that skip making a Record.
NAME, NS, THREAD, BACKTRACE = map(_STORED.index, ("name", "ns", "thread", "backtrace"))
ARGS = len(_STORED)
"""The argument values are the tuple's items from here on."""


def appended_source(fields: Mapping[str, str], args: Sequence[str]) -> str:
    """The source of the tuple a recording body appends: an expression for each field.

    >>> fields = {"seq": "s()", "name": "'p'", "ns": "t()", "thread": "tag", "backtrace": "None"}
    >>> appended_source(fields, ["a", "b"])
    "(s(), 'p', t(), tag, None, a, b, )"
    """
    return (
        "(" + "".join(f"{source}, " for source in [*map(fields.__getitem__, _STORED), *args]) + ")"
    )


def read(raw: tuple[Any, ...]) -> Record:
    """The ``Record`` of one appended tuple."""
    return Record._make((*raw[: len(_STORED)], raw[len(_STORED) :]))


class Ring:
    """The bounded record buffer: a deque whose appends never block, and a sequence number.

    Records carry their sequence numbers, so the ones kept tell how many
    were pushed out before them (see ``overwritten``).
    """

    __slots__ = ("records", "seq")

    def __init__(self, size: int) -> None:
        self.records: deque[tuple[Any, ...]] = deque(maxlen=size)
        self.seq = itertools.count()

    @property
    def size(self) -> int:
        """How many records it keeps."""
        size = self.records.maxlen
        assert size is not None
        return size

    def copy(self) -> list[tuple[Any, ...]]:
        """The records now held, in sequence order, copied without stopping the writers."""
        return sorted(self.records.copy())  # one C call: consistent even while others append


def overwritten(records: Sequence[tuple[Any, ...]]) -> int:
    """How many records the ring pushed out, from the sequence numbers of those it kept.

    A thread takes its record's number and then appends the record: two steps,
    which another thread's can fall between. So the ring may hold records out
    of order (hence the sort in ``Ring.copy``), and the oldest one kept does
    not tell how many went before it. Every number below the highest kept
    that is not kept was pushed out, or belongs to a record still being
    appended at the moment of the copy (at most one per other recording
    thread). Once the recording threads are done, the count is exact.
    """
    return records[-1][_SEQ] + 1 - len(records) if records else 0
