"""The three differentiable DFT primitives every ``ember.fft`` function is built from, as
PyTorch builds its own (``_fft_c2c``, ``_fft_r2c``, ``_fft_c2r``), each backward beside its
forward and written with these same primitives, so higher-order gradients work.

``scale`` is PyTorch's normalization enum: "none", "sqrt" (1/sqrt(n)) or "n" (1/n), n the
product of the transformed (signal) sizes. Gradients of complex tensors follow PyTorch's
conjugate Wirtinger convention: for a real loss L the gradient of a complex z is
dL/dRe(z) + i dL/dIm(z).
"""
from __future__ import annotations

from .. import _dtype
from .._tensor import Tensor, wrap
from ..autograd.grad_mode import STATE as GRAD
from ..autograd.graph import record


def user_scale(norm: str | None, forward: bool) -> str:
    """PyTorch's ``norm_from_string``: the scale a transform in direction ``forward`` gets."""
    if norm is None or norm == "backward":
        return "none" if forward else "n"
    if norm == "forward":
        return "n" if forward else "none"
    if norm == "ortho":
        return "sqrt"
    raise RuntimeError(f'Invalid normalization mode: "{norm}"')


def _np_norm(scale: str, forward: bool) -> str:
    """numpy's ``norm`` string that gives ``scale`` for a transform in direction ``forward``."""
    if scale == "sqrt":
        return "ortho"
    return ("backward" if scale == "none" else "forward") if forward else \
        ("forward" if scale == "none" else "backward")


def _complex_of(dt):
    return _dtype.complex128 if dt is _dtype.float64 else _dtype.complex64


def _run(x: Tensor, kind: str, axes: tuple, norm: str, out_dtype, last_size=None) -> Tensor:
    be = x._device._be
    data = be.fft(x._data, kind, axes, norm, last_size)
    if be.ember_dtype(data.dtype) is not out_dtype:  # libraries that widen float32
        data = be.astype(data, out_dtype)
    return wrap(data, out_dtype, x._device)


def to_complex(x: Tensor) -> Tensor:
    """A real tensor as complex (its gradient is the real part of the incoming one)."""
    if x.dtype.is_complex:
        return x
    dt = _complex_of(x.dtype)
    res = wrap(x._device._be.astype(x._data, dt), dt, x._device)
    if GRAD.enabled and x._requires_grad:
        record(res, "ToCopyBackward0", (x,), lambda g: (real_part(g),), holomorphic=False)
    return res


def real_part(z: Tensor) -> Tensor:
    """The real part as a new real tensor, differentiable (gradient: g as complex)."""
    if not z.dtype.is_complex:
        return z
    be = z._device._be
    dt = z.dtype.to_real()
    res = wrap(be.xp.real(z._data), dt, z._device)
    if be.ember_dtype(res._data.dtype) is not dt:
        res._data = be.astype(res._data, dt)
    if GRAD.enabled and z._requires_grad:
        record(res, "RealBackward0", (z,), lambda g: (to_complex(g),), holomorphic=False)
    return res


def conj(z: Tensor) -> Tensor:
    """The complex conjugate, differentiable (gradient: conj of the incoming one)."""
    if not z.dtype.is_complex:
        return z
    res = wrap(z._device._be.xp.conj(z._data), z.dtype, z._device)
    if GRAD.enabled and z._requires_grad:
        record(res, "ConjBackward0", (z,), lambda g: (conj(g),), holomorphic=False)
    return res


def c2c(x: Tensor, axes: tuple, scale: str, forward: bool) -> Tensor:
    """Complex-to-complex DFT (``_fft_c2c``); x complex. Its adjoint is the transform in the
    other direction with the same scale."""
    res = _run(x, "fft" if forward else "ifft", axes, _np_norm(scale, forward), x.dtype)
    if GRAD.enabled and x._requires_grad:
        record(res, "FftC2CBackward0", (x,), lambda g: (c2c(g, axes, scale, not forward),), holomorphic=False)
    return res


def r2c(x: Tensor, axes: tuple, scale: str, onesided: bool) -> Tensor:
    """Real-to-complex forward DFT (``_fft_r2c``), one-sided over the last axis or full."""
    cdt = _complex_of(x.dtype)
    if onesided:
        res = _run(x, "rfft", axes, _np_norm(scale, True), cdt)
    else:
        res = _run(to_complex_data(x), "fft", axes, _np_norm(scale, True), cdt)
    if GRAD.enabled and x._requires_grad:
        full = x._data.shape[axes[-1]]

        def fn(g):
            # PyTorch's fft_r2c_backward: the missing half of the spectrum gets zero
            # gradient; then the adjoint (inverse direction, same scale), real part
            if onesided and g.shape[axes[-1]] < full:
                from ..ops.joining import cat
                pad = list(g.shape)
                pad[axes[-1]] = full - g.shape[axes[-1]]
                from .._creation import zeros
                g = cat([g, zeros(pad, dtype=g.dtype, device=g._device)], axes[-1])
            return (real_part(c2c(g, axes, scale, False)),)
        record(res, "FftR2CBackward0", (x,), fn, holomorphic=False)
    return res


def to_complex_data(x: Tensor) -> Tensor:
    """x's values as a complex tensor, no graph (the caller records its own)."""
    dt = _complex_of(x.dtype)
    return wrap(x._device._be.astype(x._data, dt), dt, x._device)


def c2r(x: Tensor, axes: tuple, scale: str, last_size: int) -> Tensor:
    """One-sided-spectrum-to-real inverse DFT (``_fft_c2r``); the last axis of the result
    is ``last_size`` long (x's is ``last_size // 2 + 1``)."""
    rdt = x.dtype.to_real()
    res = _run(x, "irfft", axes, _np_norm(scale, False), rdt, last_size)
    if GRAD.enabled and x._requires_grad:
        def fn(g):
            # PyTorch's fft_c2r_backward: the forward DFT of g (one-sided), the entries
            # whose mirror image lies outside the half spectrum counted twice
            gi = r2c(g, axes, scale, True)
            double = last_size - gi.shape[axes[-1]]
            if double > 0:
                from .._creation import ones
                w = ones(gi.shape[axes[-1]], dtype=rdt, device=g._device)
                w[1:1 + double] = 2.0
                w = w.reshape([-1] + [1] * (gi.ndim - 1 - axes[-1]))
                gi = gi * w
            return (gi,)
        record(res, "FftC2RBackward0", (x,), fn, holomorphic=False)
    return res


def imag_part(z: Tensor) -> Tensor:
    """The imaginary part as a new real tensor, differentiable (gradient: i g)."""
    be = z._device._be
    dt = z.dtype.to_real()
    res = wrap(be.xp.imag(z._data), dt, z._device)
    if be.ember_dtype(res._data.dtype) is not dt:
        res._data = be.astype(res._data, dt)
    if GRAD.enabled and z._requires_grad:
        record(res, "ImagBackward0", (z,), lambda g: (to_complex(g) * 1j,), holomorphic=False)
    return res
