"""Python data to a host numpy array and an ember dtype, by PyTorch's rules
(``torch/csrc/utils/tensor_new.cpp``: ``compute_sizes``, ``infer_scalar_type``,
``recursive_store``), so ``ember.tensor`` infers, rejects and converts exactly as
``torch.tensor`` does:

- the shape comes from following first elements; every other element must match it
  (``expected sequence of length 2 at dim 1 (got 3)``), except that nothing is checked
  when the shape has a zero in it;
- the dtype is the promotion of every leaf's own type (a Python float counts as the
  default dtype, a tensor or numpy value as its dtype; an empty sequence as the default);
- storing into an integer dtype checks the range (``value cannot be converted to type
  int8 without overflow``); float16 is reached through float32, as PyTorch's casts do.

The fast path is one ``np.array`` call; the element walks only run to explain a failure.
"""
from __future__ import annotations

import builtins

from . import _dtype
from ._tensor import Tensor

__all__ = ["host_array", "from_ndarray", "host_cast", "host_np_dtype", "checked_scalar",
           "tp_name"]

_MAX_DIMS = 64
_INT64_MAX = 2 ** 63 - 1


def _np():
    import numpy
    return numpy


def host_np_dtype(dt: "_dtype.dtype"):
    """The numpy dtype holding ember dtype ``dt`` on the host (ml_dtypes for bfloat16)."""
    if dt is _dtype.bfloat16:
        import ml_dtypes
        return ml_dtypes.bfloat16
    return dt._np


def host_cast(arr, dt: "_dtype.dtype"):
    """``arr`` as dtype ``dt`` with PyTorch's conversion: half types are reached through
    float32 (PyTorch's ``Half(float(x))``, which rounds twice), C casts otherwise."""
    np = _np()
    target = np.dtype(host_np_dtype(dt))
    if arr.dtype == target:
        return arr
    with np.errstate(all="ignore"):
        if dt.itemsize == 2 and dt.is_floating_point and arr.dtype.itemsize > 4 \
                and arr.dtype.kind in "fiu":
            arr = arr.astype(np.float32)
        return arr.astype(target)


def _numpy_dtype(npdt) -> "_dtype.dtype":
    try:
        return _dtype.from_numpy_name(npdt.name)
    except TypeError:
        raise TypeError(f"can't convert np.ndarray of type numpy.{npdt.type.__name__}. The "
                        "only supported types are: float64, float32, float16, complex64, "
                        "complex128, int64, int32, int16, int8, uint8, and bool.") from None


def from_ndarray(arr, dtype=None):
    """(array, dtype) for a numpy array: its own dtype, or a C cast to ``dtype``."""
    dt = _numpy_dtype(arr.dtype)
    if dtype is None or dtype is dt:
        return arr, dt
    return host_cast(arr, dtype), dtype


# --- shape and dtype inference ------------------------------------------------------------

def _is_seq(x) -> bool:
    """Python's sequence protocol, as ``PySequence_Check`` sees it; tensors and numpy
    scalars are leaves (they index like mappings, as in PyTorch)."""
    t = type(x)
    if t is list or t is tuple:
        return True
    if t is float or t is int or t is builtins.bool or isinstance(x, (Tensor, dict)):
        return False
    np = _np()
    if isinstance(x, np.generic):
        return False
    return hasattr(t, "__getitem__") and hasattr(t, "__len__")


def _sizes(data) -> list:
    sizes = []
    obj = data
    while _is_seq(obj):
        n = len(obj)
        sizes.append(n)
        if len(sizes) > _MAX_DIMS:
            raise ValueError(f"too many dimensions '{type(obj).__name__}'")
        if n == 0:
            break
        obj = obj[0]
    return sizes


def _scalar_types():
    return {float: _dtype.get_default_dtype(), int: _dtype.int64, builtins.bool: _dtype.bool,
            complex: _dtype.default_complex()}


def _infer(obj, found: list) -> "_dtype.dtype":
    """PyTorch's ``infer_scalar_type``; appends every tensor leaf met to ``found``."""
    np = _np()
    t = type(obj)
    scalar = _scalar_types().get(t)
    if scalar is not None:
        return scalar
    if isinstance(obj, Tensor):
        found.append(obj)
        return obj.dtype
    if isinstance(obj, (np.ndarray, np.generic)):
        return _numpy_dtype(obj.dtype)
    if t is str or t is bytes:
        raise TypeError(f"new(): invalid data type '{t.__name__}'")
    if isinstance(obj, builtins.bool):
        return _dtype.bool
    if isinstance(obj, int):
        return _dtype.int64
    if isinstance(obj, float):
        return _dtype.get_default_dtype()
    if isinstance(obj, complex):
        return _dtype.default_complex()
    if not _is_seq(obj):
        raise RuntimeError(f"Could not infer dtype of {t.__name__}")
    if len(obj) == 0:
        return _dtype.get_default_dtype()
    kinds = set(map(type, obj))
    table = _scalar_types()
    if kinds.issubset(table):  # a flat run of Python numbers: no per-element work
        res = None
        for k in kinds:
            res = table[k] if res is None else _dtype.promote_types(res, table[k])
        return res
    res = None
    for item in obj:
        d = _infer(item, found)
        res = d if res is None else _dtype.promote_types(res, d)
        if res is _dtype.complex128:
            return res  # nothing promotes past it (PyTorch stops looking here too)
    return res


# --- storing ---------------------------------------------------------------------------------

def _leaf_error(obj, dt) -> TypeError:
    name = type(obj).__name__
    if dt.is_floating_point or dt.is_complex:
        return TypeError(f"must be real number, not {name}")
    return TypeError(f"'{name}' object cannot be interpreted as an integer")


def _check_structure(obj, sizes, dim, dt) -> None:
    """PyTorch's ``recursive_store`` without the store: raises its error for ragged data."""
    if dim == len(sizes):
        if _is_seq(obj):
            raise _leaf_error(obj, dt)
        return
    if not _is_seq(obj):
        raise TypeError("not a sequence")
    if len(obj) != sizes[dim]:
        raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} "
                         f"(got {len(obj)})")
    for item in obj:
        _check_structure(item, sizes, dim + 1, dt)


def _untensor(obj, dt):
    """Tensor leaves as Python numbers, as PyTorch stores them (``__index__`` for
    integer targets, ``item`` otherwise, with their errors)."""
    if isinstance(obj, Tensor):
        if dt.is_floating_point or dt.is_complex:
            if obj.numel() != 1:
                raise ValueError("only one element tensors can be converted to Python "
                                 "scalars")
            return obj.item()
        if obj.numel() != 1 or obj.dtype.is_floating_point or obj.dtype.is_complex:
            raise TypeError("only integer tensors of a single element can be converted to "
                            "an index")
        return int(obj.item())
    if _is_seq(obj) and not isinstance(obj, _np().ndarray):
        return [_untensor(x, dt) for x in obj]
    return obj


def _overflow(dt) -> RuntimeError:
    return RuntimeError(f"value cannot be converted to type {dt.name} without overflow")


def _store_int(raw, dt):
    """Python numbers in ``raw`` into integer dtype ``dt`` with PyTorch's range checks:
    floats must lie within the type; ints too, except that an unsigned type also takes
    negatives down to -max (they wrap, as C++ casts do)."""
    np = _np()
    kind = raw.dtype.kind
    if kind == "c":
        raise TypeError("'complex' object cannot be interpreted as an integer")
    if kind == "u" and raw.size and int(raw.max()) > _INT64_MAX:
        raise ValueError("Overflow when unpacking long long")
    if kind == "b" or raw.size == 0:
        return raw.astype(dt._np)
    info = np.iinfo(dt._np)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            bad = not bool(np.all((raw >= info.min) & (raw <= info.max)))
    else:
        lo, hi = int(raw.min()), int(raw.max())
        bad = hi > info.max or (lo < -info.max if info.min == 0 else lo < info.min)
    if bad:
        raise _overflow(dt)
    with np.errstate(all="ignore"):
        return raw.astype(dt._np)


def _store(data, raw, dt):
    np = _np()
    if raw.dtype.kind == "O":  # Python ints past 64 bits, or a leaf numpy can't type
        if dt.is_floating_point or dt.is_complex:
            for leaf in raw.reshape(-1).tolist():
                if not isinstance(leaf, (int, float, complex)):
                    raise _leaf_error(leaf, dt)
            raw = np.array(data, dtype=np.complex128 if dt.is_complex else np.float64)
        else:
            for leaf in raw.reshape(-1).tolist():
                if not isinstance(leaf, (int, float, complex)):
                    raise _leaf_error(leaf, dt)
            raise ValueError("Overflow when unpacking long long")
    if dt.is_complex or dt.is_floating_point:
        if raw.dtype.kind == "c" and not dt.is_complex:
            raise TypeError("must be real number, not complex")
        return host_cast(raw, dt)
    if dt is _dtype.bool:
        return raw.astype(np.bool_)
    return _store_int(raw, dt)


def host_array(data, dtype=None):
    """(host numpy array, ember dtype) for ``torch.tensor``-style ``data``. A numpy array
    comes back as is when no cast is needed (callers copy or share as they mean to)."""
    np = _np()
    if isinstance(data, np.ndarray):
        return from_ndarray(data, dtype)
    if isinstance(data, np.generic):
        return from_ndarray(np.asarray(data), dtype)
    t = type(data)
    if t is str or t is bytes:
        raise TypeError(f"new(): invalid data type '{t.__name__}'")
    # another library's array (JAX's, ...) is one array, not a sequence of 0-d arrays
    if t is not list and t is not tuple and hasattr(data, "__dlpack__") \
            and not isinstance(data, Tensor):
        return from_ndarray(np.from_dlpack(data), dtype)
    sizes = _sizes(data)
    found: list = []
    if dtype is None:
        dtype = _infer(data, found)
    else:
        try:
            _infer(data, found)  # only to find tensor leaves; the store reports bad leaves
        except (TypeError, RuntimeError):
            pass
    shape = tuple(sizes)
    if 0 in shape:
        return np.zeros(shape, dtype=host_np_dtype(dtype)), dtype
    if found:
        data = _untensor(data, dtype)
    try:
        with np.errstate(all="ignore"):
            raw = np.array(data)
    except (ValueError, TypeError):
        raw = None
    if raw is None or raw.shape != shape:
        _check_structure(data, sizes, 0, dtype)
        raise ValueError(f"could not convert the data to a tensor of shape {list(shape)}")
    return _store(data, raw, dtype), dtype


# --- one Python number into a dtype (fill values, range ends) -----------------------------------

# The C++ type names PyTorch's ``checked_convert`` puts in its overflow message.
# where checked_convert's message names the type otherwise than dtype.c_name
_C_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int64": "int64_t"}
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e+38,
              "float32": 3.4028234663852886e+38}


def checked_scalar(value, dt):
    """``value`` as the Python number dtype ``dt`` stores, with PyTorch's
    ``checked_convert`` errors: integers out of range (an unsigned type also takes
    negative ints down to -max, wrapping), finite floats past the type's max, complex
    values with an imaginary part into a real type. bool takes anything."""
    if dt is _dtype.bool:
        return builtins.bool(value)
    name = _C_NAMES.get(dt.name, dt.c_name)
    bad = RuntimeError(f"value cannot be converted to type {name} without overflow")
    if isinstance(value, complex):
        if dt.is_complex:
            return value
        if value.imag != 0:
            raise bad
        value = value.real
    if dt.is_complex:
        return complex(value)
    if dt.is_floating_point:
        value = float(value)
        lim = _FLOAT_MAX.get(dt.name)
        if lim is not None and abs(value) > lim and value - value == 0:
            raise bad
        return value
    bits = 8 * dt.itemsize
    if dt.is_signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    if isinstance(value, float):
        if not lo <= value <= hi:  # nan fails this too
            raise bad
        return int(value)
    value = int(value)
    if value > hi or value < (-hi if lo == 0 else lo):
        raise bad
    return value & hi if lo == 0 else value


def tp_name(x) -> str:
    """The type name PyTorch's argument errors show (numpy types module-qualified)."""
    t = type(x)
    mod = t.__module__
    return f"numpy.{t.__name__}" if mod == "numpy" or mod.startswith("numpy.") else t.__name__
