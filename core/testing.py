"""``ember.testing``: mirrors ``torch.testing`` (``assert_close``, ``make_tensor`` and the
deprecated ``assert_allclose``), with PyTorch's default tolerances and message texts.
Comparisons run on host copies of the values: this is test tooling, not a hot path."""
from __future__ import annotations

import cmath
import collections.abc
import math
import warnings

from . import _dtype
from ._tensor import Tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# PyTorch's per-dtype defaults for assert_close: (rtol, atol); exact for the rest
_DEFAULT_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5),
                       "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7),
                       "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}
# and the older table the deprecated assert_allclose uses
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5),
                        "float64": (1e-5, 1e-8)}


class _Mismatch(AssertionError):
    """A failed comparison; ``where`` collects the container path on the way out."""

    def __init__(self, msg: str, where: str = ""):
        super().__init__(msg)
        self.msg, self.where = msg, where


def _tolerances(dt_name: str, rtol, atol, table=_DEFAULT_TOLERANCES):
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {missing}.")
    if rtol is not None:
        return rtol, atol
    return table.get(dt_name, (0.0, 0.0))


def _fmt_index(idx: tuple) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def _num(v):
    """A numpy scalar as the Python number PyTorch prints."""
    v = v.item() if hasattr(v, "item") else v
    return v


def _host(t):
    """(numpy array, dtype name) of a tensor or ndarray."""
    import numpy as np
    if isinstance(t, Tensor):
        t = t.detach()
        if t.dtype is _dtype.bfloat16:
            return np.asarray(t.float().cpu().numpy()), "bfloat16"
        return np.asarray(t.cpu().numpy()), t.dtype.name
    return t, _np_dtype_name(t.dtype)


def _np_dtype_name(npdt) -> str:
    return {"bool": "bool"}.get(str(npdt), str(npdt))


def _isclose(np, a, e, rtol, atol, equal_nan):
    if a.dtype.kind in "biu":
        return a == e
    with np.errstate(all="ignore"):
        err = np.abs(a - e)
        close = (a == e) | (np.isfinite(err) & (err <= atol + np.abs(rtol * e)))
    if equal_nan:
        close = close | (np.isnan(a) & np.isnan(e))
    return close


def _diffs(np, a, e, bf16: bool = False):
    """(abs_diff, rel_diff) as PyTorch computes them for its message: in the inputs' dtype
    (bools as ints; integer relative differences in float32, the default dtype)."""
    with np.errstate(all="ignore"):
        if a.dtype.kind in "biu":  # int64, so unsigned differences do not wrap
            a, e = a.astype(np.int64), e.astype(np.int64)
        abs_diff = np.abs(a - e)
        if a.dtype.kind in "iu":
            rel = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        else:
            rel = abs_diff / np.abs(e)
        if bf16:  # the values were widened to float32 on the host: round like bfloat16 math
            import ml_dtypes
            abs_diff = abs_diff.astype(ml_dtypes.bfloat16).astype(np.float32)
            rel = (abs_diff / np.abs(e)).astype(ml_dtypes.bfloat16).astype(np.float32)
    return abs_diff, rel


def _tensor_message(np, a, e, rtol, atol, close, exact: bool, bf16: bool) -> str:
    kind = "equal" if exact else "close"
    if a.ndim == 0:  # PyTorch compares 0-d tensors as Python numbers
        av, ev = a.item(), e.item()
        abs_diff = abs(av - ev)
        rel = abs_diff / abs(ev) if ev != 0 else (math.nan if abs_diff == 0 else math.inf)
        up_a = "" if exact else f" (up to {atol} allowed)"
        up_r = "" if exact else f" (up to {rtol} allowed)"
        return (f"Scalars are not {kind}!\n\nExpected {ev} but got {av}.\n"
                f"Absolute difference: {abs_diff}{up_a}\nRelative difference: {rel}{up_r}")
    total = a.size
    bad = int(total - np.count_nonzero(close))
    abs_diff, rel = _diffs(np, a, e, bf16)
    ia = np.unravel_index(int(np.argmax(abs_diff.reshape(-1))), a.shape)
    ir = np.unravel_index(int(np.argmax(rel.reshape(-1))), a.shape)
    up_a = "" if exact else f" (up to {atol} allowed)"
    up_r = "" if exact else f" (up to {rtol} allowed)"
    return (f"Tensor-likes are not {kind}!\n\nMismatched elements: {bad} / {total} "
            f"({100 * bad / total:.1f}%)\nGreatest absolute difference: "
            f"{_num(abs_diff[ia])} at index {_fmt_index(ia)}{up_a}\nGreatest relative "
            f"difference: {_num(rel[ir])} at index {_fmt_index(ir)}{up_r}")


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                     table=_DEFAULT_TOLERANCES):
    import numpy as np
    if tuple(actual.shape) != tuple(expected.shape):
        def shape_t(s):
            return f"torch.Size({list(s)})"
        raise _Mismatch(f"The values for attribute 'shape' do not match: "
                        f"{shape_t(actual.shape)} != {shape_t(expected.shape)}.")
    if isinstance(actual, Tensor):
        if check_device and actual.device != expected.device:
            raise _Mismatch(f"The values for attribute 'device' do not match: {actual.device} "
                            f"!= {expected.device}.")
        if check_dtype and actual.dtype is not expected.dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                            f"{expected.dtype}.")
    elif check_dtype and actual.dtype != expected.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} != "
                        f"{expected.dtype}.")
    a, an = _host(actual)
    e, en = _host(expected)
    if an != en:  # check_dtype=False: compare in the promoted type, with the looser tolerances
        common = np.result_type(a, e)
        a, e = a.astype(common), e.astype(common)
        if rtol is None and atol is None:
            pairs = [_tolerances(n, None, None, table) for n in (an, en)]
            rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    rtol, atol = _tolerances(an, rtol, atol, table)
    close = _isclose(np, a, e, rtol, atol, equal_nan)
    if bool(np.all(close)):
        return
    exact = a.dtype.kind in "biu"
    raise _Mismatch(_tensor_message(np, np.asarray(a), np.asarray(e), rtol, atol, close, exact,
                                    an == "bfloat16"))


_SCALARS = (bool, int, float, complex)


def _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    kind = type(expected) if type(actual) is type(expected) else complex if complex in (
        type(actual), type(expected)) else float
    exact = kind in (bool, int)
    name = {float: "float64", complex: "complex128"}.get(kind, "int64")
    rtol, atol = _tolerances(name, rtol, atol)
    if exact:
        if actual == expected:
            return
    else:
        if actual == expected or (equal_nan and _isnan(actual) and _isnan(expected)):
            return
        if abs(actual - expected) <= atol + rtol * abs(expected) and not (
                _isinf(actual) or _isinf(expected)):
            return
    diff = abs(actual - expected)
    rel = diff / abs(expected) if expected != 0 else (math.nan if diff == 0 else math.inf)
    head = "equal" if exact else "close"
    up_a = "" if exact else f" (up to {atol} allowed)"
    up_r = "" if exact else f" (up to {rtol} allowed)"
    raise _Mismatch(f"Scalars are not {head}!\n\nExpected {expected} but got {actual}.\n"
                    f"Absolute difference: {diff}{up_a}\nRelative difference: {rel}{up_r}")


def _isnan(v) -> bool:
    return isinstance(v, (float, complex)) and cmath.isnan(v)


def _isinf(v) -> bool:
    return isinstance(v, (float, complex)) and math.isinf(abs(v))


def _is_array(x) -> bool:
    return type(x).__module__ == "numpy" and hasattr(x, "shape") and hasattr(x, "dtype")


def _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype):
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device,
                                check_dtype)
    if _is_array(actual) and _is_array(expected):
        return _compare_tensors(actual, expected, rtol, atol, equal_nan, False, check_dtype)
    if isinstance(actual, _SCALARS) and isinstance(expected, _SCALARS):
        return _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype)
    if isinstance(actual, collections.abc.Mapping) and \
            isinstance(expected, collections.abc.Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the "
                            f"actual mapping: {sorted(missing, key=repr)}\nAdditional keys in "
                            f"the actual mapping: {sorted(extra, key=repr)}")
        for k in expected:
            _descend(actual[k], expected[k], repr(k), rtol, atol, equal_nan, check_device,
                     check_dtype)
        return None
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != "
                            f"{len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _descend(a, e, str(i), rtol, atol, equal_nan, check_device, check_dtype)
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def _is_sequence(x) -> bool:
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _descend(a, e, key, *args):
    try:
        _compare(a, e, *args)
    except _Mismatch as m:
        raise _Mismatch(m.msg, f"[{key}]" + m.where) from None


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Mirrors ``torch.testing.assert_close``: tensors (or numpy arrays, Python numbers,
    and sequences / mappings of them) are close when ``|actual - expected| <= atol + rtol *
    |expected|`` elementwise, with PyTorch's per-dtype defaults (float32: rtol 1.3e-6, atol
    1e-5; float64: 1e-7, 1e-7; integers and bools exactly) and its failure messages.
    ``msg``: a string replacing the message, or a callable given it."""
    try:
        _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype)
    except _Mismatch as m:
        text = m.msg + (f"\n\nThe failure occurred for item {m.where}" if m.where else "")
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True,
                    msg: str = "") -> None:
    """Mirrors the deprecated ``torch.testing.assert_allclose`` (non-tensors become
    tensors, dtypes need not match, NaNs compare equal, older tolerances)."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `torch.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning,
                  stacklevel=2)
    from ._creation import as_tensor
    if not isinstance(actual, Tensor):
        actual = as_tensor(actual)
    if not isinstance(expected, Tensor):
        expected = as_tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        names = (actual.dtype.name, expected.dtype.name)
        rtol = max(_ALLCLOSE_TOLERANCES.get(n, (0.0, 0.0))[0] for n in names)
        atol = max(_ALLCLOSE_TOLERANCES.get(n, (0.0, 0.0))[1] for n in names)
    try:
        _compare_tensors(actual, expected, rtol, atol, equal_nan, True, False)
    except _Mismatch as m:
        raise AssertionError(msg or m.msg) from None


# --- make_tensor --------------------------------------------------------------------------------

def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None) -> Tensor:
    """Mirrors ``torch.testing.make_tensor``: uniform values in [low, high) (defaults -9
    and 9 for floats and complex parts, [-9, 10) for integers, from 0 for unsigned; bools
    either way), drawn from ember's generator. ``exclude_zero`` replaces zeros by the
    smallest step away from 0 (1 for integers, ``finfo.tiny`` for floats).
    ``noncontiguous`` and ``memory_format`` are accepted (ember has no strides)."""
    from . import _creation
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if requires_grad and not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dtype}")
    if dtype is _dtype.bool:
        t = _creation.randint(0, 2, shape, device=device).to(_dtype.bool)
        return t
    lo_d, hi_d = (-9, 10) if not (dtype.is_floating_point or dtype.is_complex) else (-9, 9)
    if dtype is _dtype.uint8:
        lo_d = 0
    lo = lo_d if low is None else low
    hi = hi_d if high is None else high
    if (isinstance(lo, float) and math.isnan(lo)) or (isinstance(hi, float) and math.isnan(hi)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={lo} and high={hi}")
    if dtype.is_floating_point or dtype.is_complex:
        if lo > hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        real = dtype.to_real() if dtype.is_complex else dtype
        if lo == hi:
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                          "complex types is deprecated since 2.1 and will be removed in 2.3. "
                          "Use `torch.full(...)` instead.", FutureWarning, stacklevel=2)
        fi = _dtype.finfo(real)
        lo, hi = max(lo, fi.min), min(hi, fi.max)
        parts = [_creation.rand(shape, dtype=_dtype.float64, device=device) * (hi - lo) + lo
                 for _ in range(2 if dtype.is_complex else 1)]
        t = parts[0].to(real)
        if dtype.is_complex:
            t = t.to(dtype) + parts[1].to(real).to(dtype) * 1j
        if exclude_zero:
            tiny = fi.tiny
            t = t.masked_fill(t == 0, tiny)
        return t.requires_grad_(True) if requires_grad else t
    ii = _dtype.iinfo(dtype)
    lo_i = max(math.ceil(lo), ii.min)
    hi_i = min(math.ceil(hi), ii.max + 1)
    if lo_i >= hi_i:
        raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
    t = _creation.randint(lo_i, hi_i, shape, dtype=dtype, device=device)
    if exclude_zero:
        t = t.masked_fill(t == 0, 1)
    return t
