"""Slide 25: Reference counted objects -- shared_ptr<device> and intrusive_ptr<device>.

A device is shared by its driver and two users. Each holds a ``SharedPtr``;
the device is closed exactly when the last of them lets go, in that thread,
whatever order they finish in. A monitor keeps only a ``WeakPtr``: it sees
the device while someone owns it, and ``None`` afterwards. The intrusive form
keeps the count in the object, as OSv's ``fileref`` does, and a lookup takes a
reference only while the count is positive.
"""

from __future__ import annotations

import threading

from osv_idioms.refcount import (
    IntrusivePtr,
    IntrusiveRefCounted,
    SharedPtr,
    make_shared,
    ref_if_positive,
)


class Device:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed_by: str | None = None

    def transfer(self) -> None:
        if self.closed_by is not None:
            raise RuntimeError(f"{self.name} used after close")

    def close(self) -> None:
        self.closed_by = threading.current_thread().name


errors: list[Exception] = []


def user(handle: SharedPtr[Device], transfers: int) -> None:
    with handle:  # released on the way out, however the work ends
        try:
            for _ in range(transfers):
                handle.get().transfer()
        except RuntimeError as error:  # used after close: reference counting would be broken
            errors.append(error)


class OpenFile(IntrusiveRefCounted):
    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = False

    def close(self) -> None:
        self.closed = True


if __name__ == "__main__":
    driver = make_shared(Device, "nvme0")
    monitor = driver.weak()
    users = [
        threading.Thread(target=user, args=(driver.clone(), n), name=f"user-{n}")
        for n in (1_000, 50_000)
    ]
    for thread in users:
        thread.start()
    device = driver.get()
    driver.release()  # the driver is done first; the users still own the device
    print(f"driver released; device closed? {device.closed_by is not None}")
    for thread in users:
        thread.join(timeout=30)
    if errors:
        raise SystemExit(f"a user met a closed device: {errors[0]}")
    print(f"closed exactly once, by the last owner to let go: {device.closed_by}")
    print(f"the monitor's weak handle now locks to: {monitor.lock()}")

    file = OpenFile("/etc/hosts")
    with IntrusivePtr(file) as ref:
        found = ref_if_positive(file)  # a lookup that found it while it is alive
        assert found is not None
        print(f"intrusive count with two references: {file.ref_count}")
        found.release()
    print(f"after the last reference: count={file.ref_count}, closed={file.closed}")
    print(f"a late lookup gets: {ref_if_positive(file)}")
