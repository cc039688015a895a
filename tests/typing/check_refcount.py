# Handles keep the resource's type; a weak lock() may be None and must be checked.
from typing import assert_type

from osv_idioms.refcount import (
    IntrusivePtr,
    IntrusiveRefCounted,
    SharedPtr,
    WeakPtr,
    make_shared,
    ref_if_positive,
)


class Device:
    def close(self) -> None: ...
    def read(self) -> int:
        return 0


class Node(IntrusiveRefCounted):
    pass


device = make_shared(Device)
assert_type(device, SharedPtr[Device])
assert_type(device.get(), Device)
assert_type(device.clone(), SharedPtr[Device])
assert_type(device.weak(), WeakPtr[Device])
assert_type(device.weak().lock(), SharedPtr[Device] | None)

device.weak().lock().get()  # E: union-attr
locked = device.weak().lock()
if locked is not None:
    assert_type(locked.get().read(), int)

SharedPtr(Device(), deleter=lambda d: d.close())
SharedPtr(Device(), deleter=lambda d: d.missing())  # E: attr-defined
device.get().write()  # E: attr-defined

node = IntrusivePtr(Node())
assert_type(node.get(), Node)
assert_type(ref_if_positive(Node()), IntrusivePtr[Node] | None)
IntrusivePtr(Device())  # E: type-var
