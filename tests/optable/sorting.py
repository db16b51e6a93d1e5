"""Sorting and order statistics of the table: sort, argsort, msort, topk, kthvalue, median,
nanmedian. Samples use distinct values (a scaled permutation) so every index is determined;
tie behaviour is tested in ``tests/test_reduction.py``."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S


def distinct(rng, *shape):
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n).reshape(shape) - n // 2) / 3.0


def dim_samples(rng, empty_dim=True):
    out = [S(distinct(rng, 3, 4)), S(distinct(rng, 3, 4), dim=0), S(distinct(rng, 2, 3, 4),
                                                                   dim=1),
           S(distinct(rng, 5), dim=-1), S(np.array(1.5)), S(np.zeros((0, 3)), dim=0)]
    if empty_dim:
        out.append(S(np.zeros((2, 0)), dim=1))
    return out


def nan_samples(rng, all_nan_row=True):
    a = distinct(rng, 3, 5)
    a[0, 1] = a[1, 4] = a[1, 0] = np.nan
    if all_nan_row:
        a[2, :] = np.nan
    return [S(a, dim=1), S(a, dim=0)]


OPS = [
    OpInfo("sort", lambda lib, a, **k: lib.sort(a, **k), dim_samples, dtypes=ALL_REAL),
    OpInfo("sort_desc", lambda lib, a, **k: a.sort(descending=True, **k), dim_samples,
           dtypes=FLOATS + INTS),
    OpInfo("sort_stable", lambda lib, a: lib.sort(a, stable=True, dim=0, descending=True),
           lambda rng: [S(np.round(distinct(rng, 6, 2)))], dtypes=FLOATS + INTS + ("bool",),
           gradcheck=False),
    OpInfo("sort_nan", lambda lib, a, **k: (a.sort(**k), a.sort(descending=True, **k)),
           nan_samples, gradcheck=False),
    OpInfo("argsort", lambda lib, a, **k: lib.argsort(a, **k), dim_samples, dtypes=ALL_REAL,
           grad=False),
    OpInfo("argsort_desc", lambda lib, a, **k: a.argsort(descending=True, **k), dim_samples,
           dtypes=FLOATS + INTS, grad=False),
    OpInfo("msort", lambda lib, a: lib.msort(a),
           lambda rng: [S(distinct(rng, 4, 3)), S(distinct(rng, 5))], dtypes=FLOATS + INTS),
    OpInfo("topk", lambda lib, a, k, **kw: lib.topk(a, k, **kw),
           lambda rng: [S(distinct(rng, 3, 5), k=2), S(distinct(rng, 3, 5), k=3, dim=0),
                        S(distinct(rng, 2, 3, 4), k=1, dim=1, largest=False),
                        S(distinct(rng, 6), k=6), S(distinct(rng, 6), k=0),
                        S(np.array(2.5), k=1), S(np.zeros((0, 4)), k=2, dim=1)],
           dtypes=FLOATS + INTS),
    OpInfo("topk_nan", lambda lib, a, dim: (a.topk(2, dim), a.topk(2, dim, largest=False)),
           lambda rng: [S(np.array([[1.0, np.nan, 3.0, 2.0], [0.5, -1.0, 2.0, np.nan]]), dim=1)],
           gradcheck=False),
    OpInfo("kthvalue", lambda lib, a, k, **kw: lib.kthvalue(a, k, **kw),
           lambda rng: [S(distinct(rng, 3, 5), k=2), S(distinct(rng, 3, 5), k=3, dim=0),
                        S(distinct(rng, 2, 3, 4), k=4, dim=-1, keepdim=True),
                        S(np.array(2.5), k=1), S(np.zeros((0, 4)), k=2, dim=1)],
           dtypes=FLOATS + INTS),
    OpInfo("median_all", lambda lib, a: lib.median(a),
           lambda rng: [S(distinct(rng, 3, 5)), S(distinct(rng, 2, 3)), S(np.array(1.5)),
                        S(np.zeros((0,)))], dtypes=FLOATS + INTS),
    OpInfo("median_all_ties", lambda lib, a: (a.median(), a.nanmedian()),
           lambda rng: [S(np.array([2.0, 1.0, 2.0, 1.0])), S(np.array([3.0, np.nan, 1.0]))],
           gradcheck=False),
    OpInfo("median_dim", lambda lib, a, **k: a.median(**k),
           lambda rng: [S(distinct(rng, 3, 5), dim=1), S(distinct(rng, 4, 3), dim=0,
                                                          keepdim=True),
                        S(distinct(rng, 2, 3, 4), dim=-1), S(np.array(1.5), dim=0),
                        S(np.zeros((0, 3)), dim=1)], dtypes=FLOATS + INTS),
    OpInfo("median_nan", lambda lib, a, **k: a.median(**k), nan_samples, gradcheck=False),
    # an all-NaN slice's nanmedian index is PyTorch's nth_element detail: not compared
    OpInfo("nanmedian_nan", lambda lib, a, **k: lib.nanmedian(a, **k),
           lambda rng: nan_samples(rng, all_nan_row=False), gradcheck=False),
    OpInfo("nanmedian", lambda lib, a, **k: lib.nanmedian(a, **k),
           lambda rng: [S(distinct(rng, 3, 5), dim=1), S(distinct(rng, 3, 5)),
                        S(distinct(rng, 4, 2), dim=0, keepdim=True)], dtypes=FLOATS + INTS),
]
