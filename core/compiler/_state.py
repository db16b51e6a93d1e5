"""Whether ember is tracing or capturing a compiled program right now (thread-local).

Kept free of imports so that ops can ask cheaply: a check that reads a value on the host
(``bool(xp.any(bad))``) must not run while a trace is in progress, because the values are
JAX tracers there, or a CUDA graph is being captured, where a host read is a sync."""
from __future__ import annotations

import threading

__all__ = ["is_compiling"]


class _Local(threading.local):
    depth = 0  # nested traces: a compiled function called inside another one runs inline


_LOCAL = _Local()


def is_compiling() -> bool:
    """Mirrors ``torch.compiler.is_compiling``: True while ``ember.compile`` traces a
    function (JAX) or captures it (CUDA graph); eager-only checks that read values skip
    themselves then."""
    return _LOCAL.depth > 0


class tracing:
    """``with tracing():`` marks the block as a trace (re-entrant)."""

    def __enter__(self):
        _LOCAL.depth += 1
        return self

    def __exit__(self, *exc):
        _LOCAL.depth -= 1
