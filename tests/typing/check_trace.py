# Tracepoints keep their stub's signature: a call with the wrong types is rejected
# before the program runs, and counters are typed mappings.
from typing import assert_type

from osv_idioms.trace import Counters, TraceSnapshot, count, snapshot, tracepoint


@tracepoint("{m!r} {n}")
def trace_typed(m: object, n: int) -> None: ...


assert_type(trace_typed("mutex", 2), None)
trace_typed("mutex", n=3)
trace_typed("mutex", "two")  # E: arg-type
trace_typed("mutex")  # E: call-arg
trace_typed("mutex", 2, 3)  # E: call-arg
trace_typed("mutex", size=2)  # E: call-arg

with count("typed") as counters:
    assert_type(counters, Counters)
    assert_type(counters["typed"], int)
assert_type(snapshot(), TraceSnapshot)


@tracepoint()  # E: arg-type
def trace_returns_value(m: object) -> int:
    return 0
