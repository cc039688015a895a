"""Every public exception and warning of ``osv_idioms``, each a subclass of the closest built-in.

Catch the built-in (``ValueError``, ``RuntimeWarning``) when the kind of
failure is what matters, or the class here when the source is.
"""

from __future__ import annotations

from typing import final

__all__ = ("ProbeFailedWarning", "TracepointError")


@final
class TracepointError(ValueError):
    """A tracepoint declaration that cannot work, reported where it is declared.

    >>> from osv_idioms.trace import tracepoint
    >>> @tracepoint("{x}")  # doctest: +ELLIPSIS
    ... def trace_doc_bad(m: object) -> None: ...
    Traceback (most recent call last):
    ...
    osv_idioms.errors.TracepointError: tracepoint 'doc_bad': template field {x} names no ...
    """


@final
class ProbeFailedWarning(RuntimeWarning):
    """A trace probe raised: it was removed, and the traced program went on."""
