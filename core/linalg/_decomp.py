"""``ember.linalg``'s factorisations (cholesky, qr, svd, eigh, eig) and what is built on
them (pinv, matrix_rank, lstsq), each backward beside its forward (PyTorch's formulas)."""
from __future__ import annotations

from ..ops._register import takes_out
from .. import _dtype
from ._base import (LinAlgError, _at_least_2d, _device, _diag, _eye_like, _floating,
                           _hermitian_from, _info_tensor, _infos, _kernel, _kernel_or_raise,
                           _linalg_cholesky_ex, _linalg_eig, _linalg_eigh, _linalg_lstsq,
                           _linalg_qr, _linalg_svd, _nan_where_failed, _no_grad, _not_pd_error,
                           _prod, _real_dtype, _square, _w, _where)
from ._solve import _solve, solve_triangular
from .._tensor import Tensor
from ..autograd.grad_mode import STATE as GRAD
from ..autograd.graph import record
from .._creation import tensor
from .._creation import empty
from ..ops.joining import cat

# --- factorisations -------------------------------------------------------------------------

def _cholesky(A: Tensor, upper: bool, fn: str = "linalg.cholesky") -> Tensor:
    _square(A, fn)
    _floating(A, fn, "cholesky")
    dev = A._device
    H = _hermitian_from(A.detach(), False)
    data = _kernel_or_raise(dev, "cholesky", (H._data,), lambda: _not_pd_error(H, fn))
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
        record(res, "LinalgCholeskyExBackward0", (A,), back, saved=(res,), holomorphic=False)
    return res


@takes_out
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """Mirrors ``torch.linalg.cholesky``: ``A = L L^H`` from A's lower triangle."""
    return _cholesky(A, upper)


@takes_out
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """Mirrors ``torch.linalg.cholesky_ex``: (L, info)."""
    try:
        L = _cholesky(A, upper)
        infos = [0] * max(1, _prod(A.shape[:-2]))
    except LinAlgError:
        if check_errors:
            raise
        infos = _infos(_hermitian_from(A.detach(), False), "cholesky")
        bad = tensor([bool(v) for v in infos], device=A._device).reshape(
            tuple(A.shape[:-2]) + (1, 1))
        L = _nan_where_failed(_cholesky(_where(bad, _eye_like(A), A.detach()), upper), infos)
    return _linalg_cholesky_ex((L, _info_tensor(infos, A)))


@takes_out
def qr(A: Tensor, mode: str = "reduced"):
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
        record((Q, R), "LinalgQrBackward0", (A,), back, saved=(Q, R), holomorphic=False)
        Q._grad_fn._materialize = False
    return _linalg_qr((Q, R))


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


@takes_out
def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
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
        record((U, S, Vh), "LinalgSvdBackward0", (A,), back, saved=(U, S, Vh), holomorphic=False)
        U._grad_fn._materialize = False
    return _linalg_svd((U, S, Vh))


@takes_out
def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """Mirrors ``torch.linalg.svdvals``: the singular values, descending. Gradient:
    ``U diag(g) Vh``."""
    _at_least_2d(A, "linalg.svd")
    _floating(A, "linalg.svd", "linalg_svd")
    if not (GRAD.enabled and A._requires_grad):
        dev = A._device
        return _w(_kernel(dev, "svdvals", A._data), _real_dtype(A.dtype), dev)
    return svd(A, full_matrices=False, driver=driver)[1]


def _eigh_arrays(A: Tensor, UPLO: str, vectors: bool):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _square(A, "linalg.eigh")
    dt = A.dtype
    if not (dt.is_floating_point or dt.is_complex) or dt in (_dtype.float16, _dtype.bfloat16):
        raise NotImplementedError(f'"linalg_eigh_{A._device.type}" not implemented for '
                                  f"'{dt.scalar_name}'")
    dev = A._device
    H = _hermitian_from(A.detach(), UPLO == "U")
    if vectors:
        w, v = _kernel(dev, "eigh", H._data)
        return _w(w, _real_dtype(dt), dev), _w(v, dt, dev)
    return _w(_kernel(dev, "eigvalsh", H._data), _real_dtype(dt), dev), None


@takes_out
def eigh(A: Tensor, UPLO: str = "L"):
    """Mirrors ``torch.linalg.eigh``: (eigenvalues ascending, eigenvectors) of the
    Hermitian matrix A's ``UPLO`` triangle describes. Gradient as PyTorch's
    linalg_eig_backward (distinct eigenvalues; sign/phase-invariant losses)."""
    L, V = _eigh_arrays(A, UPLO, True)
    if GRAD.enabled and A._requires_grad:
        record((L, V), "LinalgEighBackward0", (A,),
               lambda gL, gV: (_eig_backward(gL, gV, L, V, True),), saved=(L, V), holomorphic=False)
        L._grad_fn._materialize = False
    return _linalg_eigh((L, V))


@takes_out
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """Mirrors ``torch.linalg.eigvalsh``. Gradient: ``V diag(g) V^H``."""
    if GRAD.enabled and A._requires_grad:
        return eigh(A, UPLO)[0]
    return _eigh_arrays(A, UPLO, False)[0]


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


@takes_out
def eig(A: Tensor):
    """Mirrors ``torch.linalg.eig``: complex (eigenvalues, eigenvectors), eigenvectors of
    unit norm. Gradient: PyTorch's linalg_eig_backward (distinct eigenvalues; losses that
    do not depend on the eigenvectors' phases)."""
    L, V = _eig_arrays(A, True)
    if GRAD.enabled and A._requires_grad:
        record((L, V), "LinalgEigBackward0", (A,),
               lambda gL, gV: (_real_grad(_eig_backward(gL, gV, L, V, False), A),),
               saved=(L, V), holomorphic=False)
        L._grad_fn._materialize = False
    return _linalg_eig((L, V))


@takes_out
def eigvals(A: Tensor) -> Tensor:
    """Mirrors ``torch.linalg.eigvals`` (complex). Gradient: ``V^{-H} diag(g) V^H``."""
    if GRAD.enabled and A._requires_grad:
        return eig(A)[0]
    return _eig_arrays(A, False)[0]


# --- pseudo-inverse, least squares, rank ----------------------------------------------------

def _tolerances(S: Tensor, atol, rtol, m: int, n: int, dt):
    """PyTorch's rule: ``max(atol, rtol * S_max)``; rtol defaults to eps * max(m, n) when
    neither is given, to 0 when only atol is."""
    if rtol is None:
        rtol = _dtype.finfo(_real_dtype(dt)).eps * max(m, n) if atol is None else 0.0
    smax = S.amax(-1, keepdim=True) if S.shape[-1] else S.sum(-1, keepdim=True)
    tol = smax * rtol if not isinstance(rtol, Tensor) else smax * rtol.unsqueeze(-1)
    if atol is not None:
        a = atol.unsqueeze(-1) if isinstance(atol, Tensor) else tensor(
            float(atol), dtype=S.dtype, device=S._device)
        tol = tol.maximum(a.to(S.dtype))
    return tol


@takes_out
def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """Mirrors ``torch.linalg.pinv`` (singular values below ``max(atol, rtol * S_max)``
    dropped). Gradient: the Golub-Pereyra formula for a constant rank (PyTorch's
    pinv_backward)."""
    dt = A.dtype
    if A.ndim < 2 or not (dt.is_floating_point or dt.is_complex) or dt in (
            _dtype.float16, _dtype.bfloat16):
        raise RuntimeError(f"linalg.pinv({dt.scalar_name}{{{list(A.shape)}}}): expected a tensor "
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
               saved=(P, A), holomorphic=False)
    return P


def _pinv_backward(g: Tensor, P: Tensor, A: Tensor) -> Tensor:
    """d pinv = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P, transposed into
    a gradient: ``-P^H g P^H + (I - A P) g^H P P^H + P^H P g^H (I - P A)``."""
    Ph, gh = P.mH, g.mH
    AP, PA = A @ P, P @ A
    return (-(Ph @ g @ Ph) + (gh - AP @ gh) @ (P @ Ph) + (Ph @ P) @ (gh - gh @ PA))


@takes_out
def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None) -> Tensor:
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
        return (S > tol_).sum(-1)


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
                           f"input's dtype {A.dtype.scalar_name} and other's dtype "
                           f"{B.dtype.scalar_name}")
    _at_least_2d(A, fn, "input")
    vec = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vec else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    dt = A.dtype
    if rcond is None:
        rcond = _dtype.finfo(_real_dtype(dt)).eps * max(m, n)
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
        record(outs, "LinalgLstsqBackward0", (A, B), back, saved=(A, X), holomorphic=False)
        X._grad_fn._materialize = False
    sol = X.squeeze(-1) if vec else X
    rank = empty(0, dtype=_dtype.int64, device=dev) if driver == "gels" else ranks
    sv = S if driver in ("gelsd", "gelss") else empty(0, dtype=_real_dtype(dt), device=dev)
    return _linalg_lstsq((sol, R, rank, sv))
