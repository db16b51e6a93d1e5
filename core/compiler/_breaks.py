"""Graph breaks: what stops a trace, and how to name it for the user.

A trace stops where the step needs a concrete value: ``.item()``, ``bool(t)``, printing
a tensor, data-dependent shapes (``nonzero``, boolean masks), host transfers. JAX reports
each of these with one of its ``jax.errors`` types; ``print`` (which JAX would just run
once, at trace time) is turned into a break while tracing so that it is not silently lost.
The op is named from the traceback: the first ember (library) frame entered from user code.
"""
from __future__ import annotations

import builtins
import contextlib
import os
import sys

__all__ = ["GraphBreak", "Unsupported", "break_types", "describe", "print_breaks"]


class Unsupported(RuntimeError):
    """Mirrors ``torch._dynamo.exc.Unsupported``: raised under ``fullgraph=True`` when the
    function cannot be captured as one graph."""


class GraphBreak(Exception):
    """Raised inside a trace by ember itself (``print``, a capture that hit a host sync)."""

    def __init__(self, op: str, reason: str = ""):
        super().__init__(f"{op}: {reason}" if reason else op)
        self.op, self.reason = op, reason


def break_types() -> tuple:
    """The exception types that mean "needs a concrete value" (JAX's, when loaded)."""
    types: tuple = (GraphBreak,)
    jax = sys.modules.get("jax")
    if jax is not None:
        e = jax.errors
        types += (e.ConcretizationTypeError, e.TracerArrayConversionError,
                  e.TracerIntegerConversionError, e.NonConcreteBooleanIndexError)
    return types


# friendlier names for the Tensor methods behind Python protocols
_NAMES = {"__bool__": "bool()", "__float__": "float()", "__int__": "int()",
          "__index__": "int()/index", "__complex__": "complex()", "__repr__": "print/repr",
          "__str__": "print/str", "__format__": "format()", "__array__": "numpy conversion",
          "__iter__": "iteration", "__len__": "len()", "__getitem__": "indexing",
          "__setitem__": "indexed assignment", "getitem": "indexing",
          "setitem": "indexed assignment", "item": "Tensor.item()",
          "tolist": "Tensor.tolist()", "numpy": "Tensor.numpy()"}

_PKG_DIRS: tuple | None = None


def _library_dirs() -> tuple:
    global _PKG_DIRS
    if _PKG_DIRS is None:
        dirs = []
        for name in ("ember", "ember_jax", "ember_cupy", "ember_numpy", "jax", "jaxlib",
                     "numpy", "cupy"):
            mod = sys.modules.get(name)
            f = getattr(mod, "__file__", None)
            if f:
                dirs.append(os.path.dirname(os.path.realpath(f)) + os.sep)
        _PKG_DIRS = tuple(dirs)
    return _PKG_DIRS


def describe(exc: BaseException) -> str:
    """The op that broke the graph: ``GraphBreak.op``, else the first library frame called
    from user code in the traceback (``Tensor.item()``, ``nll_loss``...)."""
    if isinstance(exc, GraphBreak):
        return exc.op
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((os.path.realpath(code.co_filename), code.co_name,
                       getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    lib = _library_dirs()
    here = os.path.dirname(os.path.realpath(__file__)) + os.sep
    user = [i for i, (path, _, _) in enumerate(frames)
            if not path.startswith(lib) and not path.startswith(here)
            and "importlib" not in path]
    start = user[-1] + 1 if user else 0
    for path, name, qual in frames[start:]:
        if path.startswith(lib):
            return _NAMES.get(name, qual if "." in qual else name)
    return type(exc).__name__


def _raising_print(*args, **kwargs):
    raise GraphBreak("print", "printing needs concrete values")


@contextlib.contextmanager
def print_breaks():
    """While tracing, ``print`` is a graph break (as in torch.compile), not a trace-time
    side effect that silently runs once."""
    old = builtins.print
    builtins.print = _raising_print
    try:
        yield
    finally:
        builtins.print = old
