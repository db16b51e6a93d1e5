"""Rows for the order statistics and small composites added for issue 17: quantile,
nanquantile, mode, angle, diagflat, block_diag, renorm, addr, split_with_sizes, the signal
windows and the torch.* spellings of functional ops."""
import numpy as np

from optable import ALL_REAL, FLOATS, INTS, OpInfo, S, r

NAN = float("nan")


def _with_nan(rng):
    a = r(rng, 3, 5)
    a[0, 1] = NAN
    a[2, :] = NAN
    return [S(a), S(r(rng, 4, 6))]


def _repeats(rng):
    return [S(np.round(r(rng, 4, 6))), S(np.round(r(rng, 7)))]


OPS = [
    OpInfo("quantile", lambda lib, a: lib.quantile(a, 0.3), lambda rng: [S(r(rng, 3, 5))]),
    OpInfo("quantile_dim", lambda lib, a: a.quantile(0.8, dim=1, keepdim=True),
           lambda rng: [S(r(rng, 3, 5)), S(r(rng, 4, 1))]),
    OpInfo("quantile_q_tensor", lambda lib, a, q: lib.quantile(a, q, dim=0),
           lambda rng: [S(r(rng, 5, 3), np.array([0.0, 0.25, 0.5, 1.0]), grad=(0,))],
           gradcheck=False),
    OpInfo("quantile_nan", lambda lib, a: lib.quantile(a, 0.5, dim=1), _with_nan,
           gradcheck=False),
    OpInfo("nanquantile", lambda lib, a: lib.nanquantile(a, 0.6, dim=1), _with_nan,
           gradcheck=False),
    OpInfo("nanquantile_modes", lambda lib, a: tuple(
        a.nanquantile(0.45, dim=1, interpolation=m)
        for m in ("lower", "higher", "midpoint", "nearest")), _with_nan, gradcheck=False),
    OpInfo("mode", lambda lib, a: tuple(lib.mode(a, -1)), _repeats, dtypes=FLOATS + INTS,
           gradcheck=False),
    OpInfo("mode_keepdim", lambda lib, a: tuple(a.mode(0, keepdim=True)), _repeats,
           dtypes=FLOATS + INTS, gradcheck=False),
    OpInfo("angle", lambda lib, a: lib.angle(a),
           lambda rng: [S(np.array([-1.5, 0.0, 2.0, NAN, -0.0]))], dtypes=FLOATS + INTS,
           gradcheck=False),
    OpInfo("diagflat", lambda lib, a: lib.diagflat(a, -1),
           lambda rng: [S(r(rng, 2, 2)), S(r(rng, 3))], dtypes=ALL_REAL),
    OpInfo("block_diag", lambda lib, a, b, c: lib.block_diag(a, b, c),
           lambda rng: [S(r(rng, 2, 3), np.array(1.5), r(rng, 2))], dtypes=ALL_REAL),
    OpInfo("renorm", lambda lib, a: lib.renorm(a, 2, 0, 1.0), lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("renorm_p3_dim1", lambda lib, a: a.renorm(3, 1, 0.8),
           lambda rng: [S(r(rng, 3, 4, 2))]),
    OpInfo("addr", lambda lib, m, a, b: lib.addr(m, a, b, beta=0.5, alpha=2),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3), r(rng, 4)), S(r(rng, 4), r(rng, 3),
                                                                  r(rng, 4))]),
    OpInfo("split_with_sizes", lambda lib, a: lib.split_with_sizes(a, [1, 3], 1),
           lambda rng: [S(r(rng, 2, 4))], dtypes=ALL_REAL),
    OpInfo("windows", lambda lib: (
        lib.hann_window(8), lib.hann_window(7, False), lib.hamming_window(5),
        lib.blackman_window(6), lib.bartlett_window(5), lib.kaiser_window(6),
        lib.kaiser_window(7, False, 3.0), lib.hann_window(1), lib.hann_window(0),
        lib.hann_window(9, dtype=lib.float64)), lambda rng: [S()], grad=False),
    # the top-level spellings of functional ops (ATen argument order, int reductions)
    OpInfo("torch_layer_norm", lambda lib, a, w: lib.layer_norm(a, (4,), w, None, 1e-5, True),
           lambda rng: [S(r(rng, 2, 3, 4), r(rng, 4))]),
    OpInfo("torch_batch_norm", lambda lib, a, w: lib.batch_norm(
        a, w, None, None, None, True, 0.1, 1e-5, True),
           lambda rng: [S(r(rng, 4, 3), r(rng, 3))]),
    OpInfo("torch_losses", lambda lib, a, b: (
        lib.kl_div(a, b.exp(), 1), lib.margin_ranking_loss(a, b, (a - b).sign(), 0.1, 2),
        lib.hinge_embedding_loss(a, (b > 0).to(a.dtype) * 2 - 1),
        lib.binary_cross_entropy_with_logits(a, b.sigmoid(), None, None, 1)),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4))], gradcheck=False),
    OpInfo("torch_conv1d", lambda lib, a, w: lib.conv1d(a, w, None, 1, 1),
           lambda rng: [S(r(rng, 2, 3, 6), r(rng, 4, 3, 3))]),
]
