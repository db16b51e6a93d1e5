"""Elementwise binary maths beyond arithmetic: copysign, logaddexp, logaddexp2, gcd, lcm,
heaviside, nextafter, ldexp, float_power, and frexp (one input, two outputs).

Each op is one row of the kit's :func:`binary` table (kernel over ``xp``, dtype rule,
derivatives in Tensor ops beside it) or a short composition of existing ops, whose
gradients then come for free.
"""
from __future__ import annotations

import math

from .. import _dtype
from ._register import binary, inplace, takes_out
from ._util import GRAD, Tensor, method, record, wrap

__all__ = ["copysign", "logaddexp", "logaddexp2", "gcd", "gcd_", "lcm", "lcm_", "heaviside",
           "nextafter", "ldexp", "ldexp_", "float_power", "frexp"]

_LN2 = math.log(2.0)


def _copysign_grad(g, x, y, res):
    # PyTorch's copysign_tensor_self_backward: g * result / self, 0 where self is 0
    from .selection import where
    return g * where(x == 0, 0.0, res / where(x == 0, 1.0, x))


copysign = binary("copysign", lambda xp, a, b: xp.copysign(a, b),
                  (_copysign_grad, lambda g, x, y, res: g * 0), ints="float",
                  errors={"complex": "copysign"}, ns=globals(), saves_result=True,
                  doc="``|input|`` with the sign of ``other``; integers compute in the "
                      "default float dtype.")


def _logaddexp_kernel(base2: bool):
    def kernel(xp, a, b):
        if xp.isdtype(a.dtype, "complex floating"):
            return _logaddexp_complex(xp, a, b, base2)
        m = xp.maximum(a, b)
        d = -xp.abs(a - b)
        if base2:
            r = m + xp.log1p(xp.exp(d * _LN2)) / _LN2
        else:
            r = m + xp.log1p(xp.exp(d))
        # both infinite with one sign: a - b is nan, the result is that infinity
        return xp.where(xp.isinf(a) & (a == b), a, r)
    return kernel


def _logaddexp_complex(xp, a, b, base2: bool):
    """PyTorch's complex log-add-exp: the operand with the larger real part is the shift."""
    ge = xp.real(a) >= xp.real(b)
    m, o = xp.where(ge, a, b), xp.where(ge, b, a)
    if base2:
        r = m + xp.log1p(xp.exp((o - m) * _LN2)) / _LN2
    else:
        r = m + xp.log1p(xp.exp(o - m))
    low = xp.real(m)
    return xp.where(xp.isinf(low) & (low < 0), o, r)  # both -inf: o - m would be nan


logaddexp = binary("logaddexp", _logaddexp_kernel(False),
                   (lambda g, x, y, r: g / (1 + (y - x).exp()),
                    lambda g, x, y, r: g / (1 + (x - y).exp())),
                   errors={"bool": "logaddexp", "int": "logaddexp"}, tensor_other=True,
                   ns=globals(), doc="``log(exp(input) + exp(other))`` without overflow.")
logaddexp2 = binary("logaddexp2", _logaddexp_kernel(True),
                    (lambda g, x, y, r: g / (1 + (y - x).exp2()),
                     lambda g, x, y, r: g / (1 + (x - y).exp2())),
                    errors={"bool": "logaddexp2", "int": "logaddexp2"}, tensor_other=True,
                    ns=globals(), doc="``log2(2**input + 2**other)`` without overflow.")


def _gcd_kernel(xp, a, b):
    # Euclid over whole arrays (the array API standard has no gcd): each round finishes
    # the pairs whose remainder reached 0
    a, b = xp.broadcast_arrays(xp.abs(a), xp.abs(b))
    while bool(xp.any(b != 0)):
        nz = b != 0
        a, b = xp.where(nz, b, a), xp.where(nz, a % xp.where(nz, b, xp.ones_like(b)),
                                            xp.zeros_like(b))
    return a


def _lcm_kernel(xp, a, b):
    g = _gcd_kernel(xp, a, b)
    zero = g == 0
    return xp.abs(a // xp.where(zero, xp.ones_like(g), g) * b)


_INTS_ONLY = {"bool": None, "float": None, "complex": None}
gcd = binary("gcd", _gcd_kernel, None, tensor_other=True, ns=globals(),
             errors={k: "gcd" for k in _INTS_ONLY},
             doc="Integers only; gcd(0, 0) = 0, the result is never negative.")
lcm = binary("lcm", _lcm_kernel, None, tensor_other=True, ns=globals(),
             errors={k: "lcm" for k in _INTS_ONLY}, doc="Integers only; never negative.")
gcd_, lcm_ = Tensor.gcd_, Tensor.lcm_  # torch.gcd_ and torch.lcm_ exist too
nextafter = binary("nextafter", lambda xp, a, b: xp.nextafter(a, b), None, tensor_other=True,
                   ns=globals(), errors={"bool": "nextafter", "int": "nextafter"},
                   doc="The next float after ``input`` towards ``other``.")


@takes_out
@method("heaviside")
def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """Mirrors ``torch.heaviside``: 0 where input < 0, ``values`` where input == 0, 1 where
    input > 0; both tensors of one dtype (PyTorch's error otherwise). No derivative."""
    if not isinstance(values, Tensor):
        raise TypeError("heaviside(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           "dtypes.")
    if input.dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    from .selection import where
    pos = (input > 0).to(input.dtype)
    with _no_grad():
        res = where(input == 0, values, pos)
    if GRAD.enabled and (input._requires_grad or values._requires_grad):
        def fn(g):
            raise RuntimeError("the derivative for 'heaviside' is not implemented.")
        record(res, "HeavisideBackward0", (input, values), fn)
    return res


def _no_grad():
    from ..autograd.grad_mode import no_grad
    return no_grad()


inplace(heaviside, "heaviside_")


@takes_out
@method("ldexp")
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.ldexp``: ``input * 2 ** other`` (as PyTorch composes it, so integer
    inputs give the default float dtype and the gradients follow mul and pow)."""
    if not isinstance(other, Tensor):
        raise TypeError("ldexp(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    from .arith import mul, pow
    return mul(input, pow(2.0, other))


ldexp_ = inplace(ldexp, "ldexp_", export_to=globals())


@takes_out
@method("float_power")
def float_power(input, exponent) -> Tensor:
    """Mirrors ``torch.float_power``: ``pow`` in double precision (complex128 when either
    side is complex)."""
    from .arith import pow
    cplx = any(isinstance(v, complex) or (isinstance(v, Tensor) and v.dtype.is_complex)
               for v in (input, exponent))
    dt = _dtype.complex128 if cplx else _dtype.float64
    a = input.to(dt) if isinstance(input, Tensor) else input
    b = exponent.to(dt) if isinstance(exponent, Tensor) else exponent
    return pow(a, b)


def _float_power_(self: Tensor, exponent) -> Tensor:
    cplx = self.dtype.is_complex or isinstance(exponent, complex) or (
        isinstance(exponent, Tensor) and exponent.dtype.is_complex)
    want = _dtype.complex128 if cplx else _dtype.float64
    if self.dtype is not want:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype.scalar_name}"
                           f" but the operation's result requires dtype {want.scalar_name}")
    from .inplace import run_inplace
    return run_inplace(self, float_power, exponent)


method("float_power_")(_float_power_)


@takes_out
@method("frexp")
def frexp(input: Tensor):
    """Mirrors ``torch.frexp``: (mantissa, exponent) with ``input = mantissa * 2 **
    exponent`` and ``0.5 <= |mantissa| < 1`` (0, inf and nan have exponent 0 and are their
    own mantissa); floats only, the exponent is int32. No derivative, as in PyTorch."""
    dt, dev = input.dtype, input._device
    if not dt.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    be = dev._be
    xp = be.xp
    x = input._data
    if hasattr(xp, "frexp"):
        m, e = xp.frexp(x)
    else:
        # log2 of the magnitude, nudged for rounding, for backends without frexp
        finite = xp.isfinite(x) & (x != 0)
        ax = xp.where(finite, xp.abs(x), xp.ones_like(x))
        e = xp.floor(xp.log2(ax)) + 1
        m = x / xp.exp2(e) if hasattr(xp, "exp2") else x / (2.0 ** e)
        big = xp.abs(m) >= 1
        e, m = xp.where(big, e + 1, e), xp.where(big, m / 2, m)
        small = finite & (xp.abs(m) < 0.5)
        e, m = xp.where(small, e - 1, e), xp.where(small, m * 2, m)
        m = xp.where(finite, m, x)
        e = xp.where(finite, e, xp.zeros_like(e))
    mant = wrap(be.astype(m, dt) if m.dtype != x.dtype else m, dt, dev)
    expo = wrap(be.astype(e, _dtype.int32), _dtype.int32, dev)
    return _FREXP((mant, expo))


def _frexp_type():
    from .. import return_types
    return getattr(return_types, "frexp", None) or return_types.make(
        "frexp", ("mantissa", "exponent"))


_FREXP = _frexp_type()
