"""Which modules, optimizers and free tensors a compiled function works on.

The function's state must become inputs and outputs of the compiled program, so it has
to be found before the first trace: the Modules, Optimizers (and LR schedulers' optimizers)
and Tensors that the function reaches through its closure, the globals its code names,
its bound ``self``, ``functools.partial`` arguments and its call arguments, looking a
couple of levels into lists, dicts, helper functions and plain objects (a ``trainer``
holding ``model`` and ``opt``). State reached some other way (a global looked up by
string, an object built inside the function) is not seen: tensors there are constants of
the program, and a write to one only happens while tracing (see the README).
"""
from __future__ import annotations

import functools
import types

from .._tensor import Tensor

__all__ = ["Roots", "discover"]

_DEPTH = 3


class Roots:
    """What a compiled function touches: top-level modules, optimizers, and the
    (container, key) places of free tensors (globals and closure cells)."""

    __slots__ = ("modules", "optimizers", "free")

    def __init__(self):
        self.modules: list = []
        self.optimizers: list = []
        self.free: list = []  # (dict, name) for globals, (cell, None) for closure cells

    def empty(self) -> bool:
        return not (self.modules or self.optimizers or self.free)


def _code_names(code, out: set) -> None:
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, out)


def discover(fn, args=(), kwargs=None) -> Roots:
    from ..nn.modules.module import Module
    from ..optim.optimizer import Optimizer
    roots = Roots()
    seen: set = set()

    def visit(obj, depth: int) -> None:
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float,
                                                              complex, bool)):
            return
        seen.add(id(obj))
        if isinstance(obj, Module):
            roots.modules.append(obj)
            return
        if isinstance(obj, Optimizer):
            roots.optimizers.append(obj)
            return
        if isinstance(obj, (types.ModuleType, type, Tensor)) or depth <= 0:
            return
        if isinstance(obj, types.MethodType):
            visit(obj.__self__, depth)
            visit(obj.__func__, depth)
        elif isinstance(obj, types.FunctionType):
            visit_function(obj, depth - 1)
        elif isinstance(obj, functools.partial):
            visit(obj.func, depth)
            for v in (*obj.args, *obj.keywords.values()):
                visit(v, depth - 1)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            for v in obj:
                visit(v, depth - 1)
        elif isinstance(obj, dict):
            for v in obj.values():
                visit(v, depth - 1)
        else:
            opt = getattr(obj, "optimizer", None)  # an LR scheduler
            if isinstance(opt, Optimizer):
                visit(opt, depth)
            d = getattr(obj, "__dict__", None)
            if isinstance(d, dict) and type(obj).__module__ != "builtins":
                for v in list(d.values()):
                    visit(v, depth - 1)

    def visit_function(f, depth: int) -> None:
        names: set = set()
        _code_names(f.__code__, names)
        g = f.__globals__
        for name in sorted(names):
            if name in g:
                v = g[name]
                if isinstance(v, Tensor):
                    if (id(g), name) not in seen:
                        seen.add((id(g), name))
                        roots.free.append((g, name))
                else:
                    visit(v, depth)
        for cell in f.__closure__ or ():
            try:
                v = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(v, Tensor):
                roots.free.append((cell, None))
            else:
                visit(v, depth)
        for v in (f.__defaults__ or ()):
            visit(v, depth)

    visit(fn, _DEPTH)
    for a in (*args, *(kwargs or {}).values()):
        visit(a, 2)
    return roots
