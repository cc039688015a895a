# Scoped locking takes lockables only, and the mutex is a typed RLock.
import threading
from typing import assert_type

from osv_idioms.locking import Mutex, assert_held, drop_lock, with_lock

m = Mutex("db")
assert_type(m.acquire(timeout=0.5), bool)
assert_type(m.try_lock(), bool)
assert_type(m.owner, threading.Thread | None)
assert_type(m.depth, int)

with with_lock(
    m, threading.Lock(), threading.RLock(), threading.Condition(), threading.Semaphore()
):
    pass
with with_lock(m, timeout=1.5):
    pass
with with_lock(m) as nothing:
    assert_type(nothing, None)

with_lock(m, "not a lock")  # E: arg-type
with_lock(m, timeout="soon")  # E: arg-type
drop_lock(42)  # E: arg-type
Mutex(name=3)  # E: arg-type
m.acquire(blocking=True, timeout="later")  # E: arg-type
assert_held(m)
