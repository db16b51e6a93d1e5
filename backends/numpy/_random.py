"""PyTorch's CPU random kernels over its mt19937 stream (``ember._mt19937``), so that after
``manual_seed(s)`` the numpy backend draws PyTorch 2.x's numbers.

Each function mirrors one ATen CPU kernel (aten/src/ATen/native/cpu/DistributionTemplates.h,
core/DistributionsHelper.h, core/TransformationHelper.h, native/TensorFactories.cpp) and
draws the words in the order its serial loop does, but whole arrays at a time through
``random_raw``:

* uniform: ``random()`` (float, half types: 24 bits) or ``random64()`` (double: 53 bits)
  masked and scaled; half types round the float draw and map a rounded-up ``to`` to ``from``.
* normal, >= 16 elements: ``normal_fill``: all uniforms first, then Box-Muller on blocks of
  16 (u1 = 1 - data[j], u2 = data[j + 8]), the tail redrawn as one more block over the last
  16. float (and the half types, computed in float) use avx_mathfun's cephes
  ``log256_ps``/``sincos256_ps`` (PyTorch dispatches its AVX2 kernel on AVX512 machines too),
  ported here operation by operation in float32; double uses libm-accurate numpy functions.
* normal, < 16 elements: ``normal_distribution<double>`` one at a time, caching the second
  Box-Muller sample in the generator (part of its state, as in PyTorch).
* integers in [low, high): ``random() % range`` (``random64()`` once range >= 2**28).
* bernoulli: ``uniform < p`` (double draws for a scalar p, float draws for a float tensor p).
  On Intel CPUs PyTorch's MKL build draws a scalar p from MKL's MCG31 stream seeded with
  one ``random()`` (bernoulli_scalar_kernel); ``_mcg31`` follows MKL's documented recurrence
  and ``u < p``, but has not been checked against an Intel machine (the oracle here runs
  on AMD, where PyTorch takes the double-draw path above).
* exponential: ``-1/lambda * log1p(-u)`` on double uniforms.
* randperm: the forward Fisher-Yates swap with ``random() % (n - i)``.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ember._mt19937 import TorchCPUGenerator

_U64 = np.uint64
_F32 = np.float32


# --- uniform words → floats ---------------------------------------------------------------

def _unit_float(words) -> np.ndarray:
    """uniform_real_distribution<float>(0, 1): 24 low bits × 2**-24, in float32."""
    return (words & _U64(0xFFFFFF)).astype(_F32) * _F32(2.0 ** -24)


def _unit_double(g: TorchCPUGenerator, n: int) -> np.ndarray:
    """uniform_real_distribution<double>(0, 1) on random64(): 53 low bits × 2**-53."""
    return (g.random64s(n) & _U64((1 << 53) - 1)).astype(np.float64) * (2.0 ** -53)


def _fma(a, b, c):
    """float32 fma(a, b, c) of arrays or scalars: see _fma32. GCC contracts avx_mathfun's
    ``_mm256_add_ps(_mm256_mul_ps(a, b), c)`` pairs into fmas (-ffp-contract=fast)."""
    r = np.multiply(a, b, dtype=np.float64)  # exact: 24 + 24 bits of product fit in 53
    r = np.add(r, c, out=r) if isinstance(r, np.ndarray) else r + np.float64(c)
    return r.astype(_F32)


def _fma32(a, b, c):
    """float32 fma(a, b, c): a*b is exact in float64, one rounding of the sum to float32
    (a double rounding, off by one ulp only on exact ties of the float64 sum)."""
    return (a.astype(np.float64) * np.float64(b) + np.float64(c)).astype(_F32)


def _split(a):
    t = a * 134217729.0  # 2**27 + 1: Dekker's split into two 26-bit halves
    hi = t - (t - a)
    return hi, a - hi


def _fma64(a, b, c):
    """float64 fma(a, b, c) by error-free transformations (Dekker's product, Knuth's
    sum): the product's exact error joins the sum's before the last rounding."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + e)


@functools.lru_cache(maxsize=None)
def _libm(name: str):
    """A numpy-callable libm function (``math``'s): numpy's own SIMD float64 log/sin/cos
    differ from glibc's in the last bit for a few inputs in a thousand, and PyTorch's
    scalar kernels call glibc."""
    f = np.frompyfunc(getattr(math, name), 1, 1)
    return lambda x: f(x).astype(np.float64)


def uniform(g: TorchCPUGenerator, n: int, nat: np.dtype, low: float, high: float):
    """PyTorch's uniform_kernel for a float dtype ``nat`` (numpy dtype)."""
    if nat == np.float64:
        x = _unit_double(g, n)
        return x if (low, high) == (0.0, 1.0) else _fma64(x, high - low, low)
    x = _unit_float(g.words(n))
    lo, hi = _F32(low), _F32(high)
    if (low, high) != (0.0, 1.0):
        x = _fma32(x, hi - lo, lo)  # GCC contracts x * (to - from) + from into an fma
    if nat == np.float32:
        return x
    out = x.astype(nat)  # half types: draw in float, round, keep [from, to)
    to = np.asarray(high, dtype=nat)
    if np.any(out == to):
        out = np.where(out == to, np.asarray(low, dtype=nat), out)
    return out


# --- normal --------------------------------------------------------------------------------

def _i32(x):
    return x.view(np.int32)


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """avx_mathfun's ``log256_ps`` (cephes logf) for x > 0, in float32."""
    c = _cephes
    x = np.maximum(x, np.array(0x00800000, np.int32).view(_F32))
    bits = _i32(x)
    imm0 = (bits.view(np.uint32) >> 23).astype(np.int32) - 0x7F
    x = ((bits & np.int32(~0x7F800000)) | _i32(_F32(0.5))).view(_F32)
    e = imm0.astype(_F32) + _F32(1)
    mask = x < c["SQRTHF"]
    tmp = np.where(mask, x, _F32(0))
    x = x - _F32(1)
    e = e - np.where(mask, _F32(1), _F32(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, c["log_p0"])
    for k in ("log_p1", "log_p2", "log_p3", "log_p4", "log_p5", "log_p6", "log_p7",
              "log_p8"):
        y = _fma(y, x, c[k])
    y = y * x
    y = _fma(y, z, e * c["log_q1"])
    y = _fma(z, _F32(-0.5), y)
    x = x + y
    return _fma(e, c["log_q2"], x)


def _sincos256_ps(x: np.ndarray):
    """avx_mathfun's ``sincos256_ps`` (cephes sinf/cosf) in float32: (sin, cos)."""
    c = _cephes
    sign_sin = _i32(x) & np.int32(-0x80000000)
    x = np.abs(x)
    y = x * c["FOPI"]
    j = y.astype(np.int32)  # cvttps: truncation
    j = (j + 1) & ~1
    y = j.astype(_F32)
    swap_sin = (j & 4) << 29
    poly = (j & 2) == 0
    x = _fma(y, c["mDP1"], x)
    x = _fma(y, c["mDP2"], x)
    x = _fma(y, c["mDP3"], x)
    sign_cos = (~(j - 2) & 4) << 29
    sign_sin = sign_sin ^ swap_sin
    z = x * x
    yc = _fma(z, c["coscof_p0"], c["coscof_p1"])
    yc = _fma(yc, z, c["coscof_p2"])
    yc = yc * z
    yc = _fma(yc, z, -(z * _F32(0.5)))
    yc = yc + _F32(1)
    ys = _fma(z, c["sincof_p0"], c["sincof_p1"])
    ys = _fma(ys, z, c["sincof_p2"])
    ys = ys * z
    ys = _fma(ys, x, x)
    s = np.where(poly, ys, yc)
    co = np.where(poly, yc, ys)
    return (_i32(s) ^ sign_sin).view(_F32), (_i32(co) ^ sign_cos).view(_F32)


_cephes = {k: _F32(v) for k, v in dict(
    SQRTHF=0.707106781186547524, log_p0=7.0376836292E-2, log_p1=-1.1514610310E-1,
    log_p2=1.1676998740E-1, log_p3=-1.2420140846E-1, log_p4=1.4249322787E-1,
    log_p5=-1.6668057665E-1, log_p6=2.0000714765E-1, log_p7=-2.4999993993E-1,
    log_p8=3.3333331174E-1, log_q1=-2.12194440e-4, log_q2=0.693359375,
    mDP1=-0.78515625, mDP2=-2.4187564849853515625e-4, mDP3=-3.77489497744594108e-8,
    sincof_p0=-1.9515295891E-4, sincof_p1=8.3321608736E-3, sincof_p2=-1.6666654611E-1,
    coscof_p0=2.443315711809948E-005, coscof_p1=-1.388731625493765E-003,
    coscof_p2=4.166664568298827E-002, FOPI=1.27323954473516).items()}


def _box_muller16_f32(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """NormalFill16<float> (AVX2) on rows of 16 uniforms: shape (k, 16) → (k, 16)."""
    u1 = _F32(1) - d[:, :8]
    u2 = d[:, 8:]
    radius = np.sqrt(_F32(-2) * _log256_ps(u1))
    theta = _F32(2.0 * math.pi) * u2
    s, c = _sincos256_ps(theta)
    n1, n2 = radius * c, radius * s
    out = np.empty_like(d)
    if (mean, std) == (0.0, 1.0):
        out[:, :8], out[:, 8:] = n1, n2
    else:
        out[:, :8], out[:, 8:] = _fma32(n1, _F32(std), _F32(mean)), \
            _fma32(n2, _F32(std), _F32(mean))
    return out


def _box_muller16_f64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """NormalFill16<double> (the scalar template) on rows of 16 uniforms."""
    u1 = 1.0 - d[:, :8]
    u2 = d[:, 8:]
    radius = np.sqrt(-2.0 * _libm("log")(u1))
    theta = 2.0 * math.pi * u2
    out = np.empty_like(d)
    out[:, :8] = _fma64(radius * _libm("cos")(theta), std, mean)
    out[:, 8:] = _fma64(radius * _libm("sin")(theta), std, mean)
    return out


_BM_ROWS = 2048  # Box-Muller rows per block: its ~40 temporaries of a block fit in L2


def _normal_fill(g: TorchCPUGenerator, n: int, double: bool, mean: float, std: float,
                 half: bool = False):
    """normal_fill: float/double draw all n uniforms first; the half types (computed in
    float) draw block by block, so their tail block follows the full blocks' draws."""
    draw = (lambda k: _unit_double(g, k)) if double else (lambda k: _unit_float(g.words(k)))
    bm = _box_muller16_f64 if double else _box_muller16_f32
    full = n // 16 * 16
    data = draw(full if half else n)
    out = np.empty(n, dtype=data.dtype)
    rows, dst = data[:full].reshape(-1, 16), out[:full].reshape(-1, 16)
    for i in range(0, len(rows), _BM_ROWS):  # blocks that stay in cache: ~2x faster
        dst[i:i + _BM_ROWS] = bm(rows[i:i + _BM_ROWS], mean, std)
    if n % 16:
        out[n - 16:] = bm(draw(16).reshape(1, 16), mean, std).reshape(-1)
    return out


def _normal_small(g: TorchCPUGenerator, n: int, mean: float, std: float) -> np.ndarray:
    """n draws of normal_distribution<double> (the kernel for < 16 elements): Box-Muller on
    two doubles (u1 the angle, u2 the radius), the sine cached in the generator for the next
    draw; each sample then ``fma(z, std, mean)``. The words are drawn in one call."""
    z = []
    if n and g.next_double_normal is not None:
        z.append(g.next_double_normal)
        g.next_double_normal = None
    pairs = (n - len(z) + 1) // 2
    if pairs:
        u = _unit_double(g, 2 * pairs).tolist()
        for k in range(pairs):
            r = math.sqrt(-2.0 * math.log1p(-u[2 * k + 1]))
            theta = 2.0 * math.pi * u[2 * k]
            z.append(r * math.cos(theta))
            if len(z) < n:
                z.append(r * math.sin(theta))
            else:
                g.next_double_normal = r * math.sin(theta)
    out = np.array(z, dtype=np.float64)
    return out if (mean, std) == (0.0, 1.0) else _fma64(out, std, mean)


def normal(g: TorchCPUGenerator, n: int, nat: np.dtype, mean: float, std: float):
    """PyTorch's normal_kernel for a contiguous tensor of ``n`` elements."""
    if n >= 16:
        out = _normal_fill(g, n, nat == np.float64, mean, std,
                           half=nat not in (np.float32, np.float64))
    else:
        out = _normal_small(g, n, mean, std)
    return out.astype(nat, copy=False)


# --- integers ------------------------------------------------------------------------------

def from_to(g: TorchCPUGenerator, n: int, low: int, high: int) -> np.ndarray:
    """random_from_to: ``(word % range) + base`` as int64 (random64 once range >= 2**28)."""
    rng = high - low
    w = g.random64s(n) if rng >= 1 << 28 else g.words(n)
    v = w % _U64(rng)
    return (v.astype(np.int64) + np.int64(low)) if low else v.astype(np.int64)


def full_range(g: TorchCPUGenerator, n: int, nat: np.dtype) -> np.ndarray:
    """random_() with no bounds: uniform_int_distribution<T> (random64 for int64/double,
    else random(); modulo the type's max + 1, or 2**digits + 1 for floating types)."""
    digits = {np.float64: 53, np.float32: 24, np.float16: 11}.get(nat.type)
    if nat == np.bool_:
        return (g.words(n) & _U64(1)).astype(nat)
    if digits is None and nat.kind == "V" or nat.name == "bfloat16":
        digits = 8
    w = g.random64s(n) if nat.type in (np.int64, np.float64) else g.words(n)
    mod = (1 << digits) + 1 if digits is not None else int(np.iinfo(nat).max) + 1
    return (w % _U64(mod)).astype(nat)


def permutation(g: TorchCPUGenerator, n: int) -> np.ndarray:
    """randperm_cpu: the forward Fisher-Yates shuffle of 0..n-1 (a sequential loop over
    pre-drawn words: each swap depends on the previous ones)."""
    r = list(range(n))
    if n > 1:
        z = (g.words(n - 1) % np.arange(n, 1, -1, dtype=_U64)).tolist()
        for i, k in enumerate(z):
            j = k + i
            r[i], r[j] = r[j], r[i]
    return np.array(r, dtype=np.int64)


# --- bernoulli, exponential ------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _intel() -> bool:
    """PyTorch's MKL bernoulli path runs only where cpuinfo's vendor is Intel."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "GenuineIntel" in line
    except OSError:
        pass
    import platform
    return "intel" in platform.processor().lower()


_MCG_A, _MCG_M = 1132489760, 0x7FFFFFFF


def _mcg31(seed: int, n: int) -> np.ndarray:
    """n uniforms of MKL's VSL_BRNG_MCG31 seeded with ``seed``: x ← a·x mod (2**31 - 1),
    u = x / m; computed by powers of a so no Python loop runs per number."""
    x0 = seed % _MCG_M or 1
    block = 1024
    pw = np.empty(block, dtype=_U64)
    pw[0] = 1
    k = 1
    while k < block:  # a**0 .. a**(block-1) by doubling
        step = pow(_MCG_A, k, _MCG_M)
        pw[k:2 * k] = pw[:k] * _U64(step) % _U64(_MCG_M)
        k *= 2
    nb = -(-n // block)
    starts = np.empty(nb, dtype=_U64)
    jump = pow(_MCG_A, block, _MCG_M)
    s = pow(_MCG_A, 1, _MCG_M) * x0 % _MCG_M  # the first output is a·x0
    for b in range(nb):
        starts[b] = s
        s = s * jump % _MCG_M
    xs = (starts[:, None] * pw[None, :] % _U64(_MCG_M)).reshape(-1)[:n]
    return xs.astype(np.float64) / _MCG_M


def bernoulli_scalar(g: TorchCPUGenerator, n: int, p: float) -> np.ndarray:
    """bernoulli_(p) for a float p: a bool array of n draws."""
    if _intel():
        return _mcg31(g.random(), n) < p
    return _unit_double(g, n) < p


def bernoulli_tensor(g: TorchCPUGenerator, p: np.ndarray) -> np.ndarray:
    """bernoulli_(p_tensor) with p already broadcast to the output's shape: float draws
    (24 bits) for a float/half p, double draws for a double p."""
    n = p.size
    if p.dtype == np.float64:
        u = _unit_double(g, n)
    else:
        u = _unit_float(g.words(n))
        p = p.astype(_F32, copy=False)
    return u.reshape(p.shape) < p


def exponential(g: TorchCPUGenerator, n: int, lambd: float, double: bool = True):
    """exponential_distribution<double>: ``-1/lambda * log1p(-u)`` (float64; the caller
    rounds to the tensor's dtype). Only a float64 result needs glibc's log1p bit for bit:
    numpy's differs in the last bit of a double, which rounding to float32 removes."""
    u = _unit_double(g, n)
    return (-1.0 / lambd) * (_libm("log1p") if double else np.log1p)(-u)
