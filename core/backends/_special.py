"""Generic erf, erfc and erfinv over an array-API namespace (the standard has none), and
:func:`native`, which finds a backend's compiled special functions.

The series below are the defaults behind :meth:`Backend.erf` / ``erfc`` / ``erfinv`` for
a backend without a library of special functions; a backend that has one sets
``Backend.special`` (``scipy.special`` on numpy, ``jax.scipy.special``,
``cupyx.scipy.special``) and those methods, and the kernels of ``ember._special_kernels``
(lgamma, digamma, zeta, I0/I1, erfcx, ndtri), use it instead.
Everything is computed in float64 and cast back, accurate to a few ulp in float64; float32
and narrower inputs stop the series early, at their own precision.

- ``|x| < 0.5``: erf's Maclaurin series (exact coefficients, alternating but well scaled).
- ``|x| >= 0.5``: ``erfc(x) = exp(-x²) · g(x) / (x √π)`` where ``g(x) = x √π e^{x²} erfc(x)``
  tends smoothly to 1; ``g`` is a Chebyshev series in ``t = (x - 2) / (x + 2)`` (the map
  folds [0.5, ∞) onto [-0.6, 1)). ``exp(-x²)`` splits x into high and low halves so that
  ``x²`` is formed exactly (otherwise its rounding costs x² ulp of relative error).
- ``erfinv``: an elementary first guess (Winitzki's closed form, or the series near 0), then
  two Halley steps on ``erf(x) = y``, written as ``erfc(x) = 1 - y`` when ``|y| > 0.5`` so
  the residual keeps its precision near ±1.

No step divides by zero or takes the log of a negative number: inputs are clamped first and
the special values (±1, |y| > 1, nan, ±inf) are put back at the end, so numpy never warns.
"""
from __future__ import annotations

import math

__all__ = ["erf", "erfc", "erfinv", "native"]

_SPECIAL_BY_XP: dict = {}


def native(xp, name: str):
    """The compiled special function ``name`` (scipy.special's name) of the backend whose
    array namespace is ``xp``, or None where that backend has no such library (then the
    generic series serve). Looked up once per namespace among the loaded backends."""
    try:
        lib = _SPECIAL_BY_XP[id(xp)][1]
    except KeyError:
        from .registry import backends
        lib = None
        for be in backends():
            if getattr(be, "xp", None) is xp:
                lib = be.special
                if lib is not None:
                    break
        _SPECIAL_BY_XP[id(xp)] = (xp, lib)  # xp kept alive, so its id stays its own
    return None if lib is None else getattr(lib, name, None)

# Chebyshev coefficients of g(x) = x·√π·exp(x²)·erfc(x) on x in [0.5, ∞), in
# u = 1.25·(x - 2)/(x + 2) - 0.25 ∈ [-1, 1); computed for ember with mpmath at 40 digits
# (30 nodes, truncated where the terms fall below 1e-16). Max relative error 3e-16.
_G = (0.864941896083157, 0.20569200291824805, -0.08955848390215104, 0.02154734830098513,
      -0.002622937115635261, -5.829535508626329e-05, 6.18461320052149e-05,
      -1.7950956546311663e-06, -1.696939915065183e-06, 5.8926827733345075e-08,
      5.828697974501749e-08, 6.859170554507286e-11, -2.2422292584504873e-09,
      -1.6080861269260374e-10, 8.249238980181876e-11, 1.533810473690298e-11,
      -2.162062631693531e-12, -1.0124892513163869e-12, -2.6439020745930822e-14,
      4.904708685076435e-14, 9.000955590280804e-15, -1.2454313038701792e-15,
      -7.290115514361476e-16, -5.956821902029855e-17)
# erf(x) = x · Σ_n _T[n] · x^(2n): 2/√π · (-1)^n / (n! (2n + 1))
_T = tuple(2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
           for n in range(13))
# how many terms float64 needs, and float32 and narrower (~1e-9 relative)
_FULL, _SHORT = (24, 13), (11, 8)
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, halves a double's significand
_RSQRTPI = 1 / math.sqrt(math.pi)


def _f64(xp, x):
    """x in float64, and the (Chebyshev, Maclaurin) term counts its own precision needs."""
    if x.dtype == xp.float64:
        return x, *_FULL
    return xp.astype(x, xp.float64), *_SHORT


def _taylor(xp, a, nt):
    """erf(a) for |a| < 0.5."""
    z = a * a
    s = _T[nt - 1]
    for c in _T[nt - 2::-1]:
        s = s * z + c
    return a * s


def _erfc_pos(xp, a, ng):
    """erfc(a) for a >= 0.5 (a already clamped to at most 30, where erfc underflows)."""
    u = 1.25 * (a - 2.0) / (a + 2.0) - 0.25
    u2 = 2.0 * u
    b1 = b2 = 0.0
    for c in _G[ng - 1:0:-1]:
        b1, b2 = u2 * b1 - b2 + c, b1
    g = u * b1 - b2 + _G[0]
    s = a * _SPLIT
    hi = s - (s - a)
    lo = a - hi
    return xp.exp(-hi * hi) * xp.exp(-(2.0 * hi + lo) * lo) * g * _RSQRTPI / a


def _parts(xp, x, ng, nt):
    """(|x| clamped, erf(|x|), erfc(|x|)) for float64 x; nan stays nan."""
    a = xp.minimum(xp.abs(x), 30.0)
    small = a < 0.5
    e_small = _taylor(xp, xp.where(small, a, 0.0), nt)
    c_big = _erfc_pos(xp, xp.where(small, 1.0, a), ng)
    return a, xp.where(small, e_small, 1.0 - c_big), xp.where(small, 1.0 - e_small, c_big)


def erf(xp, x):
    """erf, elementwise (float input, same dtype out)."""
    x64, ng, nt = _f64(xp, x)
    _, e, _ = _parts(xp, x64, ng, nt)
    return xp.astype(xp.where(x64 < 0, -e, e), x.dtype)


def erfc(xp, x):
    """erfc, elementwise (float input, same dtype out)."""
    x64, ng, nt = _f64(xp, x)
    _, _, c = _parts(xp, x64, ng, nt)
    return xp.astype(xp.where(x64 < 0, 2.0 - c, c), x.dtype)


def erfinv(xp, y):
    """The inverse of erf on [-1, 1] (±inf at ±1, nan outside), elementwise."""
    y64, ng, nt = _f64(xp, y)
    a = xp.abs(y64)
    inside = a < 1.0
    a = xp.where(inside, a, 0.5)              # park the special values at a harmless point
    one_minus = 1.0 - a                        # exact for a >= 0.5
    # first guess: the series near 0, Winitzki's closed form elsewhere (~1e-4 relative)
    ln = xp.log(one_minus * (1.0 + a))
    k = 2.0 / (math.pi * 0.147) + 0.5 * ln
    wz = xp.sqrt(xp.maximum(xp.sqrt(k * k - ln / 0.147) - k, 0.0))
    x = xp.where(a < 0.1, a * (math.sqrt(math.pi) / 2) * (1.0 + math.pi / 12 * a * a), wz)
    big = a > 0.5
    for _ in range(2):
        _, e, c = _parts(xp, x, ng, nt)
        f = xp.where(big, one_minus - c, e - a)  # erf(x) - a, kept precise near 1
        d = (2 * _RSQRTPI) * xp.exp(-x * x)
        x = x - f / (d + x * f)
    ay = xp.abs(y64)
    x = xp.where(inside, x, xp.where(ay == 1.0, math.inf, xp.full_like(x, math.nan)))
    return xp.astype(xp.where(y64 < 0, -x, x), y.dtype)
