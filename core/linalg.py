"""``ember.linalg``: mirrors ``torch.linalg``.

Kernels call the backend's ``xp.linalg`` (the array API's linalg extension: numpy.linalg,
cupy.linalg, jax.numpy.linalg and array_api_strict.linalg all have it); a function a
backend's namespace lacks runs through numpy on the host (a documented fallback, never the
common path). Each differentiable function records its backward right beside it, written
with Tensor ops (so ``create_graph=True`` gives higher-order gradients), following PyTorch's
formulas for the non-degenerate case: distinct eigen/singular values, full-rank inputs.

Deliberate differences from PyTorch:
- singular / non-positive-definite inputs raise PyTorch's errors where the backend reports
  them (numpy does; CuPy and JAX return NaNs instead, as their own linalg does);
- ``lstsq`` solves through the SVD for every ``driver`` (LAPACK's minimum-norm solution,
  as gelsd gives); its outputs (residuals, rank, singular values) follow each driver's
  rules;
- the ``*_ex`` functions return NaN for batch elements that failed (PyTorch returns
  LAPACK's partial factorisation there); ``info`` matches;
- the LU family (``lu``, ``lu_factor``, ``lu_solve``, ``ldl_*``) and
  ``householder_product`` are not provided.
"""
from __future__ import annotations

import math

from . import _dtype
from ._tensor import Tensor, wrap
from .autograd.grad_mode import STATE as GRAD
from .autograd.graph import record
from .return_types import make as _make

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm"]

_linalg_slogdet = _make("linalg_slogdet", ("sign", "logabsdet"))
_linalg_qr = _make("linalg_qr", ("Q", "R"))
_linalg_svd = _make("linalg_svd", ("U", "S", "Vh"))
_linalg_eigh = _make("linalg_eigh", ("eigenvalues", "eigenvectors"))
_linalg_eig = _make("linalg_eig", ("eigenvalues", "eigenvectors"))
_linalg_lstsq = _make("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_linalg_inv_ex = _make("linalg_inv_ex", ("inverse", "info"))
_linalg_cholesky_ex = _make("linalg_cholesky_ex", ("L", "info"))
_linalg_solve_ex = _make("linalg_solve_ex", ("result", "info"))


class LinAlgError(RuntimeError):
    """Mirrors ``torch.linalg.LinAlgError`` (a RuntimeError): a singular or not
    positive-definite input."""


_TN = _dtype.KERNEL_NAMES  # Float, Double, Long, ...


# --- checks ---------------------------------------------------------------------------------

def _at_least_2d(A: Tensor, fn: str, name: str = "A") -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")


def _square(A: Tensor, fn: str, name: str = "A") -> None:
    _at_least_2d(A, fn, name)
    m, n = A.shape[-2:]
    if m != n:
        raise RuntimeError(f"{fn}: {name} must be batches of square matrices, but they are {m} "
                           f"by {n} matrices")


def _floating(A: Tensor, fn: str, kernel: str | None = None, low_msg: bool = False) -> None:
    """PyTorch's dtype checks: integers and bool are refused by name; half precision by
    the LAPACK kernel's NotImplementedError (``kernel``) or a message (``low_msg``)."""
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_TN[dt.name]}")
    if dt in (_dtype.float16, _dtype.bfloat16):
        if low_msg:
            raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {_TN[dt.name]}")
        if kernel:
            raise NotImplementedError(f'"{kernel}_{A._device.type}" not implemented for '
                                      f"'{_TN[dt.name]}'")


def _same_dtype(A: Tensor, B: Tensor, fn: str) -> None:
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of type "
                           f"{_TN[A.dtype.name]} and B of type {_TN[B.dtype.name]} instead")


def _device(*ts: Tensor):
    from .ops._util import same_device
    dev = ts[0]._device
    for t in ts[1:]:
        dev = same_device(ts[0], t)
    return dev


# --- kernels: the backend's linalg namespace, or numpy on the host --------------------------

def _kernel(dev, name: str, *arrays, **kw):
    """``xp.linalg.<name>(*arrays)``; numpy.linalg on the host where the backend's namespace
    lacks the function. Backend LinAlgErrors propagate (callers translate them)."""
    be = dev._be
    la = getattr(be.xp, "linalg", None)
    fn = getattr(la, name, None) if la is not None else None
    if fn is not None:
        return fn(*arrays, **kw)
    import numpy as np
    res = getattr(np.linalg, name)(*(be.to_numpy(a) for a in arrays), **kw)
    if isinstance(res, tuple):
        return tuple(be.from_numpy(np.ascontiguousarray(r), dev.index) for r in res)
    return be.from_numpy(np.ascontiguousarray(res), dev.index)


def _is_linalg_error(e: Exception) -> bool:
    return type(e).__name__ == "LinAlgError"


def _w(arr, dt, dev) -> Tensor:
    """A Tensor of dtype dt from a kernel's result (cast if the backend changed it)."""
    be = dev._be
    if arr.dtype != be.native_dtype(dt):
        arr = be.astype(arr, dt)
    return wrap(arr, dt, dev)


def _host_matrices(A: Tensor):
    """A's matrices as one numpy array of shape (batch, m, n) (for error reports)."""
    a = A._device._be.to_numpy(A._data)
    return a.reshape((-1,) + tuple(a.shape[-2:]))


def _batch_prefix(A: Tensor, i: int) -> str:
    return f"(Batch element {i}): " if A.ndim > 2 else ""


def _zero_pivot(a) -> int:
    """LAPACK getrf's ``info``: 1 + the first exactly-zero pivot of an LU factorisation with
    partial pivoting (0 when there is none). Host-side, on the error path only."""
    import numpy as np
    a = np.array(a, copy=True)
    n = a.shape[0]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            first = first or k + 1
            continue
        if p != k:
            a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return first


def _not_pd_order(a) -> int:
    """LAPACK potrf's ``info``: the order of the first leading minor that is not positive
    definite (0 when all are). Host-side, on the error path only."""
    import numpy as np
    n = a.shape[0]
    L = np.zeros_like(a)
    for j in range(n):
        d = a[j, j] - np.vdot(L[j, :j], L[j, :j])
        if not (d.real > 0):
            return j + 1
        L[j, j] = np.sqrt(d.real)
        L[j + 1:, j] = (a[j + 1:, j] - L[j + 1:, :j] @ L[j, :j].conj()) / L[j, j]
    return 0


def _infos(A: Tensor, which: str) -> list:
    """Per-matrix LAPACK info codes for A (``"lu"`` or ``"cholesky"``)."""
    finder = _zero_pivot if which == "lu" else _not_pd_order
    return [finder(m) for m in _host_matrices(A)]


def _singular_error(A: Tensor, fn: str) -> LinAlgError:
    infos = _infos(A, "lu")
    i = next((k for k, v in enumerate(infos) if v), 0)
    return LinAlgError(f"{fn}: {_batch_prefix(A, i)}The diagonal element {infos[i] or 1} is "
                       "zero, the inversion could not be completed because the input matrix "
                       "is singular.")


def _not_pd_error(A: Tensor, fn: str = "linalg.cholesky") -> LinAlgError:
    infos = _infos(A, "cholesky")
    i = next((k for k, v in enumerate(infos) if v), 0)
    return LinAlgError(f"{fn}: {_batch_prefix(A, i)}The factorization could not be completed "
                       f"because the input is not positive-definite (the leading minor of "
                       f"order {infos[i] or 1} is not positive-definite).")


def _info_tensor(infos, A: Tensor) -> Tensor:
    from ._creation import tensor
    return tensor(infos, dtype=_dtype.int32, device=A._device).reshape(tuple(A.shape[:-2]))


def _nan_where_failed(res: Tensor, infos) -> Tensor:
    """res with the failed batch elements set to NaN (what the *_ex functions return)."""
    if not any(infos):
        return res
    from ._creation import tensor
    bad = tensor([bool(v) for v in infos], device=res._device)
    bad = bad.reshape(tuple(res.shape[:-2]) + (1, 1))
    return res.masked_fill(bad, math.nan)


def _eye_like(A: Tensor, n: int | None = None) -> Tensor:
    from ._creation import eye
    return eye(A.shape[-1] if n is None else n, dtype=A.dtype, device=A._device)


def _diag(v: Tensor) -> Tensor:
    """Square matrices with v on the diagonal (diag_embed as a product with I, so it runs
    on backends without scatter-style item assignment)."""
    return v.unsqueeze(-1) * _eye_like(v, v.shape[-1])


def _hermitian_from(A: Tensor, upper: bool) -> Tensor:
    """The Hermitian matrix that A's chosen triangle describes (the other one ignored, as
    LAPACK does; every backend then sees the same input)."""
    if upper:
        t = A.triu()
        return t + t.triu(1).mH
    t = A.tril()
    return t + t.tril(-1).mH


def _real_dtype(dt):
    return dt.to_real() if dt.is_complex else dt


# --- inverse, determinants ------------------------------------------------------------------

def _inv(A: Tensor, fn: str = "linalg.inv") -> Tensor:
    _square(A, fn)
    _floating(A, fn, low_msg=True)
    dev = A._device
    try:
        data = _kernel(dev, "inv", A._data)
    except Exception as e:
        if _is_linalg_error(e):
            raise _singular_error(A, fn) from None
        raise
    res = _w(data, A.dtype, dev)
    if GRAD.enabled and A._requires_grad:
        record(res, "LinalgInvExBackward0", (A,),
               lambda g: (-(res.mH @ g @ res.mH),), saved=(res,))
    return res


def inv(A: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.inv``. Gradient: ``-A^{-H} g A^{-H}``."""
    return _out(_inv(A), out)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
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
    from ._creation import tensor
    bad = tensor([bool(v) for v in infos], device=A._device).reshape(
        tuple(A.shape[:-2]) + (1, 1))
    return _inv(_where(bad, _eye_like(A), A.detach()))


def _where(cond, x, y):
    from .ops.selection import where
    return where(cond, x, y)


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n


def det(A: Tensor, *, out=None) -> Tensor:
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
        record(res, "LinalgDetBackward0", (A,), back, saved=(A, res))
    return _out(res, out)


def _adjugate_h(A: Tensor) -> Tensor:
    """adj(A)^H for a possibly singular A, through the SVD: ``conj(det(U Vh)) U adj(S)
    Vh`` with adj(S)_ii the product of the other singular values."""
    from ._creation import ones
    U, S, Vh = svd(A, full_matrices=False)
    one = ones(tuple(S.shape[:-1]) + (1,), dtype=S.dtype, device=S._device)
    from .ops.joining import cat
    before = cat([one, S[..., :-1]], dim=-1).cumprod(-1)
    after = cat([one, S.flip(-1)[..., :-1]], dim=-1).cumprod(-1).flip(-1)
    adjS = (before * after).to(A.dtype)
    phase = (det(U) * det(Vh)).conj()
    return phase.unsqueeze(-1).unsqueeze(-1) * ((U * adjS.unsqueeze(-2)) @ Vh)


def slogdet(A: Tensor, *, out=None):
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
        record((sign, logabs), "LinalgSlogdetBackward0", (A,), back, saved=(A, sign))
        sign._grad_fn._materialize = False
    return _out_tuple(_linalg_slogdet((sign, logabs)), out)


# --- solving --------------------------------------------------------------------------------

def _vector_rhs(A: Tensor, B: Tensor) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when 1-D or when its shape is A's
    without the last dim."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve(A: Tensor, B: Tensor, left: bool, fn: str = "linalg.solve") -> Tensor:
    _square(A, fn)
    _floating(A, fn, "lu")
    _same_dtype(A, B, fn)
    dev = _device(A, B)
    vec = _vector_rhs(A, B)
    Bm = B.unsqueeze(-1) if vec else B
    n = A.shape[-1]
    if left and Bm.shape[-2] != n or not left and Bm.shape[-1] != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} "
                           f"({A.shape[-2]}x{n} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    from .ops.shape import broadcast_shapes
    broadcast_shapes(tuple(Bm.shape[:-2]), tuple(A.shape[:-2]))  # PyTorch's error (B first)
    a, b = A._data, Bm._data
    xp = dev._be.xp
    if not left:
        a, b = xp.matrix_transpose(a), xp.matrix_transpose(b)
    try:
        x = _kernel(dev, "solve", a, b)
    except Exception as e:
        if _is_linalg_error(e):
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix "
                              "is singular.") from None
        raise
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
        record(X, "LinalgSolveExBackward0", (A, B), back, saved=(A, X))
    return X


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """Mirrors ``torch.linalg.solve``: X with ``A X = B`` (``X A = B`` when not
    ``left``); batches broadcast. Gradients: ``gB = A^{-H} g``, ``gA = -gB X^H``."""
    return _out(_solve(A, B, left), out)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """Mirrors ``torch.linalg.solve_ex``: (result, info)."""
    try:
        X = _solve(A, B, left)
        infos = [0] * max(1, _prod(A.shape[:-2]))
    except LinAlgError:
        if check_errors:
            raise
        infos = _infos(A, "lu")
        from ._creation import tensor
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


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool = _REQUIRED, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
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
                           f"type {_TN[A.dtype.name]} and B of type {_TN[B.dtype.name]} instead")
    dev = _device(A, B)
    T = _triangular_mask(A.detach(), upper, unitriangular)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    xp = dev._be.xp
    a, b = T._data, B._data
    if not left:
        a, b = xp.matrix_transpose(a), xp.matrix_transpose(b)
    try:
        x = _kernel(dev, "solve", a, b)
    except Exception as e:
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
        record(X, "LinalgSolveTriangularBackward0", (A, B), back, saved=(A, X))
    return _out(X, out)


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


# --- factorisations -------------------------------------------------------------------------

def _cholesky(A: Tensor, upper: bool, fn: str = "linalg.cholesky") -> Tensor:
    _square(A, fn)
    _floating(A, fn, "cholesky")
    dev = A._device
    H = _hermitian_from(A.detach(), False)
    try:
        data = _kernel(dev, "cholesky", H._data)
    except Exception as e:
        if _is_linalg_error(e):
            raise _not_pd_error(H, fn) from None
        raise
    L = _w(data, A.dtype, dev).tril()
    res = L.mH.contiguous() if upper else L
    if GRAD.enabled and A._requires_grad:
        def back(g):
            L = res.mH if upper else res  # the output itself: double backward sees its graph
            gL = g.mH if upper else g
            # PyTorch's cholesky_backward: L^{-H} sym(tril(L^H gL)) L^{-1}
            P = (L.mH @ gL).tril()
            P = 0.5 * (P + P.tril(-1).mH)
            gA = solve_triangular(L.mH, P, upper=True)
            return (solve_triangular(L, gA, upper=False, left=False),)
        record(res, "LinalgCholeskyExBackward0", (A,), back, saved=(res,))
    return res


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Mirrors ``torch.linalg.cholesky``: ``A = L L^H`` from A's lower triangle."""
    return _out(_cholesky(A, upper), out)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """Mirrors ``torch.linalg.cholesky_ex``: (L, info)."""
    try:
        L = _cholesky(A, upper)
        infos = [0] * max(1, _prod(A.shape[:-2]))
    except LinAlgError:
        if check_errors:
            raise
        infos = _infos(_hermitian_from(A.detach(), False), "cholesky")
        from ._creation import tensor
        bad = tensor([bool(v) for v in infos], device=A._device).reshape(
            tuple(A.shape[:-2]) + (1, 1))
        L = _nan_where_failed(_cholesky(_where(bad, _eye_like(A), A.detach()), upper), infos)
    return _linalg_cholesky_ex((L, _info_tensor(infos, A)))


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """Mirrors ``torch.linalg.qr``: modes ``"reduced"``, ``"complete"`` and ``"r"`` (Q
    empty). Differentiable for ``reduced`` and for ``complete`` with m <= n, as in PyTorch."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    _at_least_2d(A, "linalg.qr")
    _floating(A, "linalg.qr", "geqrf")
    dev = A._device
    q, r = _kernel(dev, "qr", A._data, mode="complete" if mode == "complete" else "reduced")
    Q, R = _w(q, A.dtype, dev), _w(r, A.dtype, dev)
    if mode == "r":
        from ._creation import empty
        Q = empty(0, dtype=A.dtype, device=dev)
    if GRAD.enabled and A._requires_grad:
        m, n = A.shape[-2:]
        if mode == "r":
            def back(gQ, gR):
                raise RuntimeError("The derivative of linalg.qr depends on Q, which is not "
                                   "computed when mode='r'. Please use linalg.qr(A, "
                                   "mode='reduced') if you are going to differentiate through "
                                   "linalg.qr.")
        elif mode == "complete" and m > n:
            def back(gQ, gR):
                raise RuntimeError("The QR decomposition is not differentiable when "
                                   "mode='complete' and nrows > ncols.")
        else:
            def back(gQ, gR):
                return (_qr_backward(gQ, gR, Q, R),)
        record((Q, R), "LinalgQrBackward0", (A,), back, saved=(Q, R))
        Q._grad_fn._materialize = False
    return _out_tuple(_linalg_qr((Q, R)), out)


def _qr_backward(gQ, gR, Q: Tensor, R: Tensor) -> Tensor:
    """A = QR, Q^H Q = I, R upper triangular. For m >= n:
    ``gA = (gQ + Q copyltu(M)) R^{-H}``, ``M = R gR^H - gQ^H Q``, where copyltu(M) is the
    Hermitian matrix with M's strictly-lower triangle (and Re of its diagonal). For m < n,
    A = [X | Y] with X square: X = Q U gets the square case with gQ + Y gV^H, Y gets Q gV."""
    m, n = Q.shape[-2], R.shape[-1]
    if m >= n:
        return _qr_square_backward(gQ, gR, Q, R)
    U, V = R[..., :, :m], R[..., :, m:]
    gU = gR[..., :, :m] if gR is not None else None
    gV = gR[..., :, m:] if gR is not None else None
    Y = Q @ V
    gQ2 = gQ
    if gV is not None:
        extra = Y @ gV.mH
        gQ2 = extra if gQ2 is None else gQ2 + extra
    gX = _qr_square_backward(gQ2, gU, Q, U)
    gY = Q @ gV if gV is not None else Q.new_zeros(tuple(Y.shape))
    from .ops.joining import cat
    return cat([gX, gY], dim=-1)


def _qr_square_backward(gQ, gR, Q: Tensor, R: Tensor) -> Tensor:
    M = None
    if gR is not None:
        M = R @ gR.mH
    if gQ is not None:
        t = gQ.mH @ Q
        M = -t if M is None else M - t
    low = M.tril(-1)
    # the diagonal part is Re(diag M): that of (M + M^H) / 2
    sym = low + low.mH + 0.5 * (M + M.mH) * _eye_like(M, M.shape[-1])
    b = Q @ sym
    if gQ is not None:
        b = gQ + b
    # X R^H = b  <=>  R X^H = b^H
    return solve_triangular(R, b.mH, upper=True).mH


def _svd_backward(gU, gS, gVh, U: Tensor, S: Tensor, Vh: Tensor) -> Tensor:
    """PyTorch's svd_backward for A = U diag(S) Vh (reduced; the full case is narrowed by
    the caller). Distinct, nonzero singular values assumed."""
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        if gS is None:
            return None
        return U @ (gS.unsqueeze(-1).to(U.dtype) * Vh)
    if m < n:  # work on the tall transpose
        return _svd_backward(gVh.mH if gVh is not None else None, gS,
                             gU.mH if gU is not None else None, Vh.mH, S, U.mH).mH
    Sc = S.to(U.dtype)
    S2 = S * S
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1)
    E = E + _eye_like(E, E.shape[-1])
    ret = None
    UhgU = None
    if gU is not None:
        UhgU = U.mH @ gU
        UhgU = UhgU - UhgU.mH
        ret = UhgU * Sc.unsqueeze(-2)
    if gVh is not None:
        VhgV = Vh @ gVh.mH
        VhgV = VhgV - VhgV.mH
        t = Sc.unsqueeze(-1) * VhgV
        ret = t if ret is None else ret + t
    ret = ret / E.to(U.dtype)
    if gS is not None:
        ret = ret + _diag(gS.to(U.dtype))
    if U.dtype.is_complex and UhgU is not None:
        ret = ret + _diag(UhgU.diagonal(0, -2, -1) / (2 * Sc))
    if m > n and gU is not None:
        gA = U @ ret
        gUSinv = gU / Sc.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mH @ gUSinv)
        return gA @ Vh
    return U @ (ret @ Vh)


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """Mirrors ``torch.linalg.svd``: (U, S, Vh) with ``A = U diag(S) Vh``. The gradient
    (PyTorch's svd_backward) needs distinct singular values and a loss that does not
    depend on the singular vectors' signs/phases; with ``full_matrices`` the extra columns
    get no gradient, as in PyTorch."""
    _at_least_2d(A, "linalg.svd")
    _floating(A, "linalg.svd", "linalg_svd")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")
    dev = A._device
    u, s, vh = _kernel(dev, "svd", A._data, full_matrices=full_matrices)
    U, S, Vh = (_w(u, A.dtype, dev), _w(s, _real_dtype(A.dtype), dev),
                _w(vh, A.dtype, dev))
    if GRAD.enabled and A._requires_grad:
        k = S.shape[-1]

        def back(gU, gS, gVh):
            if full_matrices:
                gU = gU[..., :, :k] if gU is not None else None
                gVh = gVh[..., :k, :] if gVh is not None else None
                return (_svd_backward(gU, gS, gVh, U[..., :, :k], S, Vh[..., :k, :]),)
            return (_svd_backward(gU, gS, gVh, U, S, Vh),)
        record((U, S, Vh), "LinalgSvdBackward0", (A,), back, saved=(U, S, Vh))
        U._grad_fn._materialize = False
    return _out_tuple(_linalg_svd((U, S, Vh)), out)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Mirrors ``torch.linalg.svdvals``: the singular values, descending. Gradient:
    ``U diag(g) Vh``."""
    _at_least_2d(A, "linalg.svd")
    _floating(A, "linalg.svd", "linalg_svd")
    if not (GRAD.enabled and A._requires_grad):
        dev = A._device
        return _out(_w(_kernel(dev, "svdvals", A._data), _real_dtype(A.dtype), dev), out)
    return _out(svd(A, full_matrices=False, driver=driver)[1], out)


def _eigh_arrays(A: Tensor, UPLO: str, vectors: bool):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _square(A, "linalg.eigh")
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex) or dt in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f'"linalg_eigh_{A._device.type}" not implemented for '
                                  f"'{_TN[dt.name]}'")
    dev = A._device
    H = _hermitian_from(A.detach(), UPLO == "U")
    if vectors:
        w, v = _kernel(dev, "eigh", H._data)
        return _w(w, _real_dtype(dt), dev), _w(v, dt, dev)
    return _w(_kernel(dev, "eigvalsh", H._data), _real_dtype(dt), dev), None


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """Mirrors ``torch.linalg.eigh``: (eigenvalues ascending, eigenvectors) of the
    Hermitian matrix A's ``UPLO`` triangle describes. Gradient as PyTorch's
    linalg_eig_backward (distinct eigenvalues; sign/phase-invariant losses)."""
    L, V = _eigh_arrays(A, UPLO, True)
    if GRAD.enabled and A._requires_grad:
        record((L, V), "LinalgEighBackward0", (A,),
               lambda gL, gV: (_eig_backward(gL, gV, L, V, True),), saved=(L, V))
        L._grad_fn._materialize = False
    return _out_tuple(_linalg_eigh((L, V)), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.eigvalsh``. Gradient: ``V diag(g) V^H``."""
    if GRAD.enabled and A._requires_grad:
        return _out(eigh(A, UPLO)[0], out)
    return _out(_eigh_arrays(A, UPLO, False)[0], out)


def _eig_backward(gL, gV, L: Tensor, V: Tensor, hermitian: bool) -> Tensor:
    """PyTorch's linalg_eig_backward: gA = V^{-H} (diag(gL) + (V^H gV projected) / conj(E))
    V^H, with E_ij = L_j - L_i."""
    if gV is None:
        if gL is None:
            return None
        gLc = gL.to(V.dtype)
        if hermitian:
            return (V * gLc.unsqueeze(-2)) @ V.mH
        return _solve(V.mH, gLc.unsqueeze(-1) * V.mH, True)
    VhgV = V.mH @ gV
    diag = VhgV.diagonal(0, -2, -1)
    if hermitian:
        VhgV = 0.5 * (VhgV - VhgV.mH)
    else:
        VhgV = VhgV - V.mH @ (V * diag.real.to(V.dtype).unsqueeze(-2))
    Lc = L if hermitian else L.conj()
    E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1)
    E = E + _eye_like(E, E.shape[-1])
    gA = VhgV / E.to(VhgV.dtype)
    if gL is not None:
        gA = gA * (1 - _eye_like(gA, gA.shape[-1])) + _diag(gL.to(gA.dtype))
    if hermitian:
        return V @ (gA @ V.mH)
    return _solve(V.mH, gA @ V.mH, True)


def _eig_arrays(A: Tensor, vectors: bool):
    _square(A, "linalg.eig")
    _floating(A, "linalg.eig", "linalg_eig")
    dev = A._device
    cdt = A.dtype if A.dtype.is_complex else A.dtype.to_complex()
    a = A._data  # a real input runs the real kernel (its eigenvalue order is PyTorch's)
    if vectors:
        w, v = _kernel(dev, "eig", a)
        return _w(w, cdt, dev), _w(v, cdt, dev)
    return _w(_kernel(dev, "eigvals", a), cdt, dev), None


def _real_grad(gA: Tensor, A: Tensor) -> Tensor:
    return gA.real if not A.dtype.is_complex and gA.dtype.is_complex else gA


def eig(A: Tensor, *, out=None):
    """Mirrors ``torch.linalg.eig``: complex (eigenvalues, eigenvectors), eigenvectors of
    unit norm. Gradient: PyTorch's linalg_eig_backward (distinct eigenvalues; losses that
    do not depend on the eigenvectors' phases)."""
    L, V = _eig_arrays(A, True)
    if GRAD.enabled and A._requires_grad:
        record((L, V), "LinalgEigBackward0", (A,),
               lambda gL, gV: (_real_grad(_eig_backward(gL, gV, L, V, False), A),),
               saved=(L, V))
        L._grad_fn._materialize = False
    return _out_tuple(_linalg_eig((L, V)), out)


def eigvals(A: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.eigvals`` (complex). Gradient: ``V^{-H} diag(g) V^H``."""
    if GRAD.enabled and A._requires_grad:
        return _out(eig(A)[0], out)
    return _out(_eig_arrays(A, False)[0], out)


# --- pseudo-inverse, least squares, rank ----------------------------------------------------

def _tolerances(S: Tensor, atol, rtol, m: int, n: int, dt):
    """PyTorch's rule: ``max(atol, rtol * S_max)``; rtol defaults to eps * max(m, n) when
    neither is given, to 0 when only atol is."""
    from ._creation import tensor
    if rtol is None:
        rtol = _dtype.finfo(_real_dtype(dt)).eps * max(m, n) if atol is None else 0.0
    smax = S.amax(-1, keepdim=True) if S.shape[-1] else S.sum(-1, keepdim=True)
    tol = smax * rtol if not isinstance(rtol, Tensor) else smax * rtol.unsqueeze(-1)
    if atol is not None:
        a = atol.unsqueeze(-1) if isinstance(atol, Tensor) else tensor(
            float(atol), dtype=S.dtype, device=S._device)
        tol = tol.maximum(a.to(S.dtype))
    return tol


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """Mirrors ``torch.linalg.pinv`` (singular values below ``max(atol, rtol * S_max)``
    dropped). Gradient: the Golub-Pereyra formula for a constant rank (PyTorch's
    pinv_backward)."""
    dt = A.dtype
    if A.ndim < 2 or not (dt.is_floating_point or dt.is_complex) or dt in (
            _dtype.float16, _dtype.bfloat16):
        raise RuntimeError(f"linalg.pinv({_TN[dt.name]}{{{list(A.shape)}}}): expected a tensor "
                           "with 2 or more dimensions of float, double, cfloat or cdouble types")
    m, n = A.shape[-2:]
    Ad = A.detach()
    with _no_grad():
        if hermitian:
            L, V = eigh(Ad)
            tol = _tolerances(L.abs(), atol, rtol, m, n, dt)
            keep = L.abs() > tol
            Linv = _where(keep, 1 / _where(keep, L, 1.0), 0.0).to(dt)
            P = (V * Linv.unsqueeze(-2)) @ V.mH
        else:
            U, S, Vh = svd(Ad, full_matrices=False)
            tol = _tolerances(S, atol, rtol, m, n, dt)
            keep = S > tol
            Sinv = _where(keep, 1 / _where(keep, S, 1.0), 0.0).to(dt)
            P = (Vh.mH * Sinv.unsqueeze(-2)) @ U.mH
    if GRAD.enabled and A._requires_grad:
        record(P, "LinalgPinvBackward0", (A,), lambda g: (_pinv_backward(g, P, A),),
               saved=(P, A))
    return _out(P, out)


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def _pinv_backward(g: Tensor, P: Tensor, A: Tensor) -> Tensor:
    """d pinv = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P, transposed into
    a gradient: ``-P^H g P^H + (I - A P) g^H P P^H + P^H P g^H (I - P A)``."""
    Ph, gh = P.mH, g.mH
    AP, PA = A @ P, P @ A
    return (-(Ph @ g @ Ph) + (gh - AP @ gh) @ (P @ Ph) + (Ph @ P) @ (gh - gh @ PA))


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """Mirrors ``torch.linalg.matrix_rank``: how many singular values (eigenvalue moduli when
    ``hermitian``) exceed ``max(atol, rtol * S_max)`` (``tol`` is the old name of atol)."""
    if not (A.dtype.is_floating_point or A.dtype.is_complex) or A.dtype in (
            _dtype.float16, _dtype.bfloat16):
        raise RuntimeError("This function doesn't handle types other than float and double")
    _at_least_2d(A, "linalg.matrix_rank")
    if tol is not None:
        atol, rtol = tol, (rtol if rtol is not None else 0.0)
    m, n = A.shape[-2:]
    with _no_grad():
        S = eigvalsh(A.detach()).abs() if hermitian else svdvals(A.detach())
        tol_ = _tolerances(S, atol, rtol, m, n, A.dtype)
        return _out((S > tol_).sum(-1), out)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None):
    """Mirrors ``torch.linalg.lstsq``: (solution, residuals, rank, singular_values).
    Solved through the SVD whatever the driver (the minimum-norm solution; equal to
    LAPACK's for full-rank inputs). ``residuals`` (m > n and full rank, not gelsy),
    ``rank`` (not gels) and ``singular_values`` (gelsd/gelss) as PyTorch returns them.
    Gradient of the solution through ``pinv(A) @ B``; of the residuals as well."""
    fn = "torch.linalg.lstsq"
    if driver is None:
        driver = "gelsy"
    if driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           "gelss)")
    for t in (A, B):
        if not (t.dtype.is_floating_point or t.dtype.is_complex) or t.dtype in (
                _dtype.float16, _dtype.bfloat16):
            raise RuntimeError("This function doesn't handle types other than float and double")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {_TN[A.dtype.name]} and other's dtype "
                           f"{_TN[B.dtype.name]}")
    _at_least_2d(A, fn, "input")
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    dt = A.dtype
    if rcond is None:
        rcond = _dtype.finfo(_real_dtype(dt)).eps * max(m, n)
    from ._creation import empty
    dev = _device(A, B)
    with _no_grad():
        U, S, Vh = svd(A.detach(), full_matrices=False)
        tol = _tolerances(S, None, rcond, m, n, dt)
        keep = S > tol
        ranks = keep.sum(-1)
        Sinv = _where(keep, 1 / _where(keep, S, 1.0), 0.0).to(dt)
        X = (Vh.mH * Sinv.unsqueeze(-2)) @ (U.mH @ Bm.detach())
        full = bool((ranks == min(m, n)).all()) if ranks.numel() else True
        want_res = m > n and driver != "gelsy" and (driver == "gels" or full)
        R = ((A.detach() @ X - Bm.detach()).abs() ** 2).sum(-2) if want_res else \
            empty(0, dtype=_real_dtype(dt), device=dev)
    if GRAD.enabled and (A._requires_grad or B._requires_grad):
        outs = (X, R) if want_res else X
        ra = A._requires_grad

        def back(gX, gR=None):
            P = pinv(A)
            gB = P.mH @ gX if gX is not None else None
            gA = _pinv_backward(gX @ Bm.mH, P, A) if ra and gX is not None else None
            if gR is not None:  # envelope theorem: X minimises the residual
                r = A @ X - Bm
                t = 2 * r * gR.unsqueeze(-2).to(r.dtype)
                gB = -t if gB is None else gB - t
                if ra:
                    gA = t @ X.mH if gA is None else gA + t @ X.mH
            return gA, (gB.squeeze(-1) if vec and gB is not None else gB)
        record(outs, "LinalgLstsqBackward0", (A, B), back, saved=(A, X))
        X._grad_fn._materialize = False
    sol = X.squeeze(-1) if vec else X
    rank = empty(0, dtype=_dtype.int64, device=dev) if driver == "gels" else ranks
    sv = S if driver in ("gelsd", "gelss") else empty(0, dtype=_real_dtype(dt), device=dev)
    return _linalg_lstsq((sol, R, rank, sv))


# --- norms ----------------------------------------------------------------------------------

def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """Mirrors ``torch.linalg.vector_norm``: ``ord`` any number, ``inf`` or ``-inf``; all
    elements (flattened) when ``dim`` is None."""
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if dtype is not None:
        if not (dtype.is_floating_point or dtype.is_complex):
            raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or "
                               f"complex, but got {_TN[dtype.name]}")
        xd = x.dtype
        if (xd.is_floating_point or xd.is_complex) and _dtype.promote_types(xd, dtype) is not dtype:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_TN[xd.name]}) "
                               "should be convertible without narrowing to the specified "
                               f"dtype ({_TN[dtype.name]})")
    from .ops.reduction import norm as _norm
    return _out(_norm(x, ord, dim, keepdim, dtype=dtype), out)


_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def _matrix_dims(A: Tensor, dim, fn: str = "linalg.matrix_norm") -> tuple:
    from .ops._util import wrap_dim
    if isinstance(dim, int) or len(tuple(dim)) != 2:
        got = dim if isinstance(dim, int) else " ".join(str(d) for d in dim)
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {got}")
    d0, d1 = (wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """Mirrors ``torch.linalg.matrix_norm``: ``ord`` "fro", "nuc", ±inf, ±1, ±2 over the two
    dims ``dim``. Built from vector norms, sums, max/min and singular values, so gradients
    follow from theirs."""
    fn = "linalg.matrix_norm"
    _at_least_2d(A, fn)
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"{fn}: Order {ord} not supported.")
    d0, d1 = _matrix_dims(A, dim)
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. Got "
                           f"{_TN[dt.name]}")
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord in ("nuc", 2, -2):
        Am = A.movedim((d0, d1), (-2, -1))
        S = svdvals(Am)
        r = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return _out(r, out)
    # 1/-1: max/min column sum (over d0); inf/-inf: max/min row sum (over d1)
    sum_dim, red_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
    s = A.abs().sum(sum_dim, keepdim=True)
    r = s.amax(red_dim, keepdim=True) if ord > 0 else s.amin(red_dim, keepdim=True)
    if not keepdim:
        r = r.squeeze((d0, d1))
    return _out(r, out)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, out=None,
         dtype=None) -> Tensor:
    """Mirrors ``torch.linalg.norm``: a vector norm for 1 dim (or a flattened input when
    ``ord`` is None), a matrix norm for 2 dims (or a 2-D input given ``ord``)."""
    if dim is not None:
        dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if ord is not None and dim is None and A.ndim not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    if isinstance(ord, str) or (dim is not None and len(dim) == 2 and ord is not None) or (
            dim is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype,
                           out=out)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.cond``: ``S_max / S_min`` for p None/2 (``S_min / S_max``
    for -2); otherwise ``norm(A, p) * norm(inv(A), p)`` (square A)."""
    _at_least_2d(A, "linalg.cond")
    if p is None or p in (2, -2):
        S = svdvals(A)
        r = S.amax(-1) / S.amin(-1) if p != -2 else S.amin(-1) / S.amax(-1)
        return _out(r, out)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _square(A, f"linalg.cond(ord={p})")
    return _out(matrix_norm(A, p) * matrix_norm(_inv(A), p), out)


# --- products and composites ----------------------------------------------------------------

def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.matmul`` (``torch.matmul``)."""
    from .ops.linalg import matmul as _mm
    return _mm(input, other, out=out)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Mirrors ``torch.linalg.diagonal`` (``torch.diagonal`` with matrix defaults)."""
    return A.diagonal(offset, dim1, dim2)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Mirrors ``torch.linalg.vecdot``: ``sum(conj(x) * y, dim)``."""
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {_TN[x.dtype.name]} and y of type {_TN[y.dtype.name]} "
                           "instead")
    return _out((x.conj() * y).sum(dim), out)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Mirrors ``torch.linalg.cross``: the 3-vector cross product along ``dim`` (operands
    broadcast). Gradients: ``other x g`` and ``g x input``."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_TN[input.dtype.name]} but found "
                           f"{_TN[other.dtype.name]}")
    from .ops._util import wrap_dim
    d = wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    dev = _device(input, other)
    xp = dev._be.xp
    a, b = input._data, other._data

    def part(arr, i):
        return arr[(slice(None),) * d + (slice(i, i + 1), Ellipsis)]
    a0, a1, a2 = (part(a, i) for i in range(3))
    b0, b1, b2 = (part(b, i) for i in range(3))
    try:
        data = xp.concat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=d)
    except ValueError:
        from .ops._util import broadcast_fail
        broadcast_fail(a, b)
        raise
    res = wrap(data, input.dtype, dev)
    if GRAD.enabled and (input._requires_grad or other._requires_grad):
        ri, ro = input._requires_grad, other._requires_grad
        record(res, "LinalgCrossBackward0", (input, other),
               lambda g: (cross(other.conj(), g, dim=d) if ri else None,
                          cross(g, input.conj(), dim=d) if ro else None),
               saved=(input, other))
    return _out(res, out)


def multi_dot(tensors, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.multi_dot``: a chain of matrix products (the first operand may
    be a row vector, the last a column vector), multiplied in the cheapest order."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    n = len(ts)
    if ts[0].ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got "
                           f"{ts[0].ndim}D")
    if ts[-1].ndim not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got "
                           f"{ts[-1].ndim}D")
    for i in range(1, n - 1):
        if ts[i].ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {ts[i].ndim}D")
    for i, t in enumerate(ts[1:], 1):
        if t.dtype is not ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {_scalar_name(ts[0].dtype)} and tensor {i} "
                               f"{_scalar_name(t.dtype)}")
    first_vec, last_vec = ts[0].ndim == 1, ts[-1].ndim == 1
    mats = list(ts)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i in range(n - 1):
        if mats[i].shape[-1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(ts[i].shape)} and {list(ts[i + 1].shape)} cannot be "
                               "multiplied")
    res = _chain(mats, _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]]),
                 0, n - 1)
    if first_vec and last_vec:
        res = res.reshape(())
    elif first_vec:
        res = res.squeeze(0)
    elif last_vec:
        res = res.squeeze(-1)
    return _out(res, out)


def _scalar_name(dt) -> str:
    from .ops.linalg import _KN
    return _KN[dt.name]


def _chain_order(p: list):
    """The classic matrix-chain dynamic programme: split[i][j] for the cheapest order."""
    n = len(p) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i: int, j: int) -> Tensor:
    if i == j:
        return mats[i]
    k = split[i][j]
    return _chain(mats, split, i, k).mm(_chain(mats, split, k + 1, j))


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.matrix_power``: repeated squaring with matmul (inverse first
    for n < 0; the identity for n = 0, any dtype), so gradients come from matmul's."""
    _square(A, "linalg.matrix_power")
    if n == 0:
        eye = _eye_like(A)
        return _out(eye.expand(tuple(A.shape)).clone(), out)
    base = A
    if n < 0:
        base = _inv(A)
        n = -n
    result = None
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            break
        base = base @ base
    return _out(result if result is not A else A.clone(), out)


_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm_arrays(dev, a, dt):
    """exp of a batch of matrices: scaling and squaring with the [13/13] Pade approximant
    (Higham 2005), every matrix scaled by the batch's largest 1-norm."""
    xp = dev._be.xp
    n = a.shape[-1]
    eye = xp.eye(n, dtype=a.dtype)
    norm1 = float(xp.max(xp.sum(xp.abs(a), axis=-2))) if a.size else 0.0
    s = max(0, math.ceil(math.log2(norm1 / _THETA13))) if norm1 > _THETA13 else 0
    a = a / (2.0 ** s)
    b = _PADE13
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + \
        b[0] * eye
    r = _kernel(dev, "solve", v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def matrix_exp(A: Tensor) -> Tensor:
    """Mirrors ``torch.linalg.matrix_exp``. Gradient as PyTorch: the top-right block of
    ``exp([[A^H, g], [0, A^H]])``."""
    _square(A, "linalg.matrix_exp")
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"linalg.matrix_exp: Expected a floating point or complex tensor as "
                           f"input. Got {_TN[dt.name]}")
    dev = A._device
    low = dt in (_dtype.float16, _dtype.bfloat16)
    a = dev._be.astype(A._data, _dtype.float32) if low else A._data
    res = _w(_expm_arrays(dev, a, dt), dt, dev)
    if GRAD.enabled and A._requires_grad:
        def back(g):
            from .ops.joining import cat
            n = A.shape[-1]
            Ah = A.mH
            top = cat([Ah, g], dim=-1)
            bottom = cat([g.new_zeros(tuple(g.shape)), Ah], dim=-1)
            return (matrix_exp(cat([top, bottom], dim=-2))[..., :n, n:],)
        record(res, "LinalgMatrixExpBackward0", (A,), back, saved=(A,))
    return res


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """Mirrors ``torch.linalg.vander``: columns ``x^0, x^1, ..., x^(N-1)`` (a cumulative
    product, so differentiable)."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension.")
    if N is not None and N <= 1:
        raise RuntimeError("N must be greater than 1.")
    n = x.shape[-1] if N is None else N
    from ._creation import ones
    from .ops.joining import cat
    dt = x.dtype if x.dtype is not _dtype.bool else _dtype.int64
    one = ones(tuple(x.shape) + (1,), dtype=dt, device=x._device)
    if n <= 1:  # x has 0 or 1 elements
        return one[..., :n]
    reps = x.unsqueeze(-1).to(dt).expand(tuple(x.shape) + (n - 1,))
    return cat([one, reps.cumprod(-1)], dim=-1)


def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.tensorinv``: the inverse of A viewed as a matrix of
    ``prod(shape[:ind]) x prod(shape[ind:])``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    return _out(_inv(A.reshape(_prod(rows), _prod(cols))).reshape(cols + rows), out)


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """Mirrors ``torch.linalg.tensorsolve``: X with ``tensordot(A, X, X.ndim) = B``."""
    if dims is not None:
        from .ops._util import wrap_dim
        d = [wrap_dim(x, A.ndim) for x in dims]
        rest = [i for i in range(A.ndim) if i not in d]
        A = A.permute(*(rest + d))
    rows = tuple(A.shape[:B.ndim])
    xs = tuple(A.shape[B.ndim:])
    if _prod(rows) != _prod(xs):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim"
                           f":]) == prod(self.shape[:other.ndim]), but got {_prod(xs)} != "
                           f"{_prod(rows)}")
    X = _solve(A.reshape(_prod(rows), _prod(xs)), B.reshape(_prod(rows)), True)
    return _out(X.reshape(xs), out)


# --- out= -----------------------------------------------------------------------------------

def _out(res: Tensor, out):
    if out is None:
        return res
    from .ops.joining import _into
    return _into(out, res)


def _out_tuple(res, out):
    if out is None:
        return res
    for o, r in zip(out, res):
        _out(r, o)
    return type(res)(tuple(out))
