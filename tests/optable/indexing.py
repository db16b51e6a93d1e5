"""Indexing ops of the table: getitem/setitem, gather/scatter family, index_*, take,
masked_*, nonzero. Integer indices and masks keep their own dtype (``keep``)."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, r


def I(*vals):  # noqa: E743 - an int64 index array
    return np.array(vals, dtype=np.int64)


def M(*vals):
    return np.array(vals, dtype=bool)


def _set(key):
    """``y = a.clone(); y[key(lib, *idx)] = b; return y``, for both libraries."""
    def fn(lib, a, b, *idx):
        y = a.clone()
        y[key(*idx)] = b
        return y
    return fn


def _set_scalar(key, value):
    def fn(lib, a, *idx):
        y = a.clone()
        y[key(*idx)] = value
        return y
    return fn


def _distinct_rows(rng, rows, k, n):
    """An index with distinct entries along dim 1 (scatter with duplicates is
    nondeterministic in PyTorch)."""
    return np.stack([rng.permutation(n)[:k] for _ in range(rows)]).astype(np.int64)


def _distinct_cols(rng, k, cols, n):
    return _distinct_rows(rng, cols, k, n).T.copy()


def _scatter_reduce(reduce, include_self):
    return OpInfo(f"scatter_reduce_{reduce}{'' if include_self else '_noself'}",
                  lambda lib, a, i, b: a.scatter_reduce(0, i, b, reduce,
                                                        include_self=include_self),
                  lambda rng: [S(r(rng, 3, 4, low=0.5), I(*[[0, 2, 0, 1], [0, 0, 2, 2]]),
                                 r(rng, 2, 4, low=0.5), keep=(1,)),
                               S(r(rng, 4, low=0.5), I(1, 1, 3), r(rng, 3, low=0.5),
                                 keep=(1,))],
                  dtypes=FLOATS)


OPS = [
    # --- getitem ---------------------------------------------------------------------------
    OpInfo("getitem_basic", lambda lib, a: a[1, ::2, None, 1:],
           lambda rng: [S(r(rng, 3, 4, 5)), S(r(rng, 2, 3, 0))], dtypes=ALL_REAL),
    OpInfo("getitem_int", lambda lib, a: a[-1],
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 5)), S(r(rng, 2, 0))], dtypes=ALL_REAL),
    OpInfo("getitem_ellipsis", lambda lib, a: a[..., None],
           lambda rng: [S(r(rng, 3, 4)), S(np.array(1.5)), S(r(rng, 0, 2))]),
    OpInfo("getitem_adv", lambda lib, a, i: a[i],
           lambda rng: [S(r(rng, 3, 4), I(0, 2, 0, 1), keep=(1,)),
                        S(r(rng, 4), I(*[[0, 3], [3, -1]]), keep=(1,)),
                        S(r(rng, 3, 2), I(), keep=(1,))], dtypes=ALL_REAL),
    OpInfo("getitem_adv_apart", lambda lib, a, i, j: a[i, :, j],
           lambda rng: [S(r(rng, 3, 4, 5), I(0, 2, 2), I(4, 1, 4), keep=(1, 2)),
                        S(r(rng, 3, 4, 5), I(*[[0], [1]]), I(1, 2, 3), keep=(1, 2))]),
    OpInfo("getitem_int_adv", lambda lib, a, i: a[:, 0, :, i],
           lambda rng: [S(r(rng, 2, 3, 4, 5), I(0, 4, 0), keep=(1,))]),
    OpInfo("getitem_int_adv_front", lambda lib, a, i: a[1, :, i],
           lambda rng: [S(r(rng, 2, 3, 4), I(*[[0, 1], [3, 3]]), keep=(1,))]),
    OpInfo("getitem_mask", lambda lib, a, m: a[m],
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4) > 0, keep=(1,)),
                        S(r(rng, 3, 4), M(True, False, True), keep=(1,)),
                        S(r(rng, 3), M(False, False, False), keep=(1,))], dtypes=ALL_REAL),
    OpInfo("getitem_mask_slice", lambda lib, a, m: a[:, m],
           lambda rng: [S(r(rng, 2, 3, 4), r(rng, 3, 4) > 0, keep=(1,))]),
    # --- setitem ---------------------------------------------------------------------------
    OpInfo("setitem_basic", _set(lambda: (1, slice(None, None, 2))),
           lambda rng: [S(r(rng, 3, 4), r(rng, 2)), S(r(rng, 3, 4), r(rng, 1)),
                        S(r(rng, 3, 4), np.array(0.5))], dtypes=ALL_REAL),
    OpInfo("setitem_adv", _set(lambda i: (slice(None), i)),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 2), I(3, 0), keep=(2,)),
                        S(r(rng, 3, 4), r(rng, 2), I(1, -1), keep=(2,))], dtypes=ALL_REAL),
    OpInfo("setitem_mask", _set(lambda m: m),
           lambda rng: [S(r(rng, 3, 4), np.array(0.25), M(True, False, True), keep=(2,)),
                        S(r(rng, 3, 4), r(rng, 4), M(True, False, True), keep=(2,))]),
    OpInfo("setitem_int_adv", _set(lambda i: (slice(None), 0, slice(None), i)),
           lambda rng: [S(r(rng, 2, 3, 4, 5), r(rng, 2, 4, 2), I(0, 3), keep=(2,))]),
    OpInfo("setitem_scalar", _set_scalar(lambda i: (i, 1), 2.5),
           lambda rng: [S(r(rng, 3, 4), I(0, 2), keep=(1,))], dtypes=ALL_REAL),
    # --- gather / scatter ------------------------------------------------------------------
    OpInfo("gather", lambda lib, a, i: a.gather(1, i),
           lambda rng: [S(r(rng, 3, 4), rng.integers(0, 4, (3, 5)), keep=(1,)),
                        S(r(rng, 3, 4), rng.integers(0, 4, (2, 2)), keep=(1,))],
           dtypes=FLOATS + INTS),
    OpInfo("gather_dim0", lambda lib, a, i: lib.gather(a, 0, i),
           lambda rng: [S(r(rng, 3, 4), rng.integers(0, 3, (5, 4)), keep=(1,)),
                        S(r(rng, 4), rng.integers(0, 4, (6,)), keep=(1,)),
                        S(np.array(1.5), np.array(0), keep=(1,))]),
    OpInfo("scatter", lambda lib, a, i, b: a.scatter(1, i, b),
           lambda rng: [S(r(rng, 3, 5), _distinct_rows(rng, 3, 2, 5), r(rng, 3, 2), keep=(1,)),
                        S(r(rng, 3, 5), _distinct_rows(rng, 2, 3, 5), r(rng, 2, 3), keep=(1,))],
           dtypes=FLOATS + INTS),
    OpInfo("scatter_value", lambda lib, a, i: a.scatter(0, i, 1.5),
           lambda rng: [S(r(rng, 4, 3), rng.integers(0, 4, (2, 3)), keep=(1,))]),
    OpInfo("scatter_add", lambda lib, a, i, b: a.scatter_add(0, i, b),
           lambda rng: [S(r(rng, 3, 4), rng.integers(0, 3, (5, 4)), r(rng, 5, 4), keep=(1,)),
                        S(r(rng, 3, 4), rng.integers(0, 3, (2, 3)), r(rng, 2, 3), keep=(1,))],
           dtypes=FLOATS + INTS),
    _scatter_reduce("sum", True), _scatter_reduce("sum", False),
    _scatter_reduce("mean", True), _scatter_reduce("mean", False),
    _scatter_reduce("amax", True), _scatter_reduce("amin", False),
    _scatter_reduce("prod", True), _scatter_reduce("prod", False),
    # --- index_* / take --------------------------------------------------------------------
    OpInfo("index_select", lambda lib, a, i: a.index_select(1, i),
           lambda rng: [S(r(rng, 3, 4), I(3, 0, 3), keep=(1,)),
                        S(r(rng, 3, 4), I(), keep=(1,)),
                        S(r(rng, 3, 4), np.array(2), keep=(1,))], dtypes=FLOATS + INTS),
    OpInfo("index_add", lambda lib, a, i, b: a.index_add(0, i, b, alpha=2),
           lambda rng: [S(r(rng, 3, 4), I(2, 0, 2, 2), r(rng, 4, 4), keep=(1,)),
                        S(r(rng, 5), I(4, 0), r(rng, 2), keep=(1,))], dtypes=FLOATS + INTS),
    OpInfo("index_fill", lambda lib, a, i: a.index_fill(1, i, -1.5),
           lambda rng: [S(r(rng, 3, 4), I(0, -1, 0), keep=(1,))], dtypes=FLOATS + INTS),
    OpInfo("index_fill_tensor", lambda lib, a, i, v: a.index_fill(0, i, v),
           lambda rng: [S(r(rng, 3, 4), I(2), np.array(0.5), keep=(1,))]),
    OpInfo("index_put_acc", lambda lib, a, i, b: a.index_put((i,), b, accumulate=True),
           lambda rng: [S(r(rng, 3, 4), I(1, 1, 0), r(rng, 3, 4), keep=(1,)),
                        S(r(rng, 3, 4), I(2, 2), r(rng, 4), keep=(1,))], dtypes=FLOATS + INTS),
    OpInfo("index_put", lambda lib, a, i, b: a.index_put((i,), b),
           lambda rng: [S(r(rng, 3, 4), I(2, 0), r(rng, 2, 4), keep=(1,))]),
    OpInfo("take", lambda lib, a, i: a.take(i),
           lambda rng: [S(r(rng, 3, 4), I(*[[0, 11], [5, -1]]), keep=(1,)),
                        S(r(rng, 3, 4), I(3, 3, 3), keep=(1,))], dtypes=FLOATS + INTS),
    OpInfo("take_along_dim", lambda lib, a, i: lib.take_along_dim(a, i, dim=1),
           lambda rng: [S(r(rng, 3, 4), rng.integers(0, 4, (3, 2)), keep=(1,)),
                        S(r(rng, 3, 4), rng.integers(0, 4, (1, 6)), keep=(1,)),
                        S(r(rng, 1, 4), rng.integers(0, 4, (3, 2)), keep=(1,))]),
    OpInfo("take_along_dim_flat", lambda lib, a, i: lib.take_along_dim(a, i),
           lambda rng: [S(r(rng, 3, 4), I(*[[0, 11], [5, 5]]), keep=(1,))]),
    # --- masks -----------------------------------------------------------------------------
    OpInfo("masked_fill", lambda lib, a, m: a.masked_fill(m, 2.5),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4) > 0, keep=(1,)),
                        S(r(rng, 3, 4), M(True, False, False, True), keep=(1,)),
                        S(r(rng, 4), r(rng, 3, 4) > 0, keep=(1,)),
                        S(np.array(1.5), np.array(True), keep=(1,)),
                        S(r(rng, 0, 4), M(True, False, False, True), keep=(1,))],
           dtypes=ALL_REAL),
    OpInfo("masked_fill_tensor", lambda lib, a, m, v: a.masked_fill(m, v),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4) > 0, np.array(-0.5), keep=(1,))]),
    OpInfo("masked_select", lambda lib, a, m: a.masked_select(m),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4) > 0, keep=(1,)),
                        S(r(rng, 4), r(rng, 3, 4) > 0, keep=(1,)),
                        S(r(rng, 3, 4), M(False, True, True, False), keep=(1,))],
           dtypes=ALL_REAL),
    OpInfo("masked_scatter", lambda lib, a, m, b: a.masked_scatter(m, b),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4) > 0, r(rng, 4, 4), keep=(1,)),
                        S(r(rng, 3, 4), M(True, False, False, True), r(rng, 7), keep=(1,))],
           dtypes=FLOATS + INTS),
    OpInfo("nonzero", lambda lib, a: lib.nonzero(a),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 5)), S(np.array(0.1)), S(r(rng, 0, 3))],
           dtypes=ALL_REAL, grad=False),
    OpInfo("nonzero_tuple", lambda lib, a: a.nonzero(as_tuple=True),
           lambda rng: [S(r(rng, 3, 4)), S(np.array(2.0))], dtypes=ALL_REAL, grad=False),
    OpInfo("argwhere", lambda lib, a: lib.argwhere(a),
           lambda rng: [S(r(rng, 2, 3, 2))], dtypes=ALL_REAL, grad=False),
    OpInfo("where_cond", lambda lib, a: lib.where(a),
           lambda rng: [S(r(rng, 3, 4))], dtypes=("float32", "int64", "bool"), grad=False),
]
