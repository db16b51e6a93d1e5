"""``linear`` and ``bilinear``. Mirror ``torch.nn.functional`` of the same names.

``linear`` is one fused op (a matmul plus the bias added into its fresh result) with one
graph node, as PyTorch's addmm; its backward is written with Tensor ops.
"""
from __future__ import annotations

import math

from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...ops._util import same_device
from ._util import dtype_name, matvec_sum

__all__ = ["linear", "bilinear"]


def _check(input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    # PyTorch's wording depends on which kernel (addmm with a bias, mm without) objects
    if bias is not None:
        if bias.dtype is not weight.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{dtype_name(bias.dtype)} and {dtype_name(weight.dtype)}")
        if input.dtype is not weight.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                               f"{dtype_name(input.dtype)} and {dtype_name(weight.dtype)}")
    elif input.dtype is not weight.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{input.dtype.c_name} != {weight.dtype.c_name}")
    k = input.shape[-1] if input.ndim else 1
    if k != weight.shape[-1]:
        rows = 1
        for s in input.shape[:-1]:
            rows *= s
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.linear``: ``input @ weight.T + bias``."""
    if weight.ndim != 2 or input.ndim == 0:
        out = input.matmul(weight.t())
        return out + bias if bias is not None else out
    same_device(input, weight)
    _check(input, weight, bias)
    x = input._data
    if input.ndim > 2:  # one (rows, in) @ (in, out) BLAS call: numpy's stacked matmul makes
        # one small call per leading index (3x slower for a (35, 20, 200) LM batch)
        rows = math.prod(input.shape[:-1])
        xp = input._device._be.xp
        data = xp.reshape(xp.reshape(x, (rows, input.shape[-1])) @ weight._data.T,
                          (*input.shape[:-1], weight.shape[0]))
    else:
        data = x @ weight._data.T
    if bias is not None:
        same_device(input, bias)
        if bias.ndim != 1 or bias.shape[0] != data.shape[-1]:
            raise RuntimeError(f"The expanded size of the tensor ({data.shape[-1]}) must match "
                               f"the existing size ({bias.shape[-1] if bias.ndim else 1}) at "
                               f"non-singleton dimension {data.ndim - 1}.  Target sizes: "
                               f"{list(data.shape)}.  Tensor sizes: {list(bias.shape)}")
        data += bias._data  # into the fresh matmul result: no extra array
    if GRAD.enabled and (input._requires_grad or weight._requires_grad or
                         (bias is not None and bias._requires_grad)):
        return _linear_graph(input, weight, bias, data)
    return wrap(data, input.dtype, input._device)


def _linear_graph(input: Tensor, weight: Tensor, bias: Tensor | None, data) -> Tensor:
    """The result ``data`` with PyTorch's graph for linear: ``AddmmBackward0(bias, x2,
    TBackward0(weight))`` (``MmBackward0(x2, ...)`` without bias), where x2 is the input
    (2-D), its ``ViewBackward0`` to rows (N-D) or ``UnsqueezeBackward0`` (1-D, no bias), and
    the result viewed back (``ViewBackward0``; ``UnsafeViewBackward0``/``SqueezeBackward4``
    without bias)."""
    nd, n_out = input.ndim, weight.shape[0]
    if nd == 2:
        x2 = input
    elif nd == 1 and bias is None:
        x2 = input.unsqueeze(0)
    else:
        x2 = input.reshape(-1, input.shape[-1])
    wt = weight.t()
    xp = input._device._be.xp
    mid = wrap(data if nd == 2 else xp.reshape(data, (x2.shape[0], n_out)), input.dtype,
               input._device)
    rx, rw = x2._requires_grad, weight._requires_grad

    def backward(g):
        # weight's gradient is computed in weight's (out, in) layout and handed over
        # transposed: TBackward0 turns it back, so weight.grad is C-contiguous (as
        # PyTorch's) and the optimizers' fused kernels take it without a copy
        if GRAD.enabled:  # create_graph: Tensor ops, differentiable
            gx = g @ weight if rx else None
            gwt = (g.mT @ x2).mT if rw else None
        else:  # on the arrays: no op dispatch for the two products
            ga, dt, dev = g._data, g.dtype, g._device
            gx = wrap(ga @ weight._data, dt, dev) if rx else None
            gwt = wrap((ga.mT @ x2._data).mT, dt, dev) if rw else None
            if bias is not None and bias._requires_grad:
                # the bias gradient as ones @ g (BLAS): 5 us for a (768, 128) g against
                # 21 us for numpy's sum over axis 0, 1.0 ms against 1.7 ms at (700, 10000)
                gb = matvec_sum(dev._be, ga, (0,))
                if gb is not None:
                    return wrap(xp.reshape(gb, (n_out,)), dt, dev), gx, gwt
        if bias is None:
            return gx, gwt
        return (g.sum(0) if bias._requires_grad else None), gx, gwt
    if bias is None:
        record(mid, "MmBackward0", (x2, wt), backward, saved=(x2, weight))
    else:
        record(mid, "AddmmBackward0", (bias, x2, wt), backward, saved=(x2, weight))
    if nd == 2:
        return mid
    out = wrap(data, input.dtype, input._device)
    name = "ViewBackward0" if bias is not None else \
        "SqueezeBackward4" if nd == 1 else "UnsafeViewBackward0"
    return record(out, name, (mid,), lambda g: (g.reshape(mid.shape),))


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.bilinear``:
    ``y[..., o] = x1[..., i] W[o, i, j] x2[..., j] + b[o]``."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError("bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be a three-dimensional tensor, got "
                           f"{weight.ndim}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    lead = input1.shape[:-1]
    o, i, j = weight.shape
    x1 = input1.reshape(-1, i)
    x2 = input2.reshape(-1, j)
    # (n, i) @ (i, o*j) -> (n, o, j); then contract j with x2
    t = (x1 @ weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)
    out = (t @ x2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, o)
