"""Slide 26: Generic callbacks -- function<void (int level)> and bind(this, &my_device::read).

A bus keeps two callbacks for a device, as OSv's drivers do: an interrupt
handler taking the level, and a read callback taking an address and a size.
``Function[...]`` declares their shapes, so a handler of the wrong shape is
refused when it is assigned (by mypy, and at run time with both shapes in
the message), not when the interrupt finally fires. ``bind_weak`` binds the
device's ``read`` without keeping the device alive, and ``bind`` places
arguments with ``_1``, ``_2`` as ``std::bind`` does.
"""

from __future__ import annotations

import gc

from osv_idioms.callbacks import Function, _1, _2, bind, bind_weak
from osv_idioms.errors import BadFunctionCall, ExpiredCallbackError


class Bus:
    def __init__(self) -> None:
        self.irq_handler = Function[[int], None]()  # function<void (int level)>
        self.read_callback = Function[[int, int], int]()  # function<u64 (hw_addr, unsigned)>

    def interrupt(self, level: int) -> None:
        if self.irq_handler:  # an empty function is false, as in C++
            self.irq_handler(level)

    def read(self, addr: int, size: int) -> int:
        return self.read_callback(addr, size)


class MyDevice:
    def __init__(self, name: str) -> None:
        self.name = name
        self.memory = bytes(range(256))

    def read(self, addr: int, size: int) -> int:
        return int.from_bytes(self.memory[addr : addr + size], "little")


def my_irq_handler(level: int) -> None:
    print(f"irq at level {level}")


def legacy_read(size: int, addr: int) -> int:
    """An older API taking its arguments the other way round."""
    return size * 0x100 + addr


bus = Bus()
device = MyDevice("virtio-blk")

bus.irq_handler.assign(my_irq_handler)  # irq_handler = my_irq_handler;
bus.read_callback.assign(bind_weak(device.read))  # read_callback = bind(this, &my_device::read);
bus.interrupt(5)
print(f"read 4 bytes at 0x10: {bus.read(0x10, 4):#010x}")

try:
    bus.irq_handler.assign(device.read)  # type: ignore[arg-type]  # mypy refuses it too
except TypeError as refused:
    print(f"refused: {refused}")

bus.read_callback.assign(bind(legacy_read, _2, _1))  # put (addr, size) where it wants them
print(f"legacy read of 2 at 0x10: {bus.read(0x10, 2):#x}")

bus.read_callback.assign(bind_weak(device.read))
del device  # the bus holds the device's read weakly: nothing keeps the device now
gc.collect()
try:
    bus.read(0, 1)
except ExpiredCallbackError as gone:
    print(f"after the device went away: {gone}")

bus.irq_handler.assign(None)
bus.interrupt(7)  # checked first: nothing happens
try:
    bus.irq_handler(7)
except BadFunctionCall as empty:
    print(f"calling it anyway: {empty}")
