"""The torch.linalg namespace, special functions, distances, differences and grids, and
covariance: forward and gradients vs PyTorch, gradcheck in float64.

Decompositions whose factors are defined only up to signs/phases (svd, eigh, eig) are
sampled through quantities that do not depend on them (reconstructions, |U|, V V^H), and
symmetric-input functions (cholesky, eigh) through ``A A^T + c I`` / ``A + A^T``, so finite
differences see the function PyTorch differentiates. Matrices are kept well conditioned.
"""
import numpy as np

from optable import FLOATS, INTS, OpInfo, S, away_from, r

NUM = FLOATS + INTS


def _wc(rng, *shape):
    """Well-conditioned square matrices: random plus 3 I."""
    a = r(rng, *shape)
    return a + 3 * np.eye(shape[-1])


def _spd(lib, a):
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _sym(a):
    return a + a.mT


def _sq_samples(rng):
    return [S(_wc(rng, 3, 3)), S(_wc(rng, 2, 3, 3)), S(_wc(rng, 1, 1)), S(np.zeros((0, 3, 3)))]


def _svd_gauge_free(lib, a):
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    return u @ (s.unsqueeze(-1) * vh), s, u.abs(), vh.abs()


def _svd_full(lib, a):
    u, s, vh = lib.linalg.svd(a)
    return s, u[..., :3].abs(), vh.abs()


def _svd_legacy(lib, a):
    u, s, v = lib.svd(a)
    return u @ (s.unsqueeze(-1) * v.mT), s


def _eigh_upper(lib, a):
    lam, v = lib.linalg.eigh(_sym(a), UPLO="U")
    return lam, v.abs()


def _eigvals_parts(lib, a):
    lam = lib.linalg.eigvals(a)
    return lam.real, lam.imag


def _eigh_gauge_free(lib, a):
    lam, v = lib.linalg.eigh(_sym(a))
    return lam, v.abs()


def _eig_gauge_free(lib, a):
    lam, v = lib.linalg.eig(a)
    return lam.real, lam.imag, (v * v.conj()).real


def _distinct(rng, *shape):
    """Matrices with well-separated singular values (gradients of svd need them)."""
    q1, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (shape[-2], shape[-2])))
    q2, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (shape[-1], shape[-1])))
    k = min(shape[-2:])
    s = np.zeros(shape)
    idx = np.arange(k)
    s[..., idx, idx] = np.arange(k, 0, -1) + 0.5
    return q1 @ s @ q2


_LINALG = [
    OpInfo("linalg.inv", lambda lib, a: lib.linalg.inv(a), _sq_samples),
    OpInfo("inverse", lambda lib, a: a.inverse(), lambda rng: [S(_wc(rng, 3, 3))]),
    OpInfo("linalg.det", lambda lib, a: lib.linalg.det(a), _sq_samples),
    OpInfo("det", lambda lib, a: lib.det(a), lambda rng: [S(_wc(rng, 2, 2, 2))]),
    OpInfo("linalg.slogdet", lambda lib, a: lib.linalg.slogdet(a),
           lambda rng: [S(_wc(rng, 3, 3)), S(-_wc(rng, 2, 3, 3))]),
    OpInfo("logdet", lambda lib, a: lib.logdet(_spd(lib, a)),
           lambda rng: [S(r(rng, 3, 3))]),
    OpInfo("linalg.solve", lambda lib, a, b: lib.linalg.solve(a, b),
           lambda rng: [S(_wc(rng, 3, 3), r(rng, 3, 2)), S(_wc(rng, 3, 3), r(rng, 3)),
                        S(_wc(rng, 2, 3, 3), r(rng, 3, 4)), S(_wc(rng, 2, 3, 3), r(rng, 2, 3)),
                        S(_wc(rng, 3, 3), r(rng, 2, 3, 1)), S(_wc(rng, 3, 3), np.zeros((3, 0)))]),
    OpInfo("linalg.solve_left_false", lambda lib, a, b: lib.linalg.solve(a, b, left=False),
           lambda rng: [S(_wc(rng, 3, 3), r(rng, 2, 3)), S(_wc(rng, 2, 3, 3), r(rng, 4, 3))]),
    OpInfo("linalg.solve_triangular",
           lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
           lambda rng: [S(_wc(rng, 3, 3), r(rng, 3, 2)), S(_wc(rng, 2, 3, 3), r(rng, 3, 1))]),
    OpInfo("linalg.solve_triangular_lower_right_unit",
           lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False,
                                                         unitriangular=True),
           lambda rng: [S(r(rng, 3, 3), r(rng, 2, 3))]),
    OpInfo("linalg.cholesky", lambda lib, a: lib.linalg.cholesky(_spd(lib, a)),
           lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 4, 4)), S(np.zeros((0, 2, 2)))]),
    OpInfo("linalg.cholesky_upper", lambda lib, a: lib.linalg.cholesky(_spd(lib, a), upper=True),
           lambda rng: [S(r(rng, 3, 3))]),
    OpInfo("cholesky_solve", lambda lib, b, a: lib.cholesky_solve(
        b, lib.linalg.cholesky(_spd(lib, a))), lambda rng: [S(r(rng, 3, 2), r(rng, 3, 3))]),
    OpInfo("cholesky_inverse", lambda lib, a: lib.cholesky_inverse(
        lib.linalg.cholesky(_spd(lib, a))), lambda rng: [S(r(rng, 3, 3))]),
    OpInfo("linalg.qr", lambda lib, a: lib.linalg.qr(a),
           lambda rng: [S(r(rng, 5, 3)), S(r(rng, 3, 5)), S(r(rng, 2, 3, 3)),
                        S(np.zeros((0, 3, 2)))]),
    OpInfo("linalg.qr_complete_wide", lambda lib, a: lib.linalg.qr(a, mode="complete"),
           lambda rng: [S(r(rng, 2, 4))]),
    OpInfo("linalg.svd", _svd_gauge_free,
           lambda rng: [S(_distinct(rng, 4, 3)), S(_distinct(rng, 3, 4)),
                        S(_distinct(rng, 2, 3, 3))]),
    OpInfo("linalg.svd_full", _svd_full, lambda rng: [S(_distinct(rng, 4, 3))]),
    OpInfo("linalg.svdvals", lambda lib, a: lib.linalg.svdvals(a),
           lambda rng: [S(_distinct(rng, 4, 3)), S(_distinct(rng, 2, 2, 3))]),
    OpInfo("svd_legacy", _svd_legacy, lambda rng: [S(_distinct(rng, 4, 3))]),
    OpInfo("linalg.eigh", _eigh_gauge_free,
           lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 4, 4))]),
    OpInfo("linalg.eigh_upper", _eigh_upper, lambda rng: [S(r(rng, 3, 3))]),
    OpInfo("linalg.eigvalsh", lambda lib, a: lib.linalg.eigvalsh(_sym(a)),
           lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 2, 2))]),
    # complex outputs: their gradients are checked in test_linalg_namespace.py
    OpInfo("linalg.eig", _eig_gauge_free, lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 2, 2))],
           grad=False),
    OpInfo("linalg.eigvals", _eigvals_parts, lambda rng: [S(r(rng, 4, 4)), S(r(rng, 2, 3, 3))],
           grad=False),
    OpInfo("linalg.pinv", lambda lib, a: lib.linalg.pinv(a),
           lambda rng: [S(_distinct(rng, 4, 3)), S(_distinct(rng, 3, 4)),
                        S(_distinct(rng, 2, 3, 3))]),
    OpInfo("linalg.pinv_hermitian", lambda lib, a: lib.linalg.pinv(_sym(a), hermitian=True),
           lambda rng: [S(_wc(rng, 3, 3))]),
    OpInfo("pinverse", lambda lib, a: lib.pinverse(a), lambda rng: [S(_distinct(rng, 3, 2))]),
    OpInfo("linalg.lstsq", lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
           lambda rng: [S(_distinct(rng, 5, 3), r(rng, 5, 2)), S(_distinct(rng, 5, 3), r(rng, 5)),
                        S(_distinct(rng, 3, 5), r(rng, 3, 2))]),
    OpInfo("linalg.lstsq_gelsd", lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelsd")[:2],
           lambda rng: [S(_distinct(rng, 5, 3), r(rng, 5, 2))], grad=False),
    OpInfo("linalg.vector_norm", lambda lib, a, **kw: lib.linalg.vector_norm(a, **kw),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 3, 4), ord=1, dim=1),
                        S(r(rng, 2, 3, 4), ord=3, dim=(0, 2), keepdim=True),
                        S(r(rng, 5), ord=0.5), S(r(rng, 3, 4), ord=float("inf"), dim=0),
                        S(np.zeros((0, 3)), dim=0)]),
    *[OpInfo(f"linalg.matrix_norm_{o}", lambda lib, a, _o=o: lib.linalg.matrix_norm(a, _o),
             lambda rng: [S(_distinct(rng, 3, 4)), S(_distinct(rng, 2, 3, 3))])
      for o in ("fro", "nuc", 2, -2, 1, -1, float("inf"), -float("inf"))],
    OpInfo("linalg.matrix_norm_dims", lambda lib, a: lib.linalg.matrix_norm(
        a, 1, dim=(2, 0), keepdim=True), lambda rng: [S(r(rng, 3, 4, 2))]),
    OpInfo("linalg.norm", lambda lib, a, **kw: lib.linalg.norm(a, **kw),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 2, 3, 4), dim=1), S(r(rng, 3, 4), ord=1),
                        S(r(rng, 2, 3, 4), ord="fro", dim=(1, 2)), S(r(rng, 4), ord=3)]),
    OpInfo("linalg.cond", lambda lib, a: lib.linalg.cond(a),
           lambda rng: [S(_distinct(rng, 3, 3)), S(_distinct(rng, 3, 4))]),
    OpInfo("linalg.cross", lambda lib, a, b: lib.linalg.cross(a, b),
           lambda rng: [S(r(rng, 4, 3), r(rng, 4, 3)), S(r(rng, 1, 3), r(rng, 2, 3))],
           dtypes=NUM),
    OpInfo("cross_dim", lambda lib, a, b: lib.cross(a, b, dim=0),
           lambda rng: [S(r(rng, 3, 2), r(rng, 3, 2))]),
    OpInfo("linalg.vecdot", lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0),
           lambda rng: [S(r(rng, 3, 2), r(rng, 3, 2))]),
    OpInfo("linalg.multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
           lambda rng: [S(r(rng, 2, 3), r(rng, 3, 4), r(rng, 4, 2)),
                        S(r(rng, 3), r(rng, 3, 4), r(rng, 4))], dtypes=NUM),
    OpInfo("linalg.matrix_power", lambda lib, a, n=3: lib.linalg.matrix_power(a, n),
           lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 2, 2), n=1), S(r(rng, 2, 2), n=0),
                        S(_wc(rng, 3, 3), n=-2)]),
    OpInfo("matrix_power_int", lambda lib, a: a.matrix_power(4), lambda rng: [S(r(rng, 2, 2))],
           dtypes=INTS),
    OpInfo("linalg.matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a),
           lambda rng: [S(r(rng, 3, 3)), S(r(rng, 2, 2, 2) * 4), S(r(rng, 2, 2) * 0)]),
    OpInfo("linalg.vander", lambda lib, a, **kw: lib.linalg.vander(a, **kw),
           lambda rng: [S(r(rng, 4)), S(r(rng, 2, 3), N=4), S(r(rng, 3), N=2)], dtypes=NUM),
    # torch.vander's own backward trips its version check; ember's is linalg.vander's
    OpInfo("vander", lambda lib, a, **kw: lib.vander(a, **kw),
           lambda rng: [S(r(rng, 4)), S(r(rng, 3), N=5, increasing=True), S(r(rng, 3), N=1),
                        S(r(rng, 2), N=0)], dtypes=NUM + ("bool",), grad=False),
    OpInfo("linalg.tensorinv", lambda lib, a: lib.linalg.tensorinv(a.reshape(2, 2, 4), ind=2),
           lambda rng: [S(_wc(rng, 4, 4))]),
    OpInfo("linalg.tensorsolve", lambda lib, a, b: lib.linalg.tensorsolve(
        a.reshape(2, 3, 6), b), lambda rng: [S(_wc(rng, 6, 6), r(rng, 2, 3))]),
]


def _pos(rng, *shape, low=0.1, high=4.0):
    return r(rng, *shape, low=low, high=high)


def _sp(name, fn, samples, dtypes=FLOATS + INTS, **kw):
    return OpInfo(name, fn, samples, dtypes=dtypes, **kw)


_NONINT = tuple(k - 0.5 for k in range(-3, 5))


def _wide(rng):
    """Both signs, away from the integers where gamma has poles."""
    return [S(away_from(r(rng, 3, 4, low=-3.5, high=4.0), tuple(range(-4, 1)), 0.15)),
            S(_pos(rng, 5)), S(np.array(2.5)), S(np.zeros((0, 2)))]


_SPECIAL = [
    _sp("lgamma", lambda lib, a: lib.lgamma(a), _wide),
    _sp("lgamma_large", lambda lib, a: a.lgamma(),
        lambda rng: [S(r(rng, 6, low=5.0, high=300.0))], dtypes=FLOATS),
    _sp("digamma", lambda lib, a: lib.digamma(a), _wide),
    _sp("polygamma_1", lambda lib, a: lib.polygamma(1, a), _wide, dtypes=FLOATS),
    _sp("polygamma_3", lambda lib, a: a.polygamma(3), lambda rng: [S(_pos(rng, 3, 4))],
        dtypes=FLOATS),
    _sp("mvlgamma", lambda lib, a: lib.mvlgamma(a, 3), lambda rng: [S(_pos(rng, 4, low=1.2))]),
    _sp("i0", lambda lib, a: lib.i0(a), lambda rng: [S(r(rng, 3, 4, low=-8, high=8)),
                                                    S(r(rng, 4, low=18, high=30))]),
    _sp("sinc", lambda lib, a: lib.sinc(a),
        lambda rng: [S(away_from(r(rng, 3, 4), (0.0,), 0.05)), S(np.zeros(2))]),
    _sp("xlogy", lambda lib, a, b: lib.xlogy(a, b),
        lambda rng: [S(r(rng, 3, 4), _pos(rng, 3, 4)), S(r(rng, 3, 1), _pos(rng, 4)),
                     S(np.array([0.0, 1.5]), np.array([0.5, 2.0]))]),
    _sp("xlogy_scalar", lambda lib, a: lib.xlogy(a, 3.0), lambda rng: [S(r(rng, 4))]),
    _sp("special.expit", lambda lib, a: lib.special.expit(a), lambda rng: [S(r(rng, 3, 4))]),
    _sp("special.xlog1py", lambda lib, a, b: lib.special.xlog1py(a, b),
        lambda rng: [S(r(rng, 3, 4), _pos(rng, 3, 4, low=-0.5))]),
    _sp("special.entr", lambda lib, a: lib.special.entr(a),
        lambda rng: [S(_pos(rng, 3, 4)), S(np.array([-1.0, 0.0, 2.0]))], gradcheck=False),
    _sp("special.entr_positive", lambda lib, a: lib.special.entr(a),
        lambda rng: [S(_pos(rng, 3, 4))]),
    _sp("special.i0e", lambda lib, a: lib.special.i0e(a),
        lambda rng: [S(away_from(r(rng, 3, 4, low=-30, high=30), (0.0,))),
                     S(np.zeros(1))], gradcheck=False),
    _sp("special.i0e_away", lambda lib, a: lib.special.i0e(a),
        lambda rng: [S(away_from(r(rng, 3, 4, low=-30, high=30), (0.0,)))]),
    _sp("special.i1", lambda lib, a: lib.special.i1(a),
        lambda rng: [S(r(rng, 3, 4, low=-8, high=8)), S(np.array([0.0, 25.0, -25.0]))]),
    _sp("special.i1e", lambda lib, a: lib.special.i1e(a),
        lambda rng: [S(away_from(r(rng, 3, 4, low=-30, high=30), (0.0,))), S(np.zeros(1))]),
    _sp("special.erfcx", lambda lib, a: lib.special.erfcx(a),
        lambda rng: [S(r(rng, 3, 4, low=-3, high=30))]),
    _sp("special.ndtr", lambda lib, a: lib.special.ndtr(a), lambda rng: [S(r(rng, 3, 4) * 3)]),
    _sp("special.ndtri", lambda lib, a: lib.special.ndtri(a),
        lambda rng: [S(r(rng, 3, 4, low=0.02, high=0.98))], dtypes=FLOATS),
    _sp("special.log_ndtr", lambda lib, a: lib.special.log_ndtr(a),
        lambda rng: [S(r(rng, 3, 4, low=-30, high=6))]),
    _sp("special.zeta", lambda lib, a, b: lib.special.zeta(a, b),
        lambda rng: [S(r(rng, 3, 4, low=1.5, high=5.0), _pos(rng, 3, 4, low=0.5))],
        grad=False),
    _sp("special.zeta_q", lambda lib, x, q: lib.special.zeta(x, q),
        lambda rng: [S(np.array([2.0, 3.5]), _pos(rng, 2, low=0.5), grad=(1,))],
        dtypes=FLOATS),
    _sp("special.gammaln", lambda lib, a: lib.special.gammaln(a), lambda rng: [S(_pos(rng, 4))]),
    _sp("special.psi", lambda lib, a: lib.special.psi(a), lambda rng: [S(_pos(rng, 4))]),
    _sp("special.multigammaln", lambda lib, a: lib.special.multigammaln(a, 2),
        lambda rng: [S(_pos(rng, 4, low=1.0))]),
    _sp("special.softmax", lambda lib, a: lib.special.softmax(a, 1),
        lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS),
    _sp("special.log_softmax", lambda lib, a: lib.special.log_softmax(a, 0),
        lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS),
    _sp("special.logsumexp", lambda lib, a: lib.special.logsumexp(a, 1),
        lambda rng: [S(r(rng, 3, 4))], dtypes=FLOATS),
]


_OTHER = [
    OpInfo("cdist", lambda lib, a, b, **kw: lib.cdist(a, b, **kw),
           lambda rng: [S(r(rng, 4, 3), r(rng, 5, 3)), S(r(rng, 2, 4, 3), r(rng, 5, 3), p=1.0),
                        S(r(rng, 4, 3), r(rng, 2, 5, 3), p=3.0),
                        S(r(rng, 4, 2), r(rng, 3, 2), p=0.5),
                        S(r(rng, 4, 3), r(rng, 5, 3), p=float("inf")),
                        S(r(rng, 30, 3), r(rng, 5, 3)), S(np.zeros((0, 3)), r(rng, 2, 3))]),
    OpInfo("cdist_p0", lambda lib, a, b: lib.cdist(a, b, p=0),
           lambda rng: [S(r(rng, 4, 3), r(rng, 5, 3))]),
    OpInfo("pdist", lambda lib, a, **kw: lib.pdist(a, **kw),
           lambda rng: [S(r(rng, 5, 3)), S(r(rng, 4, 2), p=1.0), S(r(rng, 4, 3), p=3.0),
                        S(r(rng, 1, 3))]),
    OpInfo("diff", lambda lib, a, **kw: lib.diff(a, **kw),
           lambda rng: [S(r(rng, 3, 5)), S(r(rng, 4, 3), n=2, dim=0), S(r(rng, 5), n=7),
                        S(r(rng, 3), n=0)], dtypes=NUM + ("bool",)),
    OpInfo("diff_prepend_append", lambda lib, a, p, q: a.diff(dim=0, prepend=p, append=q),
           lambda rng: [S(r(rng, 3, 4), r(rng, 1, 4), r(rng, 2, 4))], dtypes=NUM),
    OpInfo("trapezoid", lambda lib, y, **kw: lib.trapezoid(y, **kw),
           lambda rng: [S(r(rng, 3, 5)), S(r(rng, 3, 5), dx=0.5, dim=0), S(np.zeros(0))],
           dtypes=NUM),
    OpInfo("trapezoid_x", lambda lib, y, x: lib.trapezoid(y, x),
           lambda rng: [S(r(rng, 3, 5), np.sort(r(rng, 5))), S(r(rng, 3, 5), r(rng, 3, 5))]),
    OpInfo("trapz", lambda lib, y: lib.trapz(y, dx=2.0), lambda rng: [S(r(rng, 4))]),
    OpInfo("cumulative_trapezoid", lambda lib, y, **kw: lib.cumulative_trapezoid(y, **kw),
           lambda rng: [S(r(rng, 3, 5)), S(r(rng, 4, 3), dim=0, dx=3.0), S(np.zeros(0))],
           dtypes=NUM),
    OpInfo("cumulative_trapezoid_x", lambda lib, y, x: lib.cumulative_trapezoid(y, x),
           lambda rng: [S(r(rng, 2, 4), r(rng, 4))]),
    OpInfo("meshgrid_ij", lambda lib, a, b: lib.meshgrid(a, b, indexing="ij"),
           lambda rng: [S(r(rng, 3), r(rng, 2)), S(np.array(1.5), r(rng, 2))], dtypes=NUM),
    OpInfo("meshgrid_xy", lambda lib, a, b, c: lib.meshgrid([a, b, c], indexing="xy"),
           lambda rng: [S(r(rng, 3), r(rng, 2), r(rng, 4))]),
    OpInfo("cartesian_prod", lambda lib, a, b: lib.cartesian_prod(a, b),
           lambda rng: [S(r(rng, 3), r(rng, 2))], dtypes=NUM),
    OpInfo("combinations", lambda lib, a, **kw: lib.combinations(a, **kw),
           lambda rng: [S(r(rng, 4)), S(r(rng, 4), r=3), S(r(rng, 3), with_replacement=True),
                        S(r(rng, 2), r=3)], dtypes=NUM),
    OpInfo("cov", lambda lib, a, **kw: lib.cov(a, **kw),
           lambda rng: [S(r(rng, 3, 6)), S(r(rng, 5), correction=0), S(r(rng, 2, 4),
                                                                      correction=2)],
           dtypes=NUM),
    OpInfo("cov_weights", lambda lib, a, f, w: lib.cov(a, fweights=f, aweights=w),
           lambda rng: [S(r(rng, 3, 5), np.array([1, 2, 1, 3, 1]), r(rng, 5, low=0.2),
                          keep=(1,), grad=(0, 2))]),
    OpInfo("corrcoef", lambda lib, a: lib.corrcoef(a),
           lambda rng: [S(r(rng, 3, 6)), S(r(rng, 5))], dtypes=NUM),
]

OPS = _LINALG + _SPECIAL + _OTHER
