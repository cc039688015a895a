"""Slide 24: templates - enforcing concepts at compile time -- rcu_ptr<vector<device>>.

A C++ template states what it needs of its arguments, and the compiler
rejects a misuse before the program runs. Python's form: generic classes
and ``Protocol`` concepts, checked by mypy and pyright before the program
runs (``tests/typing/`` holds those checks for every generic API here), and
shape checks that this library runs when a callback or slot is *wired*, not
when it is first called. This example shows both: it asks mypy (when it is
installed) about a program that misuses ``RcuPtr[list[Device]]`` and a
``Signal[[int]]``, then shows the wiring-time checks at run time.
"""

from __future__ import annotations

import importlib.util
import tempfile
import textwrap
from pathlib import Path
from typing import Protocol

from osv_idioms.callbacks import Function
from osv_idioms.rcu import RcuPtr
from osv_idioms.signals import Signal


class Resettable(Protocol):
    """The concept: anything with a name that can be reset."""

    name: str

    def reset(self) -> None: ...


class Device:
    def __init__(self, name: str) -> None:
        self.name = name

    def reset(self) -> None:
        print(f"  {self.name}: reset")


def reset_all(devices: RcuPtr[list[Device]]) -> None:
    for device in devices.read():
        device.reset()


def reset_one(device: Resettable) -> None:  # any type that models the concept
    device.reset()


MISUSE = """\
from osv_idioms.rcu import RcuPtr
from osv_idioms.signals import Signal


class Device:
    name = "virtio-blk"


device_list: RcuPtr[list[Device]] = RcuPtr([Device()])
device_list.assign(["virtio-net"])  # not a Device
level_changed = Signal[[int]]()
level_changed.emit("high")  # not an int
"""


def ask_mypy(program: str) -> str:
    """What ``mypy --strict`` says of ``program``, or why it could not be asked."""
    if importlib.util.find_spec("mypy") is None:
        return "  mypy is not installed here (pip install mypy): it would reject both lines"
    from mypy import api  # noqa: PLC0415 - mypy is optional: the tour runs without it

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "misuse.py"
        path.write_text(program, encoding="utf-8")
        report, _, _ = api.run(["--strict", "--no-incremental", "--hide-error-context", str(path)])
    return textwrap.indent(report.replace(str(path), "misuse.py").strip(), "  ")


devices = RcuPtr([Device("virtio-blk"), Device("virtio-net")])
print("the well-typed program runs:")
reset_all(devices)
reset_one(Device("serial"))

print("mypy on the misuse, before anything runs:")
print(ask_mypy(MISUSE))

print("the checks made when things are wired, at run time:")
level_changed = Signal[[int]](name="level_changed")
try:
    level_changed.connect(lambda level, reason: None)  # type: ignore[arg-type]
except TypeError as error:
    print(f"  {error}")
irq_handler = Function[[int], None]()
try:
    irq_handler.assign(Device("rtc").reset)  # type: ignore[arg-type]
except TypeError as error:
    print(f"  {error}")
