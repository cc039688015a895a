"""The hash table behind ``RcuDict``: a list of buckets, each a small dict no one changes.

Publishing a whole new dict per write made one update cost O(n): 4 ms at
100,000 entries, holding the GIL. As OSv's ``rcu_hashtable`` and liburcu's
``rculfhash`` do, a write here changes one bucket: it copies that bucket (about
8 entries) and stores the copy in the bucket list, one list item store that
readers see whole or not at all. A lookup is two loads, a hash and a dict
lookup, and takes no lock.

A table is ``(mask, buckets)``, published as one tuple: the bucket count is a
power of two, and a key lives in bucket ``hash(key) & mask``. A write that
touches several buckets (``update()``), and growing, publish a new table
instead, so no one ever sees half of such a write. A snapshot is the bucket
list copied (O(n / 8) pointers, in C): the buckets it names never change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ("MOST_PER_BUCKET", "BucketSnapshot", "Table", "grown", "table_of")

K = TypeVar("K")
V = TypeVar("V")

Table = tuple[int, list[dict[Any, Any]]]
"""``(mask, buckets)``: key ``k`` lives in ``buckets[hash(k) & mask]``."""

MOST_PER_BUCKET = 16
"""A table grows (doubles) when it holds more than this many entries per bucket on average."""


def _size_for(count: int) -> int:
    """The bucket count for ``count`` entries: a power of two, about 8 entries per bucket."""
    size = 1
    while count > size * MOST_PER_BUCKET // 2:
        size *= 2
    return size


def table_of(items: Mapping[Any, Any]) -> Table:
    """A new table holding ``items``."""
    size = _size_for(len(items))
    mask = size - 1
    buckets: list[dict[Any, Any]] = [{} for _ in range(size)]
    for key, value in items.items():
        buckets[hash(key) & mask][key] = value
    return mask, buckets


def grown(table: Table) -> Table:
    """The table with twice the buckets: each bucket split in two by one more bit of the hash.

    O(n), once per doubling, so O(1) per insert on average; it runs in the
    writer, and readers go on reading the old table meanwhile.
    """
    mask, buckets = table
    size = mask + 1
    low: list[dict[Any, Any]] = []
    high: list[dict[Any, Any]] = []
    for bucket in buckets:
        stays: dict[Any, Any] = {}
        moves: dict[Any, Any] = {}
        for key, value in bucket.items():
            (moves if hash(key) & size else stays)[key] = value
        low.append(stays)
        high.append(moves)
    return size * 2 - 1, low + high


class BucketSnapshot(Mapping[K, V], Generic[K, V]):
    """A read-only mapping over buckets that never change: what ``RcuDict.snapshot()`` returns."""

    __slots__ = ("_buckets", "_mask")

    def __init__(self, table: Table) -> None:
        mask, buckets = table
        self._mask = mask
        self._buckets: tuple[dict[K, V], ...] = tuple(buckets)

    def __getitem__(self, key: K) -> V:
        return self._buckets[hash(key) & self._mask][key]

    def __contains__(self, key: object) -> bool:
        return key in self._buckets[hash(key) & self._mask]

    def __iter__(self) -> Iterator[K]:
        return itertools.chain.from_iterable(self._buckets)

    def __len__(self) -> int:
        return sum(map(len, self._buckets))

    def __repr__(self) -> str:
        return f"BucketSnapshot({dict(self.items())!r})"
