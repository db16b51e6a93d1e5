"""The values of ``arange``, ``linspace``, ``logspace`` and ``range`` as host numpy arrays,
computed the way PyTorch's CPU kernels compute them (``RangeFactories.cpp``,
``cpu/RangeFactoriesKernel.cpp``), so lengths, integer truncation and float rounding agree
bit for bit:

- ``arange`` with an int64 result truncates start/end/step to integers and counts in
  integers; other integer results count in double and step by the truncated step; float
  results step in double (float32 for the half types). Its kernel is vectorised: blocks of
  two 32-byte vectors start from ``start + step*i`` rounded to the result type, the tail is
  element by element (DEFAULT/AVX2 builds; AVX-512 builds use 64-byte vectors).
- ``linspace`` works in the result type (double steps for integer results) and fills the
  second half backwards from ``end``.
- The vectorised kernels (``cpu/``, built with FMA) fuse ``a + b*c`` into one rounding;
  ``_fma`` reproduces that. ``logspace`` lives outside them and rounds twice.
"""
from __future__ import annotations

import math

from . import _dtype
from ._from_data import checked_scalar, host_cast, host_np_dtype as host_np
from ._tensor import Tensor

__all__ = ["arange_values", "linspace_values", "logspace_values", "range_values"]

_VEC_BYTES = 32  # sizeof(Vectorized<T>) in PyTorch's DEFAULT and AVX2 kernels


def _np():
    import numpy
    return numpy


def _number(v):
    """A range end as a Python number (0-d tensors and numpy scalars included)."""
    if isinstance(v, Tensor):
        v = v.item()
    elif not isinstance(v, (int, float, complex)) and hasattr(v, "item"):
        v = v.item()
    return v


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


# --- fused multiply-add, as the compiled kernels do it ------------------------------------------

def _fma(a, b, c, ct):
    """``a*b + c`` rounded once to numpy float type ``ct`` (float32 or float64), arrays
    broadcast. float32: the product is exact in double. float64: Dekker's error-free
    product and Knuth's two-sum recover what one rounding keeps."""
    np = _np()
    a, b, c = (np.asarray(x, dtype=np.float64) for x in (a, b, c))
    if ct is np.float32:
        return (a * b + c).astype(np.float32)
    with np.errstate(all="ignore"):
        p = a * b
        split = 134217729.0  # 2**27 + 1
        ah = a * split
        ah = ah - (ah - a)
        al = a - ah
        bh = b * split
        bh = bh - (bh - b)
        bl = b - bh
        perr = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        s = p + c
        bb = s - p
        serr = (p - (s - bb)) + (c - bb)
        out = s + (perr + serr)
    return np.where(np.isfinite(out), out, p + c)


def _threads() -> int:
    """The intra-op thread count PyTorch would split a long range over (its default:
    the CPUs this process may use)."""
    import os
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _vectorised(n: int, itemsize: int, vec, scalar):
    """PyTorch's ``parallel_for`` (chunks of at least 32768, one per thread) around its
    ``vectorized_loop`` for a nullary kernel: whole blocks of two vectors of
    ``_VEC_BYTES`` each, ``vec(first_indices, width)`` giving one (blocks, width) array,
    then ``scalar(indices)`` for the tail of the chunk."""
    np = _np()
    w = _VEC_BYTES // itemsize
    chunks = min(_threads(), -(-n // 32768)) if n >= 32768 else 1
    size = -(-n // chunks)
    parts = []
    for lo in range(0, n, size):
        hi = min(n, lo + size)
        nv = ((hi - lo) // (2 * w)) * 2 * w
        if nv:
            parts.append(vec(np.arange(lo, lo + nv, w), w).reshape(-1))
        if lo + nv < hi:
            parts.append(scalar(np.arange(lo + nv, hi)))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


# --- arange ---------------------------------------------------------------------------------

def arange_values(start, end, step, dtype):
    """(array, dtype) for ``torch.arange(start, end, step, dtype=dtype)``."""
    np = _np()
    if end is None:
        start, end = 0, start
    vals = [_number(v) for v in (start, end, step)]
    for v in vals:
        if isinstance(v, complex):
            raise RuntimeError("value cannot be converted to type double without overflow")
    if dtype is None:
        dtype = _dtype.int64 if all(isinstance(v, int) for v in vals) else \
            _dtype.get_default_dtype()
    if dtype is _dtype.bool or dtype.is_complex:
        raise _dtype.not_implemented("arange_cpu", dtype)
    s, e, st = vals
    if not (math.isfinite(s) and math.isfinite(e)):
        raise RuntimeError(f"unsupported range: {_fmt(s)} -> {_fmt(e)}")
    if st == 0:
        raise RuntimeError("step must be nonzero")
    if not ((st > 0 and e >= s) or (st < 0 and e <= s)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is _dtype.int64:
        xs, xe, xst = int(s), int(e), int(st)
        if xst == 0:
            raise ValueError("step must be nonzero")
        n = _trunc_div(xe - xs + xst - (1 if xst > 0 else -1), xst)
        return xs + xst * np.arange(max(n, 0), dtype=np.int64), dtype
    n = max(0, math.ceil((float(e) - float(s)) / float(st)))  # in double, as PyTorch
    if not dtype.is_floating_point:
        arr = int(s) + int(st) * np.arange(n, dtype=np.int64)
        return arr.astype(dtype._np), dtype  # wraps, as PyTorch's kernel does
    if n == 0:
        return np.zeros(0, dtype=host_np(dtype)), dtype
    acc = np.float32 if dtype.itemsize == 2 else np.float64  # PyTorch's acc_type on CPU
    fs, fst = acc(s), acc(st)

    def scalar(idx):
        return host_cast(_fma(fst, idx.astype(acc), fs, acc), dtype)

    def vec(first, w):
        base = host_cast(_fma(fst, first.astype(acc), fs, acc), dtype).astype(acc)
        k = np.arange(w, dtype=acc)[None, :]
        if dtype is _dtype.bfloat16:  # Vectorized<BFloat16>::arange rounds twice
            return host_cast(k * fst + base[:, None], dtype)
        return host_cast(_fma(k, fst, base[:, None], acc), dtype)

    return _vectorised(n, dtype.itemsize, vec, scalar), dtype


def range_values(start, end, step, dtype):
    """(array, dtype) for the deprecated ``torch.range`` (``end`` included)."""
    np = _np()
    if end is None:
        start, end = 0, start
    s, e, st = (_number(v) for v in (start, end, step))
    if st == 0:
        raise RuntimeError("step must be nonzero")
    if not ((st > 0 and e >= s) or (st < 0 and e <= s)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if not dtype.is_floating_point:
        s, e, st = int(s), int(e), int(st)
        n = _trunc_div(e - s, st) + 1
        return (s + st * np.arange(max(n, 0), dtype=np.int64)).astype(dtype._np), dtype
    acc = np.float32 if dtype.itemsize == 2 else np.float64
    n = int((acc(e) - acc(s)) / acc(st) + 1)
    arr = _fma(np.arange(max(n, 0), dtype=acc), acc(st), acc(s), acc)
    return host_cast(arr, dtype), dtype


# --- linspace / logspace --------------------------------------------------------------------

def _space_args(start, end, steps, dtype, kernel: str):
    """(steps, start, end, dtype) for linspace/logspace: Python numbers, the default
    (complex when an end is) dtype, PyTorch's errors for bad steps and bool results."""
    import operator
    n = operator.index(steps)
    if n < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = _number(start), _number(end)
    if dtype is None:
        cplx = isinstance(start, complex) or isinstance(end, complex)
        dtype = _dtype.default_complex() if cplx else _dtype.get_default_dtype()
    if dtype is _dtype.bool:
        raise _dtype.not_implemented(kernel, dtype)
    return n, start, end, dtype


def _half(dtype):
    np = _np()
    if dtype is _dtype.float16:
        return np.float16
    import ml_dtypes
    return ml_dtypes.bfloat16


def _in_type(v, dtype):
    """A range end converted to the result type, with PyTorch's overflow check."""
    np = _np()
    v = checked_scalar(v, dtype)
    return np.asarray(v).astype(host_np(dtype)) if dtype.is_floating_point else v


def linspace_values(start, end, steps, dtype):
    """(array, dtype) for ``torch.linspace``: ``start + step*i`` for the first half,
    ``end - step*(steps-1-i)`` for the rest, in the result type."""
    np = _np()
    n, start, end, dtype = _space_args(start, end, steps, dtype, "linspace_cpu")
    if n == 0:
        return np.zeros(0, dtype=host_np(dtype)), dtype
    if n == 1:
        return host_cast(np.asarray([checked_scalar(start, dtype)]), dtype), dtype
    s, e = _in_type(start, dtype), _in_type(end, dtype)
    idx = np.arange(n)
    first = idx < n // 2
    if dtype.is_complex:
        ct = np.complex64 if dtype is _dtype.complex64 else np.complex128
        s, e = ct(s), ct(e)
        step = ct((e - s) / ct(n - 1))
        arr = np.where(first, s + step * idx.astype(ct), e - step * (n - 1 - idx).astype(ct))
        return arr.astype(ct), dtype
    if dtype.is_floating_point and dtype.itemsize == 2:
        # c10::Half / BFloat16 arithmetic rounds after every operation
        h = _half(dtype)
        s, e = h(s), h(e)
        step = h(h(e - s) / h(n - 1))
        with np.errstate(all="ignore"):
            arr = np.where(first, s + step * idx.astype(h), e - step * (n - 1 - idx).astype(h))
        return arr.astype(h), dtype
    ct = np.float32 if dtype is _dtype.float32 else np.float64
    step = ct((ct(e) - ct(s)) / ct(n - 1))
    with np.errstate(all="ignore"):
        arr = np.where(first, _fma(step, idx, s, ct), _fma(-step, n - 1 - idx, e, ct))
    if dtype.is_floating_point:
        return arr.astype(ct), dtype
    return np.trunc(arr).astype(dtype._np), dtype


_EXACT_POW = 4096  # logspace lengths computed element by element with libm's pow


def _cpow(b: float, x: float) -> float:
    try:
        return math.pow(b, x)
    except OverflowError:
        return math.inf if b > 0 else math.copysign(math.inf, b) if x.is_integer() and x % 2 \
            else math.inf
    except ValueError:  # 0 to a negative power (inf, as C's pow), a negative base to a fraction
        return math.inf if b == 0 else math.nan


def logspace_values(start, end, steps, base, dtype):
    """(array, dtype) for ``torch.logspace``: ``base ** e`` for linspace exponents ``e``
    taken in double from ends rounded to the result type (one step: ``base ** start``)."""
    np = _np()
    n, start, end, dtype = _space_args(start, end, steps, dtype, "logspace_cpu")
    if n == 0:
        return np.zeros(0, dtype=host_np(dtype)), dtype
    if n == 1:
        with np.errstate(all="ignore"):
            v = complex(base) ** start if dtype.is_complex else float(base) ** float(start)
        return host_cast(np.asarray([checked_scalar(v, dtype)]), dtype), dtype
    s, e = _in_type(start, dtype), _in_type(end, dtype)
    idx = np.arange(n)
    first = idx < n // 2
    with np.errstate(all="ignore"):
        if dtype.is_complex:
            ct = np.complex64 if dtype is _dtype.complex64 else np.complex128
            s, e = ct(s), ct(e)
            step = ct((e - s) / ct(n - 1))
            exps = np.where(first, s + step * idx.astype(ct),
                            e - step * (n - 1 - idx).astype(ct))
            return np.power(ct(base), exps).astype(ct), dtype
        diff = np.asarray(e - s).astype(host_np(dtype)) if dtype.is_floating_point else e - s
        step = float(diff) / (n - 1)
        # RangeFactories.cpp is built without FMA: two roundings here
        exps = np.where(first, float(s) + step * idx, float(e) - step * (n - 1 - idx))
        if n <= _EXACT_POW:
            # the C library's pow, as PyTorch's kernel calls it: numpy's vectorised pow may
            # round the last bit otherwise on some CPUs
            b = float(base)
            arr = np.array([_cpow(b, x) for x in exps.tolist()], dtype=np.float64)
        else:
            arr = np.power(float(base), exps)
    if dtype.is_floating_point:
        return host_cast(arr, dtype), dtype
    return np.trunc(arr).astype(dtype._np), dtype
