"""Cumulative ops along a dim: cumsum, cumprod, cummax, cummin (and ``cumsum_``/``cumprod_``).

The cumprod gradient is right where inputs are zero (PyTorch's is too): at nonzero inputs
the usual ``reverse_cumsum(g * out) / x`` holds, at a slice's first zero the products
that skip it are summed, and at later zeros it is zero.
"""
from __future__ import annotations

from .. import _dtype, return_types
from ._register import inplace, takes_out
from ._util import GRAD, Tensor, method, record, wrap
from .reduction import _cast_in, _sum_dtype
from .reduction import sum as _rsum
from .sorting import _as_1d, _squeeze0, flipped, put_along

__all__ = ["cumsum", "cumprod", "cummax", "cummin"]


def _scan(xp, kind: str, data, axis: int, reverse: bool = False):
    """Inclusive scan along axis on the backend (``kind`` "sum" or "prod")."""
    if reverse:
        data = flipped(data, axis)
    fn = getattr(xp, "cumulative_" + kind, None)
    out = fn(data, axis=axis) if fn is not None else getattr(xp, "cum" + kind)(data, axis=axis)
    return flipped(out, axis) if reverse else out


def _cumsum(input: Tensor, d: int, dt, reverse: bool = False) -> Tensor:
    """Cumulative sum along d (from the end when ``reverse``); each direction's gradient is
    the other's."""
    xp = input._device._be.xp
    res = wrap(_scan(xp, "sum", _cast_in(input, dt), d, reverse), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "CumsumBackward0", (input,),
               lambda g: (_cumsum(g, d, g.dtype, not reverse),))
    return res


def _on_1d(fn, input: Tensor, dim: int, *args):
    """Run a cumulative op with a wrapped dim; a 0-d tensor acts as ``[x]`` (PyTorch
    accepts dim 0 / -1 for it)."""
    x, d, scalar = _as_1d(input, dim)
    out = fn(x, d, *args)
    if not scalar:
        return out
    if isinstance(out, tuple):
        return type(out)(tuple(_squeeze0(t) for t in out))
    return _squeeze0(out)


@method("cumsum")
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Mirrors ``torch.cumsum`` (ints and bools accumulate in int64)."""
    return _on_1d(_cumsum, input, dim, dtype or _sum_dtype(input.dtype))


@method("cumprod")
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Mirrors ``torch.cumprod`` (ints and bools accumulate in int64)."""
    return _on_1d(_cumprod, input, dim, dtype or _sum_dtype(input.dtype))


def _cumprod(input: Tensor, dim: int, dt) -> Tensor:
    xp = input._device._be.xp
    res = wrap(_scan(xp, "prod", _cast_in(input, dt), dim), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "CumprodBackward0", (input,),
               lambda g: (_cumprod_grad(input, res, g, dim),), saved=(input, res))
    return res


def _cumprod_grad(x: Tensor, out: Tensor, g: Tensor, d: int) -> Tensor:
    from .selection import where
    be = x._device._be
    xp = be.xp
    xa = x._data
    z = xa == 0
    if not xp.any(z):
        return _cumsum(g * out, d, g.dtype, reverse=True) / x
    dev = x._device
    n = xa.shape[d]
    pos_shape = [1] * xa.ndim
    pos_shape[d] = n
    pos = xp.reshape(xp.arange(n), tuple(pos_shape))
    # position of each slice's first zero (n where it has none)
    first = xp.min(xp.where(z, pos, n), axis=d, keepdims=True)
    at = wrap(pos == first, _dtype.bool, dev)
    after_first = wrap(pos >= first, _dtype.bool, dev)
    zt = wrap(z, _dtype.bool, dev)
    # at a nonzero x_i the usual formula holds (products through a zero are 0, as their
    # derivatives, and stay differentiable in that zero)
    usual = _cumsum(g * out, d, g.dtype, reverse=True) / where(zt, 1.0, x)
    # at the first zero: sum over k >= i of g_k * prod_{j <= k, j != i} x_j; at later zeros
    # every term holds the first zero: 0
    c = cumprod(where(at, 1.0, x), d)
    at_zero = _rsum(where(after_first, g * c, 0.0), d, keepdim=True)
    return where(at, at_zero, where(zt, 0.0, usual))


def _running(xp, op, data, axis: int):
    """Running ``op`` (maximum/minimum) along ``axis`` in standard terms: log2(n) steps of
    "combine with the value ``s`` places back" (Hillis-Steele). Exact for max/min, NaN
    propagating as ``op`` does; serves backends whose ufuncs lack ``accumulate`` (the
    standard has none; CuPy's raises NotImplementedError for maximum/minimum)."""
    acc = getattr(op, "accumulate", None)
    if acc is not None:
        try:
            return acc(data, axis=axis)
        except NotImplementedError:
            pass
    n, lead = data.shape[axis], (slice(None),) * axis
    s = 1
    while s < n:
        data = xp.concat([data[lead + (slice(0, s), ...)],
                          op(data[lead + (slice(s, n), ...)],
                             data[lead + (slice(0, n - s), ...)])], axis=axis)
        s *= 2
    return data


def _accumulate(xp, kind: str, data, axis: int, floating: bool):
    """Running max/min and the index where it was last reached (PyTorch's cummax
    indices: a later equal value or a NaN takes over), on the backend."""
    op = xp.maximum if kind == "max" else xp.minimum
    if data.dtype == xp.bool:  # the standard's maximum/minimum take numbers only
        values = _running(xp, op, xp.astype(data, xp.uint8), axis) != 0
    else:
        values = _running(xp, op, data, axis)
    n = data.shape[axis]
    shape = [1] * data.ndim
    shape[axis] = n
    pos = xp.reshape(xp.arange(n), tuple(shape))
    hit = data == values
    if floating:
        hit = hit | xp.isnan(data)
    return values, _running(xp, xp.maximum, xp.where(hit, pos, -1), axis)


def _cum_extreme(input: Tensor, d: int, name: str):
    if input.dtype.is_complex:
        raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                  f"'{input.dtype.scalar_name}'")
    be = input._device._be
    values, idx = _accumulate(be.xp, name[3:], input._data, d,
                              input.dtype.is_floating_point)
    idx = be.astype(idx, _dtype.int64)
    vt = wrap(values, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        shape = input._data.shape
        record(vt, "CummaxBackward0" if name == "cummax" else "CumminBackward0", (input,),
               lambda g: (put_along(g, idx, d, shape),))
    return getattr(return_types, name)((vt, wrap(idx, _dtype.int64, input._device)))


@method("cummax")
def cummax(input: Tensor, dim: int):
    """Mirrors ``torch.cummax``: running ``(values, indices)`` along ``dim``."""
    return _on_1d(_cum_extreme, input, dim, "cummax")


@method("cummin")
def cummin(input: Tensor, dim: int):
    """Mirrors ``torch.cummin``: running ``(values, indices)`` along ``dim``."""
    return _on_1d(_cum_extreme, input, dim, "cummin")


inplace(cumsum, "cumsum_")
inplace(cumprod, "cumprod_")


# --- logcumsumexp -----------------------------------------------------------------------------
def _log_scan(xp, data, axis: int):
    """Inclusive log-sum-exp scan along axis: a Hillis-Steele scan of logaddexp (log2(n)
    whole-array steps), exact in log space where a global-max shift would underflow."""
    from .binary_math import _logaddexp_kernel
    lae = _logaddexp_kernel(False)
    n = data.shape[axis]
    k = 1
    lead = (slice(None),) * axis
    while k < n:
        pad_shape = list(data.shape)
        pad_shape[axis] = k
        pad = xp.full(tuple(pad_shape), -float("inf"), dtype=data.dtype)
        shifted = xp.concat([pad, data[lead + (slice(0, n - k), Ellipsis)]], axis=axis)
        data = lae(xp, data, shifted)
        k *= 2
    return data


def _logcumsumexp(input: Tensor, d: int) -> Tensor:
    dt, dev = input.dtype, input._device
    if not (dt.is_floating_point or dt.is_complex):
        from .elementwise import not_implemented
        raise not_implemented("logcumsumexp_out", dt, dev)
    res = wrap(_log_scan(dev._be.xp, input._data, d), dt, dev)
    if GRAD.enabled and input._requires_grad:
        def fn(g):
            # PyTorch's logcumsumexp_backward: positive and negative parts of g in log
            # space, each through a reverse logcumsumexp
            from .selection import where

            def rev(x):
                return x.flip(d).logcumsumexp(d).flip(d)
            if g.dtype.is_complex:  # no sign split needed (record() adds the conjugates)
                return ((rev(g.log() - res) + input).exp(),)
            lowest = _dtype.finfo(g.dtype).min
            log_abs = g.abs().log()
            pos = where(g > 0, log_abs, lowest)
            neg = where(g < 0, log_abs, lowest)
            return ((rev(pos - res) + input).exp() - (rev(neg - res) + input).exp(),)
        record(res, "LogcumsumexpBackward0", (input,), fn, saved=(input, res))
    return res


@takes_out
@method("logcumsumexp")
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """Mirrors ``torch.logcumsumexp``: ``log(cumsum(exp(input), dim))`` without overflow or
    underflow; floats only."""
    return _on_1d(_logcumsumexp, input, dim)


__all__.append("logcumsumexp")
