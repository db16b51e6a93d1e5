"""``ember.special``: mirrors ``torch.special``.

The functions ember also has at the top level are the same objects (``special.expit`` is
``ember.sigmoid``, ``special.gammaln`` is ``ember.lgamma``, ...); the rest are defined
here on the same elementwise machinery, with their derivatives beside them in Tensor ops.
Not provided: the Bessel J/Y and K families, Airy, the orthogonal polynomials and
``gammainc``/``gammaincc``.
"""
from __future__ import annotations

import math

from .ops._register import takes_out as _takes_out
from . import _special_kernels as K
from .ops._register import finalize as _finalize
from ._tensor import Tensor
from .ops import elementwise as _ew
from .ops import special_math as _sm
from .ops.selection import where as _where

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "sinc", "softmax", "xlog1py", "xlogy", "zeta"]

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2 * math.pi)
_2_SQRTPI = 2 / math.sqrt(math.pi)

# --- the same functions as ember.<name> -------------------------------------------------------
erf, erfc, erfinv = _ew.erf, _ew.erfc, _ew.erfinv
exp2, expm1, log1p = _ew.exp2, _ew.expm1, _ew.log1p
expit, logit = _ew.sigmoid, _ew.logit
gammaln, digamma, psi = _sm.lgamma, _sm.digamma, _sm.digamma
polygamma, multigammaln, i0, sinc, xlogy = (_sm.polygamma, _sm.mvlgamma, _sm.i0, _sm.sinc,
                                            _sm.xlogy)


@_takes_out
def round(input: Tensor) -> Tensor:
    """Mirrors ``torch.special.round`` (``torch.round``)."""
    return _ew.round(input)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Mirrors ``torch.special.softmax``."""
    from .ops.softmax import softmax as _softmax
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Mirrors ``torch.special.log_softmax``."""
    from .ops.softmax import log_softmax as _log_softmax
    return _log_softmax(input, dim, dtype=dtype)


@_takes_out
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """Mirrors ``torch.special.logsumexp``."""
    from .ops.softmax import logsumexp as _lse
    res = _lse(input, dim, keepdim)
    return res


# --- defined here ------------------------------------------------------------------------------
def _entr_kernel(be, a):
    xp = be.xp
    pos = xp.where(a > 0, a, 1.0)
    r = xp.where(a > 0, -a * xp.log(pos), 0.0)
    return xp.where(a < 0, -xp.inf, xp.where(xp.isnan(a), a, r))


entr = _sm.special_unary("entr", _entr_kernel, lambda g, x, y: g * -(1 + x.log()),
                         node="SpecialEntrBackward0",
                         doc="-x ln x (0 at 0, -inf for x < 0).")


def _i1e_grad(x: Tensor) -> Tensor:
    """I1e'(x) = I0e(x) - I1e(x) (sign(x) + 1/x), 1/2 at 0."""
    zero = x == 0
    safe = _where(zero, 1.0, x)
    return _where(zero, 0.5, i0e(x) - i1e(x) * (x.sign() + 1 / safe))


i0e = _sm.special_unary("i0e", lambda be, a: K.bessel_i(be.xp, a, 0, True),
                        lambda g, x, y: g * (i1e(x) - x.sign() * y), "xy",
                        node="SpecialI0EBackward0", doc="I0(x) exp(-|x|).")
i1 = _sm._i1
i1.__doc__ = "Mirrors ``torch.special.i1``: the modified Bessel function I1."
i1e = _sm.special_unary("i1e", lambda be, a: K.bessel_i(be.xp, a, 1, True),
                        lambda g, x, y: g * _i1e_grad(x), node="SpecialI1EBackward0",
                        doc="I1(x) exp(-|x|).")
erfcx = _sm.special_unary("erfcx", lambda be, a: K.erfcx(be.xp, a, be.erfc),
                          lambda g, x, y: g * (2 * x * y - _2_SQRTPI), "xy",
                          node="SpecialErfcxBackward0", doc="exp(x^2) erfc(x).")
ndtr = _sm.special_unary("ndtr", lambda be, a: 0.5 * be.erfc(-a / _SQRT2),
                         lambda g, x, y: g * (-0.5 * x * x).exp() / _SQRT_2PI,
                         node="SpecialNdtrBackward0",
                         doc="The standard normal CDF.")
ndtri = _sm.special_unary("ndtri", lambda be, a: K.ndtri(be.xp, a, be.erfc),
                          lambda g, x, y: g * _SQRT_2PI * (0.5 * y * y).exp(), "y",
                          node="SpecialNdtriBackward0",
                          doc="The standard normal quantile (inverse of ndtr).")


def _log_ndtr_kernel(be, a):
    xp = be.xp
    neg = a < -1
    xn = xp.where(neg, a, -2.0)
    low = xp.log(K.erfcx(xp, -xn / _SQRT2, be.erfc) / 2) - xn * xn / 2
    xpos = xp.where(neg, 0.0, a)
    high = xp.log1p(-0.5 * be.erfc(xpos / _SQRT2))
    return xp.where(neg, low, high)


log_ndtr = _sm.special_unary("log_ndtr", _log_ndtr_kernel,
                             lambda g, x, y: g * (-0.5 * x * x - y).exp() / _SQRT_2PI, "xy",
                             node="SpecialLogNdtrBackward0",
                             doc="log of the standard normal CDF, accurate far into the tails.")


@_takes_out
def xlog1py(input, other) -> Tensor:
    """Mirrors ``torch.special.xlog1py``: ``input * log1p(other)``, 0 where input is 0."""
    def log1p_fn(t):
        if isinstance(t, Tensor):
            return t.log1p()
        return math.log1p(t) if t > -1 else -math.inf if t == -1 else math.nan
    return _sm.x_log_y("xlog1py", "SpecialXlog1PyBackward0", "log1p", log1p_fn, input, other)


@_takes_out
def zeta(input, other) -> Tensor:
    """Mirrors ``torch.special.zeta``: the Hurwitz zeta ``sum_k (other + k)^-input``.
    Differentiable in ``other`` (``-input zeta(input + 1, other)``) only, as in PyTorch."""
    from ._creation import tensor as _tensor
    from ._dtype import result_dtype
    from .autograd.grad_mode import STATE
    from .autograd.graph import record
    from .ops._util import float_dtype_for, same_device, wrap
    ref = input if isinstance(input, Tensor) else other
    x = input if isinstance(input, Tensor) else _tensor(input, device=ref._device)
    q = other if isinstance(other, Tensor) else _tensor(other, device=ref._device)
    dev = same_device(x, q)
    dt = float_dtype_for(result_dtype(tuple(t for t in (input, other) if isinstance(t, Tensor)),
                                      tuple(t for t in (input, other)
                                            if not isinstance(t, Tensor))))
    be = dev._be
    xa, qa = be.astype(x._data, dt), be.astype(q._data, dt)
    try:
        data = K.zeta(be.xp, xa, qa)
    except ValueError:
        from .ops._register import broadcast_fail
        broadcast_fail(xa, qa)
        raise
    res = wrap(be.astype(data, dt), dt, dev)
    if STATE.enabled and (x._requires_grad or q._requires_grad):
        def back(g):
            if x._requires_grad:
                raise NotImplementedError("the derivative for 'zeta' is not implemented.")
            return None, g * -x * zeta(x + 1, q)
        record(res, "SpecialZetaBackward0", (x, q), back, saved=(x, q))
    return res


# out= is honoured in one place: every public function here that declares it (the op kit)
_finalize(globals(), "special_")
