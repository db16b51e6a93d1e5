"""Special functions PyTorch has at the top level and as Tensor methods: lgamma, digamma,
polygamma, mvlgamma, i0, sinc, xlogy (with their in-place ``name_`` forms). Kernels are in
``ember._special_kernels`` (written over ``xp``); each derivative sits beside its op, in
Tensor ops, so higher-order gradients work. ``ember.special`` adds the rest of
``torch.special`` on the same machinery."""
from __future__ import annotations

import math

from ._register import takes_out
from .. import _dtype
from .. import _special_kernels as K
from ._register import apply2, inplace
from ._util import GRAD, Tensor, float_dtype_for, method, prep2, record, wrap
from .elementwise import _errs, lhs_scalar, unary

__all__ = ["digamma", "i0", "i0_", "lgamma", "mvlgamma", "polygamma", "sinc", "sinc_", "xlogy",
           "xlogy_"]

_PI = math.pi


def special_unary(name, kernel, deriv, uses="x", node=None, doc="", complex_ok=False):
    """A float-only special function (integers compute in the default float dtype,
    complex inputs get PyTorch's not-implemented error unless ``complex_ok``), not attached
    anywhere."""
    return unary(name, kernel, deriv, uses,
                 errors=None if complex_ok else _errs(f"{name}_vml", "complex"),
                 node=node, doc=doc, public=False)


def _publish(fn, name: str, *, method_too: bool = True):
    """``ember.<name>``, ``Tensor.<name>`` and ``Tensor.<name>_``."""
    if method_too:
        method(name)(fn)
        inplace(fn, name + "_")
    return fn


@takes_out
def polygamma(n: int, input: Tensor) -> Tensor:
    """Mirrors ``torch.polygamma``: the n-th derivative of digamma, through the Hurwitz
    zeta for n >= 1: ``(-1)^(n+1) n! zeta(n+1, x)``."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    return _polygamma_n(n)(input)


_POLY_CACHE: dict = {}


def _polygamma_n(n: int):
    op = _POLY_CACHE.get(n)
    if op is None:
        scale = (-1.0) ** (n + 1) * math.factorial(n)

        def kern(be, a):
            xp = be.xp
            return K.zeta(xp, xp.full(a.shape, n + 1.0, dtype=a.dtype), a) * scale
        op = _POLY_CACHE[n] = special_unary(
            "polygamma", kern, lambda g, x, y: g * polygamma(n + 1, x), node="PolygammaBackward0")
    return op


lgamma = _publish(special_unary("lgamma", lambda be, a: K.lgamma(be.xp, a),
                                lambda g, x, y: g * digamma(x), doc="log|Gamma(x)|."), "lgamma")
digamma = _publish(special_unary("digamma", lambda be, a: K.digamma(be.xp, a),
                                 lambda g, x, y: g * polygamma(1, x),
                                 doc="psi(x); -inf at 0, NaN at negative integers."),
                   "digamma")


@method("polygamma")
def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """Mirrors ``Tensor.polygamma(n)``: ``torch.polygamma(n, self)``."""
    return polygamma(n, self)


inplace(_polygamma_method, "polygamma_")
i0 = _publish(special_unary("i0", lambda be, a: K.bessel_i(be.xp, a, 0, False),
                            lambda g, x, y: g * _i1(x), doc="Modified Bessel function I0."),
              "i0")
_i1 = special_unary("i1", lambda be, a: K.bessel_i(be.xp, a, 1, False),
                    lambda g, x, y: g * _i1_grad(x), node="SpecialI1Backward0")


def _i1_grad(x: Tensor) -> Tensor:
    """I1'(x) = I0(x) - I1(x) / x, 1/2 at 0."""
    from .selection import where
    zero = x == 0
    safe = where(zero, 1.0, x)
    return where(zero, 0.5, i0(x) - _i1(x) / safe)


def _sinc_kernel(be, a):
    xp = be.xp
    px = a * _PI
    safe = xp.where(a == 0, 1.0, px)
    return xp.where(a == 0, 1.0, xp.sin(safe) / safe)


def _sinc_grad(g, x, y):
    from .selection import where
    zero = x == 0
    px = where(zero, 1.0, x) * _PI
    return where(zero, 0.0, g * (px * px.cos() - px.sin()) / (px * where(zero, 1.0, x)))


sinc = _publish(special_unary("sinc", _sinc_kernel, _sinc_grad,
                              doc="sin(pi x) / (pi x), 1 at 0.", complex_ok=True), "sinc")


@takes_out
@method("mvlgamma")
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """Mirrors ``torch.mvlgamma``: the multivariate log-gamma of dimension p,
    ``p(p-1)/4 log(pi) + sum_i lgamma(x - i/2)`` (composed, so differentiable)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        input = input.to(_dtype.get_default_dtype())
    res = lgamma(input)
    for i in range(1, p):
        res = res + lgamma(input - i / 2)
    res = res + p * (p - 1) / 4 * math.log(_PI)
    return res





inplace(mvlgamma, "mvlgamma_")


# --- x * log(y) with 0 * log(0) = 0 ------------------------------------------------------------
def x_log_y(name: str, node: str, log_kernel: str, log_fn, input, other):
    """``input * log(other)`` (``log1p`` for xlog1py), 0 where input is 0 unless other is
    NaN; either operand may be a Python number; integers compute in the default float
    dtype. Gradients (PyTorch's): ``g * log(y)`` (0 where x = 0 and y = 0) and ``g * x / y``
    (``log1p(y)``, ``/(1 + y)`` for xlog1py)."""
    if not isinstance(input, Tensor):
        input = lhs_scalar(input, other)
    a, b, dt, dev = prep2(input, other)
    if dt.is_complex:
        raise NotImplementedError(f'"{name}_{dev.type}" not implemented for '
                                  f"'{dt.scalar_name}'")
    fdt = float_dtype_for(dt)
    be = dev._be
    xp = be.xp
    if fdt is not dt:
        a = be.astype(a, fdt)
        b = be.astype(b, fdt) if hasattr(b, "shape") else float(b)

    def kern(a, b):
        b = b if hasattr(b, "shape") else xp.asarray(b, dtype=a.dtype)
        return xp.where((a == 0) & ~xp.isnan(b), 0.0, a * getattr(xp, log_kernel)(b))
    res = wrap(xp.astype(apply2(kern, a, b), be.native_dtype(fdt)), fdt, dev)
    oth_t = isinstance(other, Tensor)
    if GRAD.enabled and (input._requires_grad or (oth_t and other._requires_grad)):
        def back(g):
            from .selection import where
            pole = 0.0 if log_kernel == "log" else -1.0
            gx = None
            if input._requires_grad:  # PyTorch: 0 where both x and log's argument are 0
                both = (input == 0) & (other == pole)
                gx = g * where(both, 0.0, log_fn(other))
            if not oth_t:
                return (gx,)
            dy = other if log_kernel == "log" else other + 1
            return gx, (g * input / dy if other._requires_grad else None)
        ins = (input, other) if oth_t else (input,)
        record(res, node, ins, back, saved=ins)
    return res


def _log(t):
    if isinstance(t, Tensor):
        return t.log()
    return math.log(t) if t > 0 else -math.inf if t == 0 else math.nan


@takes_out
@method("xlogy")
def xlogy(input, other) -> Tensor:
    """Mirrors ``torch.xlogy``: ``input * log(other)``, 0 where input is 0 (NaN other
    still gives NaN)."""
    return x_log_y("xlogy", "XlogyBackward0", "log", _log, input, other)


xlogy_ = inplace(xlogy, "xlogy_")
i0_, sinc_ = Tensor.i0_, Tensor.sinc_  # torch.i0_ and torch.sinc_ exist too
