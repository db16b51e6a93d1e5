"""Elementwise maths: unary functions (exp, trig, erf, rounding, sigmoid, relu, ...) and the
binary ones beyond plain arithmetic (floor_divide, remainder, fmod, atan2, hypot).

Most unary ops are one row of a table (:func:`unary`): the kernel over the backend, what an
integer input becomes, and the derivative, written with Tensor ops right beside it so
higher-order gradients work (derivatives that read the result use the result itself, not a
detached copy, for the same reason). Ops with extra arguments (``round(decimals=)``,
``logit(eps=)``) are written out after the table. Every op has its in-place ``name_`` form.
"""
from __future__ import annotations

import builtins
import functools
import math

from ._register import takes_out
from .. import _dtype
from .._creation import full, zeros_like
from ._register import apply2, attach, binary, export, inplace
from ._util import GRAD, Tensor, method, prep2, record, reflected, wrap
from ..autograd.graph import record as _record
from .selection import where

_record_as_is = functools.partial(_record, holomorphic=False)

__all__ = ["floor_divide", "remainder", "fmod", "atan2", "arctan2", "hypot", "round",
           "round_", "logit", "logit_", "square", "square_", "positive"]  # and every op unary() defines

FLOAT, SAME, ROUND = "float", "same", "round"  # what a bool/int input becomes (see unary)


# PyTorch's CUDA kernels are named apart from its CPU ones: no "_vml" (MKL's vector maths),
# and one "compare" kernel for the orderings
_CUDA_KERNELS = {"lt": "compare", "le": "compare", "gt": "compare", "ge": "compare"}


def not_implemented(kernel: str, dt, dev) -> NotImplementedError:
    """PyTorch's error for a dtype a kernel lacks: ``"abs_cpu" not implemented for 'Bool'``
    (named as PyTorch's kernel for that device type)."""
    if dev.type == "cuda":
        kernel = _CUDA_KERNELS.get(kernel, kernel.removesuffix("_vml"))
    return NotImplementedError(f'"{kernel}_{dev.type}" not implemented for '
                               f"'{dt.scalar_name}'")


def _zero(g, x, y):
    return zeros_like(g)


def _odd_input(name, input, ints, errors):
    """(array, dtype) an op computes on for a non-real-float input, or raise PyTorch's
    error; (None, None) when the result is the input itself (rounding an integer)."""
    dt = input.dtype
    kind = "complex" if dt.is_complex else "bool" if dt is _dtype.bool else "int"
    err = errors.get(kind) if errors else None
    if callable(err):
        err = err(input)  # None: this device's kernel takes the dtype after all
    if err is not None:
        raise err
    if dt.is_complex:
        return input._data, dt
    if ints == FLOAT:
        fdt = _dtype.get_default_dtype()
        return input._device._be.astype(input._data, fdt), fdt
    if ints == ROUND:
        return None, None
    return input._data, dt


def unary(name, kernel, deriv, uses="x", ints=FLOAT, errors=None, node=None, aliases=(),
          doc="", real_out=False, public=True, holomorphic=True):
    """Define ``ember.<name>``, ``Tensor.<name>`` and their in-place ``<name>_`` forms.

    kernel: an ``xp`` function name, or ``fn(backend, array)``. deriv: ``fn(g, x, y)`` →
    the input's gradient from the output's (x the input, y the result), reading only
    what ``uses`` names ("x", "y", "xy" or ""). ints: FLOAT (bool/int inputs compute in the
    default float dtype), SAME (keep their dtype) or ROUND (returned unchanged, as a copy).
    errors: {"bool" | "int" | "complex": exception} for dtypes PyTorch rejects. real_out:
    complex inputs give real results (abs). public: attach and export it (else just return).
    holomorphic: for complex inputs ``deriv`` is the plain complex derivative, which the
    autograd graph conjugates (PyTorch's convention, see ``autograd.graph``); False when
    ``deriv`` already gives PyTorch's conjugate Wirtinger gradient (sgn).
    """
    record = _record if holomorphic else _record_as_is
    kern = (lambda be, a: getattr(be.xp, kernel)(a)) if isinstance(kernel, str) else kernel
    node = node or name.capitalize() + "Backward0"

    @takes_out
    def op(input: Tensor) -> Tensor:
        dt = input.dtype
        data = input._data
        dev = input._device
        if not dt.is_floating_point:
            data, dt = _odd_input(name, input, ints, errors)
            if real_out and dt is not None:
                dt = dt.to_real()
            if data is None:
                res = wrap(dev._be.copy(input._data), input.dtype, dev)
                return res
        res = wrap(kern(dev._be, data), dt, dev)
        if GRAD.enabled and input._requires_grad:
            if uses == "y":
                record(res, node, (input,), lambda g: (deriv(g, None, res),), saved=(res,))
            elif uses == "x":
                record(res, node, (input,), lambda g: (deriv(g, input, None),),
                       saved=(input,))
            elif uses:
                record(res, node, (input,), lambda g: (deriv(g, input, res),),
                       saved=(input, res))
            else:
                record(res, node, (input,), lambda g: (deriv(g, None, None),))
        return res

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}``." + (f" {doc}" if doc else "")
    if not public:
        return op
    method(name, *aliases)(op)
    export(globals(), op, name, *aliases)
    inplace(op, *(n + "_" for n in (name,) + aliases), export_to=globals())
    return op


def _errs(kernel, *kinds):
    """errors= entries: PyTorch's "kernel_cpu not implemented for <dtype>" for these kinds."""
    return {k: (lambda t: not_implemented(kernel, t.dtype, t._device)) for k in kinds}


# --- exponentials and logarithms ------------------------------------------------------------
_LN2, _LN10 = math.log(2.0), math.log(10.0)
exp = unary("exp", "exp", lambda g, x, y: g * y, "y")
unary("exp2", lambda be, a: 2.0 ** a, lambda g, x, y: g * y * _LN2, "y")
unary("expm1", "expm1", lambda g, x, y: g * (y + 1), "y")
log = unary("log", "log", lambda g, x, y: g / x)
unary("log2", "log2", lambda g, x, y: g / (x * _LN2))
unary("log10", "log10", lambda g, x, y: g / (x * _LN10))
unary("log1p", "log1p", lambda g, x, y: g / (x + 1), node="Log1PBackward0")
sqrt = unary("sqrt", "sqrt", lambda g, x, y: g / (2 * y), "y")
unary("rsqrt", lambda be, a: 1.0 / be.xp.sqrt(a), lambda g, x, y: -0.5 * g * y ** 3, "y")
unary("reciprocal", lambda be, a: 1.0 / a, lambda g, x, y: -g * (y * y), "y")

# --- trigonometric and hyperbolic ------------------------------------------------------------
unary("sin", "sin", lambda g, x, y: g * x.cos())
unary("cos", "cos", lambda g, x, y: g * -x.sin())
unary("tan", "tan", lambda g, x, y: g * (1 + y * y), "y")
unary("asin", "asin", lambda g, x, y: g * (1 - x * x).rsqrt(), aliases=("arcsin",))
unary("acos", "acos", lambda g, x, y: -g * (1 - x * x).rsqrt(), aliases=("arccos",))
unary("atan", "atan", lambda g, x, y: g / (x * x + 1), aliases=("arctan",))
unary("sinh", "sinh", lambda g, x, y: g * x.cosh())
unary("cosh", "cosh", lambda g, x, y: g * x.sinh())
tanh = unary("tanh", "tanh", lambda g, x, y: g * (1 - y * y), "y")
unary("asinh", "asinh", lambda g, x, y: g * (x * x + 1).rsqrt(), aliases=("arcsinh",))
unary("acosh", "acosh", lambda g, x, y: g * (x * x - 1).rsqrt(), aliases=("arccosh",))
unary("atanh", "atanh", lambda g, x, y: g / (1 - x * x), aliases=("arctanh",))
unary("deg2rad", lambda be, a: a * (math.pi / 180), lambda g, x, y: g * (math.pi / 180), "",
      errors={"complex": RuntimeError("deg2rad is not supported for complex tensors.")})
unary("rad2deg", lambda be, a: a * (180 / math.pi), lambda g, x, y: g * (180 / math.pi), "",
      errors={"complex": RuntimeError("rad2deg is not supported for complex tensors.")})


# --- activations and special functions -------------------------------------------------------
def _sigmoid(be, a):
    if be.xp.isdtype(a.dtype, "complex floating"):  # the same, by the real part's sign
        pos = be.xp.real(a) >= 0
        e = be.xp.exp(-be.xp.where(pos, a, -a))
        return be.xp.where(pos, 1 / (1 + e), e / (1 + e))
    # exp(-|a|) never overflows; each sign takes the form that stays accurate
    e = be.xp.exp(-be.xp.abs(a))
    return be.xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


_2_SQRTPI, _SQRTPI_2 = 2 / math.sqrt(math.pi), math.sqrt(math.pi) / 2
sigmoid = unary("sigmoid", _sigmoid, lambda g, x, y: g * (1 - y) * y, "y")
# PyTorch's threshold_backward: zero where y <= 0, else g (so g passes at a NaN, and an
# infinite g stays 0 where the unit is off)
relu = unary("relu", lambda be, a: be.xp.maximum(a, 0),
             lambda g, x, y: g.masked_fill(y <= 0, 0), "y",
             ints=SAME, node="ReluBackward0",
             errors={"bool": RuntimeError("Boolean inputs not supported for relu"),
                     "complex": NotImplementedError("clamp is not supported for complex "
                                                    "types")},
             doc="The gradient at 0 is 0, as in PyTorch.")
unary("erf", lambda be, a: be.erf(a), lambda g, x, y: g * _2_SQRTPI * (-x * x).exp(),
      errors=_errs("erf_vml", "complex"),
      doc="Backends may supply a native kernel (``Backend.erf``); the default is a "
          "float64 series accurate to a few ulp.")
unary("erfc", lambda be, a: be.erfc(a), lambda g, x, y: g * -_2_SQRTPI * (-x * x).exp(),
      errors=_errs("erfc_vml", "complex"))
unary("erfinv", lambda be, a: be.erfinv(a), lambda g, x, y: g * _SQRTPI_2 * (y * y).exp(),
      "y", errors=_errs("erfinv", "complex"))


# --- magnitude and sign ----------------------------------------------------------------------
def _abs(be, a):
    return be.xp.abs(a)


def _sign(be, a):
    if a.dtype == be.native_dtype(_dtype.bool):
        return be.copy(a)
    return be.xp.sign(a)


def _sgn(be, a):
    xp = be.xp
    if not xp.isdtype(a.dtype, "complex floating"):
        return _sign(be, a)
    m = xp.abs(a)
    return xp.where(m == 0, 0, a / xp.where(m == 0, 1, m))


def _sgn_grad(g, x, y):
    if not x.dtype.is_complex:
        return zeros_like(g)
    # PyTorch's sgn_backward: (g - Re(g conj(sgn)) sgn) / |x|, and 0 at x = 0
    a = x.abs()
    d = (g - (g * y.conj()).real * y) / a.masked_fill(a == 0, 1)
    return d.masked_fill(a == 0, 0)


_abs_op = unary("abs", _abs, lambda g, x, y: g * (x.sgn() if x.dtype.is_complex else x.sign()),
                ints=SAME, aliases=("absolute",),
             errors={"bool": lambda t: None if t._device.type == "cuda"  # CUDA's takes bool
                     else not_implemented("abs", t.dtype, t._device)},
             real_out=True, doc="abs'(0) = 0, as in PyTorch.")
attach("__abs__", _abs_op)
unary("sign", _sign, _zero, "", ints=SAME, errors={"complex": NotImplementedError(
    "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
    "torch.sgn instead.")})
unary("sgn", _sgn, _sgn_grad, "xy", ints=SAME, holomorphic=False)


def _angle(be, a):
    xp = be.xp
    if xp.isdtype(a.dtype, "complex floating"):
        return xp.atan2(xp.imag(a), xp.real(a))
    # PyTorch's real angle: pi for negatives, 0 otherwise (-0.0 too), NaN stays NaN
    return xp.where(xp.isnan(a), a, xp.where(a < 0, math.pi, xp.zeros_like(a)))


def _angle_grad(g, x, y):
    if not x.dtype.is_complex:
        return zeros_like(g)
    # PyTorch's angle_backward: g i z / |z|^2, and 0 at z = 0
    a2 = (x * x.conj()).real
    d = (g * 1j) * x / a2.masked_fill(a2 == 0, 1)
    return d.masked_fill(a2 == 0, 0)


unary("angle", _angle, _angle_grad, real_out=True,
      doc="Real inputs give pi for negatives, else 0 (gradient 0).")


# --- rounding ---------------------------------------------------------------------------------
def _no_complex(name):
    return NotImplementedError(f"{name} is not supported for complex inputs")


for _n in ("floor", "ceil", "trunc"):
    unary(_n, _n, _zero, "", ints=ROUND, aliases=("fix",) if _n == "trunc" else (),
          errors={"bool": lambda t, _n=_n: not_implemented(f"{_n}_vml", t.dtype, t._device),
                  "complex": _no_complex(_n)})
_round0 = unary("round", "round", _zero, "", ints=ROUND, public=False,
                errors={"bool": lambda t: not_implemented("round_vml", t.dtype, t._device),
                        "complex": _no_complex("round")})
unary("frac", lambda be, a: a - be.xp.trunc(a), lambda g, x, y: g, "",
      errors=_errs("frac", "bool", "int"))


@takes_out
@method("round")
def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Mirrors ``torch.round``: half to even, at ``decimals`` places (negative: tens,
    hundreds...). Zero gradient, as in PyTorch."""
    if decimals == 0:
        return _round0(input)
    dt, dev = input.dtype, input._device
    if not dt.is_floating_point:
        raise not_implemented("round", dt, dev)
    xp = dev._be.xp
    p = 10.0 ** builtins.abs(decimals)  # ember.abs shadows the builtin here
    data = xp.round(input._data * p) / p if decimals > 0 else xp.round(input._data / p) * p
    res = wrap(data, dt, dev)
    if GRAD.enabled and input._requires_grad:
        record(res, "RoundBackward1", (input,), lambda g: (zeros_like(g),))
    return res


round_ = inplace(round, "round_")


# --- functions with parameters ----------------------------------------------------------------
@takes_out
@method("square")
def square(input: Tensor) -> Tensor:
    """Mirrors ``torch.square`` (``input ** 2``: bool becomes int64, as in PyTorch)."""
    res = input ** 2
    return res


square_ = inplace(square, "square_")


@takes_out
@method("logit")
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """Mirrors ``torch.logit``: ``log(p / (1 - p))``, with p clamped to [eps, 1 - eps] when
    ``eps`` is given (the gradient is then 0 outside that range, as in PyTorch)."""
    dt, dev = input.dtype, input._device
    data = input._data
    if not dt.is_floating_point:
        data, dt = _odd_input("logit", input, FLOAT, _errs("logit", "complex"))
    xp = dev._be.xp
    if eps is not None:
        data = xp.clip(data, eps, 1.0 - eps)
    res = wrap(xp.log(data / (1 - data)), dt, dev)
    if GRAD.enabled and input._requires_grad:
        def fn(g):
            d = g / (input * (1 - input))
            if eps is None:
                return (d,)
            return (where((input < eps).logical_or(input > 1 - eps), 0.0, d),)
        record(res, "LogitBackward0", (input,), fn, saved=(input,))
    return res


logit_ = inplace(logit, "logit_")


@method("positive")
def positive(input: Tensor) -> Tensor:
    """Mirrors ``torch.positive``: the input itself."""
    if input.dtype is _dtype.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# --- binary: division remainders, atan2, hypot -------------------------------------------------
def lhs_scalar(value, other: Tensor) -> Tensor:
    """A Python number on the left of an operator (``2 // t``) as a 0-dim tensor."""
    return full((), value, dtype=_dtype.result_dtype((), (value,)), device=other._device)


def _check_int_zero(b, dt, xp):
    if not dt.is_floating_point and not dt.is_complex and (
            bool(xp.any(b == 0)) if hasattr(b, "shape") else b == 0):
        raise RuntimeError("ZeroDivisionError")


def _fmod(xp, a, b, dt):
    """C's fmod (sign of the dividend) from the standard's remainder, exactly."""
    if dt.is_floating_point:
        return xp.copysign(xp.remainder(xp.abs(a), xp.abs(b) if hasattr(b, "shape")
                                        else builtins.abs(b)), a)
    r = xp.abs(a) % (xp.abs(b) if hasattr(b, "shape") else builtins.abs(b))
    return xp.where(a < 0, -r, r)


def _not_differentiable(name):
    def fn(*_):
        raise RuntimeError(f"derivative for aten::{name} is not implemented")
    return fn


@takes_out
@method("floor_divide", "__floordiv__")
def floor_divide(input: Tensor, other) -> Tensor:
    """Mirrors ``torch.floor_divide`` (``//``): rounds toward minus infinity. Like PyTorch it
    has no derivative (backward raises)."""
    a, b, dt, dev = prep2(input, other)
    if dt is _dtype.bool or dt.is_complex:
        raise not_implemented("div_floor", dt, dev)
    _check_int_zero(b, dt, dev._be.xp)
    res = wrap(apply2(lambda a, b: a // b, a, b), dt, dev)
    if GRAD.enabled and (input._requires_grad or getattr(other, "_requires_grad", False)):
        ins = (input, other) if isinstance(other, Tensor) else (input,)
        record(res, "NotImplemented", ins, _not_differentiable("floor_divide"))
    return res


def _rfloordiv(input: Tensor, other) -> Tensor:
    return floor_divide(lhs_scalar(other, input), input)


def _mod_op(name, kernel, node, rounding):
    """remainder / fmod: kernel(xp, a, b, dt); d/d(other) = -g * div(input, other, rounding)."""
    @takes_out
    def op(input, other) -> Tensor:
        if not isinstance(input, Tensor):
            input = lhs_scalar(input, other)
        a, b, dt, dev = prep2(input, other)
        if dt is _dtype.bool or dt.is_complex:
            raise not_implemented(name, dt, dev)
        xp = dev._be.xp
        _check_int_zero(b, dt, xp)
        res = wrap(apply2(lambda a, b: kernel(xp, a, b, dt), a, b), dt, dev)
        if GRAD.enabled:
            ra, rb = input._requires_grad, getattr(other, "_requires_grad", False)
            if rb:
                record(res, node + "1", (input, other), lambda g: (
                    g if ra else None, -g * input.div(other, rounding_mode=rounding)),
                    saved=(input, other))
            elif ra:
                if isinstance(other, Tensor):
                    record(res, node + "1", (input, other), lambda g: (g, None))
                else:
                    record(res, node + "0", (input,), lambda g: (g,))
        return res
    op.__name__ = op.__qualname__ = name
    return op


def _remainder(xp, a, b, dt):
    m = xp.remainder(a, b)  # the standard's remainder is Python's (and PyTorch's) %
    if not dt.is_floating_point:
        return m
    return xp.where(m == 0, xp.copysign(m, a), m)  # but PyTorch's zeros keep a's sign


remainder = method("remainder", "__mod__")(
    _mod_op("remainder", _remainder, "RemainderBackward", "floor"))
remainder.__doc__ = ("Mirrors ``torch.remainder`` (``%``): the result takes the divisor's "
                     "sign, as Python's ``%``.")
fmod = method("fmod")(_mod_op("fmod", _fmod, "FmodBackward", "trunc"))
fmod.__doc__ = "Mirrors ``torch.fmod``: C's fmod, the result takes the dividend's sign."


def _rmod(input: Tensor, other) -> Tensor:
    return remainder(lhs_scalar(other, input), input)


def _tensor_other(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")


# two table rows of the kit's binary(): atan2 (integers compute in the default float dtype)
# and hypot (floats only)
atan2 = binary("atan2", lambda xp, a, b: xp.atan2(a, b),
               (lambda g, x, y, r: g * y / (x * x + y * y),
                lambda g, x, y, r: g * -x / (x * x + y * y)),
               ints="float", errors={"complex": "atan2"}, tensor_other=True,
               aliases=("arctan2",), ns=globals(),
               doc="The angle of (other, input); integers compute in the default float dtype.")
arctan2 = atan2
hypot = binary("hypot", lambda xp, a, b: xp.hypot(a, b),
               (lambda g, x, y, r: g * x / r, lambda g, x, y, r: g * y / r),
               errors={"bool": "hypot", "int": "hypot", "complex": "hypot"},
               tensor_other=True, ns=globals(), saves_result=True,
               doc="``sqrt(input² + other²)`` without overflow (floats only).")


for _f, _names in ((floor_divide, ("floor_divide_", "__ifloordiv__")),
                   (remainder, ("remainder_", "__imod__")), (fmod, ("fmod_",))):
    inplace(_f, *_names)


attach("__rfloordiv__", reflected(_rfloordiv))  # [1, 2] // t: Python's own TypeError
attach("__rmod__", reflected(_rmod))
