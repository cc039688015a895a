# A Signal[[int]] takes int emits and int slots; the decorator keeps the function.
from collections.abc import Callable, Iterator
from typing import Any, assert_type

from osv_idioms.signals import Connection, ScopedConnection, Signal


class Device:
    changed = Signal[[int]]()

    def on_level(self, level: int) -> None: ...
    def on_name(self, name: str) -> None: ...


def on_level(level: int) -> None: ...


changed = Signal[[int]]()
assert_type(changed, Signal[[int]])
changed.emit(1)
changed(1)
changed.emit("x")  # E: arg-type
changed.emit()  # E: call-arg
changed.emit(1, 2)  # E: call-arg

assert_type(changed.connect(on_level), Connection)
changed.connect(lambda: None)  # a slot taking nothing fits any signal
changed.connect(Device().on_level)
changed.connect(Device().on_name)  # E: arg-type
changed.connect(changed)  # chaining
changed.connect(Signal[[str]]())  # E: arg-type


@changed.connect(priority=1)
def decorated(level: int) -> None: ...


assert_type(decorated, Callable[[int], None])


@changed.connect()  # E: arg-type
def wrong(name: str) -> None: ...


device = Device()
assert_type(device.changed, Signal[[int]])
assert_type(Device.changed, Signal[[int]])
device.changed.emit("x")  # E: arg-type

assert_type(changed.collect(1), list[Any])
changed.collect("x")  # E: arg-type


def count(results: Iterator[Any]) -> int:
    return sum(1 for _ in results)


how_many = changed.combine(count)
assert_type(how_many(1), int)
how_many("x")  # E: arg-type

reset = Signal[[]]()
reset()
reset(1)  # E: call-arg
with ScopedConnection(reset.connect(lambda: None)) as connection:
    assert_type(connection, Connection)
