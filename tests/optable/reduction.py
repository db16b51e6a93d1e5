"""Reductions of the table: sums and means, prod, var/std, norm, logical reductions,
max/min family, cumulative ops, softmax/log_softmax/logsumexp."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, away_from, r, unary_samples

INF = float("inf")


def dim_samples(rng, **kw):
    """A reduction over dims: int, negative, tuple, keepdim, 0-d, and empty inputs."""
    return [S(r(rng, 3, 4), dim=1, **kw), S(r(rng, 2, 3, 4), dim=-1, keepdim=True, **kw),
            S(r(rng, 2, 3, 4), dim=(0, 2), **kw), S(r(rng, 2, 3, 4), dim=(-1, 0), keepdim=True,
                                                       **kw),
            S(np.array(rng.uniform(-2, 2)), dim=0, **kw), S(np.zeros((0, 3)), dim=1, **kw)]


def one_dim_samples(rng, empty=True):
    """A single-dim op: int and negative dims, keepdim, 0-d, and a non-reduced empty dim."""
    out = [S(r(rng, 3, 4), dim=1), S(r(rng, 2, 3, 4), dim=-2, keepdim=True), S(r(rng, 5), dim=0),
           S(np.array(rng.uniform(-2, 2)), dim=0), S(np.array(rng.uniform(-2, 2)), dim=-1,
                                                     keepdim=True)]
    if empty:
        out.append(S(np.zeros((0, 3)), dim=1))
    return out


def zeros_samples(rng):
    """Inputs with one zero and with several zeros in a slice (prod, cumprod gradients)."""
    one = r(rng, 3, 4)
    one[1, 2] = 0.0
    many = r(rng, 3, 4)
    many[0, 1] = many[0, 3] = 0.0
    many[2, 0] = 0.0
    return [S(one), S(many), S(r(rng, 3, 4))]


def no_ties(rng, *shape):
    """Distinct values (a permutation, scaled): no ties, so every index is determined."""
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n).reshape(shape) - n // 2) / 3.0


def cum_samples(rng):
    return [S(r(rng, 3, 4), dim=1), S(r(rng, 2, 3, 4), dim=0), S(r(rng, 5), dim=-1),
            S(np.array(rng.uniform(-2, 2)), dim=0), S(np.zeros((0, 3)), dim=0)]


def softmax_samples(rng, big=False):
    scale = 300.0 if big else 1.0
    return [S(r(rng, 3, 4) * scale, dim=1), S(r(rng, 2, 3, 4) * scale, dim=0),
            S(r(rng, 5) * scale, dim=-1), S(np.array(rng.uniform(-2, 2)), dim=0),
            S(np.zeros((0, 3)), dim=1), S(np.zeros((0, 3)), dim=0)]


OPS = [
    # sums and means
    OpInfo("sum_dims", lambda lib, a, **k: lib.sum(a, **k), dim_samples, dtypes=ALL_REAL),
    OpInfo("sum_0d_dim", lambda lib, a: a.sum(0), lambda rng: [S(np.array(1.5))],
           dtypes=ALL_REAL),
    OpInfo("sum_empty_dims", lambda lib, a: a.sum(dim=()), lambda rng: [S(r(rng, 2, 3))]),
    OpInfo("sum_dtype", lambda lib, a: a.sum(1, dtype=lib.float64),
           lambda rng: [S(r(rng, 3, 4))], dtypes=ALL_REAL),
    OpInfo("sum_dtype_int", lambda lib, a: a.sum(dtype=lib.int32),
           lambda rng: [S(r(rng, 3, 4) * 4)], dtypes=FLOATS + INTS, grad=False),
    OpInfo("mean_dims", lambda lib, a, **k: lib.mean(a, **k), dim_samples),
    OpInfo("mean_empty", lambda lib, a: a.mean(), lambda rng: [S(np.zeros((0, 3)))]),
    OpInfo("mean_dtype", lambda lib, a: a.mean(0, dtype=lib.float64),
           lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS + INTS),
    OpInfo("nansum", lambda lib, a, **k: lib.nansum(a, **k),
           lambda rng: [S(np.where(r(rng, 3, 4) > 1, np.nan, r(rng, 3, 4)), dim=1),
                        S(np.where(r(rng, 3, 4) > 1, np.nan, r(rng, 3, 4))),
                        *dim_samples(rng)], dtypes=ALL_REAL),
    OpInfo("nanmean", lambda lib, a, **k: lib.nanmean(a, **k),
           lambda rng: [S(np.where(r(rng, 3, 4) > 1, np.nan, r(rng, 3, 4)), dim=0),
                        S(np.where(r(rng, 3, 4) > 1, np.nan, r(rng, 3, 4)))]),
    OpInfo("nanmean_all_nan", lambda lib, a: a.nanmean(1),
           lambda rng: [S(np.array([[np.nan, np.nan], [1.0, 2.0]]))], gradcheck=False),
    # prod, with zeros (one and several per slice)
    OpInfo("prod", lambda lib, a: a.prod(),
           lambda rng: zeros_samples(rng) + unary_samples(rng), dtypes=ALL_REAL),
    OpInfo("prod_dim", lambda lib, a: lib.prod(a, 1, keepdim=True),
           lambda rng: zeros_samples(rng) + [S(np.zeros((2, 0)))], dtypes=ALL_REAL),
    OpInfo("prod_dim0", lambda lib, a: a.prod(0), zeros_samples),
    OpInfo("prod_two_zeros", lambda lib, a: a.prod(),
           lambda rng: [S(np.array([0.0, 2.0, 0.0, 3.0]))], gradcheck=False),
    OpInfo("prod_dtype", lambda lib, a: a.prod(0, dtype=lib.float64),
           lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS + INTS),
    # var / std
    OpInfo("var", lambda lib, a, **k: a.var(**k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), dim=1), S(r(rng, 2, 3, 4), dim=(0, 2),
                                                                     keepdim=True),
                        S(r(rng, 3, 4), dim=0, correction=0), S(r(rng, 3, 4), correction=2),
                        S(r(rng, 3, 4), dim=1, unbiased=False),
                        S(r(rng, 3, 4), dim=1, correction=0.5)]),
    OpInfo("var_positional", lambda lib, a: (a.var(0, False, True), a.var(False),
                                             lib.var(a, 1, True)),
           lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("std", lambda lib, a, **k: lib.std(a, **k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), dim=1, keepdim=True),
                        S(r(rng, 2, 3, 4), dim=(-1, 0), correction=0),
                        S(r(rng, 3, 4), unbiased=False)]),
    OpInfo("var_mean", lambda lib, a, **k: lib.var_mean(a, **k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), dim=1, keepdim=True),
                        S(r(rng, 2, 3, 4), dim=(0, 2), correction=0)]),
    OpInfo("std_mean", lambda lib, a, **k: lib.std_mean(a, **k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), dim=0, unbiased=False)]),
    # norm
    OpInfo("norm", lambda lib, a, **k: a.norm(**k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), p=1), S(r(rng, 3, 4), p=3, dim=1),
                        S(r(rng, 3, 4), p="fro", dim=(0, 1), keepdim=True),
                        S(r(rng, 2, 3, 4), p=2, dim=(0, 2)), S(r(rng, 3, 4), p=INF, dim=0),
                        S(r(rng, 3, 4), p=-INF), S(r(rng, 3, 4), p=0, dim=1),
                        S(away_from(r(rng, 3, 4), (0.0,), 0.2), p=0.5, dim=1),
                        S(r(rng, 3, 4), p=1.5), S(np.zeros((0, 3)), dim=0),
                        S(np.array(rng.uniform(-2, 2)))]),
    OpInfo("norm_at_zero", lambda lib, a, **k: lib.norm(a, **k),
           lambda rng: [S(np.zeros((2, 3)), dim=1), S(np.array([[0.0, 1.0], [0.0, 0.0]]), p=3,
                                                      dim=1)], gradcheck=False),
    # logical reductions (no gradient)
    OpInfo("all", lambda lib, a, **k: lib.all(a, **k),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), dim=1), S(r(rng, 2, 3, 4), dim=(0, 2),
                                                                     keepdim=True),
                        S(np.zeros((0, 3))), S(np.array(0.7))],
           dtypes=ALL_REAL + ("uint8",), grad=False),
    OpInfo("any", lambda lib, a, **k: a.any(**k),
           lambda rng: [S(r(rng, 3, 4) - 1.9), S(r(rng, 3, 4) - 1.5, dim=0),
                        S(np.zeros((0, 3)), dim=1)],
           dtypes=ALL_REAL + ("uint8",), grad=False),
    OpInfo("count_nonzero", lambda lib, a, **k: lib.count_nonzero(a, **k),
           lambda rng: [S(np.round(r(rng, 3, 4))), S(np.round(r(rng, 3, 4)), dim=1),
                        S(np.round(r(rng, 2, 3, 4)), dim=(0, 2)), S(np.zeros((0, 3)))],
           dtypes=ALL_REAL, grad=False),
    # max / min family (distinct values: indices are determined)
    OpInfo("max_all", lambda lib, a: a.max(),
           lambda rng: [S(no_ties(rng, 3, 4)), S(np.array(1.5)), S(no_ties(rng, 5))],
           dtypes=ALL_REAL),
    OpInfo("min_all", lambda lib, a: lib.min(a),
           lambda rng: [S(no_ties(rng, 3, 4)), S(np.array(1.5))], dtypes=ALL_REAL),
    OpInfo("max_ties", lambda lib, a: (a.max(), a.amax(1), a.amin(), a.min()),
           lambda rng: [S(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]))], gradcheck=False),
    OpInfo("max_dim", lambda lib, a, **k: a.max(**k),
           lambda rng: [S(no_ties(rng, 3, 4), dim=1), S(no_ties(rng, 2, 3, 4), dim=-1,
                                                          keepdim=True),
                        S(np.array(1.5), dim=0), S(np.zeros((0, 3)), dim=1),
                        S(np.zeros((0, 3)), dim=1, keepdim=True)], dtypes=ALL_REAL),
    OpInfo("max_dim_ties", lambda lib, a: lib.max(a, 1),
           lambda rng: [S(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))], gradcheck=False),
    OpInfo("min_dim", lambda lib, a, **k: lib.min(a, **k),
           lambda rng: [S(no_ties(rng, 3, 4), dim=0), S(no_ties(rng, 2, 3, 4), dim=1,
                                                          keepdim=True)], dtypes=ALL_REAL),
    OpInfo("amax", lambda lib, a, **k: lib.amax(a, **k),
           lambda rng: [S(no_ties(rng, 3, 4)), S(no_ties(rng, 2, 3, 4), dim=(0, 2)),
                        S(no_ties(rng, 3, 4), dim=-1, keepdim=True), S(np.array(0.5), dim=0),
                        S(np.zeros((0, 3)), dim=1)], dtypes=ALL_REAL),
    OpInfo("amin", lambda lib, a, **k: a.amin(**k),
           lambda rng: [S(no_ties(rng, 3, 4), dim=0), S(no_ties(rng, 2, 3, 4), dim=(1, -1),
                                                          keepdim=True)], dtypes=ALL_REAL),
    OpInfo("aminmax", lambda lib, a, **k: lib.aminmax(a, **k),
           lambda rng: [S(no_ties(rng, 3, 4)), S(no_ties(rng, 3, 4), dim=1),
                        S(no_ties(rng, 2, 3, 4), dim=0, keepdim=True),
                        S(np.array([[1.0, 1.0], [0.0, 2.0]]))], dtypes=ALL_REAL,
           torch_exact_grad=lambda s: True),  # torch < 2.13 has no aminmax derivative
    OpInfo("argmax", lambda lib, a, **k: lib.argmax(a, **k),
           lambda rng: [S(no_ties(rng, 3, 4)), S(no_ties(rng, 3, 4), dim=1),
                        S(no_ties(rng, 3, 4), keepdim=True), S(no_ties(rng, 2, 3, 4), dim=-1,
                                                               keepdim=True),
                        S(np.array([[1.0, 1.0], [0.0, 1.0]]), dim=1), S(np.array(2.0), dim=0),
                        S(np.zeros((0, 3)), dim=1)], dtypes=FLOATS + INTS, grad=False),
    OpInfo("argmin", lambda lib, a, **k: a.argmin(**k),
           lambda rng: [S(no_ties(rng, 3, 4)), S(no_ties(rng, 3, 4), dim=0)],
           dtypes=FLOATS + INTS, grad=False),
    # cumulative
    OpInfo("cumsum", lambda lib, a, **k: lib.cumsum(a, **k), cum_samples, dtypes=ALL_REAL),
    OpInfo("cumsum_dtype", lambda lib, a: a.cumsum(1, dtype=lib.float64),
           lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS + INTS),
    OpInfo("cumprod", lambda lib, a, **k: a.cumprod(**k),
           lambda rng: cum_samples(rng) + [S(s.arrays[0], dim=1) for s in zeros_samples(rng)],
           dtypes=ALL_REAL),
    OpInfo("cumprod_zero_first", lambda lib, a: a.cumprod(0),
           lambda rng: [S(np.array([0.0, 2.0, 3.0, 0.0, 4.0])),
                        S(np.array([1.5, 2.0, 0.0, 3.0]))]),
    OpInfo("cummax", lambda lib, a, **k: lib.cummax(a, **k),
           lambda rng: [S(no_ties(rng, 3, 4), dim=1), S(no_ties(rng, 2, 3, 4), dim=0),
                        S(np.array(1.0), dim=0), S(np.zeros((0, 3)), dim=0)], dtypes=ALL_REAL),
    OpInfo("cummax_ties", lambda lib, a: a.cummax(0),
           lambda rng: [S(np.array([1.0, 1.0, 3.0, 1.0, 3.0]))], gradcheck=False),
    OpInfo("cummin", lambda lib, a, **k: a.cummin(**k),
           lambda rng: [S(no_ties(rng, 3, 4), dim=1), S(no_ties(rng, 2, 3), dim=0)],
           dtypes=FLOATS + INTS),
    OpInfo("cummin_ties", lambda lib, a: a.cummin(0),
           lambda rng: [S(np.array([2.0, 1.0, 1.0, 3.0, np.nan, 0.0, np.nan]))],
           gradcheck=False),
    # softmax family
    OpInfo("softmax", lambda lib, a, **k: lib.softmax(a, **k), softmax_samples),
    OpInfo("softmax_big", lambda lib, a, **k: a.softmax(**k),
           lambda rng: softmax_samples(rng, big=True)[:3], gradcheck=False),
    OpInfo("softmax_dtype", lambda lib, a: lib.softmax(a, 1, dtype=lib.float64),
           lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("log_softmax", lambda lib, a, **k: a.log_softmax(**k), softmax_samples),
    OpInfo("log_softmax_big", lambda lib, a, **k: lib.log_softmax(a, **k),
           lambda rng: softmax_samples(rng, big=True)[:3], gradcheck=False),
    OpInfo("logsumexp", lambda lib, a, **k: lib.logsumexp(a, **k),
           lambda rng: [s for s in dim_samples(rng) if s.arrays[0].ndim]
           + [S(np.array(1.5), dim=0), S(r(rng, 3, 4) * 400, dim=1)],
           dtypes=FLOATS + INTS),
    OpInfo("logsumexp_inf", lambda lib, a: a.logsumexp(1),
           lambda rng: [S(np.array([[-INF, -INF], [INF, 1.0], [-INF, 2.0]]))], grad=False),
]
