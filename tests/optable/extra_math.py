"""Rows for the elementwise and cumulative ops added for issue 17: copysign, logaddexp,
logaddexp2, ldexp, float_power, gcd, lcm, heaviside, nextafter, frexp, logcumsumexp, pow at
its edges (0, ±inf, integer tensors to negative powers), the in-place shape ops and the
index writes (index_copy, index_reduce, put, select/slice/diagonal_scatter)."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, away_from, binary_samples, r

INF = float("inf")


def _pairs(rng):
    """Two tensors, not broadcast (ops requiring a tensor ``other``)."""
    return [S(r(rng, 3, 4), r(rng, 3, 4)), S(r(rng, 3, 1), r(rng, 1, 4)),
            S(np.zeros((0, 4)), r(rng, 4))]


def _ints(rng):
    """Integer pairs with zeros and negatives (gcd/lcm)."""
    a = rng.integers(-12, 13, size=(3, 4)).astype(np.float64) / 3
    b = rng.integers(-12, 13, size=(3, 4)).astype(np.float64) / 3
    a[0, 0] = b[0, 0] = 0
    return [S(a, b), S(a[:, :1], b[:1])]


def _pow_edges(rng):
    x = np.array([0.0, -0.0, INF, -INF, 2.0, -2.0, 0.5])
    return [S(x, np.full(7, e), name=f"e={e}") for e in (0.0, 0.5, 1.0, 2.0, -1.0, -2.0, 3.0)]


def _with_infs(rng):
    a, b = r(rng, 3, 4) * 20, r(rng, 3, 4) * 20
    a[0, 0], b[0, 0], a[1, 1], b[1, 1], a[2, 2] = INF, INF, -INF, -INF, INF
    return [S(a, b)]


def _index_source(rng):
    return [S(r(rng, 4, 3), r(rng, 2, 3), np.array([3, 1]), keep=(2,)),
            S(r(rng, 4, 3), r(rng, 4, 3), np.array([2, 0, 3, 1]), keep=(2,))]


def _index_dup(rng):
    return [S(away_from(r(rng, 4, 3)), away_from(r(rng, 3, 3)), np.array([1, 1, 3]),
              keep=(2,))]


OPS = [
    OpInfo("copysign", lambda lib, a, b: lib.copysign(a, b),
           lambda rng: [S(away_from(s.arrays[0]), s.arrays[1], name=s.name)
                        for s in binary_samples(rng)], dtypes=ALL_REAL),
    OpInfo("copysign_scalar", lambda lib, a: a.copysign(-1.5),
           lambda rng: [S(away_from(r(rng, 3, 4)))], dtypes=ALL_REAL),
    OpInfo("copysign_at_zero", lambda lib, a, b: lib.copysign(a, b),
           lambda rng: [S(np.array([0.0, -0.0, 1.0, -2.0]), np.array([-1.0, 1.0, -0.0, 0.0]))],
           gradcheck=False),
    OpInfo("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), _pairs),
    OpInfo("logaddexp2", lambda lib, a, b: a.logaddexp2(b), _pairs),
    OpInfo("logaddexp_large", lambda lib, a, b: (lib.logaddexp(a, b), lib.logaddexp2(a, b)),
           lambda rng: [S(r(rng, 3, 4) * 400, r(rng, 3, 4) * 400)], gradcheck=False),
    OpInfo("logaddexp_infs", lambda lib, a, b: (lib.logaddexp(a, b), lib.logaddexp2(a, b)),
           _with_infs, grad=False),
    OpInfo("ldexp", lambda lib, a, b: lib.ldexp(a, b), _pairs, dtypes=FLOATS + INTS),
    OpInfo("float_power", lambda lib, a, b: lib.float_power(a, b),
           lambda rng: [S(r(rng, 3, 4, low=0.5, high=2.0), r(rng, 3, 4))],
           dtypes=FLOATS + INTS),
    OpInfo("float_power_scalar", lambda lib, a: a.float_power(2),
           lambda rng: [S(r(rng, 3, 4))], dtypes=ALL_REAL),
    OpInfo("gcd_lcm", lambda lib, a, b: (lib.gcd(a, b), lib.lcm(a, b)), _ints, dtypes=INTS,
           grad=False),
    OpInfo("heaviside", lambda lib, a, b: lib.heaviside(a, b),
           lambda rng: [S(np.array([-1.0, 0.0, 2.0, 0.0]), np.array([0.5, 0.3, 0.1, -1.0]))],
           dtypes=ALL_REAL, grad=False),
    OpInfo("nextafter", lambda lib, a, b: lib.nextafter(a, b), _pairs, grad=False),
    OpInfo("frexp", lambda lib, a: tuple(lib.frexp(a)),
           lambda rng: [S(r(rng, 3, 4) * 100),
                        S(np.array([0.0, -0.0, 1.0, 0.5, -3.0, 1e-300, 1e300, INF, -INF]))],  # XLA flushes subnormals
           grad=False),
    OpInfo("logcumsumexp", lambda lib, a: lib.logcumsumexp(a, 1),
           lambda rng: [S(r(rng, 3, 5)), S(r(rng, 2, 0))]),
    OpInfo("logcumsumexp_dim0", lambda lib, a: a.logcumsumexp(0),
           lambda rng: [S(r(rng, 5, 2) * 40), S(np.array(1.5)), S(r(rng, 7))]),
    OpInfo("logcumsumexp_infs", lambda lib, a: a.logcumsumexp(0),
           lambda rng: [S(np.array([-INF, -INF, 1.0, INF, 2.0]))], grad=False),
    # pow at its edges: PyTorch's gradients (0 or ±inf, not nan) at 0 and ±inf
    OpInfo("pow_edges_tensor", lambda lib, a, b: lib.pow(a, b), _pow_edges, gradcheck=False),
    OpInfo("pow_edges_scalar",
           lambda lib, a: tuple(a ** e for e in (0, 0.5, 1, 2, -1, -0.5, 3, -2)),
           lambda rng: [S(np.array([0.0, -0.0, INF, -INF, 2.0, -2.0, 0.5]))],
           gradcheck=False),
    OpInfo("rpow_zero_base", lambda lib, a: (0.0 ** a, 2.0 ** a),
           lambda rng: [S(np.array([0.0, -1.0, -2.0, 0.5, 2.0, INF, -INF]))],
           gradcheck=False),
    OpInfo("pow_int_negative", lambda lib, a, b: (lib.pow(a, b), lib.pow(2, b)),
           lambda rng: [S(np.array([0.0, 1 / 3, -1 / 3, 2 / 3, -1.0]),
                          np.array([-1.0, -2 / 3, -1 / 3, 2 / 3, 0.0]))],
           dtypes=INTS, grad=False),
    # index writes
    OpInfo("index_copy", lambda lib, a, b, i: lib.index_copy(a, 0, i, b), _index_source),
    OpInfo("index_reduce_prod", lambda lib, a, b, i: a.index_reduce(0, i, b, "prod"),
           _index_dup, gradcheck=False),
    OpInfo("index_reduce_mean", lambda lib, a, b, i: a.index_reduce(
        0, i, b, "mean", include_self=False), _index_dup),
    OpInfo("index_reduce_amax", lambda lib, a, b, i: lib.index_reduce(a, 0, i, b, "amax"),
           _index_source, gradcheck=False),
    OpInfo("put", lambda lib, a, b, i: lib.put(a, i, b),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3), np.array([0, -1, 5]), keep=(2,))]),
    OpInfo("put_accumulate", lambda lib, a, b, i: a.put(i, b, accumulate=True),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3), np.array([0, 0, 5]), keep=(2,))]),
    OpInfo("select_scatter", lambda lib, a, b: lib.select_scatter(a, b, 1, -1),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3))]),
    OpInfo("slice_scatter", lambda lib, a, b: lib.slice_scatter(a, b, 1, 1, None, 2),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 2))]),
    OpInfo("diagonal_scatter", lambda lib, a, b: a.diagonal_scatter(b, -1),
           lambda rng: [S(r(rng, 3, 4), r(rng, 2))]),
    # in-place shape ops on a non-leaf (the gradient passes through the new shape)
    OpInfo("unsqueeze_", lambda lib, a: (a * 1).unsqueeze_(1),
           lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("squeeze_", lambda lib, a: (a * 1).squeeze_(),
           lambda rng: [S(r(rng, 3, 1, 2, 1)), S(r(rng, 1))]),
    OpInfo("squeeze_dim", lambda lib, a: (a * 1).squeeze_(1), lambda rng: [S(r(rng, 3, 1, 2))]),
    OpInfo("t_", lambda lib, a: (a * 1).t_(), lambda rng: [S(r(rng, 3, 4)), S(r(rng, 4))]),
    OpInfo("transpose_", lambda lib, a: (a * 1).transpose_(0, 2),
           lambda rng: [S(r(rng, 2, 3, 4))]),
    OpInfo("swapdims_", lambda lib, a: (a * 1).swapdims_(1, 0).swapaxes_(2, 1),
           lambda rng: [S(r(rng, 2, 3, 4))]),
    OpInfo("triu_", lambda lib, a: (a * 1).triu_(1), lambda rng: [S(r(rng, 3, 4))],
           dtypes=ALL_REAL),
    OpInfo("tril_", lambda lib, a: (a * 1).tril_(-1), lambda rng: [S(r(rng, 2, 3, 4))],
           dtypes=ALL_REAL),
]
