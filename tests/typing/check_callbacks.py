# Function keeps the declared shape; bind_weak keeps the method's; misuse is rejected.
# Placeholders are spelled as in C++ (_1), which strict pyright reads as private;
# Placeholder(1) is the same placeholder under a public name.
# pyright: reportPrivateUsage=false
from collections.abc import Callable
from typing import assert_type

from osv_idioms.callbacks import Function, _1, bind, bind_weak


class Device:
    def read(self, size: int) -> bytes:
        return bytes(size)


def on_irq(level: int) -> None: ...
def on_name(name: str) -> None: ...


irq_handler = Function[[int], None]()
assert_type(irq_handler, Function[[int], None])
irq_handler.assign(on_irq)
irq_handler.assign(None)
irq_handler(3)
irq_handler("3")  # E: arg-type
irq_handler()  # E: call-arg
irq_handler.assign(on_name)  # E: arg-type
assert_type(irq_handler.target, Callable[[int], None] | None)

read_callback = Function(Device().read)  # the shape is inferred from the target
assert_type(read_callback(512), bytes)
read_callback(size="x")  # E: arg-type

weak_read = bind_weak(Device().read)
assert_type(weak_read(4), bytes)
weak_read("4")  # E: arg-type
bind_weak(Device().read, _1)("anything")  # std::bind's placeholders can't be typed: unchecked
assert_type(bind(on_irq, _1), Callable[..., None])  # the result type survives
bind(on_irq, _1) + 1  # E: operator
