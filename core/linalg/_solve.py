"""``ember.linalg``'s inverse, determinants and linear solvers (inv, det, slogdet, solve,
solve_triangular and their ``_ex`` forms), each backward beside its forward."""
from __future__ import annotations

import math

from ..ops._register import takes_out
from ._base import (LinAlgError, _at_least_2d, _device, _eye_like, _floating,
                           _info_tensor, _infos, _is_linalg_error, _kernel, _kernel_or_raise,
                           _linalg_inv_ex, _linalg_slogdet, _linalg_solve_ex, _nan_where_failed,
                           _prod, _real_dtype, _same_dtype, _singular_error,
                           _square, _w, _where)
from .._tensor import Tensor, wrap
from ..autograd.grad_mode import STATE as GRAD
from ..autograd.graph import record
from .._creation import tensor
from .._creation import ones
from ..ops.joining import cat
from ..ops.shape import broadcast_shapes

# --- inverse, determinants ------------------------------------------------------------------

def _inv(A: Tensor, fn: str = "linalg.inv") -> Tensor:
    _square(A, fn)
    _floating(A, fn, low_msg=True)
    dev = A._device
    data = _kernel_or_raise(dev, "inv", (A._data,), lambda: _singular_error(A, fn))
    res = _w(data, A.dtype, dev)
    if GRAD.enabled and A._requires_grad:
        record(res, "LinalgInvExBackward0", (A,),
               lambda g: (-(res.mH @ g @ res.mH),), saved=(res,), holomorphic=False)
    return res


@takes_out
def inv(A: Tensor) -> Tensor:
    """Mirrors ``torch.linalg.inv``. Gradient: ``-A^{-H} g A^{-H}``."""
    return _inv(A)


@takes_out
def inv_ex(A: Tensor, *, check_errors: bool = False):
    """Mirrors ``torch.linalg.inv_ex``: (inverse, info); singular matrices give info > 0
    (and a NaN inverse) instead of an error unless ``check_errors``."""
    try:
        res = _inv(A)
        infos = [0] * max(1, _prod(A.shape[:-2]))
    except LinAlgError:
        if check_errors:
            raise
        infos = _infos(A, "lu")
        res = _nan_where_failed(_inv_each(A, infos), infos)
    return _linalg_inv_ex((res, _info_tensor(infos, A)))


def _inv_each(A: Tensor, infos) -> Tensor:
    """A's inverse with the failed matrices replaced by identities first (then NaN)."""
    bad = tensor([bool(v) for v in infos], device=A._device).reshape(
        tuple(A.shape[:-2]) + (1, 1))
    return _inv(_where(bad, _eye_like(A), A.detach()))


@takes_out
def det(A: Tensor) -> Tensor:
    """Mirrors ``torch.linalg.det``. Gradient ``g det(A) A^{-H}`` (invertible A)."""
    _square(A, "linalg.det")
    _floating(A, "linalg.det", "lu")
    dev = A._device
    res = _w(_kernel(dev, "det", A._data), A.dtype, dev)
    if GRAD.enabled and A._requires_grad:
        def back(g):
            gd = g * res.conj()
            try:
                return (gd.unsqueeze(-1).unsqueeze(-1) * _inv(A).mH,)
            except LinAlgError:
                return (_adjugate_h(A) * g.unsqueeze(-1).unsqueeze(-1),)
        record(res, "LinalgDetBackward0", (A,), back, saved=(A, res), holomorphic=False)
    return res


def _adjugate_h(A: Tensor) -> Tensor:
    """adj(A)^H for a possibly singular A, through the SVD: ``conj(det(U Vh)) U adj(S)
    Vh`` with adj(S)_ii the product of the other singular values."""
    from ._decomp import svd  # (the decompositions build on this module)
    U, S, Vh = svd(A, full_matrices=False)
    one = ones(tuple(S.shape[:-1]) + (1,), dtype=S.dtype, device=S._device)
    before = cat([one, S[..., :-1]], dim=-1).cumprod(-1)
    after = cat([one, S.flip(-1)[..., :-1]], dim=-1).cumprod(-1).flip(-1)
    adjS = (before * after).to(A.dtype)
    phase = (det(U) * det(Vh)).conj()
    return phase.unsqueeze(-1).unsqueeze(-1) * ((U * adjS.unsqueeze(-2)) @ Vh)


@takes_out
def slogdet(A: Tensor):
    """Mirrors ``torch.linalg.slogdet``: (sign, log|det|). Gradient of logabsdet:
    ``g A^{-H}`` (the sign is piecewise constant for real inputs)."""
    _square(A, "linalg.slogdet")
    _floating(A, "linalg.slogdet", low_msg=True)
    dev = A._device
    sign, logabs = _kernel(dev, "slogdet", A._data)
    sign = _w(sign, A.dtype, dev)
    logabs = _w(logabs, _real_dtype(A.dtype), dev)
    if GRAD.enabled and A._requires_grad:
        if A.dtype.is_complex:
            # d log|det| = Re tr(A^{-1} dA); d sign = i Im tr(A^{-1} dA) sign
            def back(gs, gl):
                c = gl.to(A.dtype) if gl is not None else sign.new_zeros(tuple(sign.shape))
                if gs is not None:
                    c = c - (gs.conj() * sign).imag.to(A.dtype) * 1j
                return (c.unsqueeze(-1).unsqueeze(-1) * _inv(A).mH,)
        else:
            def back(gs, gl):
                return (gl.unsqueeze(-1).unsqueeze(-1) * _inv(A).mH if gl is not None
                        else None,)
        record((sign, logabs), "LinalgSlogdetBackward0", (A,), back, saved=(A, sign), holomorphic=False)
        sign._grad_fn._materialize = False
    return _linalg_slogdet((sign, logabs))


# --- solving --------------------------------------------------------------------------------

def _vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when 1-D or when its shape is A's
    without the last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _batched(xp, a, b):
    """A's and B's batch dims broadcast against each other (PyTorch's error where they
    cannot, naming B's first): the standard's solve broadcasts them, CuPy's does not."""
    batch = tuple(broadcast_shapes(tuple(b.shape[:-2]), tuple(a.shape[:-2])))
    if tuple(a.shape[:-2]) != batch:
        a = xp.broadcast_to(a, batch + tuple(a.shape[-2:]))
    if tuple(b.shape[:-2]) != batch:
        b = xp.broadcast_to(b, batch + tuple(b.shape[-2:]))
    return a, b


def _operands(fn: str, xp, a, b, left: bool):
    """A's and B's arrays for the solver of ``A X = B`` (``X A = B`` when not ``left``:
    both transposed): PyTorch's error where B's rows (columns) are not A's order, batch
    dims broadcast."""
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} "
                           f"({a.shape[-2]}x{n} and {b.shape[-2]}x{b.shape[-1]})")
    a, b = _batched(xp, a, b)
    return (a, b) if left else (xp.matrix_transpose(a), xp.matrix_transpose(b))


def _solve(A: Tensor, B: Tensor, left: bool, fn: str = "linalg.solve") -> Tensor:
    _square(A, fn)
    _floating(A, fn, "lu")
    _same_dtype(A, B, fn)
    dev = _device(A, B)
    vec = _vector_rhs(A, B)
    Bm = B.unsqueeze(-1) if vec else B
    xp = dev._be.xp
    a, b = _operands(fn, xp, A._data, Bm._data, left)
    x = _kernel_or_raise(dev, "solve", (a, b), lambda: LinAlgError(
        "torch.linalg.solve: The solver failed because the input matrix is singular."))
    if not left:
        x = xp.matrix_transpose(x)
    X = _w(x, A.dtype, dev)
    if vec:
        X = wrap(xp.squeeze(X._data, axis=-1), X.dtype, dev)
    if GRAD.enabled and (A._requires_grad or B._requires_grad):
        ra = A._requires_grad

        def back(g):
            gm = g.unsqueeze(-1) if vec else g
            Xm = X.unsqueeze(-1) if vec else X
            gB = _solve(A.mH, gm, left)
            gA = (-(gB @ Xm.mH) if left else -(Xm.mH @ gB)) if ra else None
            return gA, (gB.squeeze(-1) if vec else gB)
        record(X, "LinalgSolveExBackward0", (A, B), back, saved=(A, X), holomorphic=False)
    return X


@takes_out
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Mirrors ``torch.linalg.solve``: X with ``A X = B`` (``X A = B`` when not
    ``left``); batches broadcast. Gradients: ``gB = A^{-H} g``, ``gA = -gB X^H``."""
    return _solve(A, B, left)


@takes_out
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """Mirrors ``torch.linalg.solve_ex``: (result, info)."""
    try:
        X = _solve(A, B, left)
        infos = [0] * max(1, _prod(A.shape[:-2]))
    except LinAlgError:
        if check_errors:
            raise
        infos = _infos(A, "lu")
        bad = tensor([bool(v) for v in infos], device=A._device).reshape(
            tuple(A.shape[:-2]) + (1, 1))
        X = _solve(_where(bad, _eye_like(A), A.detach()), B.detach(), left)
        X = X.masked_fill(bad if not _vector_rhs(A, B) else bad.squeeze(-1), math.nan)
    return _linalg_solve_ex((X, _info_tensor(infos, A)))


def _triangular_mask(A: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    T = A.triu() if upper else A.tril()
    if unitriangular:
        eye = _eye_like(A)
        T = T * (1 - eye) + eye
    return T


_REQUIRED = object()


@takes_out
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool = _REQUIRED, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """Mirrors ``torch.linalg.solve_triangular``: only A's chosen triangle is read (its
    diagonal taken as ones when ``unitriangular``). The kernel is the backend's general
    ``solve`` on that triangle (the array API has no triangular solver). Gradients:
    ``gB = A^{-H} g`` and ``gA = -gB X^H`` restricted to the triangle."""
    fn = "linalg.solve_triangular"
    if upper is _REQUIRED:
        raise TypeError('linalg_solve_triangular() missing 1 required positional arguments: '
                        '"upper"')
    _at_least_2d(A, fn)
    _at_least_2d(B, fn, "B")
    _square(A, fn)
    _floating(A, fn, "triangular_solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of "
                           f"type {A.dtype.scalar_name} and B of type {B.dtype.scalar_name} instead")
    dev = _device(A, B)
    T = _triangular_mask(A.detach(), upper, unitriangular)
    xp = dev._be.xp
    a, b = _operands(fn, xp, T._data, B._data, left)
    try:
        x = _kernel(dev, "solve", a, b)
    except Exception as e:  # noqa: BLE001 - LAPACK's trsm has no singular check: infs/NaNs
        if not _is_linalg_error(e):
            raise
        x = _host_triangular(dev, a, b, upper != (not left))
    if not left:
        x = xp.matrix_transpose(x)
    X = _w(x, A.dtype, dev)
    if GRAD.enabled and (A._requires_grad or B._requires_grad):
        ra = A._requires_grad

        def back(g):
            gB = solve_triangular(A.mH, g, upper=not upper, left=left,
                                  unitriangular=unitriangular)
            gA = None
            if ra:
                gA = -(gB @ X.mH) if left else -(X.mH @ gB)
                gA = gA.triu(1 if unitriangular else 0) if upper else \
                    gA.tril(-1 if unitriangular else 0)
            return gA, gB
        record(X, "LinalgSolveTriangularBackward0", (A, B), back, saved=(A, X), holomorphic=False)
    return X


def _host_triangular(dev, a, b, upper: bool):
    """Back/forward substitution on the host (a singular triangle: infs and NaNs, as
    LAPACK's trsm gives)."""
    import numpy as np
    be = dev._be
    an, bn = be.to_numpy(a), be.to_numpy(b)
    batch = np.broadcast_shapes(an.shape[:-2], bn.shape[:-2])
    an = np.broadcast_to(an, batch + an.shape[-2:])
    bn = np.array(np.broadcast_to(bn, batch + bn.shape[-2:]), dtype=np.result_type(an, bn))
    n = an.shape[-1]
    x = np.zeros_like(bn)
    with np.errstate(all="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            acc = np.einsum("...k,...kj->...j", an[..., i, :], x)
            x[..., i, :] = (bn[..., i, :] - acc) / an[..., i, i][..., None]
    return be.from_numpy(x, dev.index)
