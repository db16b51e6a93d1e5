"""softmax, log_softmax and logsumexp: numerically stable (the maximum is subtracted before
``exp``), gradients by the standard formulas in Tensor ops."""
from __future__ import annotations

import math
import warnings

from ._util import GRAD, Tensor, float_dtype_for, method, record, wrap, wrap_dim
from .reduction import _restore, np_alias, red_axes

__all__ = ["softmax", "log_softmax", "logsumexp"]


def softmax_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    """The dim PyTorch picks when none is given (``_get_softmax_dim``), with its warning."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel + 1)
    return 0 if ndim in (0, 1, 3) else 1


def _prepare(name: str, input: Tensor, dim, dtype):
    """(input cast to ``dtype``, wrapped dim); integer inputs fail as in PyTorch."""
    if dim is None:
        dim = softmax_dim(name, input.ndim, stacklevel=4)
    d = wrap_dim(dim, input.ndim)
    if dtype is not None and dtype is not input.dtype:
        input = input.to(dtype)
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        last = "lastdim_" if d == input.ndim - 1 or input.ndim == 0 else ""
        raise NotImplementedError(f'"{name}_{last}kernel_impl" not implemented for '
                                  f"'{input.dtype.scalar_name}'")
    return input, d if input.ndim else None


def _shifted(xp, data, d):
    """(x - max along d, sum of exp of it), keeping dims; an empty dim needs no shift."""
    if data.shape[d] == 0:
        return data, xp.sum(data, axis=d, keepdims=True)
    z = data - xp.max(data, axis=d, keepdims=True)
    return z, xp.sum(xp.exp(z), axis=d, keepdims=True)


@method("softmax")
def softmax(input: Tensor, dim: int | None = None, dtype=None, **np_kw) -> Tensor:
    """Mirrors ``torch.softmax`` (``dim=None`` picks a dim with PyTorch's deprecation
    warning, as ``torch.nn.functional.softmax`` does)."""
    if np_kw:
        dim = np_alias("softmax", np_kw, dim)[0]
    input, d = _prepare("softmax", input, dim, dtype)
    xp = input._device._be.xp
    if d is None:  # 0-d: one element
        out = xp.ones_like(input._data)
    elif input._data.shape[d] == 0:
        z, s = _shifted(xp, input._data, d)
        out = xp.exp(z) / s
    else:  # the backend's kernel: fewer passes over memory where it has one
        out = input._device._be.softmax(input._data, d, False)
    res = wrap(out, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        from .reduction import sum as _sum
        ax = 0 if d is None else d

        def fn(g):
            if d is not None and not GRAD.enabled:  # on the arrays: the backend's kernel
                gy = input._device._be.softmax_backward(res._data, g._data, d, False)
                return (wrap(gy, g.dtype, g._device),)
            gy = g * res
            return (gy - res * (_sum(gy, ax, keepdim=True) if d is not None else gy),)
        record(res, "SoftmaxBackward0", (input,), fn, saved=(res,))
    return res


@method("log_softmax")
def log_softmax(input: Tensor, dim: int | None = None, dtype=None, **np_kw) -> Tensor:
    """Mirrors ``torch.log_softmax`` (``x - max - log(sum(exp(x - max)))``)."""
    if np_kw:
        dim = np_alias("log_softmax", np_kw, dim)[0]
    input, d = _prepare("log_softmax", input, dim, dtype)
    xp = input._device._be.xp
    if d is None:
        out = xp.zeros_like(input._data)
    elif input._data.shape[d] == 0:
        out = input._data - input._data
    else:  # the backend's kernel: fewer passes over memory where it has one
        out = input._device._be.softmax(input._data, d, True)
    res = wrap(out, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        from .elementwise import exp
        from .reduction import sum as _sum

        def fn(g):
            if d is not None and not GRAD.enabled:  # on the arrays: the backend's kernel
                t = input._device._be.softmax_backward(res._data, g._data, d, True)
                return (wrap(t, g.dtype, g._device),)
            total = _sum(g, d, keepdim=True) if d is not None else g
            return (g - exp(res) * total,)
        record(res, "LogSoftmaxBackward0", (input,), fn, saved=(res,))
    return res


@method("logsumexp")
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """Mirrors ``torch.logsumexp``: ``log(sum(exp(x)))`` over ``dim`` (an int or tuple)
    without overflow; integer inputs give the default float dtype."""
    dt = float_dtype_for(input.dtype)
    be = input._device._be
    xp = be.xp
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    data = input._data if dt is input.dtype else be.astype(input._data, dt)
    if any(shape[a] == 0 for a in axes):
        out_shape = tuple(1 if i in axes else s for i, s in enumerate(shape)) if keepdim else \
            tuple(s for i, s in enumerate(shape) if i not in axes)
        out = xp.full(out_shape, -math.inf, dtype=be.native_dtype(dt))
    else:
        # (complex: shifted by the largest real part; complex numbers have no maximum)
        m = xp.max(xp.real(data) if dt.is_complex else data, axis=axes, keepdims=True)
        # an infinite maximum would turn x - m into nan: shift by 0 there instead
        m = xp.where(xp.isinf(m), xp.zeros((), dtype=m.dtype), m)
        out = xp.log(xp.sum(xp.exp(data - m), axis=axes, keepdims=True)) + m
        if not keepdim:
            out = xp.reshape(out, tuple(s for i, s in enumerate(shape) if i not in axes))
    res = wrap(out, dt, input._device)
    if GRAD.enabled and input._requires_grad:
        from .elementwise import exp

        def fn(g):
            return (_restore(g, shape, axes, keepdim)
                    * exp(input - _restore(res, shape, axes, keepdim)),)
        record(res, "LogsumexpBackward0", (input,), fn, saved=(input, res))
    return res

