"""``RcuPtr``, ``RcuList`` and ``RcuDict``: values readers load without a lock.

A reader's ``read()`` is one attribute load. Writers serialise on the
container's ``Mutex`` and publish a new value (copy-on-write) in one store,
or, in an ``RcuDict`` no snapshot shares, make one store into the dict;
what they replace or remove can be retired after a grace period, when no
reader can still be using it.

One rule for retiring, whichever method made the change: every value a
mutator replaces or removes is passed, after a grace period, to the call's
``retire=`` if it has one, else to the container's own ``retire`` (given
when it was made), else to nothing. ``RcuPtr.assign`` is the one raw store
that retires nothing: it returns the old value to the caller.

Published values must be treated as immutable: tuples, frozensets, or copies
no one changes after publishing. A reader holds whatever it loaded, and a
change made in place would be seen half-done.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from types import MappingProxyType, TracebackType
from typing import Any, Generic, NoReturn, TypeVar, cast, final, overload

from ..checks import check_callable, kind_of
from ..forks import free_lock, reset_in_child
from ..interrupts import acquire_into, deferred
from ..locking import Mutex
from ._domain import RcuDomain, default_domain

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


def _writer_mutex(kind: str, name: str | None) -> Mutex:
    """The writers' mutex: named after the container, else after where it was created."""
    if name is not None and not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"a {kind}'s name must be a str or None, got {kind_of(name)}")
    if name is None:
        frame = sys._getframe(2)  # pyright: ignore[reportPrivateUsage]
        name = f"{kind}@{frame.f_code.co_filename}:{frame.f_lineno}"
    return Mutex(name)


class _Published:
    """Shared plumbing: the domain, the writers' mutex, and what old values retire to."""

    __slots__ = ("__weakref__", "domain", "retire", "writer")

    def __init__(
        self, domain: RcuDomain | None, writer: Mutex, retire: Callable[[Any], object] | None
    ) -> None:
        self.domain: RcuDomain = default_domain if domain is None else domain
        self.writer: Mutex = writer
        self.retire: Callable[[Any], object] | None = retire
        """What replaced and removed values are passed to, when a call names nothing else."""
        reset_in_child(self, _Published._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        """Free the writers' mutex, and end the write a thread the fork left behind was in.

        Its one store, the published value, happened or did not; what is left
        is the mark the write set while it ran, which would refuse the next one.
        """
        if free_lock(self.writer):  # else the forking thread is inside a write: it ends it
            self._no_write_under_way()

    def _no_write_under_way(self) -> None:
        """Clear the marks a write sets while it runs (the writers' mutex is free)."""
        raise NotImplementedError

    @staticmethod
    def _check_domain(domain: object) -> None:
        """Refuse a domain that is not one, before anything is made (the writer's mutex)."""
        if domain is not None and not isinstance(domain, RcuDomain):
            raise TypeError(f"domain must be an RcuDomain or None, got {kind_of(domain)}")


@deferred  # every value retires, or the interrupt waits until they all have
def _retire_later(
    container: _Published, retire: Callable[[Any], object] | None, values: Iterable[Any]
) -> None:
    """The one rule: ``values`` go to ``retire``, else the container's own, after a grace period."""
    chosen = container.retire if retire is None else retire
    if chosen is None:
        return
    for value in values:
        container.domain.call_rcu(chosen, value)


def _refuse_write_inside_write(container: object, call: str, source: str) -> NoReturn:
    """Raise for a write to ``container`` made while this thread is inside another write to it.

    Only Python code that the outer write runs can get there (``source``
    names it): the writers' mutex is recursive, and the outer write, working
    from what it read before, would undo the inner one, or store into a dict
    a snapshot already shares. So it is refused before it changes anything.
    """
    kind = type(container).__name__
    raise RuntimeError(
        f"{kind}.{call} was called inside another write to the same {kind} in this "
        f"thread ({source}), which would undo it: write once that call has returned"
    )


_IN_A_KEY = "from a key's __eq__ or __hash__"
_IN_AN_ITEM = "from an item's __eq__, as remove() compares it"
_IN_A_BLOCK = "inside its copy_update() block, or the value's __copy__"


def _check_retire(retire: object) -> None:
    if retire is not None:
        check_callable(retire, "retire", "retire(value)")


def _check_index(index: object, where: str) -> int:
    """An index as a list takes it; one beyond any list's length is clamped to the longest."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"{where} takes an int index, got {kind_of(index)}")
    return max(-sys.maxsize, min(index, sys.maxsize))


def _check_key(key: object) -> None:
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"an RcuDict key must be hashable, got {kind_of(key)}") from None


def _tuple_of(items: object, where: str) -> tuple[Any, ...]:
    try:
        return tuple(cast("Iterable[Any]", items))
    except TypeError:
        raise TypeError(f"{where} takes an iterable of items, got {kind_of(items)}") from None


def _dict_of(items: object, where: str) -> dict[Any, Any]:
    try:
        return dict(cast("Iterable[tuple[Any, Any]]", items))
    except (TypeError, ValueError):
        raise TypeError(
            f"{where} takes a mapping or an iterable of (key, value) pairs, got {kind_of(items)}"
        ) from None


@final
class Draft(Generic[T]):
    """The copy ``RcuPtr.copy_update()`` lets a writer change; set ``value`` to replace it.

    Args:
        value: the copy of the current value.

    Examples:
        >>> ptr = RcuPtr(("eth0",))
        >>> with ptr.copy_update() as draft:
        ...     draft.value = (*draft.value, "eth1")
        >>> ptr.read()
        ('eth0', 'eth1')
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value: T = value


@final
class CopyUpdate(Generic[T]):
    """The context manager of ``RcuPtr.copy_update()``: publishes the draft on a clean exit.

    On entry it takes the writers' mutex and copies the value into a
    ``Draft``; on a clean exit it publishes the draft, releases the mutex and
    retires the old value; on an exception it changes nothing.

    >>> ptr = RcuPtr({"mtu": 1500})
    >>> try:
    ...     with ptr.copy_update() as draft:
    ...         draft.value["mtu"] = 9000
    ...         raise ValueError("changed my mind")
    ... except ValueError:
    ...     pass
    >>> ptr.read()
    {'mtu': 1500}
    """

    __slots__ = ("_draft", "_ptr", "_retire")

    def __init__(self, ptr: RcuPtr[T], retire: Callable[[T], object] | None) -> None:
        """Use ``ptr.copy_update()``, which makes one.

        Args:
            ptr: the pointer to update.
            retire: called with the old value after a grace period.

        Raises:
            TypeError: ``ptr`` is not an ``RcuPtr``, or ``retire`` not callable.
        """
        given = cast("object", ptr)  # as called, whatever the annotations say
        if not isinstance(given, RcuPtr):
            raise TypeError(f"CopyUpdate works on an RcuPtr, got {kind_of(ptr)}")
        _check_retire(retire)
        self._ptr = ptr
        self._retire = retire
        self._draft: Draft[T] | None = None

    @deferred
    def __enter__(self) -> Draft[T]:
        ptr = self._ptr
        held: list[Mutex] = []
        marked = False  # whether this entry marked the pointer, so must unmark it
        try:
            acquire_into(held, ptr.writer)  # Ctrl-C can end the wait; held says if it was taken
            # An open block of this thread would publish its draft over this one's.
            if ptr._drafting:  # pyright: ignore[reportPrivateUsage]
                _refuse_write_inside_write(ptr, "copy_update()", _IN_A_BLOCK)
            # Marked before the value's __copy__ runs: it, and the block, are inside.
            ptr._drafting = marked = True  # pyright: ignore[reportPrivateUsage]
            self._draft = Draft(copy.copy(ptr.read()))
        except BaseException:
            if marked:
                ptr._drafting = False  # pyright: ignore[reportPrivateUsage]
            for mutex in held:
                mutex.release()
            raise
        return self._draft

    @deferred  # published, writer released and old value retired: all or none
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        draft, self._draft = self._draft, None
        try:
            if exc_type is not None or draft is None:
                return  # nothing is published: readers keep the current value
            old = self._ptr.assign(draft.value)
        finally:
            if draft is not None:  # entered: this block marked the pointer
                self._ptr._drafting = False  # pyright: ignore[reportPrivateUsage]
            self._ptr.writer.release()
        _retire_later(self._ptr, self._retire, (old,))


@final
class RcuPtr(_Published, Generic[T]):
    """A pointer readers load without a lock, as OSv's ``rcu_ptr<T>``.

    ``read()`` is a plain load, valid inside a read section or not; inside
    one, the value stays usable until the section ends even if a writer
    replaces it and retires the old one. Writers are serialised by the caller
    (``writer`` is a ``Mutex`` for that), or use ``copy_update()``.

    Args:
        value: the first value.
        domain: the RCU domain its grace periods belong to (default: the
            module's).
        name: names the writers' mutex; by default, where it was made.
        retire: what ``copy_update()`` passes the value it replaces to, after
            a grace period, when it names nothing else.

    Raises:
        TypeError: ``domain`` is not an ``RcuDomain``, ``name`` not a str, or
            ``retire`` not callable.

    Examples:
        >>> from osv_idioms.rcu import read_lock
        >>> devices = RcuPtr(("eth0",))
        >>> with read_lock():
        ...     devices.read()
        ('eth0',)
        >>> devices.assign(("eth0", "eth1"))
        ('eth0',)
        >>> with devices.copy_update() as draft:
        ...     draft.value = draft.value + ("lo",)
        >>> devices.read()
        ('eth0', 'eth1', 'lo')
    """

    # _drafting: a copy_update() block of this thread is open (it holds the mutex).
    __slots__ = ("_drafting", "_value")

    def __init__(
        self,
        value: T,
        *,
        domain: RcuDomain | None = None,
        name: str | None = None,
        retire: Callable[[T], object] | None = None,
    ) -> None:
        self._check_domain(domain)
        _check_retire(retire)
        super().__init__(domain, _writer_mutex("rcu_ptr", name), retire)
        self._value = value
        self._drafting = False

    def _no_write_under_way(self) -> None:
        self._drafting = False

    def read(self) -> T:
        """The current value: one attribute load, never blocked by a writer."""
        return self._value

    def read_by_owner(self) -> T:
        """The current value, for the writer that serialises updates (OSv's ``read_by_owner``)."""
        return self._value

    def assign(self, new: T) -> T:
        """Publish ``new`` in one store and return the value it replaced.

        The one raw store: serialise writers yourself (``with ptr.writer:``) and
        retire the old value with ``call_rcu`` or ``dispose`` once readers may
        still hold it.

        Args:
            new: the value to publish.

        Returns:
            The value it replaced.
        """
        old = self._value
        self._value = new
        return old

    def copy_update(self, *, retire: Callable[[T], object] | None = None) -> CopyUpdate[T]:
        """Copy the value under the writers' mutex for the caller to change, then publish it.

        On a clean exit of the ``with`` block the draft is published and the
        old value retired after a grace period; on an exception nothing changes.
        The copy is ``copy.copy``: shallow.

        Args:
            retire: called with the replaced value after a grace
                period (default: the container's own ``retire``).

        Returns:
            The context manager; ``with`` it, and set the draft's ``value``.

        Raises:
            TypeError: ``retire`` is not callable.

        Entering the block raises ``RuntimeError`` inside another
        ``copy_update()`` block of this pointer in the same thread, whose
        draft would be published over this one; nothing changes.
        """
        return CopyUpdate(self, retire)

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return f"RcuPtr({self._value!r})"


@final
class RcuList(_Published, Generic[T]):
    """A read-mostly list (OSv's ``rcu_list``): lock-free reads of a tuple snapshot.

    Reading, indexing and iterating take no lock and see one consistent
    snapshot. Writes take the writers' mutex and publish a new tuple; the
    values they remove retire by the module's one rule.

    Args:
        items: the first items.
        domain: the RCU domain its grace periods belong to.
        name: names the writers' mutex; by default, where it was made.
        retire: what removed values are passed to after a grace period, when
            a call names nothing else.

    Raises:
        TypeError: ``items`` is not iterable, ``domain`` not an ``RcuDomain``,
            ``name`` not a str, or ``retire`` not callable.

    Examples:
        >>> handlers = RcuList(["log"])
        >>> handlers.append("audit")
        >>> [h for h in handlers], len(handlers), "log" in handlers
        (['log', 'audit'], 2, True)
        >>> handlers.remove("log")
        >>> handlers.snapshot()
        ('audit',)
    """

    # _removing: remove() is comparing items, which runs their Python __eq__;
    # a write that finds it set, holding the mutex, comes from inside it.
    __slots__ = ("_items", "_removing")

    def __init__(
        self,
        items: Iterable[T] = (),
        *,
        domain: RcuDomain | None = None,
        name: str | None = None,
        retire: Callable[[T], object] | None = None,
    ) -> None:
        self._check_domain(domain)
        _check_retire(retire)
        items = _tuple_of(items, "RcuList()")
        super().__init__(domain, _writer_mutex("rcu_list", name), retire)
        self._items: tuple[T, ...] = items
        self._removing = False

    def _no_write_under_way(self) -> None:
        self._removing = False

    def snapshot(self) -> tuple[T, ...]:
        """The current contents: a tuple no writer will ever change."""
        return self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, value: object) -> bool:
        return value in self._items

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._items[index]

    def __repr__(self) -> str:
        return f"RcuList({list(self._items)!r})"

    @deferred
    def append(self, value: T) -> None:
        """Publish the list with ``value`` at the end.

        Args:
            value: the item to add.

        Raises:
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "append()", _IN_AN_ITEM)
            self._items = self._items + (value,)  # noqa: RUF005  # one copy: 8x faster than (*items, value) at 100,000

    @deferred
    def extend(self, values: Iterable[T]) -> None:
        """Publish the list with ``values`` at the end, all at once.

        Args:
            values: the items to add.

        Raises:
            TypeError: ``values`` is not iterable.
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        more = _tuple_of(values, "RcuList.extend()")
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "extend()", _IN_AN_ITEM)
            self._items = self._items + more

    @deferred
    def insert(self, index: int, value: T) -> None:
        """Publish the list with ``value`` inserted before ``index``.

        Args:
            index: where, as ``list.insert`` takes it.
            value: the item to add.

        Raises:
            TypeError: ``index`` is not an int.
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        index = _check_index(index, "RcuList.insert()")
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "insert()", _IN_AN_ITEM)
            items = list(self._items)
            items.insert(index, value)
            self._items = tuple(items)

    @deferred
    def remove(self, value: T, *, retire: Callable[[T], object] | None = None) -> None:
        """Publish the list without the first ``value``; retire it after a grace period.

        Args:
            value: the item to remove.
            retire: called with each replaced or removed value after a grace
                period (default: the container's own ``retire``).

        Raises:
            ValueError: ``value`` is not in the list; nothing changes.
            TypeError: ``retire`` is not callable.
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        _check_retire(retire)
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "remove()", _IN_AN_ITEM)
            items = list(self._items)
            self._removing = True
            try:
                index = items.index(value)
            except ValueError:
                raise ValueError(f"RcuList.remove({value!r}): not in the list") from None
            finally:
                self._removing = False
            removed = items.pop(index)
            self._items = tuple(items)
        _retire_later(self, retire, (removed,))

    @deferred
    def pop(self, index: int = -1, *, retire: Callable[[T], object] | None = None) -> T:
        """Publish the list without the item at ``index``; return it, and retire it later.

        Args:
            index: which item, as ``list.pop`` takes it.
            retire: called with each replaced or removed value after a grace
                period (default: the container's own ``retire``).

        Returns:
            The item removed.

        Raises:
            IndexError: the list is empty or ``index`` is out of range; nothing changes.
            TypeError: ``index`` is not an int, or ``retire`` not callable.
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        index = _check_index(index, "RcuList.pop()")
        _check_retire(retire)
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "pop()", _IN_AN_ITEM)
            items = list(self._items)
            if not items:
                raise IndexError("pop from an empty RcuList")
            removed = items.pop(index)
            self._items = tuple(items)
        _retire_later(self, retire, (removed,))
        return removed

    @deferred
    def clear(self, *, retire: Callable[[T], object] | None = None) -> None:
        """Publish an empty list; retire every removed value after a grace period.

        Args:
            retire: called with each replaced or removed value after a grace
                period (default: the container's own ``retire``).

        Raises:
            TypeError: ``retire`` is not callable.
            RuntimeError: called from inside ``remove()`` of this list (an item's
                ``__eq__``); nothing changes.
        """
        _check_retire(retire)
        with self.writer:
            if self._removing:
                _refuse_write_inside_write(self, "clear()", _IN_AN_ITEM)
            removed, self._items = self._items, ()
        _retire_later(self, retire, removed)


@final
class RcuDict(_Published, Mapping[K, V], Generic[K, V]):
    """A read-mostly dict (OSv's ``rcu_hashtable``): lock-free lookups, writes in O(1).

    A lookup is one lookup in the published dict and takes no lock. A write
    takes the writers' mutex and changes that dict in place: one C-level
    store, which readers see whole or not at all. A snapshot hands out the
    published dict itself, in O(1); the next write then copies it first (once,
    O(n) in C) and publishes the copy, so a snapshot never changes.
    ``update()`` and ``clear()`` publish a new dict, so readers see all of
    their pairs or none. Iterating, ``keys()``, ``items()`` and ``values()``
    walk one snapshot. Every value a write replaces or removes retires by the
    module's one rule, whichever method made the change (``d[k] = v`` and
    ``update()`` included).

    Args:
        items: the first pairs, as ``dict()`` takes them.
        domain: the RCU domain its grace periods belong to.
        name: names the writers' mutex; by default, where it was made.
        retire: what replaced and removed values are passed to after a grace
            period, when a call names nothing else.

    Raises:
        TypeError: ``items`` is not a mapping or pairs, ``domain`` not an
            ``RcuDomain``, ``name`` not a str, or ``retire`` not callable.

    Examples:
        >>> routes = RcuDict({"10.0.0.0/8": "eth0"})
        >>> routes["192.168.0.0/16"] = "wlan0"
        >>> routes.get("10.0.0.0/8"), len(routes)
        ('eth0', 2)
        >>> routes.remove("10.0.0.0/8")
        'eth0'
        >>> dict(routes.snapshot())
        {'192.168.0.0/16': 'wlan0'}
    """

    # _entries: the published dict. _private: the same dict while no snapshot
    # has been handed out since it was published, so writers may store into it;
    # None (or an older dict) once one has. _storing: a writer is between
    # looking at _private and its one store, so a snapshot must not share.
    # A writer sets _storing before it looks at _private; a snapshot clears
    # _private before it looks at _storing. So one of the two sees the other's
    # store, as a read section and a grace period see each other's. It is set
    # by every write that can run a key's Python code (update() too, though a
    # snapshot then copies for nothing), so a write that finds it set, holding
    # the mutex, comes from inside a write of this thread: refused.
    __slots__ = ("_entries", "_private", "_storing")

    def __init__(
        self,
        items: Mapping[K, V] | Iterable[tuple[K, V]] = (),
        *,
        domain: RcuDomain | None = None,
        name: str | None = None,
        retire: Callable[[V], object] | None = None,
    ) -> None:
        self._check_domain(domain)
        _check_retire(retire)
        mapping: dict[K, V] = _dict_of(items, "RcuDict()")
        super().__init__(domain, _writer_mutex("rcu_dict", name), retire)
        self._storing = False
        self._private: dict[K, V] | None = mapping
        self._entries: dict[K, V] = mapping

    def _no_write_under_way(self) -> None:
        self._storing = False

    def snapshot(self) -> Mapping[K, V]:
        """The current contents: a read-only mapping no writer will ever change.

        O(1): it is the published dict itself, which writers copy before
        their next store. Taking one never waits for a writer.
        """
        entries = self._entries
        self._private = None  # from here on, a writer copies before it stores
        if self._storing:  # a writer that looked before that may still store into it, once
            entries = _copy_beside_one_store(entries)
        return MappingProxyType(entries)

    # Lookups: one load and one dict lookup, written out (a helper would cost a call).

    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        """The value of ``key``, or ``default`` when it has none: one lookup, no lock.

        Args:
            key: a hashable key.
            default: what to return when ``key`` is not in the dict.
        """
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    # Walks: over one snapshot, never over a dict that changes as they go.

    def __iter__(self) -> Iterator[K]:
        return iter(self.snapshot())

    def keys(self) -> KeysView[K]:
        return self.snapshot().keys()

    def items(self) -> ItemsView[K, V]:
        return self.snapshot().items()

    def values(self) -> ValuesView[V]:
        return self.snapshot().values()

    def __repr__(self) -> str:
        return f"RcuDict({dict(self.items())!r})"

    def __setitem__(self, key: K, value: V) -> None:
        """``put(key, value)``: the replaced value retires to the dict's own ``retire``."""
        self.put(key, value)

    def __delitem__(self, key: K) -> None:
        """``remove(key)``: the removed value retires to the dict's own ``retire``."""
        self.remove(key)

    @deferred
    def put(self, key: K, value: V, *, retire: Callable[[V], object] | None = None) -> V | None:
        """Publish the dict with ``key`` set to ``value``; return and retire the old value.

        Args:
            key: a hashable key.
            value: its new value.
            retire: called with the replaced value after a grace
                period (default: the container's own ``retire``).

        Returns:
            The value replaced, or None if ``key`` was new (nothing retires then).

        Raises:
            TypeError: ``key`` is not hashable, or ``retire`` not callable.
            RuntimeError: called from inside another write to this dict (a
                key's ``__eq__``); nothing changes.
        """
        _check_retire(retire)
        _check_key(key)
        with self.writer:
            if self._storing:
                _refuse_write_inside_write(self, "put()", _IN_A_KEY)
            self._storing = True
            try:
                entries = self._writable()
                had_key = key in entries
                old = entries.get(key)
                entries[key] = value
            finally:
                self._storing = False
        if had_key:
            _retire_later(self, retire, (old,))
        return old

    @deferred
    def remove(self, key: K, *, retire: Callable[[V], object] | None = None) -> V:
        """Publish the dict without ``key``; return its value and retire it after a grace period.

        Args:
            key: the key to remove.
            retire: called with the removed value after a grace
                period (default: the container's own ``retire``).

        Returns:
            The value removed.

        Raises:
            KeyError: ``key`` is not in the dict; nothing changes.
            TypeError: ``key`` is not hashable, or ``retire`` not callable.
            RuntimeError: called from inside another write to this dict (a
                key's ``__eq__``); nothing changes.
        """
        _check_retire(retire)
        _check_key(key)
        with self.writer:
            if self._storing:
                _refuse_write_inside_write(self, "remove()", _IN_A_KEY)
            self._storing = True
            try:
                value: V = self._writable().pop(key)
            finally:
                self._storing = False
        _retire_later(self, retire, (value,))
        return value

    @deferred
    def update(
        self,
        items: Mapping[K, V] | Iterable[tuple[K, V]],
        *,
        retire: Callable[[V], object] | None = None,
    ) -> None:
        """Publish the dict with every pair of ``items`` set at once; retire what they replace.

        Readers see all of the pairs or none: the pairs go into a copy of the
        dict (O(n), in C), published in one store.

        Args:
            items: a mapping, or an iterable of (key, value) pairs.
            retire: called with each replaced or removed value after a grace
                period (default: the container's own ``retire``).

        Raises:
            TypeError: ``items`` is neither, or ``retire`` is not callable.
            RuntimeError: called from inside another write to this dict (a
                key's ``__eq__``); nothing changes.

        Examples:
            >>> import osv_idioms.rcu as rcu
            >>> closed = []
            >>> ports = RcuDict({"a": 1}, retire=closed.append)
            >>> ports.update({"a": 2, "b": 3}); ports["b"] = 4; rcu.barrier()
            >>> closed, dict(ports)
            ([1, 3], {'a': 2, 'b': 4})
        """
        more = _dict_of(items, "RcuDict.update()")
        _check_retire(retire)
        with self.writer:
            if self._storing:
                _refuse_write_inside_write(self, "update()", _IN_A_KEY)
            self._storing = True  # the keys' __eq__ runs here
            try:
                entries = self._entries.copy()
                replaced: list[V] = [entries[key] for key in more if key in entries]
                entries.update(more)
                self._publish(entries)
            finally:
                self._storing = False
        _retire_later(self, retire, replaced)

    @deferred
    def clear(self, *, retire: Callable[[V], object] | None = None) -> None:
        """Publish an empty dict; retire every removed value after a grace period.

        Args:
            retire: called with each replaced or removed value after a grace
                period (default: the container's own ``retire``).

        Raises:
            TypeError: ``retire`` is not callable.
            RuntimeError: called from inside another write to this dict (a
                key's ``__eq__``); nothing changes.
        """
        _check_retire(retire)
        with self.writer:
            if self._storing:
                _refuse_write_inside_write(self, "clear()", _IN_A_KEY)
            removed = self._entries
            self._publish({})
        _retire_later(self, retire, removed.values())

    def _writable(self) -> dict[K, V]:
        """The published dict, ready for one store (mutex held, ``_storing`` set).

        If a snapshot may share it, it is copied first and the copy published:
        then the store goes into a dict no snapshot holds.
        """
        entries = self._entries
        if self._private is not entries:
            entries = entries.copy()
            self._publish(entries)
        return entries

    def _publish(self, entries: dict[K, V]) -> None:
        """Make ``entries``, a dict no one else holds, the published one (mutex held)."""
        # Marked private before it is published: a snapshot that loads it then
        # clears the mark after this store, never before it.
        self._private = entries
        self._entries = entries


def _copy_beside_one_store(entries: dict[K, V]) -> dict[K, V]:
    """A copy of ``entries`` while at most one writer's store may still land in it.

    That one store lands wholly before or after the copy, so the copy is a
    state the dict was in. A copy made in C runs no Python code unless a key's
    ``__eq__`` is Python; then the store can land mid-copy, and C refuses that
    copy (``RuntimeError``). The store is done by then, and no writer stores
    into this dict again, so the second copy is whole: a second refusal is
    the keys' own error, and is raised.
    """
    try:
        return entries.copy()
    except RuntimeError:
        return entries.copy()
