"""``ember.compiler`` and ``ember.compile``: mirror ``torch.compiler`` / ``torch.compile``.

``ember.compile(model_or_fn)`` pays Python dispatch once. With the tensors on JAX, the
function is traced with ember tensors holding JAX tracers and runs as one XLA program
(forward, ember's own backward, optimizer updates); on CuPy the steady-state call is
captured as a CUDA graph and replayed; on numpy there is no compiler and the function
comes back unchanged. Results are eager mode's. See the README section "Compiling".
"""
from __future__ import annotations

import functools

from ._breaks import Unsupported
from ._state import is_compiling

__all__ = ["OptimizedModule", "Unsupported", "compile", "disable", "is_compiling",
           "list_backends", "reset"]

_BACKENDS = ("inductor", "jax", "cudagraphs", "eager")
_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """Mirrors ``torch._dynamo.list_backends``: the names ``backend=`` accepts. "inductor"
    (the default) picks the compiler by where the tensors live (JAX: XLA; CuPy: CUDA
    graphs); "jax" moves a numpy model to JAX; "cudagraphs" asks for capture; "eager"
    returns the function unchanged."""
    return sorted(_BACKENDS)


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
            options=None, disable: bool = False, recompile_limit: int | None = None,
            **kwargs):
    """Mirrors ``torch.compile``: a callable (``OptimizedModule`` for a module) that gives
    eager mode's results with Python dispatch paid once per guard case.

    Guards: input shapes, dtypes, devices, ``requires_grad``, train/eval mode, parameter
    identity, optimizer hyper-parameters, grad mode; each case gets its own program (up to
    ``recompile_limit``, 8 as in PyTorch). ``dynamic`` is accepted and ignored: every new
    shape is traced again. A graph break (``.item()``, ``bool(t)``, ``print``,
    data-dependent shapes) runs that case eagerly with one warning naming the op, or
    raises :class:`Unsupported` under ``fullgraph=True``. Usable as a decorator, with or
    without arguments.
    """
    if model is None:
        def deco(m):
            if m is None:
                raise RuntimeError("Model can't be None")
            return compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable,
                           recompile_limit=recompile_limit, **kwargs)
        return deco
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is "  # noqa: TRY004 - PyTorch asserts
                             "provided.")
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if backend is not None and not callable(backend) and backend not in _BACKENDS:
        raise RuntimeError(f"Invalid backend: {backend!r}, see `torch._dynamo.list_backends()` "
                           "for available backends.")
    if disable or backend == "eager" or callable(backend):
        return model
    from ..nn.modules.module import Module
    from ._compiled import CompiledCallable
    from ._discover import discover
    from ._module import OptimizedModule
    roots = discover(model)
    if backend == "jax":
        _move_to_jax(roots)
    elif backend is None and _all_on_plain_backends(roots):
        return model  # numpy: no compiler, nothing to do (and no warning)
    if isinstance(model, Module):
        call = CompiledCallable(model._call_impl, fullgraph=fullgraph, dynamic=dynamic,
                                mode=mode, backend=backend, recompile_limit=recompile_limit,
                                roots=roots, grads=False)
        return OptimizedModule(model, call, to_jax=backend == "jax")
    # a module's own forward (Module.compile) has no .grad state
    method_of_module = isinstance(getattr(model, "__self__", None), Module) and \
        getattr(model, "__name__", "") in ("_call_impl", "forward", "__call__")
    call = CompiledCallable(model, fullgraph=fullgraph, dynamic=dynamic, mode=mode,
                            backend=backend, recompile_limit=recompile_limit, roots=roots,
                            grads=not method_of_module)
    return _ToJax(call) if backend == "jax" else call


def _devices(roots):
    from ._slots import gather
    return {t._device for t in gather(roots).tensors}


def _all_on_plain_backends(roots) -> bool:
    """True when the function's state (if any) lives on backends with no compiler here,
    and no JAX or CUDA device could serve tensors passed in later."""
    devs = _devices(roots)
    if devs:
        return all(d._be.name not in ("jax", "cupy") for d in devs)
    # a function of its arguments only: unchanged unless a compiling backend could serve them
    from ..backends import registry
    return not any(be.name in ("jax", "cupy") and be.is_available()
                   for be in registry.backends())


def _move_to_jax(roots) -> None:
    """backend="jax": the modules' parameters and buffers and the optimizers' state move
    to the "jax" device (parameters keep their identity, as ``Module.to`` keeps it)."""
    for m in roots.modules:
        m.to("jax")
    for opt in roots.optimizers:
        for p, st in opt.state.items():
            for k, v in list(st.items()):
                if hasattr(v, "_device") and v._device.type != "jax":
                    st[k] = v.to("jax")
        for g in opt.param_groups:
            for p in g["params"]:
                if p._device.type != "jax":
                    p.data = p.data.to("jax")
    for c, k in roots.free:
        from ._slots import _get, set_slot
        v = _get(c, k)
        if hasattr(v, "_device") and v._device.type != "jax":
            set_slot(c, k, v.to("jax"))


def _to_jax_args(args, kwargs):
    from .._tensor import Tensor
    src = []

    def mv(x):
        if isinstance(x, Tensor):
            if x._device.type != "jax":
                src.append(x._device)
                return x.to("jax")
            return x
        if type(x) in (tuple, list):
            return type(x)(mv(v) for v in x)
        if type(x) is dict:
            return {k: mv(v) for k, v in x.items()}
        return x
    return mv(args), mv(kwargs), (src[0] if src else None)


def _back(x, dev):
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return x.to(dev) if x._device != dev else x
    if type(x) in (tuple, list):
        return type(x)(_back(v, dev) for v in x)
    if type(x) is dict:
        return {k: _back(v, dev) for k, v in x.items()}
    return x


class _ToJax:
    """backend="jax" for a function: tensor arguments go to the "jax" device and results
    come back to the arguments' device (differentiably, through ``Tensor.to``)."""

    def __init__(self, call):
        self._call = call
        functools.update_wrapper(self, call._fn, updated=())

    def __call__(self, *args, **kwargs):
        args, kwargs, dev = _to_jax_args(args, kwargs)
        out = self._call(*args, **kwargs)
        return out if dev is None else _back(out, dev)


def __getattr__(name):
    if name == "OptimizedModule":  # nn is imported on first use (ops import this package)
        from ._module import OptimizedModule
        return OptimizedModule
    raise AttributeError(f"module 'ember.compiler' has no attribute '{name}'")


def reset() -> None:
    """Mirrors ``torch.compiler.reset``: compiled programs are held by each compiled
    callable, so there is no global cache to clear (JAX's own caches stay)."""


def disable(fn=None, recursive: bool = True, *, reason=None):
    """Mirrors ``torch.compiler.disable``: returns ``fn`` unchanged (ember never compiles
    a function it was not asked to)."""
    if fn is None:
        return lambda f: f
    return fn
