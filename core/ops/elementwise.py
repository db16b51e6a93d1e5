"""Elementwise maths (unary): exp, log, ... Each forward on backend arrays, backward beside it."""
from __future__ import annotations

from ._util import GRAD, Tensor, float_dtype_for, method, record, wrap

__all__ = ["exp", "log"]


def _float_in(input: Tensor):
    """input's array in the dtype a float-only op computes in (ints → default float)."""
    dt = float_dtype_for(input.dtype)
    data = input._data if dt is input.dtype else input._device._be.astype(input._data, dt)
    return data, dt


@method("exp")
def exp(input: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.exp``."""
    data, dt = _float_in(input)
    res = wrap(input._device._be.xp.exp(data), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "ExpBackward0", (input,), lambda g: (g * res.detach(),), saved=(res,))
    return res


@method("log")
def log(input: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.log``."""
    data, dt = _float_in(input)
    res = wrap(input._device._be.xp.log(data), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "LogBackward0", (input,), lambda g: (g / input,), saved=(input,))
    return res
