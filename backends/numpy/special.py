"""The numpy backend's special functions: ``scipy.special``'s compiled ufuncs (Cephes and
friends) for erf, erfc, erfinv, lgamma, digamma, zeta, the Bessel I0/I1 pair, erfcx and
ndtri, plus a vectorized float32 erf for the hot path of exact GELU.

Why a float32 erf of our own: ``scipy.special.erf`` evaluates Cephes' scalar code per
element (~15-30 ns each here: 6-12 ms for the 393k activations of one GELU in a small GPT,
where PyTorch's vectorized kernel takes 0.5-0.9 ms). numexpr, tried as the fused
alternative, took 11 ms (it has no erf, and the polynomial it evaluates runs in float64;
with float32 constants it stays float32 but its virtual machine is not vectorized: a
degree-10 polynomial over 393k float32 took 3.2 ms). The kernel below is ~40 passes of
plain numpy ufuncs over float32 arrays and one ``exp``, over blocks of ``BLOCK`` elements
so that every pass after the first reads and writes cache (each pass is then ~7 us
per 64k elements, bound by the cache's bandwidth, plus ~1 us of call overhead):

- ``erf(x) = x · P(x²)`` at ``s = min(|x|, 1)``, P a degree-6 fit of ``erf(√s)/√s`` on
  [0, 1] (relative error 3e-9 in float64);
- ``erf(|x|) = 1 - exp(-x²) · Q(1/|x|)`` at ``l = clip(|x|, 1, 4)``, Q a degree-7 fit of
  ``erfcx`` in ``1/|x|`` over [1, 4] weighted by ``exp(-x²)`` (absolute error in erf below
  1e-8; past 3.92 float32's erf is 1, and erfc(4) = 1.5e-8 rounds to it).

Both branches run over the whole block on clipped arguments (so neither overflows nor
divides by zero, and masked gathers, which cost 20x a pass, are not needed); the result
is picked by a bit mask made from |x|'s bits (``(bits - bits(1)) >> 31``: all ones where
|x| < 1) and takes x's sign bit (``np.copysign`` costs 7 passes here). Accuracy against
float64 over [-12, 12] and 1e-38..10: max absolute error 1.3e-7 (2 float32 ulp near
erf = 0.84; PyTorch's own float32 erf: 3e-8), 3.1e-8 for |x| > 2 (as PyTorch's), relative
error 1.7e-7 for |x| < 0.5; ±inf → ±1, nan → nan, ±0 → ±0. Large arrays are split across
the backend's threads, each piece blocked.
"""
from __future__ import annotations

import numpy as np

from . import _threads
from .conv import scratch

__all__ = ["BLOCK", "ScipySpecial", "erf_float32", "gelu_backward_float32", "gelu_float32"]

_P = tuple(np.float32(c) for c in (
    1.12837916606663, -0.3761262698192625, 0.11283595128605128, -0.026854167255142305,
    0.005188932947850778, -0.000801510262898725, 7.869104645115016e-05))
_Q = tuple(np.float32(c) for c in (
    0.00020855192083630352, 0.5590206341980161, 0.04633760973409776, -0.497230915977145,
    0.5672958398919802, -0.3504327964580718, 0.12050324001895035, -0.01811858790500172))
_ZERO, _ONE, _FOUR = np.float32(0), np.float32(1), np.float32(4)
_SIGN = np.uint32(0x80000000)
_ONE_BITS = np.int32(0x3F800000)  # 1.0f: non-negative floats order as their bits

#: elements per block: the block's float32 arrays stay in a core's L2 or the shared L3;
#: erf over 393k elements at one thread, 2**15: 2.5 ms, 2**16: 2.2-2.4 ms, 2**17:
#: 2.1-2.2 ms, whole-array passes 2.5-2.7 ms (the machine under load); exact GELU forward
#: and backward over (12, 64, 512), A/B in one process (CPU time, medians of 20): 2**15:
#: 4.46 ms, 2**16: 4.43-4.48, 2**17: 4.13, 2**18: 4.31 (fewer numpy calls per element)
BLOCK = 1 << 17


def _horner(coeffs, v, out):
    np.multiply(v, coeffs[-1], out=out)
    out += coeffs[-2]
    for c in coeffs[-3::-1]:
        out *= v
        out += c
    return out


def _erf_piece(x, out, a, s, q, w):
    """erf of float32 x (1-d) into out; a, s, q, w: work arrays of x's size."""
    np.abs(x, out=a)
    np.clip(a, _ZERO, _ONE, out=s)
    np.multiply(s, s, out=q)
    _horner(_P, q, out)
    out *= s                              # the small branch at min(|x|, 1)
    np.clip(a, _ONE, _FOUR, out=s)        # the large branch at |x| clipped to [1, 4]
    m = a.view(np.int32)                  # |x| is no longer needed: its bits become the
    np.subtract(m, _ONE_BITS, out=m)      # mask, all ones where |x| < 1 (nan: none)
    np.right_shift(m, 31, out=m)
    np.divide(_ONE, s, out=q)
    _horner(_Q, q, w)
    np.multiply(s, s, out=s)
    np.exp(s, out=s)
    w /= s
    np.subtract(_ONE, w, out=w)           # 1 - exp(-x²) Q(1/|x|)
    u, wu = out.view(np.uint32), w.view(np.uint32)
    np.bitwise_xor(u, wu, out=u)          # large ^ ((large ^ small) & mask)
    u &= m.view(np.uint32)
    u ^= wu
    np.bitwise_and(x.view(np.uint32), _SIGN, out=wu)
    u |= wu                               # x's sign bit


def erf_float32(x):
    """erf of a float32 array (a new float32 array of the same shape)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.size
    out = np.empty(n, np.float32)
    work = [scratch.get((n,), np.float32) for _ in range(4)]

    def block(b, e):
        _erf_piece(flat[b:e], out[b:e], *(w[b:e] for w in work))
    with np.errstate(all="ignore"):  # nan in, nan out: no warnings
        _threads.blocked(n, BLOCK, block)
    return out.reshape(x.shape)


_SQRT_HALF = np.float32(np.sqrt(0.5))
_HALF, _NEG_HALF = np.float32(0.5), np.float32(-0.5)
_INV_SQRT_2PI = np.float32(1.0 / np.sqrt(2.0 * np.pi))


def _contiguous_float32(*arrays) -> bool:
    return all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays) and \
        len({a.shape for a in arrays}) == 1


def gelu_float32(x):
    """``Backend.gelu`` for a C-contiguous float32 array: ``(x Φ(x), Φ(x))`` in one blocked
    sweep (x / √2, its erf, Φ and the product made while a block is in cache, split over
    threads), bit for bit the generic formulas (0.5 e + 0.5 rounds as 0.5 (1 + e)).
    None for other arrays."""
    if not _contiguous_float32(x):
        return None
    flat = x.reshape(-1)
    n = flat.size
    y, cdf = np.empty(n, np.float32), np.empty(n, np.float32)
    work = [scratch.get((n,), np.float32) for _ in range(5)]

    def block(b, e):
        u, *rest = (w[b:e] for w in work)
        np.multiply(flat[b:e], _SQRT_HALF, out=u)
        c = cdf[b:e]
        _erf_piece(u, c, *rest)
        c *= _HALF
        c += _HALF
        np.multiply(flat[b:e], c, out=y[b:e])
    with np.errstate(all="ignore"):
        _threads.blocked(n, BLOCK, block)
    return y.reshape(x.shape), cdf.reshape(x.shape)


def gelu_backward_float32(g, x, cdf):
    """``Backend.gelu_backward`` for C-contiguous float32 arrays of one shape: ``g (Φ +
    x exp(-x²/2) / √(2π))`` in one blocked, threaded sweep with one block-sized temporary
    (the generic formulas bit for bit). None for other arrays."""
    if not _contiguous_float32(g, x, cdf):
        return None
    fg, fx, fc = g.reshape(-1), x.reshape(-1), cdf.reshape(-1)
    n = fx.size
    out = np.empty(n, np.float32)

    def block(b, e):
        xb, t = fx[b:e], out[b:e]
        np.multiply(xb, xb, out=t)
        t *= _NEG_HALF
        np.exp(t, out=t)
        t *= _INV_SQRT_2PI
        t *= xb
        t += fc[b:e]
        t *= fg[b:e]
    with np.errstate(all="ignore"):
        _threads.blocked(n, BLOCK, block)
    return out.reshape(x.shape)


class ScipySpecial:
    """``scipy.special``'s ufuncs taking and returning the input's float dtype: float32 and
    float64 as they are (scipy's float32 loops compute in double), narrower floats
    (float16, bfloat16) through float32. Attribute names are scipy's (``gammaln``, ``psi``,
    ``zeta``, ``i0e``...)."""

    def __init__(self):
        import scipy.special
        self._lib = scipy.special
        # (not cached under "erf": that instance attribute would shadow erf() below and
        # send float32 to scipy's scalar loop after the first float64 call)
        self._scipy_erf = self._wrap("erf")

    def __getattr__(self, name: str):
        call = self._wrap(name)
        setattr(self, name, call)  # later lookups skip __getattr__
        return call

    def _wrap(self, name: str):
        fn = getattr(self._lib, name)

        def call(x, *rest):
            dt = x.dtype
            if dt.itemsize < 4:  # float16 / bfloat16
                x = x.astype(np.float32)
                rest = tuple(r.astype(np.float32) if hasattr(r, "astype") else r
                             for r in rest)
            r = fn(x, *rest)
            return r.astype(dt, copy=False)
        call.__name__ = name
        return call

    def erf(self, x):
        if x.dtype == np.float32:
            return erf_float32(x)
        return self._scipy_erf(x)
