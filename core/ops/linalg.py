"""Linear algebra: matmul (``@``) with PyTorch's shape rules and error messages."""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, method, record, same_device, wrap

__all__ = ["matmul"]

_KN = {"float32": "float", "float64": "double", "float16": "c10::Half",
       "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
       "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
       "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _check_mm(a: Tensor, b: Tensor):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_KN[a.dtype.name]} != {_KN[b.dtype.name]}")
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    k_a = sa[-1]
    k_b = sb[-2] if len(sb) >= 2 else sb[0]
    if k_a != k_b:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got "
                               f"{sa[0]} and {sb[0]} elements respectively")
        if len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[-2] if len(sa) > 1 else 1}), "
                               f"mat ({sa[-2] if len(sa) > 1 else 1}x{k_a}), vec ({sb[0]})")
        rows_a = 1 if len(sa) == 1 else _prod(sa[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows_a}x{k_a} and "
                           f"{sb[-2]}x{sb[-1]})")


def _prod(xs):
    n = 1
    for x in xs:
        n *= x
    return n


@method("matmul", "__matmul__")
def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Mirrors ``torch.matmul``: 1-D/2-D/batched with broadcasting of batch dims."""
    if not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    dev = same_device(input, other)
    _check_mm(input, other)
    if input.dtype is _dtype.bool:
        raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Bool\'')
    res = wrap(input._data @ other._data, input.dtype, dev)
    if GRAD.enabled:
        ra, rb = input._requires_grad, other._requires_grad
        if ra or rb:
            record(res, "MmBackward0" if input.ndim == 2 and other.ndim == 2
                   else "MatmulBackward0", (input, other),
                   lambda g: _matmul_backward(g, input, other, ra, rb), saved=(input, other))
    return res


def _matmul_backward(g, a, b, ra, rb):
    from .shape import unsqueeze, squeeze
    da, db = a.ndim, b.ndim
    if da == 1 and db == 1:
        return (g * b if ra else None), (g * a if rb else None)
    a2 = unsqueeze(a, 0) if da == 1 else a
    b2 = unsqueeze(b, -1) if db == 1 else b
    g2 = g
    if da == 1:
        g2 = unsqueeze(g2, -2)
    if db == 1:
        g2 = unsqueeze(g2, -1)
    ga = g2 @ b2.mT if ra else None
    gb = a2.mT @ g2 if rb else None
    if ga is not None and da == 1:
        ga = squeeze(ga, -2)
    if gb is not None and db == 1:
        gb = squeeze(gb, -1)
    return ga, gb  # batch broadcasting is summed away by the engine


@method("__rmatmul__")
def _rmatmul(self: Tensor, other) -> Tensor:
    return matmul(other, self)
