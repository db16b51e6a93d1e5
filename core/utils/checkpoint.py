"""``ember.utils.checkpoint``: mirrors ``torch.utils.checkpoint`` (``checkpoint``,
``checkpoint_sequential``): activation checkpointing, trading compute for memory. A
checkpointed function keeps none of its intermediate tensors for backward; its backward
runs it again (with the RNG state of the first run, so dropout masks agree) and
backpropagates through that recomputation.

- ``use_reentrant=True`` (PyTorch's default, with its warning when not passed): the forward
  runs under ``no_grad``; the backward recomputes and calls :func:`ember.autograd.backward`
  inside the outer pass, which accumulates straight into the parameters' ``.grad``. Needs an
  input that requires grad (else PyTorch's warning, and no gradients) and takes no keyword
  arguments. PyTorch refuses ``autograd.grad`` through it; ember does not detect that case:
  ``autograd.grad`` gets the inputs' gradients while the parameters' ``.grad`` accumulate as a
  side effect. Use ``use_reentrant=False`` with ``autograd.grad``.
- ``use_reentrant=False``: the forward builds the graph once to find every leaf it reaches
  (parameters included), then drops it; the checkpoint's node leads to those leaves, so
  ``autograd.grad``, keyword arguments and inputs that need no grad all work. (PyTorch finds
  them with saved-tensor hooks; ember has none, so the graph of one segment lives for the
  length of its forward call instead.) A tensor the function uses that has a graph of its
  own (computed outside, not a leaf) must be passed as an argument: one captured from an
  enclosing scope would have its graph walked and freed with the function's.

``context_fn``, ``determinism_check`` and ``debug`` are accepted; ember runs no determinism
check and ignores ``debug``.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Callable

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import STATE as _GRAD, enable_grad, no_grad
from ..autograd.graph import AccumulateGrad, record

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]


def noop_context_fn():
    """Mirrors ``torch.utils.checkpoint.noop_context_fn``."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# --- the RNG state a recomputation must replay ------------------------------------------------
def _rng_state():
    from .. import _creation
    from .._random_state import get_rng_state
    return get_rng_state(), [(g, g.get_state()) for g in _creation._device_generators.values()]


@contextlib.contextmanager
def _replaying(state):
    """Run the block with the RNG as it was at ``state``; the current state comes back after."""
    if state is None:
        yield
        return
    from .._random_state import fork_rng, set_rng_state
    with fork_rng():
        cpu, gens = state
        set_rng_state(cpu)
        for g, st in gens:
            g.set_state(st)
        yield


def _detach_args(args) -> list:
    return [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
            for a in args]


def _tensors_out(out) -> list[Tensor]:
    return [out] if isinstance(out, Tensor) else \
        [o for o in out if isinstance(o, Tensor)] if isinstance(out, tuple) else []


def _rewrap(out, fresh: dict):
    """out with each tensor replaced by its fresh (graph-less) counterpart."""
    if isinstance(out, Tensor):
        return fresh.get(id(out), out)
    if isinstance(out, tuple):
        return tuple(fresh.get(id(o), o) if isinstance(o, Tensor) else o for o in out)
    return out


def _attach(out, name: str, inputs: list, fn) -> Any:
    """Fresh copies of out's differentiable tensors, one node over them all leading to
    ``inputs``; ``fn(*grads)`` gives the inputs' gradients."""
    outs = [o for o in _tensors_out(out) if o.dtype.is_floating_point or o.dtype.is_complex]
    if not outs or not inputs:
        return out
    # not detach(): a detached tensor keeps its source (``_base``), and with it the forward
    # graph this function exists to drop
    fresh = [wrap(o._data, o.dtype, o._device) for o in outs]
    record(tuple(fresh), name, tuple(inputs), fn)
    return _rewrap(out, {id(o): f for o, f in zip(outs, fresh)})


def _selected(outs, grads):
    pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
    return [o for o, _ in pairs], [g for _, g in pairs]


# --- the two variants ---------------------------------------------------------------------------
def _reentrant(function: Callable, preserve: bool, args: tuple):
    state = _rng_state() if preserve else None
    with no_grad():
        out = function(*args)
    if not _GRAD.enabled:
        return out
    needing = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    if not needing:
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)
        return out
    n_outs = len([o for o in _tensors_out(out)
                  if o.dtype.is_floating_point or o.dtype.is_complex])

    def backward(*grads):
        from ..autograd.api import backward as _backward
        detached = _detach_args(args)
        with _replaying(state), enable_grad():
            again = function(*detached)
        outs = [o for o in _tensors_out(again)
                if o.dtype.is_floating_point or o.dtype.is_complex][:n_outs]
        sel, gs = _selected(outs, grads)
        if not sel:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _backward(sel, gs)
        return tuple(d.grad for d in detached if isinstance(d, Tensor) and d.requires_grad)

    return _attach(out, "CheckpointFunctionBackward", needing, backward)


def _leaves_and_free(outs, args_by_id: set) -> list[Tensor]:
    """The leaves requiring grad that ``outs``' graph reaches, other than the detached args;
    the graph's nodes are freed on the way (as a backward pass without retain_graph does):
    their closures often form reference cycles with the tensors they save, which refcounting
    alone would leave to the cyclic GC, keeping the activations alive."""
    seen, found, stack = set(), [], [o._grad_fn for o in outs if o._grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in args_by_id:
                found.append(node.variable)
            continue
        stack.extend(n for n, _ in node.next_functions)
        node._fn = None
        node._saved = None
    return found


def _non_reentrant(function: Callable, preserve: bool, context_fn, args: tuple, kwargs: dict):
    state = _rng_state() if preserve else None
    if not _GRAD.enabled:
        return function(*args, **kwargs)
    detached = _detach_args(args)
    fwd_ctx, recompute_ctx = context_fn()
    with fwd_ctx:
        out = function(*detached, **kwargs)
    outs = _tensors_out(out)
    arg_pairs = [(a, d) for a, d in zip(args, detached)
                 if isinstance(a, Tensor) and a.requires_grad]
    leaves = _leaves_and_free(outs, {id(d) for _, d in arg_pairs})
    # what the outputs did not reach gets no gradient: only the args the graph touches
    inputs = [a for a, _ in arg_pairs] + leaves
    # an output that is an arg itself (or a view the function returned unchanged) keeps its
    # own graph; the rest is rebuilt at backward
    n_outs = len([o for o in outs if o.dtype.is_floating_point or o.dtype.is_complex])

    def backward(*grads):
        from ..autograd.api import grad as _grad
        create = _GRAD.enabled  # the engine runs backward under create_graph's grad mode
        again_args = _detach_args(args)
        _, rctx = context_fn()
        with _replaying(state), enable_grad(), rctx:
            again = function(*again_args, **kwargs)
        r_outs = [o for o in _tensors_out(again)
                  if o.dtype.is_floating_point or o.dtype.is_complex][:n_outs]
        sel, gs = _selected(r_outs, grads)
        wrt = [d for d in again_args if isinstance(d, Tensor) and d.requires_grad] + leaves
        if not sel:
            return (None,) * len(wrt)
        return _grad(sel, wrt, gs, allow_unused=True, create_graph=create)

    res = _attach(out, "CheckpointBackward", inputs, backward)
    del out, outs  # the forward graph goes with them
    return res


# --- the public functions -----------------------------------------------------------------------
_WARN = ("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
         "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
         "exception. use_reentrant=False is recommended, but if you need to preserve the "
         "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
         "details on the differences between the two variants.")
_WARN_SEQ = ("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
             "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
             "is not passed. use_reentrant=False is recommended, but if you need to preserve "
             "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
             "more details on the differences between the two variants.")


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, **kwargs):
    """Mirrors ``torch.utils.checkpoint.checkpoint``: ``function(*args, **kwargs)`` without
    keeping its activations; ``preserve_rng_state`` (default True) replays the RNG."""
    if use_reentrant is None:
        warnings.warn(_WARN, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return _reentrant(function, preserve, args)
    return _non_reentrant(function, preserve, context_fn, args, kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Mirrors ``torch.utils.checkpoint.checkpoint_sequential``: ``functions`` (a Sequential
    or a list of modules/functions) in ``segments`` chunks, every chunk but the last
    checkpointed."""
    if use_reentrant is None:
        warnings.warn(_WARN_SEQ, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start: int, end: int, fns):
        def forward(input):
            for j in range(start, end + 1):
                input = fns[j](input)
            return input
        return forward

    # a Sequential (any module) runs its children; a list runs as given
    fns: list = list(functions.children() if hasattr(functions, "children") else functions)
    segment_size = len(fns) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, fns), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(fns) - 1, fns)(input)
