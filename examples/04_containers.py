"""Slide 23: Containers -- vector, unordered_map, list and set, and what Python lacks.

"Reduce the role of laziness in determining key data structures": in C the
easy structure is a hand-rolled linked list, whatever the access pattern. In
C++, and in Python, the right one is just as easy to reach for:

    vector<foo>                -> list            (growable array)
    unordered_map<key, value>  -> dict            (hash table, insertion-ordered)
    list<bar>                  -> collections.deque (O(1) at both ends)
    set<whatever>              -> ... not set: Python's set is a hash set

What the standard library lacks is the sorted balanced tree behind
``std::set``. A list kept sorted with ``bisect`` finds in O(log n) but
inserts in O(n); for large sorted sets, reach for a third-party package
(``sortedcontainers``) rather than a hand-rolled tree.
"""

from __future__ import annotations

import bisect
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    name: str
    irq: int


# vector<device>: contiguous, indexed, appended to at the end.
devices = [Device("virtio-blk", 11), Device("virtio-net", 10), Device("serial", 4)]
devices.append(Device("rtc", 8))
print(f"list (vector): {len(devices)} devices, the second is {devices[1].name}")

# unordered_map<string, device>: found by key in O(1) on average.
by_name = {device.name: device for device in devices}
print(f"dict (unordered_map): virtio-net has irq {by_name['virtio-net'].irq}")

# list<request>: a queue worked from both ends without moving the rest.
pending = deque(["read 0", "read 8"])
pending.appendleft("flush")  # urgent: first
pending.append("read 16")
print(f"deque (list): next {pending.popleft()!r}, last {pending.pop()!r}, left {list(pending)}")

# set<int>: std::set is sorted; Python's set is not. A sorted list plays the part.
irqs: list[int] = []
for device in devices:
    bisect.insort(irqs, device.irq)
print(f"sorted list (set<int>): {irqs}, lowest above 9 is {irqs[bisect.bisect_right(irqs, 9)]}")
print(f"set (a hash set, for membership): 10 in use? {10 in set(irqs)}")

# And the ones C programmers hand-roll most often: a histogram.
print(f"Counter: {Counter(d.name.split('-')[0] for d in devices).most_common(1)}")
