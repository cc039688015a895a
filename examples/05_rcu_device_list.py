"""Slide 24: templates - enforcing concepts at compile time -- rcu_ptr<vector<device>>.

``rcu_ptr<vector<device>> device_list; device_list.assign(new_device_list);
auto list = device_list.read();`` in Python: readers walk the device list with
no lock while a hot-plug writer publishes new lists, and a removed device is
closed only after a grace period, when no reader can still be using it.
``RcuPtr[tuple[Device, ...]]`` is checked by mypy and pyright like the
template is by the compiler: assigning anything else is a type error.
"""

from __future__ import annotations

import threading

from osv_idioms.rcu import RcuPtr, barrier, dispose, read_lock


class Device:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False
        self.reads = 0

    def read(self) -> int:
        if self.closed:
            raise RuntimeError(f"{self.name} read after close")
        self.reads += 1
        return self.reads

    def close(self) -> None:
        self.closed = True


device_list: RcuPtr[tuple[Device, ...]] = RcuPtr(
    (Device("eth0"), Device("disk0")), name="device_list"
)


WALKS = 2_000


def reader(started: threading.Barrier, seen: list[int], errors: list[Exception]) -> None:
    """Walk the list inside a read section: nothing in it is closed under us."""
    section = read_lock()
    walks = 0
    started.wait(timeout=30)  # the readers and the hot-plugging writer begin together
    try:
        for _ in range(WALKS):
            with section:
                for device in device_list.read():
                    device.read()
            walks += 1
    except RuntimeError as error:  # a device closed under a reader: RCU would be broken
        errors.append(error)
    seen.append(walks)


def hot_plug(rounds: int) -> list[Device]:
    """Add a device, remove the oldest: publish the new list, retire the removed one."""
    removed: list[Device] = []
    for n in range(rounds):
        with device_list.writer:
            current = device_list.read_by_owner()
            gone, kept = current[0], current[1:]
            device_list.assign((*kept, Device(f"usb{n}")))
        dispose(gone)  # gone.close() after a grace period
        removed.append(gone)
    return removed


if __name__ == "__main__":
    started = threading.Barrier(5)
    walks: list[int] = []
    errors: list[Exception] = []
    readers = [threading.Thread(target=reader, args=(started, walks, errors)) for _ in range(4)]
    for thread in readers:
        thread.start()
    started.wait(timeout=30)
    removed = hot_plug(rounds=500)
    for thread in readers:
        thread.join(timeout=30)
    barrier()  # every retirement queued so far has run

    if errors:
        raise SystemExit(f"a reader met a closed device: {errors[0]}")
    print(f"4 readers walked the list {sum(walks)} times with no lock, never a closed device")
    closed = sum(d.closed for d in removed)
    print(f"500 hot-plugs: {closed} removed devices closed after grace periods")
    print("devices now:", ", ".join(d.name for d in device_list.read()))
