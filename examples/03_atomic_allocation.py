"""Slide 22: Atomic allocation & initialization -- make_shared, constructors, dataclasses.

"Allocate memory and initialize it in one step: no need to track the size, no
error checking between steps." Python's constructor already allocates and
initialises together; a frozen dataclass never exists half-built; and
``make_shared(factory, ...)`` makes the resource and its first owner in one
step, so a failed open leaves nothing to clean up.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field

from osv_idioms.refcount import make_shared


@dataclass(frozen=True)
class DeviceConfig:
    """Built whole or not at all: validation runs before anyone can see it."""

    name: str
    irq: int
    queues: tuple[int, ...] = field(default=(0,))

    def __post_init__(self) -> None:
        if not 0 <= self.irq < 256:
            raise ValueError(f"irq must be 0..255, got {self.irq}")


class Device:
    opened: list[str] = []  # noqa: RUF012 - a log shared by the example's devices

    def __init__(self, config: DeviceConfig) -> None:
        if config.name.startswith("missing"):
            raise FileNotFoundError(config.name)
        self.config = config
        self.closed = False
        Device.opened.append(config.name)

    def close(self) -> None:
        self.closed = True


if __name__ == "__main__":
    config = DeviceConfig("eth0", irq=11)
    try:
        config.irq = 12  # type: ignore[misc]
    except FrozenInstanceError:
        print("a DeviceConfig cannot change after it is built")
    try:
        DeviceConfig("eth1", irq=999)
    except ValueError as error:
        print(f"no half-built config: {error}")

    with make_shared(Device, config) as handle:
        device = handle.get()
        print(f"make_shared: {device.config.name} owned once, use_count={handle.use_count}")
    print(f"the with block released it: handle released={handle.released}, closed={device.closed}")

    try:
        make_shared(Device, DeviceConfig("missing0", irq=3))
    except FileNotFoundError as error:
        print(f"failed open: nothing was made, nothing to release ({error})")
    print("devices opened:", Device.opened)
