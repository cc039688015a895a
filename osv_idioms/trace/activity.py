"""For the library's own packages: being told when tracepoints start or stop working.

``Mutex`` runs its instrumented methods only while one of its tracepoints is
counting, recording or probed, so that an untraced lock costs what the C lock
does. This is the one thing another package asks of the trace registry.
"""

from __future__ import annotations

from collections.abc import Callable

from ._registry import registry

__all__ = ("watch_activity",)


def watch_activity(pattern: str, callback: Callable[[bool], None]) -> None:
    """Call ``callback(active)`` now and whenever tracepoints matching ``pattern`` turn on or off.

    The callback runs under the registry's lock: it must be quick, and must
    not call back into ``osv_idioms.trace``.
    """
    registry.watch_activity(pattern, callback)
