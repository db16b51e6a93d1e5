"""Reductions: sum, mean (and sum_to_size, which the engine uses to undo broadcasting)."""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, dims, float_dtype_for, method, record, wrap

__all__ = ["sum", "mean", "sum_to_size"]


def _sum_dtype(dt):
    # PyTorch sums bools and integers in int64
    return _dtype.int64 if not (dt.is_floating_point or dt.is_complex) else dt


def _restore(g: Tensor, shape, axes, keepdim) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes."""
    from .shape import expand, reshape
    if not keepdim and axes:
        kept = list(shape)
        for ax in axes:
            kept[ax] = 1
        g = reshape(g, kept)
    return expand(g, shape)


@method("sum")
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Mirrors ``torch.sum`` (``dim`` an int or tuple; ints and bools sum in int64)."""
    shape = input._data.shape
    axes = dims(dim, len(shape))
    dt = dtype or _sum_dtype(input.dtype)
    be = input._device._be
    data = input._data if dt is input.dtype else be.astype(input._data, dt)
    res = wrap(be.xp.sum(data, axis=axes, keepdims=keepdim), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "SumBackward1" if dim is not None else "SumBackward0", (input,),
               lambda g: (_restore(g, shape, axes, keepdim),))
    return res


@method("mean")
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mirrors ``torch.mean``: floating and complex inputs only, as in PyTorch."""
    dt = dtype or input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {_KN[dt.name]}")
    shape = input._data.shape
    axes = dims(dim, len(shape))
    be = input._device._be
    data = input._data if dt is input.dtype else be.astype(input._data, dt)
    res = wrap(be.xp.mean(data, axis=axes, keepdims=keepdim), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        n = 1
        for ax in axes:
            n *= shape[ax]
        record(res, "MeanBackward1" if dim is not None else "MeanBackward0", (input,),
               lambda g: (_restore(g, shape, axes, keepdim) / n,))
    return res


_KN = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
       "bool": "Bool"}


@method("sum_to_size")
def sum_to_size(input: Tensor, *size) -> Tensor:
    """Mirrors ``Tensor.sum_to_size``: sum broadcast dims away to reach ``size``."""
    from .._creation import _shape
    target = _shape(size)
    shape = input._data.shape
    lead = len(shape) - len(target)
    if lead < 0:
        raise RuntimeError(f"size {{{list(target)}}} is not expandable to size "
                           f"{{{list(shape)}}}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(target)
                                      if s == 1 and shape[lead + i] != 1)
    if not axes:
        return input
    out = sum(input, axes, keepdim=True)
    if lead:
        from .shape import reshape
        out = reshape(out, target)
    return out


float_dtype_for = float_dtype_for
