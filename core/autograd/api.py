"""``ember.autograd.backward`` and ``ember.autograd.grad``: argument checking around the
engine in :mod:`ember.autograd.graph`."""
from __future__ import annotations

from .. import _tensor as _t  # (half-initialised while it imports us: used at call time)
from .graph import run_backward

__all__ = ["backward", "grad"]


def _as_tuple(x):
    if x is None or type(x) is tuple:
        return x
    if isinstance(x, _t.Tensor):
        return (x,)
    return tuple(x)


def _check_outputs(tensors) -> None:
    for i, t in enumerate(tensors):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")


_filled = None  # ember._creation._filled, bound on first use (that module imports this one)


def _make_grads(outputs, grad_outputs):
    global _filled
    if _filled is None:
        from .._creation import _filled
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:  # complex too: which real loss is meant?
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {out.dtype!r}")
            g = _filled(out._data.shape, 1, out.dtype, out._device)  # ones_like(out)
        else:
            from .._tensor import Tensor
            if not isinstance(g, Tensor):
                from .._creation import tensor
                g = tensor(g, dtype=out.dtype, device=out.device)
            if g.shape != out.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{g.shape} and output[{i}] has a shape of {out.shape}.")
            if g._device != out._device:
                raise RuntimeError(f"invalid gradient at index {i} - expected device "
                                   f"{out.device} but got {g.device}")
            if g.dtype is not out.dtype:
                g = g.to(out.dtype)  # PyTorch casts a root gradient to its output's dtype
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Mirrors ``torch.autograd.backward``: accumulate gradients into the leaves' ``.grad``."""
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    _check_outputs(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(tensors, grads)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        got = run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                           accumulate=False)
        from .graph import _accumulate
        for t, g in zip(inputs, got):
            if g is not None:
                _accumulate(t, g, create_graph, set())
        return
    run_backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Mirrors ``torch.autograd.grad``: the gradients of ``outputs`` w.r.t. ``inputs``,
    leaving every ``.grad`` untouched."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    _check_outputs(outputs)
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if materialize_grads:
        if allow_unused is False:
            raise ValueError("Expected allow_unused to be True or not passed when "
                             "materialize_grads=True, but got: allow_unused=False.")
        allow_unused = True
    got = run_backward(outputs, _make_grads(outputs, grads), retain_graph, create_graph,
                       inputs=inputs, accumulate=False)
    for i, g in enumerate(got):
        if g is None:
            if materialize_grads:
                from .._creation import zeros_like
                got[i] = zeros_like(inputs[i])
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not "
                                   "have been used in the graph. Set allow_unused=True if this "
                                   "is the desired behavior.")
        elif not create_graph and g._requires_grad:
            got[i] = g.detach()
    return tuple(got)
