"""What every op shares: argument preparation (devices, PyTorch type promotion, scalars),
dim normalisation, and attaching functions to Tensor as methods.

Hot path: ``prep2`` handles the common case (two tensors, same device, same dtype) with two
identity checks and returns raw arrays; everything rarer falls to slower helpers.
"""
from __future__ import annotations

from .. import _dtype
from .._dtype import result_dtype
from .._tensor import Tensor, wrap, _wrap_dim
from ..autograd.graph import record
from ..autograd.grad_mode import STATE as GRAD
from ._register import method, operand, reflected

__all__ = ["Tensor", "wrap", "record", "GRAD", "method", "operand", "reflected", "prep2", "as_tensor_like",
           "wrap_dim", "dims", "cast", "needs_grad", "same_device", "float_dtype_for"]

wrap_dim = _wrap_dim
_SCALARS = (int, float, bool, complex)
# narrow int dtypes: (lowest value, number of values) for wrapping a Python int scalar
_INT_WRAP = {_dtype.int8: (-128, 256), _dtype.uint8: (0, 256), _dtype.int16: (-32768, 65536),
             _dtype.int32: (-2 ** 31, 2 ** 32)}
_2_63 = 2 ** 63


def needs_grad(*ts) -> bool:
    # the operands first: grad mode is per thread (a threading.local read, ~20-50 ns), and
    # most calls on a hot path have no operand that requires grad
    for t in ts:
        if type(t) is not int and type(t) is not float and getattr(t, "_requires_grad", False):
            return GRAD.enabled
    return False


def cast(t: Tensor, dt) -> object:
    """t's array in dtype dt (no copy when it already is)."""
    return t._data if t.dtype is dt else t._device._be.astype(t._data, dt)


def same_device(a: Tensor, b: Tensor):
    """The device two operands compute on; PyTorch's error when they differ. A 0-dim CPU
    tensor may meet any device (it is treated as a scalar, as in PyTorch)."""
    da, db = a._device, b._device
    if da is db:
        return da
    if da == db:
        return da
    if db.type == "cpu" and b.ndim == 0:
        return da
    if da.type == "cpu" and a.ndim == 0:
        return db
    raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                       f"devices, {da} and {db}!")


def as_tensor_like(x, ref: Tensor) -> Tensor:
    """A non-scalar operand (numpy or another library's array) as a tensor on ref's
    device."""
    if isinstance(x, Tensor):
        return x
    from .._creation import as_tensor
    return as_tensor(x, device=ref._device)


def prep2(x: Tensor, y):
    """(x array, y array-or-scalar, result dtype, device) for a binary op on ``x`` and
    ``y``: PyTorch's promotion applied, arrays cast to the result dtype, same device."""
    if isinstance(y, Tensor):
        dev = x._device
        if y._device is not dev:
            dev = same_device(x, y)
            if y._device is not dev:
                y = y.to(dev)
            elif x._device is not dev:
                x = x.to(dev)
        dx, dy = x.dtype, y.dtype
        if dx is dy:
            return x._data, y._data, dx, dev
        dt = result_dtype((x, y))
        return cast(x, dt), cast(y, dt), dt, dev
    if type(y) not in _SCALARS:
        if hasattr(y, "item") and getattr(y, "ndim", 1) == 0 and not hasattr(y, "__len__"):
            y = y.item()  # numpy scalar
        elif not operand(y):
            raise TypeError(f"unsupported operand type(s): 'Tensor' and '{type(y).__name__}' "
                            f"(argument 'other' must be Tensor or a number, not "
                            f"{type(y).__name__})")
        else:
            return prep2(x, as_tensor_like(y, x))
    dt = result_dtype((x,), (y,))
    if dt.is_complex:
        y = complex(y)
    elif dt.is_floating_point:
        y = float(y)
    elif dt is not _dtype.bool:
        y = int(y)
        w = _INT_WRAP.get(dt)
        if w is not None and not w[0] <= y < w[0] + w[1] and -_2_63 <= y < _2_63:
            y = (y - w[0]) % w[1] + w[0]  # PyTorch casts the int64 scalar as C does: wraps
    return cast(x, dt), y, dt, x._device


def dims(dim, ndim: int) -> tuple:
    """``dim=`` as a sorted tuple of non-negative axes (None → all)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (wrap_dim(dim, ndim),)
    out = tuple(sorted({wrap_dim(d, ndim) for d in dim}))
    if len(out) != len(tuple(dim)):
        wrapped = [wrap_dim(d, ndim) for d in dim]
        again = next(d for i, d in enumerate(wrapped) if d in wrapped[:i])
        raise RuntimeError(f"dim {again} appears multiple times in the list of dims")
    return out


def float_dtype_for(dt):
    """The dtype a float-only op (exp, sqrt, true division) computes in for input dt."""
    return dt if dt.is_floating_point or dt.is_complex else _dtype.get_default_dtype()
