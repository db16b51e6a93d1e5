"""Pairwise distances: ``cdist`` (between two sets of row vectors, batches broadcast) and
``pdist`` (between the rows of one matrix, upper triangle). p-norm distances for any
``p >= 0`` (0 counts differing coordinates, inf takes the largest). Their backward
(``CdistBackward0``/``PdistBackward0``) is PyTorch's: zero where a distance is zero, and
every coordinate that attains an inf-norm distance gets the full gradient."""
from __future__ import annotations

import math

from ._util import GRAD, Tensor, record, same_device, wrap

__all__ = ["cdist", "pdist"]


def _pnorm_arrays(xp, diff, p: float):
    """The p-norm of ``diff`` over its last axis (a backend array)."""
    a = xp.abs(diff)
    if p == 0:
        return xp.sum(xp.astype(a != 0, diff.dtype), axis=-1)
    if math.isinf(p):
        if a.shape[-1] == 0:
            return xp.zeros(a.shape[:-1], dtype=a.dtype)
        return xp.max(a, axis=-1)
    if p == 1:
        return xp.sum(a, axis=-1)
    if p == 2:
        return xp.sqrt(xp.sum(a * a, axis=-1))
    return xp.sum(a ** p, axis=-1) ** (1.0 / p)


def _dist_grad(diff: Tensor, dist: Tensor, g: Tensor, p: float) -> Tensor:
    """d dist / d diff times g (the gradient reaching ``diff``), with Tensor ops."""
    from .selection import where
    if p == 0:
        return diff * 0
    gd = g.unsqueeze(-1)
    sgn = diff.sign()
    if p == 1:
        return gd * sgn
    d = dist.unsqueeze(-1)
    if math.isinf(p):
        return gd * sgn * (diff.abs() == d).to(diff.dtype)
    zero = d == 0
    safe = where(zero, 1.0, d)
    if p == 2:
        return where(zero, 0.0, gd * diff / safe)
    ad = diff.abs()
    nz = ad != 0
    powed = where(nz, where(nz, ad, 1.0) ** (p - 1), 0.0)
    return where(zero, 0.0, gd * sgn * powed / safe ** (p - 1))


def _check_p(p) -> float:
    p = float(p)
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return p


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Mirrors ``torch.cdist``: ``x1`` (B, P, M) and ``x2`` (B, R, M) give (B, P, R)
    distances. For p = 2 the matrix-product form ``sqrt(|x|^2 + |y|^2 - 2 x.y)`` is used
    when P or R exceeds 25 (or ``compute_mode`` asks for it), as in PyTorch."""
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, t in (("X1", x1), ("X2", x2)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{t.dtype.scalar_name}")
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {x1.dtype.scalar_name} but "
                           f"found {x2.dtype.scalar_name}")
    p = _check_p(p)
    dev = same_device(x1, x2)
    xp = dev._be.xp
    a, b = x1._data, x2._data
    P, R = a.shape[-2], b.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == modes[0] and (P > 25 or R > 25)))
    from .shape import broadcast_shapes
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    if use_mm:
        na = xp.sum(a * a, axis=-1)[..., :, None]
        nb = xp.sum(b * b, axis=-1)[..., None, :]
        sq = na + nb - 2 * (a @ xp.matrix_transpose(b))
        data = xp.sqrt(xp.clip(sq, 0, None))
    else:
        data = _pnorm_arrays(xp, a[..., :, None, :] - b[..., None, :, :], p)
    data = xp.broadcast_to(data, batch + (P, R))
    res = wrap(data, x1.dtype, dev)
    if GRAD.enabled and (x1._requires_grad or x2._requires_grad):
        def back(g):
            diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
            dd = _dist_grad(diff, res, g, p)
            return dd.sum(-2), -dd.sum(-3)
        record(res, "CdistBackward0", (x1, x2), back, saved=(x1, x2, res))
    return res


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """Mirrors ``torch.pdist``: the distances between every pair of rows ``i < j`` of an
    (N, M) matrix, in row-major order of the pairs (length N (N - 1) / 2)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if float(p) < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    p = float(p)
    from .._creation import triu_indices
    n = input.shape[0]
    ij = triu_indices(n, n, 1, device=input._device)
    I, J = ij[0], ij[1]  # noqa: E741 - row/column index vectors
    dev = input._device
    xp = dev._be.xp
    x = input._data
    diff_arr = xp.take(x, I._data, axis=0) - xp.take(x, J._data, axis=0)
    res = wrap(_pnorm_arrays(xp, diff_arr, p), input.dtype, dev)
    if GRAD.enabled and input._requires_grad:
        def back(g):
            diff = input.index_select(0, I) - input.index_select(0, J)
            dd = _dist_grad(diff, res, g, p)
            zero = input.new_zeros(tuple(input.shape))
            return (zero.index_add(0, I, dd).index_add(0, J, -dd),)
        record(res, "PdistBackward0", (input,), back, saved=(input, res))
    return res
