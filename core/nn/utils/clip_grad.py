"""Gradient clipping. Mirrors ``torch.nn.utils.clip_grad``: the norm is computed over all
gradients together and each gradient is scaled in place (never recorded by autograd)."""
from __future__ import annotations

import math
import warnings

from ..._tensor import Tensor, wrap
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _array_norm(xp, a, p: float):
    if p == math.inf:
        return xp.max(xp.abs(a)) if a.size else xp.asarray(0.0, dtype=a.dtype)
    if p == -math.inf:
        return xp.min(xp.abs(a))
    if p == 0:
        return xp.sum(a != 0).astype(a.dtype) if hasattr(a, "astype") else xp.sum(a != 0)
    if p == 2:
        return xp.sqrt(xp.sum(a * a))
    if p == 1:
        return xp.sum(xp.abs(a))
    return xp.sum(xp.abs(a) ** p) ** (1.0 / p)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """Mirrors ``torch.nn.utils.get_total_norm``: the norm of the norms of ``tensors``."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        from ..._creation import tensor
        return tensor(0.0)
    ref = tensors[0]
    be = ref._device._be
    xp = be.xp
    norms = xp.stack([xp.astype(_array_norm(xp, t._data, norm_type), be.native_dtype(ref.dtype))
                      for t in tensors])
    total = _array_norm(xp, norms, norm_type)
    value = float(total)
    if error_if_nonfinite and (math.isnan(value) or math.isinf(value)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return wrap(xp.asarray(total, dtype=be.native_dtype(ref.dtype)), ref.dtype, ref._device)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach=None) -> None:
    """Mirrors ``torch.nn.utils.clip_grads_with_norm_``: scale every gradient by
    ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef >= 1.0:
        return  # PyTorch multiplies by the clamped 1.0: the same values
    with no_grad():
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Mirrors ``torch.nn.utils.clip_grad_norm_``: returns the total norm (before
    clipping) as a tensor."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (PyTorch's warning)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Mirrors ``torch.nn.utils.clip_grad_value_``: clamp each gradient to
    [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            g = p.grad
            if g is None:
                continue
            be = g._device._be
            g.copy_(wrap(be.xp.clip(g._data, -clip_value, clip_value), g.dtype, g._device))
