"""The samplers and special functions ``torch.distributions`` takes from ATen:
``_standard_gamma`` (with its implicit reparameterisation gradient), ``_sample_dirichlet`` /
``_dirichlet_grad``, ``poisson``, ``binomial`` and the regularized lower incomplete gamma
``gammainc``.

Everything is written once over the backend's array namespace ``xp`` and draws from the
device's generator (``ember.manual_seed`` reproduces a stream), so it runs on every
backend. Rejection samplers are vectorised: every round draws for the whole shape and
keeps the first accepted proposal of each element, until all are accepted (no
data-dependent shapes, which some array libraries lack). Work is in float64 and the
result is cast back, as PyTorch's CPU kernels accumulate in double.

Algorithms are PyTorch's (ATen/native/Distributions.h): Marsaglia-Tsang for gamma (with
the ``U^(1/alpha)`` boost below 1), Knuth's product method below rate 10 and Hormann's PTRS
above for Poisson, inversion below ``n min(p, 1-p) = 10`` and Hormann's BTRS above for the
binomial. The gradients of a gamma/Dirichlet sample w.r.t. the concentration are
PyTorch's approximations of ``-(d cdf / d alpha) / pdf`` (Taylor series for small x,
Rice saddle point for large alpha, bivariate rational fit elsewhere), so gradients agree
with PyTorch's for the same sample values.
"""
from __future__ import annotations

import contextlib
import math
import warnings

from .. import _dtype
from .. import _special_kernels as K
from .._creation import _generator_for
from .._tensor import Tensor, wrap
from ..autograd.grad_mode import STATE as GRAD
from ..autograd.graph import record

__all__ = ["binomial", "gammainc", "gammaincc", "poisson"]

_F64 = _dtype.float64


@contextlib.contextmanager
def _quiet():
    # the branches not taken by an xp.where evaluate on out-of-range values (log of a
    # negative, 0/0); numpy warns about those, the selected values are finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _f64(t: Tensor):
    return t._device._be.astype(t._data, _F64)


def _out(arr, like: Tensor) -> Tensor:
    dev = like._device
    dt = like.dtype if like.dtype.is_floating_point else _dtype.get_default_dtype()
    return wrap(dev._be.astype(arr, dt), dt, dev)


class _Draws:
    """Uniform [0, 1) and standard normal float64 draws of one shape from a device's
    generator."""

    def __init__(self, dev, shape):
        self.be, self.dev, self.shape = dev._be, dev, tuple(shape)
        self.rng = _generator_for(dev, None)

    def uniform(self):
        return self.be.random_uniform(self.rng, self.shape, _F64, 0.0, 1.0, self.dev.index)

    def normal(self):
        return self.be.random_normal(self.rng, self.shape, _F64, 0.0, 1.0, self.dev.index)


def _all(xp, mask) -> bool:
    return bool(xp.all(mask))


# --- gamma ------------------------------------------------------------------------------------
def _gamma_arr(xp, draws: _Draws, alpha):
    """Marsaglia-Tsang standard gamma draws for float64 ``alpha`` > 0."""
    boost = alpha < 1
    a = xp.where(boost, alpha + 1, alpha)
    d = a - 1 / 3
    c = 1 / xp.sqrt(9 * d)
    out = xp.zeros(alpha.shape, dtype=alpha.dtype)
    done = ~(alpha > 0)  # 0 (and NaN) concentrations give 0 (NaN below)
    while not _all(xp, done):
        x = draws.normal()
        u = draws.uniform()
        v = 1 + c * x
        v = v * v * v
        with _quiet():
            ok = (v > 0) & (xp.log(1 - u) < 0.5 * x * x + d - d * v + d * xp.log(
                xp.where(v > 0, v, 1.0)))
        take = ok & ~done
        out = xp.where(take, d * v, out)
        done = done | take
    with _quiet():
        u = draws.uniform()
        out = xp.where(boost, out * xp.pow(1 - u, 1 / xp.where(boost, alpha, 1.0)), out)
    out = xp.where(xp.isnan(alpha), xp.nan, out)
    return out


def _standard_gamma(concentration: Tensor) -> Tensor:
    """Mirrors ``torch._standard_gamma``: Gamma(concentration, 1) draws, reparameterised
    (the gradient is ``_standard_gamma_grad`` at the drawn value, as in PyTorch)."""
    dev = concentration._device
    xp = dev._be.xp
    alpha = _f64(concentration)
    x = _gamma_arr(xp, _Draws(dev, alpha.shape), alpha)
    res = _out(x, concentration)
    # PyTorch clamps to the smallest normal number so log(x) stays finite
    tiny = _dtype_tiny(res.dtype)
    res._data = xp.where(res._data < tiny, xp.asarray(tiny, dtype=res._data.dtype), res._data)
    if GRAD.enabled and concentration._requires_grad:
        conc, val = concentration.detach(), res.detach()
        record(res, "StandardGammaBackward0", (concentration,),
               lambda g: (g * _standard_gamma_grad(conc, val),))
    return res


def _dtype_tiny(dt) -> float:
    return {"float16": 6.103515625e-05, "bfloat16": 1.1754943508222875e-38,
            "float32": 1.1754943508222875e-38}.get(dt.name, 2.2250738585072014e-308)


_GAMMA_UV = ((0.16009398, -0.094634809, 0.025146376, -0.0030648343,
              1, 0.32668115, 0.10406089, 0.0014179084),
             (0.53487893, 0.1298071, 0.065735949, -0.0015649758,
              0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
             (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777,
              0.017050642, -0.0021309326, 0.00085092367, -1.5247877e-07))


def _gamma_grad_arr(xp, alpha, x):
    """PyTorch's ``standard_gamma_grad_one`` on float64 arrays: d x / d alpha for a
    Gamma(alpha) draw x, ``-(d/d alpha cdf(x; alpha)) / pdf(x; alpha)``."""
    with _quiet():
        # Taylor series, x < 0.8
        numer = xp.ones_like(x)
        denom = alpha
        s1 = numer / denom
        s2 = numer / (denom * denom)
        for i in range(1, 6):
            numer = numer * (-x / i)
            denom = denom + 1
            s1 = s1 + numer / denom
            s2 = s2 + numer / (denom * denom)
        pow_xa = xp.pow(x, alpha)
        pdf = xp.pow(x, alpha - 1) * xp.exp(-x)
        cdf = pow_xa * s1
        cdf_a = (xp.log(x) - K.digamma(xp, alpha)) * cdf - pow_xa * s2
        small = -cdf_a / pdf
        small = xp.where(xp.isnan(small), 0.0, small)
        # Rice saddle point, alpha > 8
        near = (0.9 * alpha <= x) & (x <= 1.1 * alpha)
        n1 = 1 + 24 * alpha * (1 + 12 * alpha)
        n2 = (1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha
              + alpha * (107 + 3600 * x))
        near_v = n1 * n2 / (1244160 * (alpha * alpha) * (alpha * alpha))
        den = xp.sqrt(8 * alpha)
        term2 = den / (alpha - x)
        term3 = xp.pow(x - alpha - alpha * xp.log(x / alpha), -1.5)
        term23 = xp.where(x < alpha, term2 - term3, term2 + term3)
        term1 = xp.log(x / alpha) * term23 - xp.sqrt(2 / alpha) * (alpha + x) / (
            (alpha - x) * (alpha - x))
        stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
        far_v = -stirling * x * term1 / den
        large = xp.where(near, near_v, far_v)
        # bivariate rational approximation
        u = xp.log(x / alpha)
        v = xp.log(alpha)
        cv = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_GAMMA_UV)]
        p = cv[0] + v * (cv[1] + v * (cv[2] + v * cv[3]))
        q = cv[4] + v * (cv[5] + v * (cv[6] + v * cv[7]))
        mid = xp.exp(p / q)
    return xp.where(x < 0.8, small, xp.where(alpha > 8, large, mid))


def _standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """Mirrors ``torch._standard_gamma_grad(self, output)``."""
    xp = alpha._device._be.xp
    return _out(_gamma_grad_arr(xp, _f64(alpha), _f64(x)), alpha)


# --- Dirichlet ----------------------------------------------------------------------------------
def _sample_dirichlet(concentration: Tensor) -> Tensor:
    """Mirrors ``torch._sample_dirichlet``: normalised gamma draws, clamped to
    [smallest normal, largest float below 1] as PyTorch does."""
    dev = concentration._device
    xp = dev._be.xp
    alpha = _f64(concentration)
    g = _gamma_arr(xp, _Draws(dev, alpha.shape), alpha)
    with _quiet():
        r = g / xp.sum(g, axis=-1, keepdims=True)
    res = _out(r, concentration)
    dt = res.dtype
    hi = 1 - (2.0 ** -24 if dt.name == "float32" else 2.0 ** -11 if dt.name == "float16"
              else 2.0 ** -8 if dt.name == "bfloat16" else 2.0 ** -53)
    arr = res._data
    res._data = xp.clip(arr, xp.asarray(_dtype_tiny(dt), dtype=arr.dtype),
                        xp.asarray(hi, dtype=arr.dtype))
    return res


def _beta_grad_alpha_small(xp, x, alpha, beta):
    factor = K.digamma(xp, alpha) - K.digamma(xp, alpha + beta) - xp.log(x)
    numer = xp.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        den = alpha + i
        series = series + numer / den * (factor + 1 / den)
    r = x * xp.pow(1 - x, -beta) * series
    return xp.where(xp.isnan(r), 0.0, r)


def _beta_grad_beta_small(xp, x, alpha, beta):
    factor = K.digamma(xp, alpha + beta) - K.digamma(xp, beta)
    numer = xp.ones_like(x)
    betas = xp.ones_like(x)
    dbetas = xp.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    r = -xp.pow(1 - x, 1 - beta) * series
    return xp.where(xp.isnan(r), 0.0, r)


def _beta_grad_alpha_mid(xp, x, alpha, beta):
    total = alpha + beta
    mean = alpha / total
    std = xp.sqrt(alpha * beta / (total + 1)) / total
    near = (mean - 0.1 * std <= x) & (x <= mean + 0.1 * std)
    b2 = beta * beta
    poly = 47 * x * b2 * b2 + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * b2 * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * b2 + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (
                    8 * (1 - x) * (135 * beta - 11)))))
    pre_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    pre_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near_v = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / xp.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
                * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    t1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * b2
    axbx = alpha * (x - 1) + beta * x
    t1_den = xp.sqrt(2 * alpha / beta) * xp.pow(total, 1.5) * axbx * axbx
    term1 = t1_num / t1_den
    term2 = 0.5 * xp.log(alpha / (total * x))
    term3 = xp.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    t4_base = beta * xp.log(beta / (total * (1 - x))) + alpha * xp.log(alpha / (total * x))
    term4 = xp.pow(t4_base, -1.5)
    t1234 = term1 + term2 * (term3 + xp.where(x < mean, term4, -term4))
    return xp.where(near, near_v, stirling * prefactor * t1234)


# c[p or q][i][j][k]: the rational correction's coefficients
_DIR_C = (
    (((1.003668233, -0.01061107488, -0.0657888334, 0.01201642863),
      (0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033),
      (-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013)),
     ((0.221950385, -0.3187676331, 0.01799915743, 0.01074823814),
      (-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057),
      (0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05)),
     ((-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565),
      (0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181),
      (0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05))),
    (((1, -0.02924021934, -0.04438342661, 0.007285809825),
      (0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521),
      (-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149)),
     ((0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273),
      (0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956),
      (-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05)),
     ((0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05),
      (0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05),
      (-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06))),
)


def _dirichlet_grad_arr(xp, x, alpha, total):
    """PyTorch's ``dirichlet_grad_one`` on float64 arrays: the scaled reparameterised
    gradient ``-(d/d alpha cdf(x; alpha, beta)) / pdf(x; alpha, beta) / (1 - x)``."""
    with _quiet():
        beta = total - alpha
        boundary = total * x * (1 - x)
        small_a = _beta_grad_alpha_small(xp, x, alpha, beta)
        small_b = -_beta_grad_beta_small(xp, 1 - x, beta, alpha)
        mid = _beta_grad_alpha_mid(xp, x, alpha, beta)
        u = xp.log(x)
        a = xp.log(alpha) - u
        b = xp.log(total) - a
        pow_u = (1.0, u, u * u)
        pow_a = (1.0, a, a * a)
        p = q = 0.0
        for i in range(3):
            for j in range(3):
                ua = pow_u[i] * pow_a[j]
                cp, cq = _DIR_C[0][i][j], _DIR_C[1][i][j]
                p = p + ua * (cp[0] + b * (cp[1] + b * (cp[2] + b * cp[3])))
                q = q + ua * (cq[0] + b * (cq[1] + b * (cq[2] + b * cq[3])))
        approx = x * (K.digamma(xp, total) - K.digamma(xp, alpha)) / beta
        rational = p / q * approx
    return xp.where((x <= 0.5) & (boundary < 2.5), small_a,
                    xp.where((x >= 0.5) & (boundary < 0.75), small_b,
                             xp.where((alpha > 6) & (beta > 6), mid, rational)))


def _dirichlet_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    """Mirrors ``torch._dirichlet_grad(x, alpha, total)``."""
    xp = x._device._be.xp
    return _out(_dirichlet_grad_arr(xp, _f64(x), _f64(alpha), _f64(total)), x)


def _dirichlet_rsample(concentration: Tensor) -> Tensor:
    """A Dirichlet draw whose gradient w.r.t. the concentration is PyTorch's
    ``_Dirichlet_backward``."""
    res = _sample_dirichlet(concentration.detach())
    if GRAD.enabled and concentration._requires_grad:
        conc, x = concentration.detach(), res.detach()

        def back(g):
            total = conc.sum(-1, True).expand_as(conc)
            grad = _dirichlet_grad(x, conc, total)
            return (grad * (g - (x * g).sum(-1, True)),)
        record(res, "DirichletBackward", (concentration,), back)
    return res


# --- Poisson ------------------------------------------------------------------------------------
def _poisson_arr(xp, draws: _Draws, lam):
    out = xp.zeros(lam.shape, dtype=lam.dtype)
    big = lam >= 10
    # Knuth's product of uniforms below 10
    small = (lam > 0) & ~big
    enlam = xp.exp(-xp.where(small, lam, 0.0))
    prod = xp.ones_like(lam)
    active = small
    while not _all(xp, ~active):
        prod = prod * draws.uniform()
        more = active & (prod > enlam)
        out = xp.where(more, out + 1, out)
        active = more
    if not _all(xp, ~big):
        lb = xp.where(big, lam, 10.0)
        slam = xp.sqrt(lb)
        loglam = xp.log(lb)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        log_invalpha = xp.log(1.1239 + 1.1328 / (b - 3.4))
        vr = 0.9277 - 3.6224 / (b - 2)
        done = ~big
        while not _all(xp, done):
            uu = draws.uniform() - 0.5
            v = draws.uniform()
            us = 0.5 - xp.abs(uu)
            with _quiet():
                k = xp.floor((2 * a / us + b) * uu + lb + 0.43)
                quick = (us >= 0.07) & (v <= vr)
                bad = (k < 0) | ((us < 0.013) & (v > us))
                ks = xp.where(k < 0, 0.0, k)
                slow = (xp.log(v) + log_invalpha - xp.log(a / (us * us) + b)
                        <= -lb + ks * loglam - _log_factorial(xp, ks))
            ok = quick | (~bad & slow)
            take = ok & ~done
            out = xp.where(take, k, out)
            done = done | take
    return xp.where(xp.isnan(lam), xp.nan, out)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Mirrors ``torch.poisson``: Poisson draws with rates ``input`` (same dtype), no
    gradient (PyTorch's derivative is zero)."""
    if generator is not None:
        raise NotImplementedError("ember's poisson draws from the default generator only")
    dev = input._device
    lam = _f64(input)
    if not _all(dev._be.xp, ~(lam < 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _out(_poisson_arr(dev._be.xp, _Draws(dev, lam.shape), lam), input)


# --- binomial -----------------------------------------------------------------------------------
# log(k!) minus its Stirling approximation, exactly for k <= 9
_TAIL = tuple(math.lgamma(k + 1) - ((k + 0.5) * math.log(k + 1) - (k + 1)
                                    + 0.5 * math.log(2 * math.pi)) for k in range(10))


def _stirling_tail(xp, k):
    """log(k!) minus its Stirling approximation: PyTorch's table below 10, its series above
    (an lgamma per proposal would cost more than the rest of the sampler)."""
    kp1 = k + 1
    series = (1 / 12 - (1 / 360 - 1 / 1260 / (kp1 * kp1)) / (kp1 * kp1)) / kp1
    idx = xp.reshape(xp.astype(xp.clip(k, 0, 9), xp.int64), (-1,))  # take wants 1-d
    table = xp.reshape(xp.take(xp.asarray(_TAIL, dtype=k.dtype), idx), k.shape)
    return xp.where(k <= 9, table, series)


def _log_factorial(xp, k):
    """log(k!) as Stirling's formula plus its tail (cheaper than lgamma, as accurate)."""
    return ((k + 0.5) * xp.log(k + 1) - (k + 1) + 0.5 * math.log(2 * math.pi)
            + _stirling_tail(xp, k))


def _binomial_arr(xp, draws: _Draws, n, p):
    flip = p > 0.5
    q = xp.where(flip, 1 - p, p)
    out = xp.zeros(n.shape, dtype=n.dtype)
    live = (n > 0) & (q > 0)
    big = live & (n * q >= 10)
    inv = live & ~big
    # inversion: count geometric waiting times until they pass n
    with _quiet():
        logq = xp.log1p(-xp.where(inv, q, 0.5))
    geom_sum = xp.zeros_like(n)
    active = inv
    while not _all(xp, ~active):
        with _quiet():
            geom = xp.ceil(xp.log(draws.uniform()) / logq)
        geom_sum = geom_sum + geom
        more = active & (geom_sum <= n)
        out = xp.where(more, out + 1, out)
        active = more
    if not _all(xp, ~big):
        nb = xp.where(big, n, 100.0)
        pb = xp.where(big, q, 0.5)
        std = xp.sqrt(nb * pb * (1 - pb))
        b = 1.15 + 2.53 * std
        a = -0.0873 + 0.0248 * b + 0.01 * pb
        c = nb * pb + 0.5
        v_r = 0.92 - 4.2 / b
        r = pb / (1 - pb)
        alpha = (2.83 + 5.1 / b) * std
        m = xp.floor((nb + 1) * pb)
        with _quiet():  # the part of the bound that does not depend on the proposal
            upper_m = ((m + 0.5) * xp.log((m + 1) / (r * (nb - m + 1)))
                       + _stirling_tail(xp, m) + _stirling_tail(xp, nb - m))
        done = ~big
        while not _all(xp, done):
            uu = draws.uniform() - 0.5
            v = draws.uniform()
            us = 0.5 - xp.abs(uu)
            with _quiet():
                k = xp.floor((2 * a / us + b) * uu + c)
                inside = (k >= 0) & (k <= nb)
                quick = inside & (us >= 0.07) & (v <= v_r)
                ks = xp.clip(k, xp.zeros_like(nb), nb)
                lv = xp.log(v * alpha / (a / (us * us) + b))
                upper = (upper_m + (nb + 1) * xp.log((nb - m + 1) / (nb - ks + 1))
                         + (ks + 0.5) * xp.log(r * (nb - ks + 1) / (ks + 1))
                         - _stirling_tail(xp, ks) - _stirling_tail(xp, nb - ks))
            ok = quick | (inside & (lv <= upper))
            take = ok & ~done
            out = xp.where(take, k, out)
            done = done | take
    out = xp.where(flip, n - out, out)
    return xp.where(xp.isnan(n) | xp.isnan(p), xp.nan, out)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Mirrors ``torch.binomial(count, prob)``: draws of the number of successes in
    ``count`` trials of probability ``prob`` (float, no gradient)."""
    if generator is not None:
        raise NotImplementedError("ember's binomial draws from the default generator only")
    dev = count._device
    xp = dev._be.xp
    n, p = xp.broadcast_arrays(_f64(count), _f64(prob))
    return _out(_binomial_arr(xp, _Draws(dev, n.shape), n, p), count)


# --- the regularized lower incomplete gamma ------------------------------------------------------
def _gammainc_arr(xp, a, x, upper=False):
    """P(a, x) (Q(a, x) = 1 - P with ``upper``): the power series for P below x = a + 1,
    Lentz's continued fraction for Q above (Numerical Recipes' split), each complement taken
    from the other, a fixed number of terms so it vectorises."""
    with _quiet():
        lg = K.lgamma(xp, a)
        use_series = x < a + 1
        xs = xp.where(x > 0, x, 1.0)
        logpre = a * xp.log(xs) - xs - lg
        # series: sum x^n / (a (a+1) ... (a+n))
        ap = a
        term = 1 / a
        total = term
        for _ in range(300):
            ap = ap + 1
            term = term * xs / ap
            total = total + term
        series = total * xp.exp(logpre)
        # continued fraction for Q
        tiny = 1e-300
        b = xs + 1 - a
        c = xp.full(x.shape, 1 / tiny, dtype=x.dtype)
        d = 1 / xp.where(b == 0, tiny, b)
        h = d
        for i in range(1, 300):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            d = 1 / d
            h = h * d * c
        q_cf = xp.exp(logpre) * h
        r = xp.where(use_series, 1 - series, q_cf) if upper else \
            xp.where(use_series, series, 1 - q_cf)
    r = xp.where(x <= 0, float(upper), r)
    r = xp.where(xp.isinf(x) & (x > 0), float(not upper), r)
    return xp.where(xp.isnan(a) | xp.isnan(x) | (a <= 0), xp.nan, r)


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.special.gammainc``: the regularized lower incomplete gamma
    ``P(input, other)``. Differentiable in ``other`` only, as in PyTorch."""
    return _gammainc(input, other, False)


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.special.gammaincc``: the regularized upper incomplete gamma
    ``Q(input, other) = 1 - P(input, other)``. Differentiable in ``other`` only."""
    return _gammainc(input, other, True)


def _gammainc(input: Tensor, other: Tensor, upper: bool) -> Tensor:
    from ..ops.shape import broadcast_tensors
    a, x = broadcast_tensors(input, other)
    xp = a._device._be.xp
    res = _out(_gammainc_arr(xp, _f64(a), _f64(x), upper),
               a if a.dtype.is_floating_point else x)
    if GRAD.enabled and (input._requires_grad or other._requires_grad):
        def back(g):
            if input._requires_grad:
                raise NotImplementedError("the derivative for 'input' is not implemented.")
            from ..ops.special_math import lgamma
            ad, xd = a.detach(), x.detach()
            from ..ops.selection import where
            pos = xd > 0  # the density is 0 at x = 0 for a > 1 (log(0) would warn)
            dens = where(pos, ((ad - 1) * where(pos, xd, 1.0).log() - xd - lgamma(ad)).exp(),
                         0.0)
            return None, _unbroadcast(g * (-dens if upper else dens), other.shape)
        record(res, "SpecialGammainccBackward0" if upper else "SpecialGammaincBackward0",
               (input, other), back)
    return res


def _unbroadcast(g: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdim=True)
    return g
