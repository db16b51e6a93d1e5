"""Comparison, logical, bitwise and classifier ops of the table (no gradients): results and
dtypes vs PyTorch, with promotion, broadcasting, scalars on either side, 0-d and empty."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, binary_samples, r

INF, NAN = float("inf"), float("nan")
BITS = INTS + ("bool",)


def _cmp_samples(rng):
    """binary_samples plus exact ties (so == and <= have something to find)."""
    a = r(rng, 3, 4)
    b = r(rng, 3, 4)
    b[1] = a[1]
    return binary_samples(rng) + [S(a, b)]


def _specials(rng):
    a = r(rng, 3, 4)
    a[0, 0], a[1, 1], a[2, 2], a[0, 3] = NAN, INF, -INF, -0.0
    return [S(a), S(np.array(-INF)), S(np.zeros((0, 2)))]


def _b(name, fn, samples=_cmp_samples, dtypes=ALL_REAL, **kw):
    return OpInfo(name, fn, samples, dtypes=dtypes, grad=False, **kw)


def _close_samples(rng):
    a = r(rng, 3, 4)
    b = a + r(rng, 3, 4) * 1e-5
    b[0, 0] = a[0, 0] + 1.0
    a[1, 1] = b[1, 1] = NAN
    a[2, 2] = b[2, 2] = INF
    a[2, 3], b[2, 3] = INF, -INF
    return [S(a, b), S(a, np.array(a[0, 1]))]


OPS = [
    _b("eq", lambda lib, a, b: a == b), _b("ne", lambda lib, a, b: a != b),
    _b("lt", lambda lib, a, b: a < b), _b("le", lambda lib, a, b: lib.le(a, b)),
    _b("gt", lambda lib, a, b: a.gt(b)), _b("ge", lambda lib, a, b: a >= b),
    _b("greater", lambda lib, a, b: lib.greater(a, b)),
    _b("less_equal", lambda lib, a, b: a.less_equal(b)),
    _b("not_equal", lambda lib, a, b: lib.not_equal(a, b)),
    _b("lt_float_scalar", lambda lib, a: a < 0.5, lambda rng: [S(r(rng, 3, 4)), S(r(rng, 0))]),
    _b("scalar_lt_tensor", lambda lib, a: 0.5 < a, lambda rng: [S(r(rng, 3, 4))]),
    _b("scalar_eq_tensor", lambda lib, a: (1 == a, a == 1, 0 != a, a >= True),
       lambda rng: [S(r(rng, 3, 4))]),
    _b("eq_list", lambda lib, a: (a == [0, 1, 2], a != (0, 1, 2), a == None),  # noqa: E711
       lambda rng: [S(r(rng, 2, 3))], dtypes=INTS),
    _b("eq_numpy", lambda lib, a: (a == np.arange(3), a < np.float64(0.5), a == np.int64(1)),
       lambda rng: [S(r(rng, 2, 3))], dtypes=ALL_REAL),
    _b("eq_nan", lambda lib, a: (a == a, a != a, a < INF, a <= -INF), _specials,
       dtypes=FLOATS),
    _b("eq_mixed_dtypes", lambda lib, a, b: (a == b.double(), a.int() < b, a.bool() != b),
       _cmp_samples, dtypes=FLOATS),
    # logical
    _b("logical_and", lambda lib, a, b: lib.logical_and(a, b)),
    _b("logical_or", lambda lib, a, b: a.logical_or(b)),
    _b("logical_xor", lambda lib, a, b: lib.logical_xor(a, b)),
    _b("logical_not", lambda lib, a: lib.logical_not(a), lambda rng: [S(r(rng, 3, 4)),
                                                                     S(np.zeros(4))]),
    _b("logical_mixed", lambda lib, a, b: lib.logical_and(a, b.bool()), _cmp_samples),
    # bitwise
    _b("bitwise_and", lambda lib, a, b: a & b, dtypes=BITS),
    _b("bitwise_or", lambda lib, a, b: lib.bitwise_or(a, b), dtypes=BITS),
    _b("bitwise_xor", lambda lib, a, b: a ^ b, dtypes=BITS),
    _b("bitwise_not", lambda lib, a: ~a, lambda rng: [S(r(rng, 3, 4)), S(np.array(1.0))],
       dtypes=BITS),
    _b("bitwise_scalars", lambda lib, a: (a & 6, 5 | a, a ^ 3, 12 & a),
       lambda rng: [S(r(rng, 3, 4))], dtypes=BITS),
    _b("bitwise_bool_scalars", lambda lib, a: (a & True, False | a, a ^ True),
       lambda rng: [S(r(rng, 3, 4))], dtypes=("bool",)),
    _b("bitwise_mixed", lambda lib, a, b: (a.bool() & b, b | a.bool()), dtypes=INTS),
    _b("shifts", lambda lib, a, b: (a << (b.abs() % 5), a >> (b.abs() % 5)), dtypes=INTS),
    _b("shift_scalars", lambda lib, a: (a << 2, a >> 1, 1 << a.abs(), 64 >> a.abs()),
       lambda rng: [S(r(rng, 3, 4))], dtypes=INTS),
    # classifiers
    _b("isnan", lambda lib, a: lib.isnan(a), _specials),
    _b("isinf", lambda lib, a: a.isinf(), _specials),
    _b("isfinite", lambda lib, a: lib.isfinite(a), _specials),
    _b("isposinf", lambda lib, a: lib.isposinf(a), _specials),
    _b("isneginf", lambda lib, a: lib.isneginf(a), _specials),
    _b("signbit", lambda lib, a: lib.signbit(a), _specials),
    _b("classifiers_ints", lambda lib, a: (lib.isnan(a), lib.isinf(a), lib.isfinite(a),
                                           lib.isposinf(a), lib.isneginf(a), lib.signbit(a)),
       lambda rng: [S(r(rng, 3, 4))], dtypes=BITS),
    # closeness
    _b("isclose", lambda lib, a, b: (lib.isclose(a, b), lib.isclose(a, b, equal_nan=True),
                                     a.isclose(b, rtol=0.0, atol=0.0),
                                     lib.isclose(a, b, rtol=1e-3, atol=0.0)),
       _close_samples, dtypes=FLOATS),
    _b("isclose_ints", lambda lib, a, b: (lib.isclose(a, b), lib.isclose(a, b, rtol=0.5)),
       _cmp_samples, dtypes=BITS),
    _b("allclose", lambda lib, a, b: (lib.allclose(a, b), a.allclose(b, equal_nan=True),
                                      lib.allclose(a, a)), _close_samples, dtypes=FLOATS),
    _b("equal", lambda lib, a, b: (lib.equal(a, b), lib.equal(a, a), a.equal(a.clone())),
       _cmp_samples),
]
