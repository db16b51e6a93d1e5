"""The ``torch.*`` and ``Tensor.*`` spellings of linear algebra that lives in
``ember.linalg``: det, logdet, slogdet, inverse, pinverse, matrix_power, matrix_exp, cross,
dist, and the older APIs PyTorch keeps (with its deprecation warnings): cholesky, qr, svd
(returning V, not Vh), triangular_solve, cholesky_solve, cholesky_inverse, chain_matmul.
``ember.linalg`` is imported on first call, so ``import ember`` stays light."""
from __future__ import annotations

import warnings

from ._register import takes_out
from .. import _dtype
from .. import return_types as _rt
from ._util import Tensor, method

__all__ = ["chain_matmul", "cholesky", "cholesky_inverse", "cholesky_solve", "cross", "det",
           "dist", "inverse", "logdet", "matrix_exp", "matrix_power", "pinverse", "qr",
           "slogdet", "svd", "triangular_solve", "vander"]

_slogdet = _rt.make("slogdet", ("sign", "logabsdet"))
_qr = _rt.make("qr", ("Q", "R"))
_svd = _rt.make("svd", ("U", "S", "V"))
_triangular_solve = _rt.make("triangular_solve", ("solution", "cloned_coefficient"))


def _la():
    from .. import linalg
    return linalg


def _deprecated(msg: str) -> None:
    warnings.warn(msg, UserWarning, stacklevel=3)


@method("det")
def det(input: Tensor) -> Tensor:
    """Mirrors ``torch.det`` (``torch.linalg.det``)."""
    return _la().det(input)


@method("slogdet")
def slogdet(input: Tensor):
    """Mirrors ``torch.slogdet``: ``torch.return_types.slogdet(sign, logabsdet)``."""
    return _slogdet(tuple(_la().slogdet(input)))


@method("logdet")
def logdet(input: Tensor) -> Tensor:
    """Mirrors ``torch.logdet``: ``log(det)``; NaN for a negative determinant, -inf for a
    zero one."""
    sign, logabs = _la().slogdet(input)
    if input.dtype.is_complex:
        return sign.log() + logabs
    from .selection import where
    return where(sign < 0, float("nan"), logabs)


@takes_out
@method("inverse")
def inverse(input: Tensor) -> Tensor:
    """Mirrors ``torch.inverse`` (``torch.linalg.inv``)."""
    return _la().inv(input)


@method("pinverse")
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Mirrors ``torch.pinverse``: ``linalg.pinv`` with ``rtol=rcond``."""
    return _la().pinv(input, rtol=rcond)


@method("matrix_power")
def matrix_power(input: Tensor, n: int) -> Tensor:
    """Mirrors ``torch.matrix_power``."""
    return _la().matrix_power(input, n)


@method("matrix_exp")
def matrix_exp(input: Tensor) -> Tensor:
    """Mirrors ``torch.matrix_exp``."""
    return _la().matrix_exp(input)


@takes_out
@method("cross")
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Mirrors ``torch.cross``: without ``dim``, the first dimension of size 3 (PyTorch's
    deprecated default, with its warning)."""
    if dim is None:
        if input.ndim != other.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        _deprecated("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                    "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                    "default value of dim will change to agree with that of linalg.cross in a "
                    "future release.")
        from .shape import broadcast_shapes
        shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _la().cross(input, other, dim=dim)


@method("dist")
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """Mirrors ``torch.dist``: the p-norm of ``input - other`` (broadcast)."""
    return _la().vector_norm(input - other, p)


@takes_out
@method("cholesky")
def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """Mirrors the deprecated ``torch.cholesky`` (``linalg.cholesky``, ``.mH`` if upper)."""
    _deprecated("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be "
                "removed in a future PyTorch release.\nL = torch.cholesky(A)\nshould be "
                "replaced with\nL = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, "
                "upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\nThis "
                "transform will produce equivalent results for all valid (symmetric positive "
                "definite) inputs.")
    return _la().cholesky(input, upper=upper)


@takes_out
@method("qr")
def qr(input: Tensor, some: bool = True):
    """Mirrors the deprecated ``torch.qr``: ``linalg.qr(A, 'reduced' if some else
    'complete')``."""
    _deprecated("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a "
                "future PyTorch release.\nThe boolean parameter 'some' has been replaced with a "
                "string parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\n"
                "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')")
    return _qr(tuple(_la().qr(input, "reduced" if some else "complete")))


@takes_out
@method("svd")
def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """Mirrors ``torch.svd``: (U, S, V) with ``A = U diag(S) V^H`` (V, not Vh); without
    ``compute_uv`` U and V are zero-filled, as in PyTorch."""
    la = _la()
    if not compute_uv:
        S = la.svdvals(input)
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        U = input.new_zeros(batch + (m, m))
        V = input.new_zeros(batch + (n, n))
        return _svd((U, S, V))
    U, S, Vh = la.svd(input, full_matrices=not some)
    return _svd((U, S, Vh.mH))


@takes_out
@method("triangular_solve")
def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False):
    """Mirrors the deprecated ``torch.triangular_solve(b, A)``: (solution of
    ``op(A) X = b``, a copy of A)."""
    _deprecated("torch.triangular_solve is deprecated in favor of "
                "torch.linalg.solve_triangularand will be removed in a future PyTorch "
                "release.\ntorch.linalg.solve_triangular has its arguments reversed and does "
                "not return a copy of one of the inputs.\nX = torch.triangular_solve(B, "
                "A).solution\nshould be replaced with\nX = torch.linalg.solve_triangular(A, B).")
    M = A.mT if transpose else A
    X = _la().solve_triangular(M, input, upper=upper != transpose, unitriangular=unitriangular)
    return _triangular_solve((X, A.clone()))


@takes_out
@method("cholesky_solve")
def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """Mirrors ``torch.cholesky_solve(B, L)``: X with ``L L^H X = B`` (``U^H U`` if
    upper), two triangular solves."""
    la = _la()
    L = input2.mH if upper else input2
    Y = la.solve_triangular(L, input, upper=False)
    return la.solve_triangular(L.mH, Y, upper=True)


@takes_out
@method("cholesky_inverse")
def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """Mirrors ``torch.cholesky_inverse(L)``: the inverse of ``L L^H`` (``U^H U``)."""
    from .._creation import eye
    n = input.shape[-1]
    return cholesky_solve(eye(n, dtype=input.dtype, device=input._device)
                          .expand(tuple(input.shape)), input, upper)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Mirrors ``torch.vander``: columns ``x^(N-1), ..., x^0`` of a 1-D tensor (reversed
    when ``increasing``); bools count as int64."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    from .._creation import ones
    from .joining import cat
    dt = x.dtype if x.dtype is not _dtype.bool else _dtype.int64
    if n <= 1 and not (dt.is_floating_point or dt.is_complex):
        dt = _dtype.int64  # PyTorch's ones() for the trivial sizes
    one = ones(tuple(x.shape) + (1,), dtype=dt, device=x._device)
    cols = one[..., :n] if n <= 1 else cat(
        [one, x.unsqueeze(-1).to(dt).expand(tuple(x.shape) + (n - 1,)).cumprod(-1)], dim=-1)
    return cols if increasing else cols.flip(-1)


@takes_out
def chain_matmul(*matrices) -> Tensor:
    """Mirrors the deprecated ``torch.chain_matmul`` (``linalg.multi_dot``)."""
    _deprecated("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                "more tensors rather than multiple parameters.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return _la().multi_dot(matrices)
