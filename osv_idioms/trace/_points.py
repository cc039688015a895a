"""Declaring tracepoints and switching what they do: the verbs users call.

Each checks what it is given, then asks the registry (``_registry``), which
owns the tracepoints and everything that says what they do.
"""

from __future__ import annotations

import inspect
import re
import string
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import ParamSpec, final

from ..checks import accepts, arrived, check_callable, flag, kind_of
from ..errors import TracepointError
from ._bodies import PREFIX, Point, Probe
from ._registry import callable_name, registry

__all__ = (
    "ProbeHandle",
    "TracepointInfo",
    "add_probe",
    "declare_tracepoint",
    "disable",
    "enable",
    "reset",
    "tracepoint",
    "tracepoints",
)

P = ParamSpec("P")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _declaration_site(depth: int) -> str:
    frame = sys._getframe(depth)  # pyright: ignore[reportPrivateUsage]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _check_name(name: str) -> None:
    if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"a tracepoint name must be a str, got {kind_of(name)}")
    if not _NAME.match(name):
        raise TracepointError(
            f"tracepoint name {name!r} is not an identifier; use letters, digits and _"
        )


def _check_signature(name: str, signature: inspect.Signature) -> None:
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise TracepointError(
                f"tracepoint {name!r}: parameter {star}{param.name} is not allowed; "
                "declare each traced value as a parameter of its own"
            )
        if param.name.startswith(PREFIX):
            raise TracepointError(
                f"tracepoint {name!r}: parameter names may not start with {PREFIX!r}"
            )


def _check_template(name: str, fmt: str, params: Sequence[str]) -> None:
    if not isinstance(fmt, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"tracepoint {name!r}: the template must be a str, got {kind_of(fmt)}")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(fmt) if field is not None]
    except ValueError as exc:
        raise TracepointError(f"tracepoint {name!r}: bad template {fmt!r}: {exc}") from None
    for field in fields:
        root = re.split(r"[.\[]", field, maxsplit=1)[0]
        if root not in params:
            raise TracepointError(
                f"tracepoint {name!r}: template field {{{field}}} names no parameter; "
                f"the parameters are ({', '.join(params)})"
            )


def _declare(name: str, fmt: str, signature: inspect.Signature, site: str, label: str) -> Point:
    """Check a declaration, then register it (or find the one this same site made before)."""
    _check_name(name)
    _check_signature(name, signature)
    _check_template(name, fmt, tuple(signature.parameters))
    return registry.declare(name, fmt, signature, site, label)


def tracepoint(
    fmt: str = "", *, name: str | None = None
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Declare a tracepoint from a typed stub, as OSv's ``TRACEPOINT`` does.

    The function returned is called like the stub and stays the same object
    whatever is switched on; while nothing is, a call costs what an empty
    function call costs.

    Args:
        fmt: a ``str.format`` template over the parameter names, used when the
            trace is shown (``"{size} bytes at {addr:#x}"``); empty shows
            ``name=value`` pairs.
        name: the tracepoint's name; by default the stub's name without its
            ``trace_`` prefix.

    Returns:
        A decorator that turns the stub into the tracepoint.

    Raises:
        TypeError: ``fmt`` is not a str, or the decorated object is not a plain
            function (an ``async def`` or a generator is refused).
        TracepointError: the name is not an identifier, is declared elsewhere
            already, a parameter is ``*args`` or ``**kwargs``, or the template
            names no parameter.

    Examples:
        >>> @tracepoint("{size} bytes at {addr:#x}")
        ... def trace_doc_alloc(addr: int, size: int) -> None: ...
        >>> trace_doc_alloc(0x1000, 64)   # off: costs an empty call
        >>> from osv_idioms.trace import count
        >>> with count("doc_alloc") as c:
        ...     trace_doc_alloc(0x2000, 32)
        >>> c["doc_alloc"]
        1
    """
    if not isinstance(fmt, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"tracepoint() takes a str template, got {kind_of(fmt)}")
    if name is not None:
        _check_name(name)

    def declare(stub: Callable[P, None]) -> Callable[P, None]:
        _check_stub(stub)
        label = getattr(stub, "__name__", "tracepoint")
        point_name = name if name is not None else label.removeprefix("trace_")
        code = getattr(stub, "__code__", None)
        site = (
            f"{code.co_filename}:{code.co_firstlineno}"
            if isinstance(code, CodeType)
            else _declaration_site(2)
        )
        point = _declare(point_name, fmt, inspect.signature(stub), site, label)
        fn = point.fn
        fn.__module__ = getattr(stub, "__module__", fn.__module__)
        fn.__doc__ = stub.__doc__
        fn.__annotations__ = dict(getattr(stub, "__annotations__", {}))
        return fn  # the generated function has the stub's signature

    return declare


def declare_tracepoint(name: str, *params: str, fmt: str = "") -> Callable[..., None]:
    """Declare a tracepoint at run time, with positional parameters named ``params``.

    For tracepoints whose names are only known when the program runs (one per
    device, say); ``@tracepoint`` is the typed form.

    Args:
        name: the tracepoint's name, an identifier.
        *params: the name of each parameter, in order.
        fmt: a ``str.format`` template over the parameter names.

    Returns:
        The tracepoint, a function taking one argument per parameter.

    Raises:
        TypeError: a parameter name is not a str.
        TracepointError: the name or a parameter name is not an identifier, or
            the name is declared elsewhere already.

    Examples:
        >>> trace_doc_queue = declare_tracepoint("doc_queue", "depth", fmt="depth={depth}")
        >>> trace_doc_queue(3)
        >>> [t.parameters for t in tracepoints("doc_queue")]
        [('depth',)]
    """
    _check_name(name)
    for param in params:
        if not isinstance(param, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"tracepoint {name!r}: each parameter is named by a str, got {kind_of(param)}"
            )
        if not param.isidentifier():
            raise TracepointError(
                f"tracepoint {name!r}: parameter {param!r} is not an identifier; "
                "name each parameter with a str of letters, digits and _"
            )
    signature = inspect.Signature(
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]
    )
    return _declare(name, fmt, signature, _declaration_site(2), f"trace_{name}").fn


@final
@dataclass(frozen=True, slots=True)
class TracepointInfo:
    """What ``tracepoints()`` reports of one tracepoint: its declaration and its state.

    Attributes:
        name: the tracepoint's name.
        format: its template.
        parameters: its parameter names, in order.
        site: where it was declared, as ``file:line``.
        recording: whether hits go to the ring.
        backtrace: whether recorded hits carry the caller's stack.
        counting: whether an open ``Counters`` counts it.
        probes: how many probes are attached.

    Examples:
        >>> info = tracepoints("doc_alloc")[0]
        >>> info.name, info.parameters, info.recording
        ('doc_alloc', ('addr', 'size'), False)
    """

    name: str
    format: str
    parameters: tuple[str, ...]
    site: str
    recording: bool
    backtrace: bool
    counting: bool
    probes: int


def tracepoints(pattern: str = "*") -> tuple[TracepointInfo, ...]:
    """The declared tracepoints whose names match ``pattern``, sorted by name.

    Args:
        pattern: a name or shell wildcard (``*``, ``?``, ``[...]``), matched
            case-sensitively against the whole name.

    Returns:
        One ``TracepointInfo`` per match.

    Raises:
        TypeError: ``pattern`` is not a str.
        ValueError: ``pattern`` is empty.

    Examples:
        >>> [t.name for t in tracepoints("doc_a*")]
        ['doc_alloc']
    """
    check_pattern(pattern)
    return tuple(
        TracepointInfo(
            p.name,
            p.fmt,
            p.params,
            p.site,
            p.recording,
            p.backtrace,
            p.counting > 0,
            len(p.probes),
        )
        for p in registry.matching(pattern)
    )


def check_pattern(pattern: object) -> None:
    if not isinstance(pattern, str):
        raise TypeError(f"a tracepoint pattern must be a str, got {arrived(pattern)}")
    if not pattern:
        raise ValueError("a tracepoint pattern must not be empty; '*' matches every tracepoint")


def _check_stub(stub: object) -> None:
    """A stub must be a plain function: an ``async def`` would make a tracepoint returning None."""
    if not callable(stub):
        raise TypeError(f"@tracepoint() decorates a function, got {kind_of(stub)}")
    if inspect.iscoroutinefunction(stub) or inspect.isasyncgenfunction(stub):
        raise TypeError(
            f"@tracepoint() on the async function {getattr(stub, '__qualname__', stub)!r}: "
            "a tracepoint is called, not awaited; declare the stub with def"
        )
    if inspect.isgeneratorfunction(stub):
        raise TypeError(
            f"@tracepoint() on the generator function {getattr(stub, '__qualname__', stub)!r}: "
            "declare the stub with def and no yield"
        )


def _set_rule(pattern: str, record: bool, backtrace: bool) -> None:
    check_pattern(pattern)
    registry.set_rule(pattern, record, backtrace)


def enable(pattern: str = "*", *, backtrace: bool = False) -> None:
    """Record the tracepoints matching ``pattern``, now and when declared later.

    Each hit is appended to the trace ring (see ``events()``); the latest
    ``enable``/``disable`` whose pattern matches a tracepoint decides for it.

    Args:
        pattern: a name or shell wildcard.
        backtrace: record the caller's stack with each hit (slower).

    Raises:
        TypeError: ``pattern`` is not a str, or ``backtrace`` not a bool.
        ValueError: ``pattern`` is empty.

    Examples:
        >>> enable("doc_*")
        >>> [(t.name, t.recording) for t in tracepoints("doc_a*")]
        [('doc_alloc', True)]
        >>> disable("doc_*")
    """
    _set_rule(pattern, True, flag(backtrace, "backtrace"))


def disable(pattern: str = "*") -> None:
    """Stop recording the tracepoints matching ``pattern``, now and when declared later.

    Args:
        pattern: a name or shell wildcard.

    Raises:
        TypeError: ``pattern`` is not a str.
        ValueError: ``pattern`` is empty.

    Examples:
        >>> enable("doc_*"); disable("doc_alloc")
        >>> [(t.name, t.recording) for t in tracepoints("doc_a*")]
        [('doc_alloc', False)]
        >>> disable("doc_*")
    """
    _set_rule(pattern, False, False)


@final
class ProbeHandle:
    """An attached probe, made by ``add_probe()``; ``remove()`` detaches it.

    Attributes:
        pattern: the pattern the probe was attached with.
        probe: the probe itself.

    Examples:
        >>> handle = add_probe("doc_alloc", lambda name, args: None)
        >>> handle.attached
        True
        >>> handle.remove(); handle.remove()   # harmless twice
        >>> handle.attached
        False
    """

    __slots__ = ("pattern", "probe")

    def __init__(self, pattern: str, probe: Probe) -> None:
        self.pattern: str = pattern
        self.probe: Probe = probe

    def remove(self) -> None:
        """Detach the probe from every tracepoint it was attached to (harmless twice)."""
        registry.remove_probes(lambda _probe, handle: handle is self)

    @property
    def attached(self) -> bool:
        """Whether the probe is still attached (it is removed when it raises)."""
        return registry.has_probe(self)


def add_probe(pattern: str, probe: Probe, *, pairs: bool = False) -> ProbeHandle:
    """Call ``probe(name, args)`` on every hit of the tracepoints matching ``pattern``.

    Probes run in the traced thread with no library lock held. One that raises
    is removed with a ``ProbeFailedWarning``; the traced program goes on.

    Args:
        pattern: a name or shell wildcard; tracepoints declared later that
            match it are probed too.
        probe: called with the tracepoint's name and a tuple of its arguments.
        pairs: probe only the tracepoints that start or end a timed pair
            (see ``start_of``), so the others matched keep the cost they had;
            a tracepoint that starts a pair only once its end is declared is
            probed from then on.

    Returns:
        The handle that removes the probe.

    Raises:
        TypeError: ``pattern`` is not a str, ``probe`` is not callable with
            two arguments, or ``pairs`` is not a bool.
        ValueError: ``pattern`` is empty.

    Examples:
        >>> seen = []
        >>> handle = add_probe("doc_alloc", lambda name, args: seen.append(args))
        >>> trace_doc_alloc(0x3000, 8)
        >>> handle.remove()
        >>> seen
        [(12288, 8)]

        Only the timed pairs among the matches:

        >>> _ = declare_tracepoint("doc_pr_op"), declare_tracepoint("doc_pr_op_ret")
        >>> _ = declare_tracepoint("doc_pr_tick")
        >>> handle = add_probe("doc_pr_*", lambda name, args: None, pairs=True)
        >>> [(t.name, t.probes) for t in tracepoints("doc_pr_*")]
        [('doc_pr_op', 1), ('doc_pr_op_ret', 1), ('doc_pr_tick', 0)]
        >>> handle.remove()
    """
    check_pattern(pattern)
    check_callable(probe, "a probe", "probe(name, args)")
    if accepts(probe, 2) is False:
        raise TypeError(
            f"a probe must be callable as probe(name, args); {callable_name(probe)} "
            "can't take those two arguments"
        )
    only_pairs = flag(pairs, "pairs")
    handle = ProbeHandle(pattern, probe)
    registry.add_probe(pattern, probe, handle, only_pairs)
    return handle


def reset() -> None:
    """Switch every tracepoint off: forget every ``enable`` rule and probe, empty the ring.

    The ring goes back to its default size (65536 records, or what
    ``OSV_TRACE_BUFFER`` said at start-up). Open ``Counters`` go on
    counting, since they belong to whoever holds them. For tests that must
    leave tracing as they found it, and for a program starting afresh.

    >>> handle = add_probe("doc_alloc", print)
    >>> enable("doc_*")
    >>> reset()
    >>> handle.attached, [t.recording for t in tracepoints("doc_alloc")]
    (False, [False])
    """
    registry.reset()
