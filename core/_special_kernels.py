"""Special-function kernels written once over an array-API namespace ``xp``: lgamma,
digamma, the Hurwitz zeta (and so polygamma), the modified Bessel functions I0/I1 (plain
and exponentially scaled) and erfcx. The array API has none of them.

Each takes and returns backend arrays of one real floating dtype and computes in float64
(half-precision inputs would lose everything; float32 would lose the last digits of the
cancelling Lanczos and Euler-Maclaurin sums). Methods: Lanczos (g=7, n=9) with reflection;
the digamma asymptotic series after shifting x past 10; Euler-Maclaurin for zeta as in
Cephes; power series below |x| = 20 and the Hankel asymptotic series above for I0/I1;
erfc-based erfcx with its asymptotic series for large x; ndtri by Acklam's rational
approximation polished with one Halley step on erfc.

These series are the generic default: where the backend of ``xp`` has a compiled library
of special functions (``Backend.special``: scipy.special on numpy, jax.scipy.special,
cupyx.scipy.special), each kernel calls it instead (:func:`_lib`), with PyTorch's values
put back where the library's conventions differ.
"""
from __future__ import annotations

import math

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lib(xp, name: str, a, *rest):
    """``name`` (scipy.special's name) from the backend's library of ``xp``, applied to a
    (and rest) in float64 and cast back to a's dtype (as the series compute: jax's float32
    erfcx, for one, underflows to 0 at x = 9.25); None where there is no library."""
    from .backends._special import native
    fn = native(xp, name)
    if fn is None:
        return None
    r = fn(*(r if r.dtype == xp.float64 else xp.astype(r, xp.float64) for r in (a, *rest)))
    return r if a.dtype == xp.float64 else xp.astype(r, a.dtype)


def _f64(xp, a):
    return a if a.dtype == xp.float64 else xp.astype(a, xp.float64)


def _back(xp, r, like):
    return r if like.dtype == xp.float64 else xp.astype(r, like.dtype)


def _lgamma_right(xp, x):
    """lgamma for x >= 0.5 (Lanczos)."""
    z = x - 1
    acc = _LANCZOS[0]
    for i in range(1, 9):
        acc = acc + _LANCZOS[i] / (z + i)
    t = z + 7.5
    return _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(acc)


def lgamma(xp, a):
    """log|Gamma(x)|; +inf at the poles (0, -1, -2, ...) and at -inf."""
    r = _lib(xp, "gammaln", a)
    if r is not None:
        return xp.where(a == -xp.inf, xp.inf, r)  # scipy: -inf there, PyTorch: inf
    x = _f64(xp, a)
    left = x < 0.5
    xr = xp.where(left, 1 - x, x)
    right = _lgamma_right(xp, xr)
    s = xp.abs(xp.sin(math.pi * x))
    refl = math.log(math.pi) - xp.log(s) - right
    r = xp.where(left, refl, right)
    pole = (x <= 0) & (x == xp.floor(x))
    r = xp.where(pole, xp.inf, r)
    r = xp.where((x == 1) | (x == 2), 0.0, r)  # exact zeros, as PyTorch's kernel gives
    r = xp.where(xp.isinf(x), xp.inf, r)  # ±inf: inf, as PyTorch
    return _back(xp, r, a)


def digamma(xp, a):
    """psi(x) = Gamma'(x) / Gamma(x); -inf at +0, +inf at -0, NaN at negative integers
    (PyTorch's conventions)."""
    r = _lib(xp, "digamma", a)
    if r is not None:  # at ±0 scipy gives -inf for both and jax nan: PyTorch's signs
        return xp.where(a == 0, xp.where(xp.signbit(a), xp.inf, -xp.inf), r)
    x = _f64(xp, a)
    left = x < 0.5
    xr = xp.where(left, 1 - x, x)
    shift = 0
    for k in range(10):
        shift = shift + 1 / (xr + k)
    y = xr + 10
    inv = 1 / (y * y)
    tail = inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (
        1 / 240 - inv * (1 / 132 - inv * (691 / 32760 - inv / 12))))))
    psi = xp.log(y) - 0.5 / y - tail - shift
    psi = xp.where(left, psi - math.pi / xp.tan(math.pi * x), psi)
    inf = xp.full(x.shape, xp.inf, dtype=x.dtype)
    psi = xp.where(x == 0, xp.where(xp.signbit(x), inf, -inf), psi)  # PyTorch's signs
    psi = xp.where((x < 0) & (x == xp.floor(x)), xp.nan, psi)
    return _back(xp, psi, a)


# Cephes' zeta: (2k)! / B_2k for the Euler-Maclaurin tail
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)


def zeta(xp, s_arr, q_arr):
    """The Hurwitz zeta ``sum_k (q + k)^-s`` (s > 1), Cephes' conventions: inf at s = 1
    and at non-positive integer q, NaN for s < 1 or for negative q with non-integer s."""
    s, q = _f64(xp, s_arr), _f64(xp, q_arr)
    s, q = xp.broadcast_arrays(s, q)
    acc = _lib(xp, "zeta", s, q)  # the conventions below put jax's edges right too
    if acc is None:
        acc = _zeta_series(xp, s, q)
    r = xp.where(s == 1, xp.inf, acc)
    r = xp.where(s < 1, xp.nan, r)
    q_int = q == xp.floor(q)
    r = xp.where((q <= 0) & q_int & ~(s < 1), xp.inf, r)  # Cephes' order: NaN s included
    r = xp.where((q < 0) & ~q_int & (s != xp.floor(s)), xp.nan, r)
    return _back(xp, r, s_arr if s_arr.dtype == q_arr.dtype else s)


def _zeta_series(xp, s, q):
    """Euler-Maclaurin for the Hurwitz zeta (float64 s, q of one shape)."""
    qmin = float(xp.min(q)) if q.size else 1.0
    n = max(9, math.floor(9 - qmin) + 1) if math.isfinite(qmin) else 9
    acc = 0
    for k in range(n):
        acc = acc + (q + k) ** (-s)
    w = q + n
    b = w ** (-s)
    acc = acc + w * b / (s - 1) + 0.5 * b  # the k = n term at half weight
    a = 1.0
    k = 0.0
    for coeff in _ZETA_A:
        a = a * (s + k)
        b = b / w
        acc = acc + a * b / coeff
        k += 1.0
        a = a * (s + k)
        b = b / w
        k += 1.0
    return acc


_SERIES_MAX = 20.0


def _bessel_series(xp, x, nu: int, terms: int = 90):
    """I_nu(x) by its power series (|x| <= 20): sum (x/2)^(2k+nu) / (k! (k+nu)!)."""
    y = x * x / 4
    t = (x / 2) ** nu / math.factorial(nu)
    acc = t
    for k in range(1, terms):
        t = t * y / (k * (k + nu))
        acc = acc + t
    return acc


def _bessel_scaled_asymptotic(xp, ax, nu: int, terms: int = 30):
    """I_nu(|x|) exp(-|x|) for |x| > 20 (Hankel's expansion)."""
    mu = 4.0 * nu * nu
    z = 8 * ax
    t = 1.0
    acc = 1.0
    for k in range(1, terms):
        t = -t * (mu - (2 * k - 1) ** 2) / (k * z)
        acc = acc + t
    return acc / xp.sqrt(2 * math.pi * ax)


def bessel_i(xp, a, nu: int, scaled: bool):
    """I0/I1 (``nu``) of x, times exp(-|x|) when ``scaled``."""
    r = _lib(xp, f"i{nu}{'e' if scaled else ''}", a)
    if r is not None:
        return r
    x = _f64(xp, a)
    ax = xp.abs(x)
    small = ax <= _SERIES_MAX
    xs = xp.where(small, x, 0.0)
    series = _bessel_series(xp, xs, nu)
    if scaled:
        series = series * xp.exp(-xp.abs(xs))
    big = xp.where(small, _SERIES_MAX + 1, ax)
    asym = _bessel_scaled_asymptotic(xp, big, nu)
    if not scaled:
        asym = asym * xp.exp(big)
    if nu == 1:
        asym = xp.where(x < 0, -asym, asym)
    return _back(xp, xp.where(small, series, asym), a)


def erfcx(xp, a, erfc):
    """exp(x^2) erfc(x): direct below x = 26, the asymptotic series above (where erfc
    underflows); ``erfc`` is the backend's kernel."""
    r = _lib(xp, "erfcx", a)
    if r is not None:
        return r
    x = _f64(xp, a)
    big = x >= 26
    xs = xp.where(big, 0.0, x)
    direct = xp.exp(xs * xs) * erfc(xs)
    xb = xp.where(big, x, 26.0)
    inv2 = 1 / (2 * xb * xb)
    series = (1 - inv2 * (1 - 3 * inv2 * (1 - 5 * inv2 * (1 - 7 * inv2)))) / (
        xb * math.sqrt(math.pi))
    return _back(xp, xp.where(big, series, direct), a)


_ACKLAM_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_ACKLAM_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00)


def _horner(coeffs, x):
    acc = coeffs[0]
    for c in coeffs[1:]:
        acc = acc * x + c
    return acc


def ndtri(xp, a, erfc):
    """The standard normal quantile: inf/-inf at 1/0, NaN outside [0, 1]."""
    r = _lib(xp, "ndtri", a)
    if r is not None:
        return r
    p = _f64(xp, a)
    inside = (p > 0) & (p < 1)
    ps = xp.where(inside, p, 0.5)
    low = xp.minimum(ps, 1 - ps)  # the tail probability (symmetric)
    q = xp.sqrt(-2 * xp.log(xp.where(low < 0.02425, low, 0.01)))
    tail = _horner(_ACKLAM_C, q) / (_horner(_ACKLAM_D, q) * q + 1)
    c = ps - 0.5
    r = c * c
    central = _horner(_ACKLAM_A, r) * c / (_horner(_ACKLAM_B, r) * r + 1)
    x = xp.where(low < 0.02425, xp.where(ps < 0.5, tail, -tail), central)
    # one Halley step on ndtr(x) - p (erfc keeps the tails' relative accuracy)
    e = xp.where(ps > 0.5, (1 - ps) - 0.5 * erfc(x / math.sqrt(2)),
                 0.5 * erfc(-x / math.sqrt(2)) - ps)
    u = e * math.sqrt(2 * math.pi) * xp.exp(x * x / 2)
    x = x - u / (1 + x * u / 2)
    x = xp.where(p == 0, -xp.inf, xp.where(p == 1, xp.inf, x))
    return _back(xp, xp.where(inside | (p == 0) | (p == 1), x, xp.nan), a)
