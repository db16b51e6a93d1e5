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
                 "_np", "scalar_name", "c_name", "legacy_name")

    def __init__(self, name: str, itemsize: int, cat: int, signed: bool, np_name: str,
                 scalar_name: str, c_name: str):
        self.name = name
        # PyTorch's names for the type, as its messages spell them: the ScalarType
        # ("not implemented for 'Float'"), the C++ type ("expected ... float"), and the legacy
        # tensor type ("torch.FloatTensor")
        self.scalar_name = scalar_name
        self.c_name = c_name
        self.legacy_name = scalar_name + "Tensor"
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
        """Mirrors ``torch.dtype.to_complex``; ember has no complex32, so float16 gives
        complex64 (PyTorch: complex32)."""
        if self._cat < _FLOAT:
            raise RuntimeError(f"Unknown Complex ScalarType for {self.scalar_name}")
        return complex128 if self is float64 or self is complex128 else complex64


float16 = dtype("float16", 2, _FLOAT, True, "float16", "Half", "c10::Half")
bfloat16 = dtype("bfloat16", 2, _FLOAT, True, "bfloat16", "BFloat16", "c10::BFloat16")
float32 = dtype("float32", 4, _FLOAT, True, "float32", "Float", "float")
float64 = dtype("float64", 8, _FLOAT, True, "float64", "Double", "double")
complex64 = dtype("complex64", 8, _COMPLEX, True, "complex64", "ComplexFloat", "c10::complex<float>")
complex128 = dtype("complex128", 16, _COMPLEX, True, "complex128", "ComplexDouble", "c10::complex<double>")
uint8 = dtype("uint8", 1, _INT, False, "uint8", "Byte", "unsigned char")
int8 = dtype("int8", 1, _INT, True, "int8", "Char", "signed char")
int16 = dtype("int16", 2, _INT, True, "int16", "Short", "short int")
int32 = dtype("int32", 4, _INT, True, "int32", "Int", "int")
int64 = dtype("int64", 8, _INT, True, "int64", "Long", "long int")
bool = dtype("bool", 1, _BOOL, False, "bool", "Bool", "bool")  # noqa: A001 - PyTorch's name

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


def not_implemented(kernel: str, dt: dtype) -> NotImplementedError:
    """PyTorch's error for a kernel that has no version for dtype ``dt``."""
    return NotImplementedError(f'"{kernel}" not implemented for \'{dt.scalar_name}\'')


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
        raise TypeError("only floating-point types are supported as the default type")
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


def _combine(higher, lower):
    """PyTorch's ``combine_categories``: ``higher`` wins unless ``lower`` is of a higher
    category (a float meeting a complex keeps its width: float32 + complex128 → complex64)."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    hc, lc = higher._cat, lower._cat
    if hc == _COMPLEX:
        return higher
    if lc == _COMPLEX:
        if hc == _FLOAT:  # PyTorch's toComplexType (float16 → complex32, absent here)
            return complex128 if higher is float64 else complex64
        return lower
    if hc == _FLOAT:
        return higher
    if higher is bool or lc == _FLOAT:
        return _PROMOTE[higher, lower]
    return higher


def result_dtype(tensors, scalars=()) -> dtype:
    """PyTorch's ``result_type`` over tensors (objects with ``dtype`` and ``ndim``) and
    Python scalars (``ResultTypeState``): dimensioned tensors, then 0-dim tensors, then
    scalars (as the default dtype of their kind), each group promoted within itself and
    only mattering to a higher group when of a higher category."""
    if len(tensors) == 1 and len(scalars) == 1:  # tensor (op) scalar: the hot case
        return _combine(tensors[0].dtype, scalar_dtype(scalars[0]))
    dim_t = zero_t = wrapped = None
    for t in tensors:
        if t.ndim:
            dim_t = t.dtype if dim_t is None else _PROMOTE[dim_t, t.dtype]
        else:
            zero_t = t.dtype if zero_t is None else _PROMOTE[zero_t, t.dtype]
    for s in scalars:
        sd = scalar_dtype(s)
        wrapped = sd if wrapped is None else _PROMOTE[wrapped, sd]
    return _combine(dim_t, _combine(zero_t, wrapped))


class _Info:
    """Read-only attributes, equality and ``%g`` repr shared by finfo and iinfo."""

    _FIELDS: tuple = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'torch.{type(self).__name__}' objects is "
                             "not writable")

    def _set(self, **fields) -> None:
        for k, v in fields.items():
            object.__setattr__(self, k, v)

    def __eq__(self, other) -> _pybool:
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f)
                                                 for f in self._FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self._FIELDS))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f):g}" for f in self._FIELDS if f != "dtype")
        return f"{type(self).__name__}({shown}, dtype={self.dtype})"


class finfo(_Info):
    """Mirrors ``torch.finfo``: limits of a floating type (a complex type's real part)."""

    _FIELDS = ("resolution", "min", "max", "eps", "smallest_normal", "tiny", "dtype")
    # bits, smallest normal, max, eps, resolution
    _TABLE = {
        "float16": (16, 6.103515625e-05, 65504.0, 0.0009765625, 0.001),
        "bfloat16": (16, 1.1754943508222875e-38, 3.3895313892515355e+38, 0.0078125, 0.01),
        "float32": (32, 1.1754943508222875e-38, 3.4028234663852886e+38,
                    1.1920928955078125e-07, 1e-06),
        "float64": (64, 2.2250738585072014e-308, 1.7976931348623157e+308,
                    2.220446049250313e-16, 1e-15),
    }

    def __init__(self, type: dtype | None = None):  # noqa: A002 - PyTorch's name
        type = _default_float if type is None else type
        real = type.to_real()
        if real.name not in self._TABLE:
            # (sic) PyTorch names its own class where the dtype should be
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        bits, tiny, big, eps, resolution = self._TABLE[real.name]
        self._set(bits=bits, tiny=tiny, smallest_normal=tiny, max=big, min=-big, eps=eps,
                  resolution=resolution, dtype=real.name)


class iinfo(_Info):
    """Mirrors ``torch.iinfo``: limits of an integer type."""

    _FIELDS = ("min", "max", "dtype")

    def __init__(self, type: dtype):  # noqa: A002 - PyTorch's name
        if type is bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type._cat != _INT:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo "
                            "to handle 'torch.iinfo'")
        bits = 8 * type.itemsize
        lo, hi = (0, (1 << bits) - 1) if not type.is_signed else \
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        self._set(bits=bits, min=lo, max=hi, dtype=type.name)
