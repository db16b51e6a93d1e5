"""Recording the op calls of one run of a function (for ONNX export and TensorBoard's
graph): the op interceptor wraps every op; calls made while a trace is open on this
thread become ``Call`` records, nested calls under their caller's ``children``."""
from __future__ import annotations

import functools
import inspect
import threading
import types

from ..autograd.grad_mode import no_grad

__all__ = ["Call", "trace"]

_KEY = "ember.trace"
_active: list = [None]  # the open recorder (one trace at a time)


class Call:
    """One op call: its name, the function, the arguments and the output."""

    __slots__ = ("name", "fn", "args", "kwargs", "out", "children")

    def __init__(self, name, fn, args, kwargs):
        self.name, self.fn, self.args, self.kwargs = name, fn, args, kwargs
        self.out = None
        self.children = []

    def bound(self) -> dict:
        """The arguments by parameter name, defaults filled in."""
        try:
            sig = inspect.signature(self.fn)
        except (TypeError, ValueError):
            return {"args": self.args, **self.kwargs}
        b = sig.bind(*self.args, **self.kwargs)
        b.apply_defaults()
        out = dict(b.arguments)
        for p in sig.parameters.values():  # *args folded into a tuple under its name
            if p.kind is p.VAR_KEYWORD and p.name in out:
                out.update(out.pop(p.name))
        return out

    def __repr__(self) -> str:
        return f"<Call {self.name}>"


class _Recorder:
    def __init__(self):
        self.thread = threading.get_ident()
        self.calls: list = []
        self.stack: list = []


def _make(name: str, fn):
    @functools.wraps(fn)
    def traced(*args, **kwargs):
        rec = _active[0]
        if rec is None or rec.thread != threading.get_ident():
            return fn(*args, **kwargs)
        call = Call(name, fn, args, kwargs)
        (rec.stack[-1].children if rec.stack else rec.calls).append(call)
        rec.stack.append(call)
        try:
            call.out = fn(*args, **kwargs)
        finally:
            rec.stack.pop()
        return call.out
    return traced


def trace(fn, args: tuple, kwargs: dict | None = None):
    """Run ``fn(*args, **kwargs)`` without grad, recording its op calls: (calls, output)."""
    from ..ops import _intercept
    if _active[0] is not None:
        raise RuntimeError("a trace is already being recorded")
    rec = _active[0] = _Recorder()
    _intercept.install(_KEY, _make)
    patched = _patch_instances(fn)
    try:
        with no_grad():
            out = fn(*args, **(kwargs or {}))
    finally:
        for d, k, v in patched:
            d[k] = v
        _active[0] = None
        _intercept.remove(_KEY)
    return rec.calls, out


def _patch_instances(model) -> list:
    """Op functions a module holds as instance attributes (``TransformerEncoderLayer``'s
    ``activation = F.gelu``) are swapped for their traced wrappers: [(dict, key, old)]."""
    from ..nn.modules.module import Module
    from ..ops import _intercept
    if not isinstance(model, Module):
        return []
    table = _intercept.ops()
    out = []
    for m in model.modules():
        d = m.__dict__
        for k, v in list(d.items()):
            if type(v) is types.FunctionType and v in table:
                out.append((d, k, v))
                d[k] = _intercept.bound(v)
    return out
