"""Slide 25: Reference counted objects -- shared_ptr<device> and intrusive_ptr<device>.

A device is shared by its driver and two users. Each holds a ``SharedPtr``;
the device is closed exactly when the last of them lets go, in that thread.
Here the driver lets go first and the users after it, one after the other
(events fix the order, so the story reads the same on every run). A monitor
keeps only a ``WeakPtr``: it sees the device while someone owns it, and
``None`` afterwards. The intrusive form
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
driver_done = threading.Event()


def user(
    handle: SharedPtr[Device], transfers: int, after: threading.Event, done: threading.Event
) -> None:
    with handle:  # released on the way out, however the work ends
        try:
            for _ in range(transfers):
                handle.get().transfer()
            driver_done.wait(timeout=30)  # the driver lets go while this user still owns it
            after.wait(timeout=30)  # and so does the user before this one
            handle.get().transfer()
        except RuntimeError as error:  # used after close: reference counting would be broken
            errors.append(error)
    done.set()


class OpenFile(IntrusiveRefCounted):
    def __init__(self, path: str) -> None:
        self.path = path
        self.closed = False

    def close(self) -> None:
        self.closed = True


if __name__ == "__main__":
    driver = make_shared(Device, "nvme0")
    monitor = driver.weak()
    user_1_done, user_2_done = threading.Event(), threading.Event()
    nobody = threading.Event()
    nobody.set()  # user-1 follows no other user
    users = [
        threading.Thread(
            target=user, args=(driver.clone(), 50_000, nobody, user_1_done), name="user-1"
        ),
        threading.Thread(
            target=user, args=(driver.clone(), 1_000, user_1_done, user_2_done), name="user-2"
        ),
    ]
    for thread in users:
        thread.start()
    device = driver.get()
    driver.release()  # the driver is done first; the users still own the device
    print(f"driver released; device closed? {device.closed_by is not None}")
    driver_done.set()
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
