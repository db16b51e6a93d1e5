"""``ember.linalg``: mirrors ``torch.linalg``.

The functions live in ``_solve`` (inverse, determinants, solvers) and
``_decomp`` (factorisations, pinv, lstsq); norms and products are here.

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

from ..ops._register import takes_out as _takes_out
from .. import _dtype
from ._base import (LinAlgError, _at_least_2d, _device, _eye_like, _kernel, _prod,
                           _square, _w)
from ._decomp import (cholesky, cholesky_ex, eig, eigh, eigvals, eigvalsh, lstsq,
                             matrix_rank, pinv, qr, svd, svdvals)
from ._solve import (_inv, _solve, det, inv, inv_ex, slogdet, solve, solve_ex,
                            solve_triangular)
from ..ops._register import finalize as _finalize
from .._tensor import Tensor, wrap
from ..autograd.grad_mode import STATE as GRAD
from ..autograd.graph import record
from ..ops.reduction import norm as _norm
from ..ops._util import wrap_dim
from ..ops.linalg import matmul as _mm
from ..ops._register import broadcast_fail
from ..ops.joining import cat
from .._creation import ones

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm"]


# --- norms ----------------------------------------------------------------------------------

@_takes_out
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mirrors ``torch.linalg.vector_norm``: ``ord`` any number, ``inf`` or ``-inf``; all
    elements (flattened) when ``dim`` is None."""
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if dtype is not None:
        if not (dtype.is_floating_point or dtype.is_complex):
            raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or "
                               f"complex, but got {dtype.scalar_name}")
        xd = x.dtype
        if (xd.is_floating_point or xd.is_complex) and _dtype.promote_types(xd, dtype) is not dtype:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({xd.scalar_name}) "
                               "should be convertible without narrowing to the specified "
                               f"dtype ({dtype.scalar_name})")
    return _norm(x, ord, dim, keepdim, dtype=dtype)


_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def _matrix_dims(A: Tensor, dim, fn: str = "linalg.matrix_norm") -> tuple:
    if isinstance(dim, int) or len(tuple(dim)) != 2:
        got = dim if isinstance(dim, int) else " ".join(str(d) for d in dim)
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {got}")
    d0, d1 = (wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


@_takes_out
def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
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
                           f"{dt.scalar_name}")
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        Am = A.movedim((d0, d1), (-2, -1))
        S = svdvals(Am)
        r = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        if keepdim:
            r = r.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return r
    # 1/-1: max/min column sum (over d0); inf/-inf: max/min row sum (over d1)
    sum_dim, red_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
    s = A.abs().sum(sum_dim, keepdim=True)
    r = s.amax(red_dim, keepdim=True) if ord > 0 else s.amin(red_dim, keepdim=True)
    if not keepdim:
        r = r.squeeze((d0, d1))
    return r


@_takes_out
def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *,
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
        return matrix_norm(A, ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


@_takes_out
def cond(A: Tensor, p=None) -> Tensor:
    """Mirrors ``torch.linalg.cond``: ``S_max / S_min`` for p None/2 (``S_min / S_max``
    for -2); otherwise ``norm(A, p) * norm(inv(A), p)`` (square A)."""
    _at_least_2d(A, "linalg.cond")
    if p is None or p in (2, -2):
        S = svdvals(A)
        r = S.amax(-1) / S.amin(-1) if p != -2 else S.amin(-1) / S.amax(-1)
        return r
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    _square(A, f"linalg.cond(ord={p})")
    return matrix_norm(A, p) * matrix_norm(_inv(A), p)


# --- products and composites ----------------------------------------------------------------

@_takes_out
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.linalg.matmul`` (``torch.matmul``)."""
    return _mm(input, other)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Mirrors ``torch.linalg.diagonal`` (``torch.diagonal`` with matrix defaults)."""
    return A.diagonal(offset, dim1, dim2)


@_takes_out
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Mirrors ``torch.linalg.vecdot``: ``sum(conj(x) * y, dim)``."""
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {x.dtype.scalar_name} and y of type {y.dtype.scalar_name} "
                           "instead")
    return (x.conj() * y).sum(dim)


@_takes_out
def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """Mirrors ``torch.linalg.cross``: the 3-vector cross product along ``dim`` (operands
    broadcast). Gradients: ``other x g`` and ``g x input``."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype.scalar_name} but found "
                           f"{other.dtype.scalar_name}")
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
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        raise
    res = wrap(data, input.dtype, dev)
    if GRAD.enabled and (input._requires_grad or other._requires_grad):
        ri, ro = input._requires_grad, other._requires_grad
        record(res, "LinalgCrossBackward0", (input, other),
               lambda g: (cross(other.conj(), g, dim=d) if ri else None,
                          cross(g, input.conj(), dim=d) if ro else None),
               saved=(input, other), holomorphic=False)
    return res


@_takes_out
def multi_dot(tensors) -> Tensor:
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
    return res


def _scalar_name(dt) -> str:
    return dt.c_name


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


@_takes_out
def matrix_power(A: Tensor, n: int) -> Tensor:
    """Mirrors ``torch.linalg.matrix_power``: repeated squaring with matmul (inverse first
    for n < 0; the identity for n = 0, any dtype), so gradients come from matmul's."""
    _square(A, "linalg.matrix_power")
    if n == 0:
        eye = _eye_like(A)
        return eye.expand(tuple(A.shape)).clone()
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
    return result if result is not A else A.clone()


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
                           f"input. Got {dt.scalar_name}")
    dev = A._device
    low = dt in (_dtype.float16, _dtype.bfloat16)
    a = dev._be.astype(A._data, _dtype.float32) if low else A._data
    res = _w(_expm_arrays(dev, a, dt), dt, dev)
    if GRAD.enabled and A._requires_grad:
        def back(g):
            n = A.shape[-1]
            Ah = A.mH
            top = cat([Ah, g], dim=-1)
            bottom = cat([g.new_zeros(tuple(g.shape)), Ah], dim=-1)
            return (matrix_exp(cat([top, bottom], dim=-2))[..., :n, n:],)
        record(res, "LinalgMatrixExpBackward0", (A,), back, saved=(A,), holomorphic=False)
    return res


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """Mirrors ``torch.linalg.vander``: columns ``x^0, x^1, ..., x^(N-1)`` (a cumulative
    product, so differentiable)."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension.")
    if N is not None and N <= 1:
        raise RuntimeError("N must be greater than 1.")
    n = x.shape[-1] if N is None else N
    dt = x.dtype if x.dtype is not _dtype.bool else _dtype.int64
    one = ones(tuple(x.shape) + (1,), dtype=dt, device=x._device)
    if n <= 1:  # x has 0 or 1 elements
        return one[..., :n]
    reps = x.unsqueeze(-1).to(dt).expand(tuple(x.shape) + (n - 1,))
    return cat([one, reps.cumprod(-1)], dim=-1)


@_takes_out
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """Mirrors ``torch.linalg.tensorinv``: the inverse of A viewed as a matrix of
    ``prod(shape[:ind]) x prod(shape[ind:])``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    return _inv(A.reshape(_prod(rows), _prod(cols))).reshape(cols + rows)


@_takes_out
def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """Mirrors ``torch.linalg.tensorsolve``: X with ``tensordot(A, X, X.ndim) = B``."""
    if dims is not None:
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
    return X.reshape(xs)


# out= is honoured in one place: every public function here that declares it (the op kit)
_finalize(globals(), "linalg.")
