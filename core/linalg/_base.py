"""What ``ember.linalg``'s modules share: PyTorch's argument checks and error texts, the
kernel dispatch (the backend's ``xp.linalg``, or numpy on the host where it lacks a
function), LAPACK-style failure reports (``info``), small matrix helpers, ``out=``."""
from __future__ import annotations

import math

from .. import _dtype
from .._tensor import Tensor, wrap
from ..return_types import make as _make
from ..ops._util import same_device
from .._creation import tensor
from .._creation import eye
from ..ops.selection import where
from ..autograd.grad_mode import no_grad

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
                           f"{dt.scalar_name}")
    if dt in (_dtype.float16, _dtype.bfloat16):
        if low_msg:
            raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {dt.scalar_name}")
        if kernel:
            raise NotImplementedError(f'"{kernel}_{A._device.type}" not implemented for '
                                      f"'{dt.scalar_name}'")


def _same_dtype(A: Tensor, B: Tensor, fn: str) -> None:
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{fn}: Expected A and B to have the same dtype, but found A of type "
                           f"{A.dtype.scalar_name} and B of type {B.dtype.scalar_name} instead")


def _device(*ts: Tensor):
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


def _kernel_or_raise(dev, name: str, arrays: tuple, error):
    """``_kernel(dev, name, *arrays)`` with the backend's LinAlgError (whatever its class)
    replaced by ``error()``, PyTorch's report."""
    try:
        res = _kernel(dev, name, *arrays)
    except Exception as e:  # noqa: BLE001 - numpy's, cupy's, ... LinAlgError classes
        if _is_linalg_error(e):
            raise error() from None
        raise
    if not dev._be.raises_linalg_errors and _failed_silently(dev._be.xp, arrays, res):
        raise error()
    return res


def _failed_silently(xp, arrays: tuple, res) -> bool:
    """A backend that reports a failed factorization with NaNs instead of an error (XLA):
    finite inputs gave non-finite results."""
    finite = lambda a: bool(xp.all(xp.isfinite(a)))  # noqa: E731
    outs = res if isinstance(res, tuple) else (res,)
    return all(map(finite, arrays)) and not all(map(finite, outs))


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
    return tensor(infos, dtype=_dtype.int32, device=A._device).reshape(tuple(A.shape[:-2]))


def _nan_where_failed(res: Tensor, infos) -> Tensor:
    """res with the failed batch elements set to NaN (what the *_ex functions return)."""
    if not any(infos):
        return res
    bad = tensor([bool(v) for v in infos], device=res._device)
    bad = bad.reshape(tuple(res.shape[:-2]) + (1, 1))
    return res.masked_fill(bad, math.nan)


def _eye_like(A: Tensor, n: int | None = None) -> Tensor:
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


def _where(cond, x, y):
    return where(cond, x, y)


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n


def _no_grad():
    return no_grad()


# --- out= -----------------------------------------------------------------------------------
