"""Unrolled call loops for the benchmarks, so loop overhead stays small."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CALLS_PER_ROUND = 1_000
_UNROLL = 20


def unrolled(call: str, namespace: dict[str, Any]) -> Callable[[], None]:
    """A function running ``call`` ``CALLS_PER_ROUND`` times, 20 to a loop turn.

    Divide a round's time by ``CALLS_PER_ROUND`` for the cost of one call; the
    loop itself adds about 1/20 of a bare ``for`` turn to each.
    """
    body = "\n".join(f"        {call}" for _ in range(_UNROLL))
    source = f"def run():\n    for _ in range({CALLS_PER_ROUND // _UNROLL}):\n{body}\n"
    scope = dict(namespace)
    exec(source, scope)
    run: Callable[[], None] = scope["run"]
    return run
