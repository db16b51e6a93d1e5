"""Elementwise ops of the table: unary maths, rounding, activations, erf family, the binary
remainders, atan2/hypot, clamp/clip, maximum/minimum/fmax/fmin, lerp, nan_to_num.

Samples keep away from kinks and jumps (``away_from``) so finite differences are valid;
kinks themselves (ties, clamp bounds, 0 for abs/relu) get their own entries compared with
PyTorch's gradient conventions but not gradchecked.
"""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, away_from, binary_samples, r, \
    unary_samples

INF, NAN = float("inf"), float("nan")
INTS_FLOATS = FLOATS + INTS
HALF_INTEGERS = tuple(k / 2 for k in range(-8, 9))


def _u(name, low=-2.0, high=2.0, points=(), dtypes=ALL_REAL, **kw):
    """A unary op called as ``lib.<name>(x)``."""
    return OpInfo(name, lambda lib, a, _n=name: getattr(lib, _n)(a),
                  lambda rng: unary_samples(rng, low, high, points), dtypes=dtypes, **kw)


def _nonzero(rng, *shape, gap=0.5):
    return away_from(r(rng, *shape), (0.0,), gap)


def _divisor_samples(rng):
    """Dividend and divisor (never near 0, so integers never divide by zero), broadcast."""
    return [S(r(rng, 3, 4) * 3, _nonzero(rng, 3, 4)), S(r(rng, 3, 1) * 3, _nonzero(rng, 1, 4)),
            S(r(rng, 2, 3, 4) * 3, _nonzero(rng, 4)), S(r(rng, 3, 4) * 3,
                                                        np.array(1.3)),
            S(np.zeros((0, 4)), _nonzero(rng, 4))]


def _ties(rng):
    """Pairs with some equal elements (maximum/minimum split the gradient there)."""
    a, b = r(rng, 3, 4), r(rng, 3, 4)
    b[0] = a[0]
    b[2, 1] = a[2, 1]
    return [S(a, b)]


def _with_nans(rng):
    a, b = r(rng, 3, 4), r(rng, 3, 4)
    a[0, 1] = b[1, 2] = a[2, 3] = b[2, 3] = NAN
    return [S(a, b)]


def _bounds(rng):
    """x with tensor bounds lo <= hi (broadcast), x kept away from both bounds."""
    lo = r(rng, 3, 1, low=-1.0, high=0.0)
    hi = lo + r(rng, 1, 4, low=0.5, high=1.5)
    x = r(rng, 3, 4)
    for b in (lo, hi):
        x = np.where(np.abs(x - b) < 0.1, x + 0.25, x)
    return [S(x, lo, hi)]


def _crossed_bounds(rng):
    """lo > hi in places: PyTorch gives hi everywhere and routes the gradient to hi."""
    x, lo, hi = r(rng, 3, 4), r(rng, 3, 4), r(rng, 3, 4)
    return [S(x, lo, hi)]


def _specials(rng):
    a = r(rng, 3, 4)
    a[0, 0], a[1, 1], a[2, 2] = NAN, INF, -INF
    return [S(a)]


OPS = [
    # exponentials and logarithms
    _u("exp2"), _u("expm1"),
    _u("log2", 0.2, 3.0), _u("log10", 0.2, 3.0), _u("log1p", -0.8, 2.0),
    _u("sqrt", 0.2, 3.0), _u("rsqrt", 0.2, 3.0), _u("reciprocal", points=(0.0,)),
    # trigonometric and hyperbolic
    _u("sin"), _u("cos"), _u("tan", -1.2, 1.2), _u("asin", -0.9, 0.9), _u("acos", -0.9, 0.9),
    _u("atan"), _u("sinh"), _u("cosh"), _u("tanh"), _u("asinh"), _u("acosh", 1.2, 3.0),
    _u("atanh", -0.9, 0.9), _u("deg2rad"), _u("rad2deg"),
    OpInfo("arcsin_alias", lambda lib, a: a.arcsin(), lambda rng: unary_samples(rng, -0.9, 0.9)),
    # activations and special functions
    _u("sigmoid", -6.0, 6.0), _u("erf", -3.0, 3.0), _u("erfc", -3.0, 3.0),
    _u("erfinv", -0.95, 0.95),
    OpInfo("erf_tails", lambda lib, a: (lib.erf(a), lib.erfc(a)),
           lambda rng: [S(np.array([-30.0, -6.0, -0.4999, 0.5, 0.50001, 1.5, 5.9, 27.0, 40.0])),
                        S(np.array([1e-300, 1e-20, 1e-5, INF, -INF, NAN]))], gradcheck=False),
    OpInfo("erfinv_edges", lambda lib, a: lib.erfinv(a),
           lambda rng: [S(np.array([-1.0, 1.0, 1.5, -2.0, 0.0, 1e-30, 0.5, -0.5, 0.9999999,
                                    1 - 2 ** -53, NAN]))], grad=False),
    OpInfo("sigmoid_extremes", lambda lib, a: lib.sigmoid(a),
           lambda rng: [S(np.array([-800.0, -40.0, 40.0, 800.0, 0.0]))], gradcheck=False),
    _u("relu", points=(0.0,), dtypes=INTS_FLOATS),
    OpInfo("relu_at_zero", lambda lib, a: a.relu(), lambda rng: [S(np.array([-1.0, 0.0, 2.0]))],
           gradcheck=False),
    _u("logit", 0.1, 0.9),
    OpInfo("logit_eps", lambda lib, a: lib.logit(a, eps=0.2),
           lambda rng: [S(away_from(r(rng, 3, 4, low=0.0, high=1.0), (0.2, 0.8)))]),
    # magnitude and sign
    _u("abs", points=(0.0,), dtypes=INTS_FLOATS),
    OpInfo("abs_at_zero", lambda lib, a: abs(a), lambda rng: [S(np.array([-1.0, 0.0, 2.0]))],
           gradcheck=False),
    _u("absolute", points=(0.0,), dtypes=INTS_FLOATS),
    # sgn's gradient is a ZeroTensor in PyTorch, which the driver cannot read: checked in
    # test_elementwise.py instead
    _u("sign", points=(0.0,)), _u("sgn", points=(0.0,), grad=False),
    OpInfo("neg_abs_method", lambda lib, a: (-a).abs(), lambda rng: unary_samples(rng, points=(0.0,))),
    _u("square"),
    # rounding (zero gradient almost everywhere)
    _u("floor", -3.0, 3.0, HALF_INTEGERS[::2], INTS_FLOATS),
    _u("ceil", -3.0, 3.0, HALF_INTEGERS[::2], INTS_FLOATS),
    _u("trunc", -3.0, 3.0, HALF_INTEGERS[::2], INTS_FLOATS),
    _u("fix", -3.0, 3.0, HALF_INTEGERS[::2], INTS_FLOATS),
    _u("round", -3.0, 3.0, HALF_INTEGERS, INTS_FLOATS),
    OpInfo("round_half_even", lambda lib, a: lib.round(a),
           lambda rng: [S(np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]))], gradcheck=False),
    OpInfo("round_decimals", lambda lib, a: lib.round(a, decimals=2),
           lambda rng: [S(r(rng, 3, 4)), S(np.array([1.005, 2.675, -0.125, 0.135]))],
           gradcheck=False),
    OpInfo("round_neg_decimals", lambda lib, a: a.round(decimals=-1),
           lambda rng: [S(r(rng, 3, 4) * 100), S(np.array([15.0, 25.0, -35.0, 44.9]))],
           gradcheck=False),
    _u("frac", -3.0, 3.0, HALF_INTEGERS[::2], FLOATS),
    # binary
    OpInfo("floor_divide", lambda lib, a, b: a // b, _divisor_samples, dtypes=INTS_FLOATS,
           grad=False),
    OpInfo("rfloordiv", lambda lib, a: 7 // a, lambda rng: [S(_nonzero(rng, 3, 4))],
           dtypes=INTS_FLOATS, grad=False),
    OpInfo("remainder", lambda lib, a, b: lib.remainder(a, b), _divisor_samples,
           dtypes=INTS_FLOATS),
    OpInfo("mod_scalar", lambda lib, a: a % 1.5, lambda rng: [S(r(rng, 3, 4) * 3)],
           dtypes=INTS_FLOATS),
    OpInfo("mod_neg_scalar", lambda lib, a: a % -2, lambda rng: [S(r(rng, 3, 4) * 3)],
           dtypes=INTS_FLOATS),
    OpInfo("rmod", lambda lib, a: 2.5 % a, lambda rng: [S(_nonzero(rng, 3, 4))],
           dtypes=INTS_FLOATS, grad=False),  # PyTorch has no derivative here
    OpInfo("remainder_signed_zero", lambda lib, a, b: lib.remainder(a, b),
           lambda rng: [S(np.array([-5.0, 5.0, -4.0, 0.0, -0.0]),
                          np.array([2.5, -2.5, 2.0, -3.0, 3.0]))], gradcheck=False),
    OpInfo("fmod", lambda lib, a, b: lib.fmod(a, b), _divisor_samples, dtypes=INTS_FLOATS),
    OpInfo("fmod_scalar", lambda lib, a: lib.fmod(a, -1.5), lambda rng: [S(r(rng, 3, 4) * 3)],
           dtypes=INTS_FLOATS),
    OpInfo("atan2", lambda lib, a, b: lib.atan2(a, b), binary_samples, dtypes=ALL_REAL),
    OpInfo("hypot", lambda lib, a, b: lib.hypot(a, b), binary_samples),
    # maximum / minimum
    OpInfo("maximum", lambda lib, a, b: lib.maximum(a, b), binary_samples, dtypes=ALL_REAL),
    OpInfo("minimum", lambda lib, a, b: a.minimum(b), binary_samples, dtypes=ALL_REAL),
    OpInfo("maximum_ties", lambda lib, a, b: lib.maximum(a, b), _ties, gradcheck=False),
    OpInfo("minimum_ties", lambda lib, a, b: lib.minimum(a, b), _ties, gradcheck=False),
    OpInfo("maximum_nan", lambda lib, a, b: lib.maximum(a, b), _with_nans, gradcheck=False),
    OpInfo("fmax", lambda lib, a, b: lib.fmax(a, b), binary_samples, dtypes=INTS_FLOATS),
    OpInfo("fmin", lambda lib, a, b: lib.fmin(a, b), binary_samples, dtypes=INTS_FLOATS),
    OpInfo("fmax_nan", lambda lib, a, b: lib.fmax(a, b), _with_nans, gradcheck=False),
    OpInfo("fmin_nan_ties", lambda lib, a, b: lib.fmin(a, b),
           lambda rng: _with_nans(rng) + _ties(rng), gradcheck=False),
    # clamp / clip
    OpInfo("clamp", lambda lib, a: lib.clamp(a, -0.5, 0.5),
           lambda rng: unary_samples(rng, points=(-0.5, 0.5)), dtypes=INTS_FLOATS),
    OpInfo("clamp_min_only", lambda lib, a: a.clamp(min=0.3),
           lambda rng: unary_samples(rng, points=(0.3,)), dtypes=INTS_FLOATS),
    OpInfo("clamp_max_only", lambda lib, a: lib.clamp(a, max=-0.3),
           lambda rng: unary_samples(rng, points=(-0.3,)), dtypes=INTS_FLOATS),
    OpInfo("clamp_int_bounds", lambda lib, a: lib.clamp(a, -1, 1),
           lambda rng: unary_samples(rng, points=(-1.0, 1.0)), dtypes=ALL_REAL),
    OpInfo("clamp_crossed_scalars", lambda lib, a: lib.clamp(a, 1.0, -1.0),
           lambda rng: [S(r(rng, 3, 4))], gradcheck=False),
    OpInfo("clamp_at_bounds", lambda lib, a: lib.clamp(a, -1.0, 1.0),
           lambda rng: [S(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))], gradcheck=False),
    OpInfo("clamp_tensors", lambda lib, a, lo, hi: lib.clamp(a, lo, hi), _bounds),
    OpInfo("clamp_tensor_min", lambda lib, a, lo, hi: lib.clamp(a, min=lo), _bounds),
    OpInfo("clamp_tensor_max", lambda lib, a, lo, hi: a.clamp(max=hi), _bounds),
    OpInfo("clamp_crossed_tensors", lambda lib, a, lo, hi: lib.clamp(a, lo, hi),
           _crossed_bounds, gradcheck=False),
    OpInfo("clip", lambda lib, a: lib.clip(a, -0.5, 0.5),
           lambda rng: unary_samples(rng, points=(-0.5, 0.5))),
    OpInfo("clamp_min_fn", lambda lib, a: lib.clamp_min(a, 0.2),
           lambda rng: unary_samples(rng, points=(0.2,)), dtypes=INTS_FLOATS),
    OpInfo("clamp_max_fn", lambda lib, a, lo, hi: lib.clamp_max(a, hi), _bounds),
    OpInfo("clamp_nan", lambda lib, a: lib.clamp(a, -0.5, 0.5), _specials, gradcheck=False),
    # lerp
    OpInfo("lerp_scalar", lambda lib, a, b: lib.lerp(a, b, 0.3), binary_samples),
    OpInfo("lerp_scalar_high", lambda lib, a, b: a.lerp(b, 0.8), binary_samples),
    OpInfo("lerp_tensor", lambda lib, a, b, w: lib.lerp(a, b, w),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4), r(rng, 3, 4, low=-0.5, high=1.5)),
                        S(r(rng, 3, 1), r(rng, 4), r(rng, 3, 4, low=0.0, high=1.0)),
                        S(r(rng, 2, 3), r(rng, 2, 3), np.array(0.7))]),
    # nan_to_num
    OpInfo("nan_to_num", lambda lib, a: lib.nan_to_num(a), unary_samples, dtypes=INTS_FLOATS),
    OpInfo("nan_to_num_specials", lambda lib, a: a.nan_to_num(), _specials, gradcheck=False),
    OpInfo("nan_to_num_values", lambda lib, a: lib.nan_to_num(a, nan=1.5, posinf=9.0,
                                                              neginf=-9.0), _specials),
]
