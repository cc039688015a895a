"""Intrusive reference counting: the count lives in the object, as with ``boost::intrusive_ptr``.

OSv's ``fileref``, ``dentry_ref`` and ``pipe_buffer_ref`` count references
inside the object and take a reference only "if positive" when a lookup found
an object that may be on its way out. The count starts at 0; ``add_ref()``
and ``release()`` change it under a lock picked by the object's identity from
a small fixed set, so the mixin adds one slot and no lock per object.
"""

from __future__ import annotations

from typing import Generic, TypeVar, cast, final

from ..checks import kind_of
from ..errors import RefCountError, ReleasedHandleError
from ..interrupts import deferred
from ._common import close_if_closeable, described, stripe_for
from ._shared import Handle


class IntrusiveRefCounted:
    """Mixin: a reference count kept in the object, starting at 0.

    ``add_ref()`` and ``release()`` return the new count; the release that
    brings it to 0 calls ``on_last_release()`` (by default ``close()`` when the
    object has one), in the releasing thread, with no lock held.

    >>> class File(IntrusiveRefCounted):
    ...     closed = False
    ...     def close(self) -> None:
    ...         self.closed = True
    >>> f = File()
    >>> f.add_ref(), f.add_ref(), f.release()
    (1, 2, 1)
    >>> f.release(), f.closed
    (0, True)
    """

    __slots__ = ("_osv_refs",)
    _osv_refs: int
    # Reached through the class, not module globals: a reference released as the
    # interpreter shuts down may outlive the globals.
    _osv_stripe_for = staticmethod(stripe_for)
    _osv_close_if_closeable = staticmethod(close_if_closeable)

    @property
    def ref_count(self) -> int:
        """The current count."""
        return getattr(self, "_osv_refs", 0)

    @deferred
    def add_ref(self) -> int:
        """Take a reference; return the new count."""
        with self._osv_stripe_for(self):
            try:  # an attribute, not getattr(): no call while a stripe is held (see stripe_for)
                count = self._osv_refs + 1
            except AttributeError:  # never counted
                count = 1
            self._osv_refs = count
        return count

    @deferred  # the count reaching 0 and on_last_release() go together
    def release(self) -> int:
        """Drop a reference; the last one calls ``on_last_release()``. Return the new count.

        Raises:
            RefCountError: the count is already 0; it stays 0.
        """
        with self._osv_stripe_for(self):
            try:  # no call while a stripe is held, as in add_ref()
                count = self._osv_refs - 1
            except AttributeError:  # never counted
                count = -1
            if count >= 0:
                self._osv_refs = count
        if count < 0:  # raised with the stripe free: building the error allocates
            raise RefCountError(
                f"release() on {described(self)} whose reference count is already 0: "
                "a reference was released twice or never taken"
            )
        if count == 0:
            self.on_last_release()
        return count

    def on_last_release(self) -> None:
        """Called when the count drops to 0; override it. By default calls ``close()``."""
        self._osv_close_if_closeable(self)


T = TypeVar("T", bound=IntrusiveRefCounted)


@deferred
def ref_if_positive(obj: T) -> IntrusivePtr[T] | None:
    """Take a reference only if the object still has one (OSv's ``fhold_if_positive``).

    For a reader that found ``obj`` in an RCU structure: if its count already
    fell to 0 it is being torn down and must not be revived, so the answer is
    ``None``.

    Args:
        obj: an ``IntrusiveRefCounted`` object.

    Returns:
        A handle holding the new reference, or None.

    Raises:
        TypeError: ``obj`` is not ``IntrusiveRefCounted``.

    Examples:
        >>> class Node(IntrusiveRefCounted):
        ...     pass
        >>> node = Node()
        >>> ref_if_positive(node) is None
        True
        >>> owner = IntrusivePtr(node)
        >>> extra = ref_if_positive(node)
        >>> node.ref_count
        2
        >>> extra.release(); owner.release()
    """
    if not isinstance(obj, IntrusiveRefCounted):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"ref_if_positive() takes an IntrusiveRefCounted object, got {kind_of(obj)}"
        )
    with stripe_for(obj):
        try:  # no call while a stripe is held, as in add_ref()
            count = obj._osv_refs  # pyright: ignore[reportPrivateUsage]
        except AttributeError:  # never counted
            return None
        if count <= 0:
            return None
        obj._osv_refs = count + 1  # pyright: ignore[reportPrivateUsage]
    return _adopt(obj)


@final
class IntrusivePtr(Handle, Generic[T]):
    """A handle holding one reference of an ``IntrusiveRefCounted`` object.

    Like ``SharedPtr``: ``get()``, ``clone()``, ``release()`` (idempotent per
    handle), a context manager, and a ``ResourceWarning`` (and a release) if
    it is collected unreleased.

    Args:
        obj: the object; the handle takes a reference with ``add_ref()``.

    Raises:
        TypeError: ``obj`` is not ``IntrusiveRefCounted``.

    Examples:
        >>> class File(IntrusiveRefCounted):
        ...     def close(self) -> None:
        ...         print("closed")
        >>> with IntrusivePtr(File()) as first:
        ...     second = first.clone()
        ...     first.get().ref_count
        2
        >>> second.release()
        closed
    """

    __slots__ = ("_obj",)

    @deferred  # the reference and the handle that holds it go together
    def __init__(self, obj: T) -> None:
        self._mine: list[object] = []  # until it owns something: __del__ finds nothing to do
        if not isinstance(obj, IntrusiveRefCounted):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"IntrusivePtr needs an IntrusiveRefCounted object, got {kind_of(obj)}")
        obj.add_ref()
        self._obj: T = obj
        self._mine = [None]

    def get(self) -> T:
        """The object.

        Raises:
            ReleasedHandleError: this handle was released.
        """
        if not self._mine:
            raise ReleasedHandleError(f"get() on a released IntrusivePtr to {described(self._obj)}")
        return self._obj

    def clone(self) -> IntrusivePtr[T]:
        """Another handle, with a reference of its own."""
        self.get()
        return IntrusivePtr(self._obj)

    def __copy__(self) -> IntrusivePtr[T]:
        """``copy.copy(handle)`` is another handle with a reference of its own: ``clone()``."""
        return self.clone()

    @deferred
    def release(self) -> None:
        """Drop this handle's reference (once; later calls do nothing)."""
        try:
            self._mine.pop()  # atomic: only one release() of this handle gets the token
        except IndexError:
            return
        self._obj.release()

    def _label(self) -> str:
        return described(self._obj)

    def __repr__(self) -> str:
        state = "released" if not self._mine else f"ref_count={self._obj.ref_count}"
        return f"<IntrusivePtr to {described(self._obj)} {state}>"


def _adopt(obj: T) -> IntrusivePtr[T]:
    """A handle for a reference already taken (by ``ref_if_positive``)."""
    handle = cast("IntrusivePtr[T]", object.__new__(IntrusivePtr))
    handle._obj = obj  # pyright: ignore[reportPrivateUsage]
    handle._mine = [None]  # pyright: ignore[reportPrivateUsage]
    return handle
