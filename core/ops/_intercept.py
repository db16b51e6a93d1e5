"""Op interception: the one place where tools that must see every op call plug in
(autocast, the profiler, ONNX tracing). Zero cost while nothing is installed: the op
functions stay exactly the objects the op files defined.

``install(key, make)`` puts an interceptor in; ``make(name, fn)`` returns the function to
call instead of ``fn`` (or ``fn`` itself to leave that op alone). While at least one is
installed, every public op function is swapped, *everywhere it is bound*, for the chain of
wrappers (the last installed outermost): Tensor methods and operators, the ``ember``,
``ember.nn.functional``, ``ember.linalg``, ``ember.special`` namespaces and the module
globals of every loaded ``ember.*`` module that holds the same function object, so an
internal call such as ``Linear.forward`` calling ``F.linear`` or ``F.linear`` calling
``matmul`` is seen too. ``remove(key)`` of the last interceptor puts the originals back
(the very same objects). Modules imported after ``install`` keep the originals until the
next install/remove.

An op's name is the name PyTorch users know it by (``"linear"``, ``"matmul"``, ``"add"``):
the name it is bound under that equals its ``__name__``, else its first binding with any
dunder stripped (``Tensor.__eq__`` is ``"eq"``, ``Tensor.__radd__`` is ``"radd"``).
"""
from __future__ import annotations

import sys
import threading
import types
from typing import Callable

__all__ = ["install", "remove", "installed", "ops", "original"]

# Modules whose functions are not ops (settings, dtype queries, printing, RNG state, the
# Tensor class's own attribute/conversion methods, autograd machinery).
_NOT_OP_MODULES = ("ember", "ember._dtype", "ember._printing", "ember._random_state",
                   "ember._settings", "ember._tensor", "ember._device", "ember._size")
_NOT_OP_PREFIXES = ("ember.autograd", "ember.backends", "ember.ops._intercept",
                    "ember.amp", "ember.profiler", "ember.onnx", "ember.jit", "ember.utils")
# functions in op modules that are utilities, not ops
_SKIP = frozenset({
    "manual_seed", "seed", "initial_seed", "get_default_device", "set_default_device",
    "from_dlpack", "broadcast_shapes", "is_nonzero", "is_same_size", "can_cast",
    "_canonical_mask", "_none_or_dtype", "__setattr__", "__getattr__", "__init__",
    "__repr__", "__str__", "__hash__", "__len__", "__iter__", "__bool__", "__contains__",
    "__array__", "__reduce_ex__", "__deepcopy__", "__format__", "__dir__", "is_shared",
    "share_memory_", "apply_", "map_",
})
# namespaces walked for public op functions (modules imported on demand)
# namespaces walked for public op functions (modules imported on demand), with the prefix
# PyTorch's op names carry there (torch.linalg.svd is aten::linalg_svd)
_NAMESPACES = (("ember", ""), ("ember.nn.functional", ""), ("ember.linalg", "linalg_"),
               ("ember.special", "special_"), ("ember.fft", "fft_"),
               ("ember.nn._functional.rnn", ""))

_lock = threading.RLock()
_makers: dict = {}   # key -> make, in install order
_wrapped: dict = {}  # wrapper now bound -> its original function
_ops: dict | None = None  # original function -> op name (collected once)


def _is_op_fn(v) -> bool:
    if not isinstance(v, types.FunctionType):
        return False
    mod = v.__module__ or ""
    if not mod.startswith("ember") or mod in _NOT_OP_MODULES:
        return False
    return not any(mod.startswith(p) for p in _NOT_OP_PREFIXES)


def _collect() -> dict:
    """{function: op name} over the op namespaces and Tensor's methods."""
    import importlib
    from .._tensor import Tensor
    seen: dict = {}  # fn -> [attr names bound]
    for modname, prefix in _NAMESPACES:
        try:
            ns = importlib.import_module(modname)
        except ImportError:
            continue
        for k, v in list(vars(ns).items()):
            if k.startswith("_") or k in _SKIP or not _is_op_fn(v):
                continue
            seen.setdefault(v, []).append(prefix + k)
    for k, v in Tensor.__dict__.items():
        if k in _SKIP or not _is_op_fn(v) or (k.startswith("_") and not k.startswith("__")):
            continue
        seen.setdefault(v, []).append(k)
    # the op kit's out= wrappers (``__wrapped_op__``) stand in the public namespaces while
    # modules that import the op directly hold the function inside: both are the op
    for fn, names in list(seen.items()):
        inner = getattr(fn, "__wrapped_op__", None)
        if type(inner) is types.FunctionType:
            seen.setdefault(inner, []).extend(names)
    out = {}
    for fn, names in seen.items():
        name = fn.__name__ if fn.__name__ in names else names[0]
        if name.startswith("__") and name.endswith("__"):
            name = name[2:-2]
        out[fn] = name
    return out


def ops() -> dict:
    """{op function: name} for every function the interceptors see."""
    global _ops
    with _lock:
        if _ops is None:
            _ops = _collect()
        return _ops


def _ember_modules() -> list:
    return [m for n, m in list(sys.modules.items())
            if m is not None and (n == "ember" or n.startswith("ember."))]


def _scan(known: dict) -> list:
    """Every (owner, attr, original, static) where an op function or one of its current
    wrappers is bound: the globals of the loaded ember modules (their namespaces included)
    and the attributes of the classes they define (Tensor's methods and operators, and
    ``_fn = staticmethod(F.conv2d)``-style class attributes of modules). ``known`` maps
    each such value to its original."""
    out = []
    classes = []
    for mod in _ember_modules():
        d = getattr(mod, "__dict__", None)
        if d is None:
            continue
        for k, v in list(d.items()):
            if type(v) is types.FunctionType:
                if v in known:
                    out.append((d, k, known[v], None))
            elif isinstance(v, type) and v.__module__ == mod.__name__:
                classes.append(v)
    for cls in classes:
        for k, v in list(vars(cls).items()):
            if type(v) is types.FunctionType and v in known:
                out.append((cls, k, known[v], None))
            elif type(v) is staticmethod and type(v.__func__) is types.FunctionType \
                    and v.__func__ in known:
                orig = known[v.__func__]
                # the original staticmethod object, put back when nothing is installed
                first = _static_orig.setdefault((cls, k), v if v.__func__ is orig else None)
                out.append((cls, k, orig, first or staticmethod(orig)))
    return out


_static_orig: dict = {}  # (class, attr) -> its original staticmethod object
_sites: dict = {}      # original -> [(owner, attr, static)]: the scan, reused while no
_n_modules = [-1]      # module was imported
_chains: dict = {}     # tuple of makers -> {original: chained wrapper}, reused on re-install
_bound: dict = {}      # original -> the wrapper bound now (absent: the original itself)


def _chain(table: dict, makers: list) -> dict:
    """{original: wrapper} for the ops the makers wrap (those they leave alone are absent)."""
    key = tuple(makers)
    now = _chains.get(key)
    if now is None:
        now = {}
        for fn, name in table.items():
            w = fn
            for make in makers:
                w = make(name, w)
            if w is not fn:
                now[fn] = w
        if len(_chains) > 8:
            _chains.clear()
        _chains[key] = now = (now, {w: fn for fn, w in now.items()})
    return now


def _rebind() -> None:
    global _wrapped, _sites, _bound
    table = ops()
    now, inverse = _chain(table, list(_makers.values()))
    n = len(sys.modules)  # a new module may hold op functions: scan again
    if n != _n_modules[0]:
        known = {fn: fn for fn in table}
        known.update(_wrapped)  # wrappers bound so far lead back to their originals
        _sites = {}
        for owner, attr, fn, static in _scan(known):
            _sites.setdefault(fn, []).append((owner, attr, static))
        _n_modules[0] = n
        changed = set(_sites)
    else:  # only the ops whose binding changes are touched (setting a class attribute
        # invalidates type caches: not free)
        changed = {fn for fn in set(now) | set(_bound) if now.get(fn) is not _bound.get(fn)}
    for fn in changed:
        new = now.get(fn, fn)
        for owner, attr, static in _sites.get(fn, ()):
            if type(owner) is dict:
                owner[attr] = new
            elif static is None:
                setattr(owner, attr, new)
            else:
                setattr(owner, attr, static if new is fn else staticmethod(new))
    _bound, _wrapped = now, inverse


def install(key, make: Callable) -> None:
    """Install (or replace) the interceptor ``key``: ``make(name, fn) -> fn'``."""
    with _lock:
        _makers.pop(key, None)
        _makers[key] = make
        _rebind()


def remove(key) -> None:
    """Take the interceptor ``key`` out; with none left every op is its original again."""
    with _lock:
        if _makers.pop(key, None) is not None:
            _rebind()


def installed(key) -> bool:
    return key in _makers


def bound(fn):
    """What is bound now in place of the op function ``fn`` (``fn`` itself when nothing is
    installed or ``fn`` is no op): for code that holds op functions in places the
    interceptor does not scan (instance attributes such as a layer's ``activation``)."""
    return _bound.get(fn, fn)


def original(name: str):
    """The original function of the op called ``name`` (None if there is none)."""
    for fn, n in ops().items():
        if n == name:
            return fn
    return None
