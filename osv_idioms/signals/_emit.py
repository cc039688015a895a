"""Calling the slots: one template, from which every way a slot is called is generated.

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

``_CALL_SLOT`` is the one piece of code that calls an entry. The emits, the
results that ``collect``, ``combine`` and ``aemit`` walk, and a ``track=``
slot's call are all generated from it, and registered with ``linecache``, so
a traceback through an emit shows the line that called the slot.
"""

from __future__ import annotations

import functools
import textwrap
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ..generated import compile_function

__all__ = ("emitter", "results", "skipped", "tracked_call")


def skipped(*args: object, **kwargs: object) -> None:
    """Stands where a disconnected or blocked slot was: calling it does nothing."""


_CALL_SLOT = """\
if ref is None:
    {result}call({arguments})
else:
    target = ref()
    if target is not None:
        {result}call(target{more_arguments})
    else:
        {gone}
"""


def _call_slot(arguments: str, *, result: str, gone: str, indent: int) -> str:
    more = f", {arguments}" if arguments else ""
    source = _CALL_SLOT.format(arguments=arguments, more_arguments=more, result=result, gone=gone)
    return textwrap.indent(source, " " * indent)


_RAISE = """\
def emit(self, {parameters}):
    call = None  # still None if the walk failed to start (a RecursionError): no slot to name
    try:
        for call, ref in self._entries:
{call_slot}    except Exception as error:
        if call is not None:
            self._annotate(error, call)
        raise
"""

_GROUP = """\
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

_RESULTS = """\
def results(self, args, kwargs, failures):
    for call, ref in self._entries:
        if call is skipped:
            continue
        try:
{call_slot}        except Exception as error:
            self._record(error, call, failures)
"""

_TRACKED = """\
def make(call, ref):
    def tracked(_tracked, *args, **kwargs):
{call_slot}    tracked.__wrapped__ = call  # for describe()
    return tracked
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
    source = (_GROUP if grouping else _RAISE).format(
        parameters=parameters,
        call_slot=_call_slot(arguments, result="", gone="self._prune()", indent=12),
    )
    count = "any arguments" if passes is None else f"{passes} argument{'' if passes == 1 else 's'}"
    kind = "grouping failures" if grouping else "raising"
    emit = compile_function(source, "emit", what=f"Signal.emit, {count}, {kind}")
    emit.__qualname__ = "Signal.emit"
    emit.__module__ = __name__.rpartition(".")[0]
    emit.__doc__ = _DOC
    return emit


results: Callable[[Any, tuple[Any, ...], dict[str, Any], list[Exception]], Iterator[Any]] = (
    compile_function(
        _RESULTS.format(
            call_slot=_call_slot(
                "*args, **kwargs", result="yield call, ", gone="self._prune()", indent=12
            )
        ),
        "results",
        what="Signal results",
        namespace={"skipped": skipped},
    )
)
"""``results(signal, args, kwargs, failures)``: the slots called one by one, as asked for.

Yields ``(call, result)`` for each; a slot that raises goes to
``signal._record``, which raises it or adds it to ``failures``.
"""


_make_tracked: Callable[[Callable[..., Any], weakref.ref[Any] | None], Callable[..., Any]] = (
    compile_function(
        _TRACKED.format(
            call_slot=_call_slot("*args, **kwargs", result="return ", gone="return None", indent=8)
        ),
        "make",
        what="track= slot",
    )
)


def tracked_call(call: Callable[..., Any], ref: weakref.ref[Any] | None) -> Callable[..., Any]:
    """The call of a ``track=`` slot: made through the tracked object, which it then ignores."""
    return _make_tracked(call, ref)
