"""Covariance and correlation of variables observed together: ``cov`` (frequency and
analytic weights, any correction) and ``corrcoef``. Composed of Tensor ops (mean, matmul,
sqrt), so they are differentiable."""
from __future__ import annotations

import warnings

from ._util import Tensor, float_dtype_for, method

__all__ = ["corrcoef", "cov"]


def _check_weights(w: Tensor | None, name: str, n: int, want_int: bool) -> None:
    if w is None:
        return
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w.ndim} dimensions")
    if w.numel() != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w.numel()} != {n}")
    kind_ok = (not (w.dtype.is_floating_point or w.dtype.is_complex)) if want_int else \
        w.dtype.is_floating_point
    if not kind_ok:
        what = "integral" if want_int else "floating point"
        raise RuntimeError(f"cov(): expected {name} to have {what} dtype but got {name} with "
                           f"{w.dtype.scalar_name} dtype")
    if w.numel() and bool((w < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


@method("cov")
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.cov``: rows are variables, columns observations (a 1-D input is one
    variable); ``fweights`` integer repeat counts and ``aweights`` importance weights per
    observation, as in ``numpy.cov``."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n = x.shape[1]
    _check_weights(fweights, "fweights", n, True)
    _check_weights(aweights, "aweights", n, False)
    dt = float_dtype_for(input.dtype)
    x = x.to(dt)
    w = None
    if fweights is not None:
        w = fweights.to(dt)
    if aweights is not None:
        w = aweights.to(dt) if w is None else w * aweights.to(dt)
    if w is None:
        wsum = float(n)
        avg = x.mean(1)
    else:
        wsum = w.sum()
        avg = (x * w).sum(1) / wsum
    if aweights is None or correction == 0:
        norm = wsum - correction
    else:  # numpy.cov's correction for analytic weights
        norm = wsum - correction * (w * aweights.to(dt)).sum() / wsum
    if float(norm) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0.0
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = (xw @ xm.mT.conj()) / norm
    return c.reshape(()) if input.ndim < 2 else c


@method("corrcoef")
def corrcoef(input: Tensor) -> Tensor:
    """Mirrors ``torch.corrcoef``: Pearson correlation coefficients (``cov`` normalised by
    the standard deviations), clipped to [-1, 1]."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but "
                           f"got an input with {input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    std = d.sqrt() if not d.dtype.is_complex else d.real.sqrt()
    c = c / std.unsqueeze(1)
    c = c / std.unsqueeze(0)
    if c.dtype.is_complex:
        return c
    return c.clamp(-1, 1)
