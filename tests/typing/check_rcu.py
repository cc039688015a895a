# RCU containers are generic: what a pointer holds is checked where it is assigned and read.
from typing import assert_type

from osv_idioms.rcu import RcuDict, RcuList, RcuPtr, call_rcu, read_lock


class Device:
    def close(self) -> None: ...


device_list: RcuPtr[list[Device]] = RcuPtr([Device()])
with read_lock():
    assert_type(device_list.read(), list[Device])
assert_type(device_list.assign([Device()]), list[Device])
device_list.assign("eth0")  # E: arg-type
device_list.assign([42])  # E: list-item


def close_all(devices: list[Device]) -> None:
    for device in devices:
        device.close()


with device_list.copy_update(retire=close_all) as draft:
    assert_type(draft.value, list[Device])
    draft.value = "not a list"  # E: assignment

handlers: RcuList[str] = RcuList(["log"])
assert_type(handlers[0], str)
assert_type(handlers[0:1], tuple[str, ...])
handlers.append(3)  # E: arg-type

routes: RcuDict[str, int] = RcuDict({"eth0": 1})
assert_type(routes.get("eth0"), int | None)
routes["lo"] = "x"  # E: assignment

call_rcu(print, "retired")
call_rcu(Device.close, Device())
call_rcu(Device.close, "not a device")  # E: arg-type
