"""The emit loops, generated once per argument count.

An emit taking ``*args`` measured 1.4-1.5x a hand-written loop; one with
exactly the signal's parameters, about 1.0x. So ``Signal[[int]].emit`` is
generated with one positional parameter, like the tracepoints in
``osv_idioms.trace``.

Each entry the loop walks is a two-item list ``[call, ref]``, shared by every
snapshot of the slots. ``ref`` is None for a slot held strongly, or a weak
reference to the object ``call`` is to be called with. Disconnecting or
blocking a slot overwrites ``call`` with ``skipped``, in place: an emit
already walking an older snapshot sees it at once, so a slot disconnected
during an emit is not called afterwards, and no other slot moves or is
skipped.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable
from typing import Any


def skipped(*args: object, **kwargs: object) -> None:
    """Stands where a disconnected or blocked slot was: calling it does nothing."""


# Calling one slot: the part both emits share.
_CALL_SLOT = """\
if ref is None:
    call({arguments})
else:
    target = ref()
    if target is not None:
        call(target{more_arguments})
    else:
        self._prune()
"""

_RAISE = """
def emit(self, {parameters}):
    try:
        for call, ref in self._entries:
{call_slot}    except Exception as error:
        self._annotate(error, call)
        raise
"""

_GROUP = """
def emit(self, {parameters}):
    failures = None
    for call, ref in self._entries:
        try:
{call_slot}        except Exception as error:
            self._annotate(error, call)
            if failures is None:
                failures = []
            failures.append(error)
    if failures is not None:
        self._raise_group(failures)
"""

_DOC = """Call every connected slot with these arguments, by priority then connection order.

A slot connected during the emit is not called by it; a slot disconnected
or blocked during it is not called after that, and no other slot is
skipped. By default the first slot that raises stops the emit, and its
exception carries a note naming the signal and the slot; a signal made
with ``errors="group"`` calls every slot and then raises an
``ExceptionGroup`` of the failures.
"""


@functools.cache
def emitter(passes: int | None, *, grouping: bool) -> Callable[..., None]:
    """The emit function for signals passing ``passes`` positional arguments (None: any)."""
    if passes is None:
        parameters = arguments = "*args, **kwargs"
    else:
        names = [f"arg{i}" for i in range(1, passes + 1)]
        arguments = ", ".join(names)
        parameters = f"{arguments}, /" if names else ""
    call_slot = _CALL_SLOT.format(
        arguments=arguments, more_arguments=f", {arguments}" if arguments else ""
    )
    source = (_GROUP if grouping else _RAISE).format(
        parameters=parameters, call_slot=textwrap.indent(call_slot, " " * 12)
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # the source is one of the two templates above, filled in
    emit: Callable[..., None] = namespace["emit"]
    emit.__qualname__ = "Signal.emit"
    emit.__module__ = __name__.rpartition(".")[0]
    emit.__doc__ = _DOC
    return emit
