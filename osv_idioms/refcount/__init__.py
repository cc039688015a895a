"""Reference-counted handles: deterministic release of a shared *resource*.

Slides "Reference counted objects" (``shared_ptr<device>`` fully automatic,
``intrusive_ptr<device>`` full manual control) and "Atomic allocation &
initialization" (``make_shared``). CPython counts references to objects, not
ownership of resources: when a device, file or pool is shared, nothing says
when the last user is done so it can be closed then, and ``__del__`` is
neither deterministic nor safe. These handles are.

Examples:
    >>> from osv_idioms.refcount import make_shared
    >>> class Device:
    ...     closed = False
    ...     def close(self) -> None:
    ...         self.closed = True
    >>> with make_shared(Device) as driver:
    ...     user = driver.clone()
    >>> user.get().closed       # the driver let go; the user still owns it
    False
    >>> user.release()          # the last owner: closed now, in this thread
"""

from __future__ import annotations

from ..faces import present
from ._common import close_if_closeable
from ._intrusive import IntrusivePtr, IntrusiveRefCounted, ref_if_positive
from ._shared import Handle, SharedFromThis, SharedPtr, WeakPtr, make_shared, set_strict

__all__ = (
    "Handle",
    "IntrusivePtr",
    "IntrusiveRefCounted",
    "SharedFromThis",
    "SharedPtr",
    "WeakPtr",
    "close_if_closeable",
    "make_shared",
    "ref_if_positive",
    "set_strict",
)

present(__name__, globals())
