"""``SharedPtr`` and ``WeakPtr``: shared ownership of a resource, released deterministically.

Every handle is one owner. The owners of one resource share a control block:
the object, its deleter and the count of owners, kept without a lock. The
thread whose ``release()`` drops the count to zero runs the deleter, with no
lock held, at that moment; so the resource is closed exactly once, when the
last owner lets go, rather than whenever the garbage collector gets to it.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar, cast, final

from ..checks import accepts, check_callable, flag, kind_of
from ..errors import BadWeakPtr, LeakedHandleError, ReleasedHandleError
from ..interrupts import deferred
from ..rcu import RcuDomain, default_domain
from ._common import close_if_closeable, described, stripe_for

T = TypeVar("T")
Deleter = Callable[[Any], object]


class _Strict:
    """Whether a leaked handle is an error (for test suites) instead of a warning."""

    on = False


def set_strict(on: bool) -> None:
    """Make a handle collected without ``release()`` raise ``LeakedHandleError``.

    The error is raised from the garbage collector, so Python reports it
    through ``sys.unraisablehook`` (pytest turns that into a test failure).
    The resource is released first either way; the default is a
    ``ResourceWarning``.

    Args:
        on: raise (True) or warn (False).

    Raises:
        TypeError: ``on`` is not a bool.

    Examples:
        >>> set_strict(True); set_strict(False)
    """
    _Strict.on = flag(on, "on")


# What this module's handles touch as they are collected (release, the lock of the
# weak count, the bottom token) is reached through the objects, not module globals:
# collected while the interpreter shuts down, a handle may outlive the globals.


@final
class _Control:
    """What the owners of one resource share.

    The owners are counted as tokens in a list: ``[LAST, None, ...]``, one
    per owner. ``list.append`` and ``list.pop`` are atomic (on the free-threaded
    build too), so cloning and releasing need no lock, and exactly one release
    pops ``LAST``: the last one, since the pops are ordered. While the
    resource lives, ``LAST`` is at the bottom; once it has been popped, any
    token in the list is one that ``WeakPtr.lock()`` added too late and takes
    back (see there). ``weak`` counts the weak handles, under ``lock``.
    """

    __slots__ = ("defer", "deleter", "kind", "obj", "obj_id", "owners", "weak")

    LAST: ClassVar[object] = object()  # the bottom token: whoever pops it released the last owner

    def __init__(
        self, obj: object, deleter: Deleter = close_if_closeable, defer: RcuDomain | None = None
    ) -> None:
        self.obj: object = obj
        self.deleter: Deleter = deleter
        self.defer: RcuDomain | None = defer
        self.kind: type[object] = type(obj)  # kind and obj_id name it in messages,
        self.obj_id: int = id(obj)  # formatted only when one is shown
        self.owners: list[object] = [self.LAST]
        self.weak: int = 0

    _stripe_for = staticmethod(stripe_for)

    @property
    def lock(self) -> threading.RLock:
        """The lock the weak count changes under: one of a fixed set, so no lock per resource."""
        return self._stripe_for(self)

    @property
    def label(self) -> str:
        """The resource as messages name it, even after it was deleted."""
        return f"{self.kind.__name__} object at {self.obj_id:#x}"

    def alive(self) -> bool:
        """Whether the last owner has not let go yet (one atomic slice of the list)."""
        bottom = self.owners[:1]
        return bool(bottom) and bottom[0] is self.LAST

    def use_count(self) -> int:
        """How many owners there are now; 0 once the last let go."""
        count = len(self.owners)
        return count if self.alive() else 0

    def add_owner_if_alive(self) -> bool:
        """Add an owner unless the last one has gone: ``WeakPtr.lock()``'s step.

        Append first, then look: if ``LAST`` is still at the bottom, the new
        token sits above it and keeps the resource alive (pops are ordered, so
        ``LAST`` goes only after it). If not, the last owner had gone before
        the append: take the token back. No owner ever pops it meanwhile,
        since there are none. Checking first and appending after would let
        the last release fall between the two.
        """
        owners = self.owners
        owners.append(None)
        if owners[0] is self.LAST:
            return True
        owners.pop()
        return False


_new = (
    object.__new__
)  # a global: cheaper than object.__new__ (release(), which __del__ calls, uses none)


class Handle:
    """What every owning handle shares: a claim while it owns, ``with``, and the leak check.

    Not made itself: ``SharedPtr`` and ``IntrusivePtr`` are handles. ``_mine``
    holds one token while the handle owns and none once released; popping it
    is atomic, so ``release()`` counts once even if two threads call it on the
    same handle.

    >>> handle = make_shared(list)
    >>> isinstance(handle, Handle), handle.released
    (True, False)
    >>> with handle:
    ...     pass
    >>> handle.released
    True
    """

    __slots__ = ("_mine",)
    _mine: list[object]

    def __init__(self) -> None:
        """Refuse ``Handle()`` itself: it is what ``SharedPtr`` and ``IntrusivePtr`` share.

        Raises:
            TypeError: always; each handle has its own constructor.
        """
        self._mine = []  # so that __del__ finds nothing to do
        raise TypeError("Handle is the base of SharedPtr and IntrusivePtr: make one of those")

    def release(self) -> None:
        """Let go of what this handle owns (once; later calls do nothing)."""
        raise NotImplementedError

    def _label(self) -> str:
        raise NotImplementedError

    @property
    def released(self) -> bool:
        """Whether this handle was released."""
        return not self._mine

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @deferred  # Python drops an exception from __del__: Ctrl-C must wait until it is done
    def __del__(self) -> None:
        try:
            mine = self._mine  # [] until the handle owns
        except AttributeError:  # never built: a constructor refused its arguments
            return
        if mine:
            self.release()  # first, and whatever else fails: the resource is let go
            if not self._finalizing():  # at shutdown, what the warning needs may be gone
                _collected_unreleased(self, self._label())

    _finalizing = staticmethod(sys.is_finalizing)

    def __deepcopy__(self, memo: object) -> Self:
        """Refused: a deep copy would be an owner of a copy of the resource no deleter closes."""
        raise TypeError(
            f"can't deep-copy a {type(self).__name__}: it owns a resource, and a copy of "
            "the resource would have no owner to close it; clone() the handle instead"
        )

    def __reduce_ex__(self, protocol: object) -> Any:
        """Refused: a handle unpickled elsewhere would own nothing that its deleter closes."""
        raise TypeError(
            f"can't pickle a {type(self).__name__}: ownership of a resource does not "
            "travel to another process; pickle the object it holds, if that makes sense"
        )


@final
class SharedPtr(Handle, Generic[T]):
    """One owner of a shared resource, as C++'s ``shared_ptr<T>``.

    ``clone()`` makes another owner; ``release()`` (or leaving the ``with``
    block) lets this one go. The deleter runs exactly once, in the thread that
    releases the last owner, with no library lock held; by default it calls
    the object's ``close()``. With ``rcu=True`` (or a domain) the deleter
    runs after an RCU grace period instead, so readers that found the object
    in an RCU structure can finish with it first.

    >>> class Device:
    ...     closed = False
    ...     def close(self) -> None:
    ...         self.closed = True
    >>> driver = make_shared(Device)
    >>> user = driver.clone()
    >>> driver.use_count
    2
    >>> driver.release()
    >>> user.get().closed
    False
    >>> device = user.get()
    >>> user.release()
    >>> device.closed
    True
    """

    __slots__ = ("_control",)

    @deferred
    def __init__(
        self,
        obj: T,
        *,
        deleter: Callable[[T], object] = close_if_closeable,
        rcu: bool | RcuDomain = False,
    ) -> None:
        """Become the first owner of ``obj``.

        Args:
            obj: the resource.
            deleter: called with ``obj`` when the last owner lets go; by default
                its ``close()``, if it has one.
            rcu: run the deleter after a grace period of the default domain
                (True) or of this domain, instead of at once.

        Raises:
            TypeError: ``deleter`` is not callable with one argument, or ``rcu``
                is neither a bool nor an ``RcuDomain``.
        """
        self._mine: list[object] = []  # until it owns something: __del__ finds nothing to do
        domain = _deferral(deleter, rcu)
        self._control = _Control(obj, deleter, domain)
        self._mine = [None]
        _adopt_this(obj, self._control)

    def get(self) -> T:
        """The resource.

        Raises:
            ReleasedHandleError: this handle was released.
        """
        if not self._mine:
            raise ReleasedHandleError(
                f"get() on a released SharedPtr to {self._control.label}; "
                "clone() a live handle before releasing the one you hold"
            )
        return self._control.obj  # type: ignore[return-value]

    @deferred  # the token and the handle that owns it go together
    def clone(self) -> SharedPtr[T]:
        """Another owner of the same resource.

        Raises:
            ReleasedHandleError: this handle was released.
        """
        if not self._mine:
            raise ReleasedHandleError(f"clone() of a released SharedPtr to {self._control.label}")
        control = self._control
        control.owners.append(None)  # this handle owns a token: the list cannot be empty
        # _owning(control), written out: the call was a tenth of a clone and release.
        handle: SharedPtr[T] = _new(SharedPtr)  # pyright: ignore[reportUnknownVariableType]
        handle._control = control
        handle._mine = [None]
        return handle

    @deferred  # the handle's token and the owner count go together
    def release(self) -> None:
        """Let this owner go; the last one to go runs the deleter, here and now.

        Releasing a handle twice does nothing the second time. If the deleter
        raises, the exception reaches this caller and the handle stays released.
        """
        try:
            self._mine.pop()
        except IndexError:
            return  # released before
        control = self._control
        # The class's LAST, not a module global: a handle left at exit is
        # released by __del__ after shutdown may have cleared the globals.
        if control.owners.pop() is not control.LAST:
            return
        # The last owner: run the deleter here, with no lock held (written out, not a
        # method of _Control: that call was a twentieth of make_shared() and release()).
        # It runs inside this release, which holds Ctrl-C back, so the resource is closed
        # whatever happens, and an interrupt that came meanwhile is raised once it returns.
        obj, control.obj = control.obj, None
        if control.defer is None:
            control.deleter(obj)
        else:
            control.defer.call_rcu(control.deleter, obj)

    @property
    def use_count(self) -> int:
        """How many owners the resource has now (0 once the last let go)."""
        return self._control.use_count()

    def __copy__(self) -> SharedPtr[T]:
        """``copy.copy(handle)`` is another owner, as C++'s copy constructor makes: ``clone()``."""
        return self.clone()

    def weak(self) -> WeakPtr[T]:
        """A weak handle: it does not keep the resource, but can ``lock()`` it while it lives."""
        return WeakPtr(self)

    def _label(self) -> str:
        return self._control.label

    def __repr__(self) -> str:
        state = "released" if not self._mine else f"use_count={self.use_count}"
        return f"<SharedPtr to {self._control.label} {state}>"


def _deferral(deleter: object, rcu: object) -> RcuDomain | None:
    """Check a handle's deleter and ``rcu`` option; the domain its deleter waits for, if any."""
    if deleter is not close_if_closeable:
        check_callable(deleter, "deleter", "deleter(obj)")
        if accepts(deleter, 1) is False:  # type: ignore[arg-type]
            name = getattr(deleter, "__qualname__", deleter)
            raise TypeError(
                f"deleter must be callable as deleter(obj); {name!r} can't take one argument"
            )
    if isinstance(rcu, RcuDomain):
        return rcu
    return default_domain if flag(rcu, "rcu") else None


def _owning(control: _Control) -> SharedPtr[Any]:
    """A new handle for a control block that already holds a token for it."""
    handle: SharedPtr[Any] = _new(SharedPtr)  # pyright: ignore[reportUnknownVariableType]
    handle._control = control  # pyright: ignore[reportPrivateUsage]
    handle._mine = [None]  # pyright: ignore[reportPrivateUsage]
    return handle


def _collected_unreleased(handle: Handle, label: str) -> None:
    """A handle was collected while still owning, and released as a safety net: say so."""
    warnings.warn(
        f"{type(handle).__name__} to {label} was garbage-collected without release(); "
        "it has been released now",
        ResourceWarning,
        source=handle,  # with tracemalloc on, Python shows where it was allocated
        stacklevel=2,
    )
    if _Strict.on:
        raise LeakedHandleError(f"{type(handle).__name__} to {label} was never released")


def make_shared(
    factory: Callable[..., T],
    /,
    *args: Any,
    deleter: Callable[[T], object] = close_if_closeable,
    rcu: bool | RcuDomain = False,
    **kwargs: Any,
) -> SharedPtr[T]:
    """Make the resource and its first owner in one step (C++'s ``make_shared``).

    If the factory raises, there is no handle and nothing to release. Type
    checkers see the object's type; the factory's arguments are not checked (a
    ``ParamSpec`` cannot sit beside the keyword-only ``deleter``).

    Args:
        factory: builds the resource, as ``factory(*args, **kwargs)``.
        *args: the factory's positional arguments.
        deleter: as for ``SharedPtr``; by default the object's ``close()``.
        rcu: as for ``SharedPtr``.
        **kwargs: the factory's keyword arguments.

    Returns:
        The first owner.

    Raises:
        TypeError: ``factory`` or ``deleter`` is not callable, or ``rcu`` is
            neither a bool nor a domain (before the factory runs).

    Examples:
        >>> import io
        >>> with make_shared(io.StringIO, "boot log") as log:
        ...     log.get().read()
        'boot log'
    """
    # check_callable() passes a class at once; asked here, a class costs not even the call.
    if not isinstance(factory, type):
        check_callable(factory, "make_shared()'s factory", "factory(*args, **kwargs)")
    chosen = deleter is not close_if_closeable or rcu is not False
    if chosen:
        _deferral(deleter, rcu)  # refused before the factory makes anything
    # The object lands in ``made`` in the same C step that makes it, so an interrupt
    # (the factory itself may be interrupted) never orphans it: the except clause
    # closes whatever no handle took, and a handle takes it by popping it.
    made: list[T] = []
    try:
        call = functools.partial(factory, **kwargs) if kwargs else factory
        made.extend(itertools.starmap(call, (args,)))
        if chosen:
            return _own_with(made, deleter, rcu)
        return _own(made)
    except BaseException:
        _close_unowned(made)
        raise


@deferred
def _own(made: list[T]) -> SharedPtr[T]:
    """The first owner of the object in ``made``, with the default deleter (the common case)."""
    obj = made.pop()
    control = _Control(obj)
    if isinstance(obj, SharedFromThis):
        _adopt_this(obj, control)
    handle: SharedPtr[T] = _new(SharedPtr)  # pyright: ignore[reportUnknownVariableType] # _owning(), written out
    handle._control = control  # pyright: ignore[reportPrivateUsage]
    handle._mine = [None]  # pyright: ignore[reportPrivateUsage]
    return handle


@deferred
def _own_with(made: list[T], deleter: Callable[[T], object], rcu: bool | RcuDomain) -> SharedPtr[T]:
    handle = SharedPtr(made[-1], deleter=deleter, rcu=rcu)  # checks the arguments first
    made.pop()
    return handle


@deferred
def _close_unowned(made: list[Any]) -> None:
    for obj in made:
        close_if_closeable(obj)


@final
class WeakPtr(Generic[T]):
    """A handle that observes a resource without owning it (C++'s ``weak_ptr<T>``).

    ``lock()`` returns a new owner while the resource lives, and ``None`` once
    the last owner let go, even if the object is still in memory. Make one
    with ``WeakPtr(owner)`` or ``owner.weak()``.

    >>> owner = make_shared(list)
    >>> weak = WeakPtr(owner)
    >>> weak.weak_count, weak.expired()
    (1, False)
    >>> owner.release()
    >>> weak.lock() is None
    True
    """

    __slots__ = ("_control", "_reset")

    @deferred
    def __init__(self, owner: SharedPtr[T]) -> None:
        """Observe what ``owner`` owns.

        Args:
            owner: a ``SharedPtr`` (released or not: a released one's resource
                may still be alive through other owners).

        Raises:
            TypeError: ``owner`` is not a ``SharedPtr``.
        """
        self._reset = True  # until it counts in control.weak: __del__ and reset() do nothing
        given = cast("object", owner)  # as called, whatever the annotations say
        if isinstance(given, SharedPtr):
            control: _Control = given._control  # pyright: ignore[reportPrivateUsage, reportUnknownMemberType]
        elif isinstance(given, _Control):  # from within the library
            control = given
        else:
            raise TypeError(f"WeakPtr() observes a SharedPtr, got {kind_of(owner)}")
        self._control = control
        with control.lock:
            control.weak += 1
            self._reset = False

    @deferred
    def lock(self) -> SharedPtr[T] | None:
        """A new owner of the resource, or ``None`` if it is gone."""
        control = self._control
        if self._reset or not control.add_owner_if_alive():
            return None
        return _owning(control)

    def expired(self) -> bool:
        """Whether the last owner has let go."""
        return not self._control.alive()

    @deferred
    def reset(self) -> None:
        """Stop observing (``lock()`` returns None from now on); harmless twice."""
        with self._control.lock:
            if not self._reset:
                self._reset = True
                self._control.weak -= 1

    @property
    def weak_count(self) -> int:
        """How many weak handles observe the resource."""
        return self._control.weak

    def __repr__(self) -> str:
        state = "expired" if self.expired() else f"use_count={self._control.use_count()}"
        return f"<WeakPtr to {self._control.label} {state}>"

    def __copy__(self) -> WeakPtr[T]:
        """``copy.copy(weak)`` is another weak handle to the same resource."""
        return WeakPtr(self._control)  # type: ignore[arg-type]  # the control block, from within

    def __deepcopy__(self, memo: object) -> WeakPtr[T]:
        """Refused, as for the owning handles."""
        raise TypeError("can't deep-copy a WeakPtr: copy.copy() it for another weak handle")

    def __reduce_ex__(self, protocol: object) -> Any:
        """Refused, as for the owning handles."""
        raise TypeError("can't pickle a WeakPtr: the resource it observes stays in this process")

    @deferred
    def __del__(self) -> None:
        try:
            reset = self._reset
        except AttributeError:  # never built
            return
        if not reset:
            self.reset()


class SharedFromThis:
    """Mixin: an object owned by ``SharedPtr`` can make new owners of itself.

    C++'s ``enable_shared_from_this``, as OSv's ``application`` uses it.

    >>> class App(SharedFromThis):
    ...     pass
    >>> owner = SharedPtr(App())
    >>> again = owner.get().shared_from_this()
    >>> owner.use_count
    2
    >>> again.release(); owner.release()
    """

    __slots__ = ("_osv_weak_this",)
    _osv_weak_this: WeakPtr[Any] | None

    def weak_from_this(self) -> WeakPtr[Self]:
        """A weak handle to this object, which a ``SharedPtr`` owns.

        Raises:
            BadWeakPtr: no ``SharedPtr`` was ever made for this object.
        """
        weak: WeakPtr[Self] | None = getattr(self, "_osv_weak_this", None)
        if weak is None:
            raise BadWeakPtr(
                f"{described(self)} is not owned by any SharedPtr: "
                "wrap it in SharedPtr(obj) or make it with make_shared() first"
            )
        return weak

    def shared_from_this(self) -> SharedPtr[Self]:
        """A new owner of this object.

        Raises:
            BadWeakPtr: no ``SharedPtr`` owns it (never did, or all let go).
        """
        owner = self.weak_from_this().lock()
        if owner is None:
            raise BadWeakPtr(f"{described(self)} has no owner left: its last SharedPtr let go")
        return owner


def _adopt_this(obj: object, control: _Control) -> None:
    """Let a ``SharedFromThis`` object find the owners that manage it."""
    if isinstance(obj, SharedFromThis) and getattr(obj, "_osv_weak_this", None) is None:
        obj._osv_weak_this = WeakPtr(control)  # type: ignore[arg-type]  # pyright: ignore[reportPrivateUsage,reportArgumentType]
