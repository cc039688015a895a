"""Every public exception of ``osv_idioms``, each a subclass of the closest built-in.

Catch the built-in (``TimeoutError``, ``RuntimeError``, ``ValueError``) when the
kind of failure is what matters, or the class here when the source is.
"""

from __future__ import annotations

__all__ = ()
