"""Signals and slots: a typed, fast, thread-safe signal with boost's and Qt's emit rules.

Slide "Signals and slots" (``signal<void ()> system_reset;
system_reset.connect([&] { reset_bar0(); }); system_reset();``). OSv dropped
boost::signals2 as "esoteric and buggy" for a plain list of callbacks.
``Signal`` is that list, with what the libraries get wrong done right: typed
by a ``ParamSpec``, slots called in priority then connection order, a slot
disconnected during an emit not called after it (and none skipped), methods
held weakly and functions strongly, no lock held while slots run, and an
emit that costs about what the plain loop does (docs/benchmarks.md).

Examples:
    >>> from osv_idioms.signals import Signal
    >>> system_reset = Signal[[]](name="system_reset")
    >>> connection = system_reset.connect(lambda: print("reset bar0"))
    >>> system_reset()
    reset bar0
    >>> connection.disconnect()
    >>> system_reset()
"""

from __future__ import annotations

from ..faces import present
from ._connection import Connection, ScopedConnection
from ._signal import Signal, SignalStatistics

__all__ = ("Connection", "ScopedConnection", "Signal", "SignalStatistics")

present(__name__, globals())
