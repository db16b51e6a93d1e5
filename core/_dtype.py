"""dtypes and PyTorch's type promotion, in pure Python (no numpy at import time).

Mirrors ``torch.dtype``, ``torch.promote_types``, ``torch.result_type``,
``torch.get_default_dtype``/``set_default_dtype``, ``torch.finfo``/``torch.iinfo``.
Promotion lives here, in the frontend, so every backend gives the same result dtype
(numpy's own rules differ: ``int64 / int64`` and ``int32 + 2.5`` go to float64 there).
"""
from __future__ import annotations

__all__ = [
    "dtype", "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
    "promote_types", "get_default_dtype", "set_default_dtype", "finfo", "iinfo",
]

# Categories, lowest first; promotion between categories picks the higher one.
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """An element type; mirrors ``torch.dtype``. Prints as ``torch.<name>`` like PyTorch,
    so output of code written for PyTorch reads the same."""

    __slots__ = ("name", "itemsize", "_cat", "is_floating_point", "is_complex", "is_signed",
                 "_np")

    def __init__(self, name: str, itemsize: int, cat: int, signed: bool, np_name: str):
        self.name = name
        self.itemsize = itemsize
        self._cat = cat
        self.is_floating_point = cat == _FLOAT
        self.is_complex = cat == _COMPLEX
        self.is_signed = signed
        self._np = np_name  # numpy's name for it: the interchange format with backends

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return _by_name, (self.name,)

    def to_real(self) -> "dtype":
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> "dtype":
        return {float64: complex128, complex128: complex128}.get(self, complex64)


float16 = dtype("float16", 2, _FLOAT, True, "float16")
bfloat16 = dtype("bfloat16", 2, _FLOAT, True, "bfloat16")
float32 = dtype("float32", 4, _FLOAT, True, "float32")
float64 = dtype("float64", 8, _FLOAT, True, "float64")
complex64 = dtype("complex64", 8, _COMPLEX, True, "complex64")
complex128 = dtype("complex128", 16, _COMPLEX, True, "complex128")
uint8 = dtype("uint8", 1, _INT, False, "uint8")
int8 = dtype("int8", 1, _INT, True, "int8")
int16 = dtype("int16", 2, _INT, True, "int16")
int32 = dtype("int32", 4, _INT, True, "int32")
int64 = dtype("int64", 8, _INT, True, "int64")
bool = dtype("bool", 1, _BOOL, False, "bool")  # noqa: A001 - PyTorch's name

ALL = (float16, bfloat16, float32, float64, complex64, complex128,
       uint8, int8, int16, int32, int64, bool)
# PyTorch's aliases, exported from ember's top level too.
ALIASES = {"float": float32, "double": float64, "half": float16, "cfloat": complex64,
           "cdouble": complex128, "long": int64, "int": int32, "short": int16,
           "complex32": None}
del ALIASES["complex32"]  # no complex32 here: no backend has it
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(ALIASES)
_BY_NP = {d._np: d for d in ALL}


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_name(name: str) -> dtype:
    """The ember dtype for a numpy dtype name (``str(arr.dtype)``); TypeError if none."""
    try:
        return _BY_NP[name]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{name}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
            "uint8, and bool.") from None


# --- promotion --------------------------------------------------------------------------
# Within a category PyTorch takes the wider type; uint8 with a signed int goes to int16;
# float16 with bfloat16 goes to float32; complex with float64 goes to complex128.
def _promote(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._cat != b._cat:
        hi, lo = (a, b) if a._cat > b._cat else (b, a)
        if hi._cat == _COMPLEX and lo is float64:
            return complex128
        return hi
    cat = a._cat
    if cat == _INT:
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a.itemsize > b.itemsize else b
    if cat == _FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    return a if a.itemsize > b.itemsize else b  # complex


_PROMOTE = {(a, b): _promote(a, b) for a in ALL for b in ALL}


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """Mirrors ``torch.promote_types``."""
    return _PROMOTE[type1, type2]


_default_float = float32


def get_default_dtype() -> dtype:
    """Mirrors ``torch.get_default_dtype``."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Mirrors ``torch.set_default_dtype``: only float32 and float64 (and the halves) are
    accepted, as in PyTorch."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def default_complex() -> dtype:
    return complex128 if _default_float is float64 else complex64


import builtins as _builtins  # noqa: E402

_pybool = _builtins.bool


def scalar_dtype(x) -> dtype:
    """The dtype PyTorch gives a Python scalar when it becomes a tensor."""
    t = type(x)
    if t is float:
        return _default_float
    if t is _pybool:
        return bool
    if t is int:
        return int64
    if t is complex:
        return default_complex()
    # numpy scalars and the like: ask for their dtype name
    name = getattr(getattr(x, "dtype", None), "name", None)
    if name is not None:
        return from_numpy_name(name)
    raise TypeError(f"unsupported scalar type {t.__name__}")


def result_dtype(tensors, scalars=()) -> dtype:
    """PyTorch's ``result_type`` over tensors (objects with ``dtype`` and ``ndim``) and
    Python scalars: dimensioned tensors first; 0-dim tensors only when they are of a higher
    category; Python scalars only when of a higher category still (and then the default
    dtype of that category, not their own width)."""
    dim_t = zero_t = None
    for t in tensors:
        if t.ndim:
            dim_t = t.dtype if dim_t is None else _PROMOTE[dim_t, t.dtype]
        else:
            zero_t = t.dtype if zero_t is None else _PROMOTE[zero_t, t.dtype]
    res = dim_t
    if zero_t is not None:
        if res is None:
            res = zero_t
        elif zero_t._cat > res._cat:
            res = _PROMOTE[res, zero_t] if zero_t._cat == _COMPLEX else zero_t
    for s in scalars:
        sd = scalar_dtype(s)
        if res is None:
            res = sd
        elif sd._cat > res._cat:
            if sd._cat == _COMPLEX:
                res = complex128 if res is float64 else default_complex()
            elif sd._cat == _FLOAT:
                res = _default_float
            else:
                res = sd
    return res


class finfo:
    """Mirrors ``torch.finfo``."""

    _TABLE = {
        "float16": (16, 6.103515625e-05, 65504.0, 0.0009765625, 5.960464477539063e-08, 0.001),
        "bfloat16": (16, 1.1754943508222875e-38, 3.3895313892515355e+38, 0.0078125,
                     9.183549615799121e-41, 0.01),
        "float32": (32, 1.1754943508222875e-38, 3.4028234663852886e+38,
                    1.1920928955078125e-07, 1.401298464324817e-45, 1e-06),
        "float64": (64, 2.2250738585072014e-308, 1.7976931348623157e+308,
                    2.220446049250313e-16, 5e-324, 1e-15),
    }

    def __init__(self, type: dtype | None = None):  # noqa: A002 - PyTorch's name
        type = _default_float if type is None else type
        real = type.to_real()
        if real.name not in self._TABLE:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use "
                            f"torch.iinfo to handle '{type!r}'")
        self.dtype = real.name
        (self.bits, self.tiny, self.max, self.eps, self.smallest_subnormal,
         self.resolution) = self._TABLE[real.name]
        self.smallest_normal = self.tiny
        self.min = -self.max

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, "
                f"eps={self.eps:e}, smallest_normal={self.tiny:e}, tiny={self.tiny:e}, "
                f"dtype={self.dtype})")


class iinfo:
    """Mirrors ``torch.iinfo``."""

    def __init__(self, type: dtype):  # noqa: A002
        if type._cat not in (_INT, _BOOL):
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo "
                            f"to handle '{type!r}'")
        self.bits = 8 * type.itemsize
        self.dtype = type.name
        if type is bool or type is uint8:
            self.min, self.max = 0, (1 if type is bool else 255)
        else:
            self.min, self.max = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
