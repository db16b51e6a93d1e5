"""Discrete calculus along a dim: ``diff`` (n-th forward differences), ``trapezoid`` /
``trapz`` and ``cumulative_trapezoid`` (the trapezoidal rule). Composed of narrow, cat,
sub, sum and cumsum, so gradients come from those."""
from __future__ import annotations

from .. import _dtype
from ._util import Tensor, float_dtype_for, method, wrap_dim

__all__ = ["cumulative_trapezoid", "diff", "trapezoid", "trapz"]


def _step(x: Tensor, d: int) -> Tensor:
    n = x.shape[d]
    hi, lo = x.narrow(d, 1, n - 1), x.narrow(d, 0, n - 1)
    return hi.logical_xor(lo) if x.dtype is _dtype.bool else hi - lo


@method("diff")
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.diff``: the n-th forward difference along ``dim``, after joining
    ``prepend``/``append`` on that dim (bool tensors differ by xor, as in PyTorch)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim)
    x = input
    if prepend is not None or append is not None:
        from .joining import cat
        parts = [t for t in (prepend, input, append) if t is not None]
        for t in parts:
            if t.ndim != input.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as "
                                   "input")
        x = cat(parts, dim=d)
    for _ in range(n):
        if x.shape[d] == 0:
            break
        x = _step(x, d)
    return x if n else x.clone()


def _spacing(y: Tensor, x: Tensor | None, dx, d: int, fn: str):
    """The widths between samples along d: a number, or a tensor broadcasting against the
    n-1 adjacent pairs."""
    if x is None:
        return 1 if dx is None else dx
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"{fn}: There must be one `x` value for each sample point")
        w = diff(x)
        return w.reshape((-1,) + (1,) * (y.ndim - d - 1))
    return diff(x, dim=d - y.ndim)


def _pairs(y: Tensor, d: int) -> Tensor:
    n = y.shape[d]
    return y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)


def _dim(y: Tensor, dim: int) -> int:
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, y.ndim)


def _as_float(y: Tensor, x: Tensor | None) -> Tensor:
    dt = float_dtype_for(y.dtype if x is None else _dtype.result_dtype((y, x)))
    return y if y.dtype is dt else y.to(dt)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Mirrors ``torch.trapezoid``: the trapezoidal-rule integral of ``y`` along ``dim``
    with sample points ``x`` (1-D, or y's shape) or uniform spacing ``dx`` (default 1)."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: x and dx")
    d = _dim(y, dim)
    yf = _as_float(y, x)
    if y.shape[d] == 0:  # PyTorch: zeros of y's own dtype
        return y.new_zeros(tuple(y.shape[:d]) + tuple(y.shape[d + 1:]))
    w = _spacing(y, x, dx, d, "trapezoid")
    return (_pairs(yf, d) * w).sum(d) / 2


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Mirrors ``torch.trapz`` (an alias of ``trapezoid``)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None,
                         dim: int = -1) -> Tensor:
    """Mirrors ``torch.cumulative_trapezoid``: the running trapezoidal integral (one
    element fewer than ``y`` along ``dim``)."""
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of arguments: "
                        "x and dx")
    d = _dim(y, dim)
    yf = _as_float(y, x)
    if y.shape[d] == 0:
        return yf.clone()
    w = _spacing(y, x, dx, d, "cumulative_trapezoid")
    return (_pairs(yf, d) * w / 2).cumsum(d)
