"""Slide 20: Scoped locking -- goto-cleanup C next to WITH_LOCK, in Python.

The slide's ``before()`` takes ``p->lock`` and ``p->y->lock`` by hand and
unwinds with gotos; ``after()`` uses ``WITH_LOCK``, which unlocks on every way
out. Both are written here in Python, and shown to agree. Then what Python's
``with`` lacks: several locks in any order, ``drop_lock``, and lock-order
checking that reports an inversion before it can deadlock.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

from osv_idioms.errors import LockOrderError
from osv_idioms.locking import Mutex, check_lock_order, drop_lock, with_lock


@dataclass
class Y:
    lock: Mutex = field(default_factory=lambda: Mutex("y"))
    n: int = 0


@dataclass
class Something:
    lock: Mutex = field(default_factory=lambda: Mutex("something"))
    y: Y | None = None


def before(p: Something | None) -> int:
    """The goto-cleanup style: every exit must remember what it took."""
    r = -errno.ENOENT
    if p is None:
        return r
    p.lock.lock()
    r = -errno.EINVAL
    if p.y is not None:
        p.y.lock.lock()
        p.y.n += 1
        r = p.y.n
        p.y.lock.unlock()
    p.lock.unlock()
    return r


def after(p: Something | None) -> int:
    """WITH_LOCK: the lock is released on every way out, including early returns."""
    if p is None:
        return -errno.ENOENT
    with with_lock(p.lock):
        if p.y is None:
            return -errno.EINVAL
        with with_lock(p.y.lock):
            p.y.n += 1
            return p.y.n


def both_styles_agree() -> None:
    for make in (lambda: None, Something, lambda: Something(y=Y())):
        old, new = make(), make()
        results = (before(old), after(new))
        print(f"before() = {results[0]:>3}   after() = {results[1]:>3}")
        assert results[0] == results[1]


def any_order_no_deadlock() -> None:
    """Two threads name the same locks in opposite orders; std::lock's back-off copes."""
    accounts, audit = Mutex("accounts"), Mutex("audit")
    done = []

    def transfer(first: Mutex, second: Mutex) -> None:
        for _ in range(2000):
            with with_lock(first, second, timeout=10):
                pass
        done.append(first.label)

    workers = [
        threading.Thread(target=transfer, args=(accounts, audit)),
        threading.Thread(target=transfer, args=(audit, accounts)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    print(f"opposite orders, 2 x 2000 rounds, no deadlock: {sorted(done)}")


def drop_for_slow_work() -> None:
    """DROP_LOCK: give the lock up around slow work, get it back on every way out."""
    queue = Mutex("queue")
    with queue:
        with drop_lock(queue):
            print(f"inside drop_lock the queue is held: {queue.owned()}")
        print(f"after drop_lock the queue is held:  {queue.owned()}")


def lock_order_checking() -> None:
    """A -> B here, B -> A later: reported at once, not after a deadlock in production."""
    check_lock_order(True)
    a, b = Mutex("A"), Mutex("B")
    with a, b:
        pass
    try:
        with b, a:
            pass
    except LockOrderError as error:
        print(str(error).splitlines()[0])
    finally:
        check_lock_order(False)


if __name__ == "__main__":
    both_styles_agree()
    any_order_no_deadlock()
    drop_for_slow_work()
    lock_order_checking()
