"""Slide 28: Signals and slots -- signal<void ()> system_reset; connect([&] {...}); system_reset().

A machine-wide ``system_reset`` resets two devices. One is connected through
a lambda, as on the slide (held strongly: a lambda never silently vanishes);
the other through its bound method (held weakly: when the device goes away,
so does its connection). Each device has its own ``reset_done`` signal,
declared once on the class. The order is the priority, then the connection
order, and a failing slot is named in the error.
"""

from __future__ import annotations

import gc

from osv_idioms.signals import Signal


class Device:
    reset_done = Signal[[str]]()  # every Device gets a signal of its own

    def __init__(self, name: str) -> None:
        self.name = name
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        print(f"  {self.name}: reset #{self.resets}")
        self.reset_done.emit(self.name)


system_reset = Signal[[]](name="system_reset")  # signal<void ()> system_reset;

bar0 = Device("bar0")
nic = Device("nic")
# system_reset.connect([&] { reset_bar0(); }); -- the slide's lambda, kept as a lambda
system_reset.connect(lambda: bar0.reset())  # noqa: PLW0108
system_reset.connect(nic.reset, priority=1)  # runs first; held weakly
nic.reset_done.connect(lambda name: print(f"  (log: {name} is back)"))

print("system_reset():")
system_reset()  # system_reset();

print("the nic is removed; its connection goes with it:")
del nic
gc.collect()
system_reset()
print(f"connected slots now: {len(system_reset)}")


def broken() -> None:
    raise OSError("bus error")


system_reset.connect(broken, once=True)
print("a slot that fails:")
try:
    system_reset()
except OSError as error:
    print(f"  {error!r}, with the note: {error.__notes__[0]}")
