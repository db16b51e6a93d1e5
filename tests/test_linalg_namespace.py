"""ember.linalg beyond the op table: PyTorch's errors and return types, the *_ex functions,
lstsq's per-driver outputs, matrix_rank tolerances, complex-output gradients (eig),
second derivatives, the legacy ``torch.*`` spellings and their warnings."""
from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

RNG = np.random.default_rng(7)
A3 = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
TALL = RNG.normal(size=(5, 3))
SING = np.array([[1.0, 2.0], [2.0, 4.0]])


def _t(lib, a, dtype="float64", **kw):
    return lib.tensor(np.asarray(a), dtype=getattr(lib, dtype), **kw)


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def _raises_like(torch, fn):
    """fn(lib) raises the same exception type (by name) and message in ember and torch."""
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(ember)
    names = {type(want.value).__name__, type(got.value).__name__}
    assert isinstance(got.value, type(want.value).__mro__[1]) or len(names) == 1 or \
        names == {"_LinAlgError", "LinAlgError"}, (want.value, got.value)
    assert str(got.value) == str(want.value)


ERRORS = {
    "inv_singular": lambda L: L.linalg.inv(_t(L, SING)),
    "inv_batch_singular": lambda L: L.linalg.inv(_t(L, np.stack([np.eye(2), SING]))),
    "inv_not_square": lambda L: L.linalg.inv(_t(L, TALL)),
    "inv_1d": lambda L: L.linalg.inv(_t(L, [1.0, 2.0])),
    "inv_long": lambda L: L.linalg.inv(_t(L, np.eye(2), "int64")),
    "inv_half": lambda L: L.linalg.inv(_t(L, np.eye(2), "float16")),
    "det_long": lambda L: L.linalg.det(_t(L, np.eye(2), "int64")),
    "det_half": lambda L: L.linalg.det(_t(L, np.eye(2), "float16")),
    "slogdet_half": lambda L: L.linalg.slogdet(_t(L, np.eye(2), "float16")),
    "solve_singular": lambda L: L.linalg.solve(_t(L, SING), _t(L, [1.0, 1.0])),
    "solve_shapes": lambda L: L.linalg.solve(_t(L, np.eye(2)), _t(L, np.ones(3))),
    "solve_shapes_right": lambda L: L.linalg.solve(_t(L, np.eye(2)), _t(L, np.ones((2, 3))),
                                                   left=False),
    "solve_dtypes": lambda L: L.linalg.solve(_t(L, np.eye(2), "float32"), _t(L, np.ones(2))),
    "solve_batch": lambda L: L.linalg.solve(_t(L, np.ones((3, 2, 2))), _t(L, np.ones((2, 2, 2)))),
    "cholesky_not_pd": lambda L: L.linalg.cholesky(_t(L, SING)),
    "cholesky_batch": lambda L: L.linalg.cholesky(_t(L, np.stack([np.eye(3), -np.eye(3)]))),
    "cholesky_half": lambda L: L.linalg.cholesky(_t(L, np.eye(2), "float16")),
    "qr_mode": lambda L: L.linalg.qr(_t(L, TALL), mode="bad"),
    "qr_long": lambda L: L.linalg.qr(_t(L, np.eye(2), "int64")),
    "eigh_uplo": lambda L: L.linalg.eigh(_t(L, np.eye(2)), UPLO="X"),
    "eigh_long": lambda L: L.linalg.eigh(_t(L, np.eye(2), "int64")),
    "eigh_not_square": lambda L: L.linalg.eigh(_t(L, TALL)),
    "svd_1d": lambda L: L.linalg.svd(_t(L, [1.0, 2.0])),
    "svd_driver": lambda L: L.linalg.svd(_t(L, TALL), driver="gesvd"),
    "pinv_long": lambda L: L.linalg.pinv(_t(L, np.eye(3), "int64")),
    "matrix_rank_long": lambda L: L.linalg.matrix_rank(_t(L, np.eye(3), "int64")),
    "matrix_norm_ord": lambda L: L.linalg.matrix_norm(_t(L, TALL), ord=3),
    "matrix_norm_1d": lambda L: L.linalg.matrix_norm(_t(L, [1.0, 2.0]), ord=2),
    "matrix_norm_dims": lambda L: L.linalg.matrix_norm(_t(L, A3), "nuc", dim=(0, 0)),
    "vector_norm_str": lambda L: L.linalg.vector_norm(_t(L, TALL), ord="fro"),
    "vector_norm_dtype": lambda L: L.linalg.vector_norm(_t(L, [1.0]), dtype=L.long),
    "vector_norm_narrowing": lambda L: L.linalg.vector_norm(_t(L, [1.0]), dtype=L.float32),
    "vector_norm_long": lambda L: L.linalg.vector_norm(_t(L, [1, 2], "int64")),
    "norm_fro_dim": lambda L: L.linalg.norm(_t(L, TALL), ord="fro", dim=0),
    "norm_3d": lambda L: L.linalg.norm(_t(L, np.ones((2, 2, 2))), ord=2),
    "matrix_power_shape": lambda L: L.linalg.matrix_power(_t(L, TALL), 2),
    "matrix_power_int_inv": lambda L: L.linalg.matrix_power(_t(L, np.eye(2), "int64"), -1),
    "matrix_power_singular": lambda L: L.linalg.matrix_power(_t(L, SING), -1),
    "cross_len": lambda L: L.linalg.cross(_t(L, [1.0, 2.0]), _t(L, [1.0, 2.0])),
    "cross_ndim": lambda L: L.linalg.cross(_t(L, np.ones((3, 3))), _t(L, np.ones(3)), dim=0),
    "cross_dtype": lambda L: L.linalg.cross(_t(L, np.ones(3), "float32"), _t(L, np.ones(3))),
    "cross_broadcast": lambda L: L.linalg.cross(_t(L, np.ones((2, 3))), _t(L, np.ones((4, 3)))),
    "lstsq_driver": lambda L: L.linalg.lstsq(_t(L, TALL), _t(L, np.ones((5, 1))), driver="x"),
    "lstsq_rows": lambda L: L.linalg.lstsq(_t(L, TALL), _t(L, np.ones((4, 1)))),
    "lstsq_dtypes": lambda L: L.linalg.lstsq(_t(L, TALL), _t(L, np.ones((5, 1)), "float32")),
    "lstsq_long": lambda L: L.linalg.lstsq(_t(L, TALL, "int64"), _t(L, np.ones((5, 1)), "int64")),
    "multi_dot_one": lambda L: L.linalg.multi_dot([_t(L, A3)]),
    "multi_dot_first": lambda L: L.linalg.multi_dot([_t(L, np.ones((2, 3, 3))), _t(L, A3)]),
    "multi_dot_middle": lambda L: L.linalg.multi_dot([_t(L, A3), _t(L, np.ones(3)),
                                                      _t(L, np.ones(3))]),
    "multi_dot_last": lambda L: L.linalg.multi_dot([_t(L, A3), _t(L, np.ones((2, 3, 3)))]),
    "multi_dot_shapes": lambda L: L.linalg.multi_dot([_t(L, np.ones((2, 3))),
                                                      _t(L, np.ones((4, 2)))]),
    "multi_dot_dtypes": lambda L: L.linalg.multi_dot([_t(L, np.ones((2, 3)), "float32"),
                                                      _t(L, np.ones(3))]),
    "solve_triangular_1d": lambda L: L.linalg.solve_triangular(_t(L, np.eye(2)),
                                                               _t(L, np.ones(2)), upper=True),
    "solve_triangular_no_upper": lambda L: L.linalg.solve_triangular(_t(L, np.eye(2)),
                                                                     _t(L, np.ones((2, 1)))),
    "cond_not_square": lambda L: L.linalg.cond(_t(L, TALL), "fro"),
    "vander_n": lambda L: L.linalg.vander(_t(L, [1.0, 2.0]), N=1),
    "matrix_exp_long": lambda L: L.linalg.matrix_exp(_t(L, np.eye(2), "int64")),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name, torch):
    _raises_like(torch, ERRORS[name])


def test_linalg_error_is_runtime_error():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv(_t(ember, SING))


RETURN_TYPES = {
    "linalg_qr": (lambda L: L.linalg.qr(_t(L, TALL)), ("Q", "R")),
    "linalg_svd": (lambda L: L.linalg.svd(_t(L, TALL)), ("U", "S", "Vh")),
    "linalg_eigh": (lambda L: L.linalg.eigh(_t(L, A3)), ("eigenvalues", "eigenvectors")),
    "linalg_eig": (lambda L: L.linalg.eig(_t(L, A3)), ("eigenvalues", "eigenvectors")),
    "linalg_slogdet": (lambda L: L.linalg.slogdet(_t(L, A3)), ("sign", "logabsdet")),
    "linalg_lstsq": (lambda L: L.linalg.lstsq(_t(L, TALL), _t(L, np.ones((5, 1)))),
                     ("solution", "residuals", "rank", "singular_values")),
    "linalg_inv_ex": (lambda L: L.linalg.inv_ex(_t(L, A3)), ("inverse", "info")),
    "linalg_cholesky_ex": (lambda L: L.linalg.cholesky_ex(_t(L, np.eye(3))), ("L", "info")),
    "linalg_solve_ex": (lambda L: L.linalg.solve_ex(_t(L, A3), _t(L, np.ones(3))),
                        ("result", "info")),
    "slogdet": (lambda L: L.slogdet(_t(L, A3)), ("sign", "logabsdet")),
    "qr": (lambda L: L.qr(_t(L, A3)), ("Q", "R")),
    "svd": (lambda L: L.svd(_t(L, A3)), ("U", "S", "V")),
    "triangular_solve": (lambda L: L.triangular_solve(_t(L, np.ones((3, 1))), _t(L, A3)),
                         ("solution", "cloned_coefficient")),
}


@pytest.mark.parametrize("name", sorted(RETURN_TYPES))
def test_return_types(name, torch):
    fn, fields = RETURN_TYPES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = fn(torch), fn(ember)
    assert type(got).__name__ == type(want).__name__ == name
    assert got._fields == fields
    assert repr(got).startswith(f"torch.return_types.{name}(")
    for f in fields:
        w, g = getattr(want, f), getattr(got, f)
        assert tuple(g.shape) == tuple(w.shape), f
        assert str(g.dtype) == str(w.dtype), f


def test_ex_functions_report_info_like_torch(torch):
    mats = np.stack([np.eye(2), SING, -np.eye(2), 2 * np.eye(2)])
    for lib_fn in (lambda L, a: L.linalg.inv_ex(a), lambda L, a: L.linalg.cholesky_ex(a),
                   lambda L, a: L.linalg.solve_ex(a, L.ones(4, 2, 1, dtype=L.float64))):
        want, got = lib_fn(torch, _t(torch, mats)), lib_fn(ember, _t(ember, mats))
        assert got.info.dtype is ember.int32
        np.testing.assert_array_equal(_np(got.info), _np(want.info))
        ok = _np(want.info) == 0
        np.testing.assert_allclose(_np(got[0])[ok], _np(want[0])[ok], rtol=1e-12)
        assert np.isnan(_np(got[0])[~ok]).all()  # ember's documented difference
    with pytest.raises(ember.linalg.LinAlgError, match="Batch element 1"):
        ember.linalg.inv_ex(_t(ember, mats), check_errors=True)


@pytest.mark.parametrize("driver", ["gels", "gelsy", "gelsd", "gelss", None])
@pytest.mark.parametrize("shape,rhs", [((5, 3), (5, 2)), ((2, 5, 3), (2, 5, 1)), ((3, 5), (3, 2)),
                                       ((5, 3), (5,))])
def test_lstsq_outputs_per_driver(driver, shape, rhs, torch):
    a, b = RNG.normal(size=shape), RNG.normal(size=rhs)
    if driver == "gels" and shape[-2] < shape[-1]:
        pytest.skip("gels solves the underdetermined case differently (not minimum norm)")
    want = torch.linalg.lstsq(_t(torch, a), _t(torch, b), driver=driver)
    got = ember.linalg.lstsq(_t(ember, a), _t(ember, b), driver=driver)
    for f in ("solution", "residuals", "rank", "singular_values"):
        w, g = getattr(want, f), getattr(got, f)
        assert tuple(g.shape) == tuple(w.shape), f
        assert str(g.dtype) == str(w.dtype), f
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-9, atol=1e-10, err_msg=f)


def test_lstsq_rank_deficient_is_minimum_norm(torch):
    a = np.ones((5, 3))
    b = RNG.normal(size=(5, 2))
    want = torch.linalg.lstsq(_t(torch, a), _t(torch, b), driver="gelsd")
    got = ember.linalg.lstsq(_t(ember, a), _t(ember, b), driver="gelsd")
    np.testing.assert_allclose(_np(got.solution), _np(want.solution), atol=1e-10)
    assert int(got.rank) == int(want.rank) == 1
    assert got.residuals.numel() == want.residuals.numel() == 0


def test_lstsq_residual_gradient_matches_torch(torch):
    a, b = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 2))
    grads = []
    for lib in (torch, ember):
        A, B = _t(lib, a, requires_grad=True), _t(lib, b, requires_grad=True)
        out = lib.linalg.lstsq(A, B, driver="gelsd")
        (out.solution.sum() + 2 * out.residuals.sum()).backward()
        grads.append((_np(A.grad), _np(B.grad)))
    for w, g in zip(*grads):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kw", [{}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.2},
                                {"hermitian": True}, {"tol": 1.0}])
def test_matrix_rank_tolerances(kw, torch):
    q, _ = np.linalg.qr(RNG.normal(size=(4, 4)))
    a = q @ np.diag([3.0, 1.0, 0.4, 0.0]) @ q.T
    a = np.stack([a, a + 0.2 * np.eye(4)])
    want = torch.linalg.matrix_rank(_t(torch, a), **kw)
    got = ember.linalg.matrix_rank(_t(ember, a), **kw)
    assert got.dtype is ember.int64
    np.testing.assert_array_equal(_np(got), _np(want))


@pytest.mark.parametrize("with_vectors", [False, True])
def test_eig_gradients_with_complex_cotangents(with_vectors, torch):
    a = RNG.normal(size=(2, 3, 3))
    gl = RNG.normal(size=(2, 3)) + 1j * RNG.normal(size=(2, 3))
    gv = RNG.normal(size=(2, 3, 3)) + 1j * RNG.normal(size=(2, 3, 3))
    v = torch.linalg.eig(_t(torch, a))[1].numpy()
    # a cotangent the loss's phase invariance allows: Im diag(V^H gV) = 0 (PyTorch checks)
    d = np.einsum("bij,bij->bj", v.conj(), gv)
    gv = gv - v * (1j * d.imag)[:, None, :]
    grads = []
    for lib in (torch, ember):
        A = _t(lib, a, requires_grad=True)
        if with_vectors:
            outs = lib.linalg.eig(A)
            cots = (_t(lib, gl, "complex128"), _t(lib, gv, "complex128"))
        else:
            outs, cots = (lib.linalg.eigvals(A),), (_t(lib, gl, "complex128"),)
        grads.append(_np(lib.autograd.grad(outs, A, cots)[0]))
    assert grads[1].dtype == np.float64
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-8, atol=1e-10)


def _spd(lib, a):
    return a @ a.mT + lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


SECOND_ORDER = {
    "inv": lambda a: ember.linalg.inv(a),
    "det": lambda a: ember.linalg.det(a),
    "slogdet": lambda a: ember.linalg.slogdet(a).logabsdet,
    "solve": lambda a: ember.linalg.solve(a, a.sum(-1)),
    "cholesky": lambda a: ember.linalg.cholesky(_spd(ember, a)),
    "eigvalsh": lambda a: ember.linalg.eigvalsh(a + a.mT),
    "svdvals": lambda a: ember.linalg.svdvals(a),
    "matrix_exp": lambda a: ember.linalg.matrix_exp(a),
    "pinv": lambda a: ember.linalg.pinv(a),
    "qr": lambda a: ember.linalg.qr(a).R,
    "solve_triangular": lambda a: ember.linalg.solve_triangular(a, a.mT, upper=False),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives(name, device):
    a = ember.tensor(A3, dtype=ember.float64, device=device, requires_grad=True)
    assert ember.autograd.gradgradcheck(SECOND_ORDER[name], (a,), eps=1e-6, atol=1e-5,
                                        rtol=1e-3)


def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix():
    """A deliberate difference: PyTorch returns zeros here; ember the true derivative."""
    a = ember.tensor(SING, dtype=ember.float64, requires_grad=True)
    ember.linalg.det(a).backward()
    np.testing.assert_allclose(_np(a.grad), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    b = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    t = ember.tensor(b, dtype=ember.float64, requires_grad=True)
    ember.linalg.det(t).backward()
    eps, num = 1e-6, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            d = np.zeros((3, 3))
            d[i, j] = eps
            num[i, j] = (np.linalg.det(b + d) - np.linalg.det(b - d)) / (2 * eps)
    np.testing.assert_allclose(_np(t.grad), num, atol=1e-6)


def test_solve_triangular_singular_gives_inf_like_torch(torch):
    a = np.array([[1.0, 2.0], [0.0, 0.0]])
    b = np.ones((2, 1))
    want = torch.linalg.solve_triangular(_t(torch, a), _t(torch, b), upper=True)
    got = ember.linalg.solve_triangular(_t(ember, a), _t(ember, b), upper=True)
    np.testing.assert_array_equal(np.isfinite(_np(got)), np.isfinite(_np(want)))


# --- legacy spellings ---------------------------------------------------------------------------

def _warned(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(x.message).split(" (Triggered internally")[0] for x in w]


@pytest.mark.parametrize("call", [
    lambda L: L.cholesky(_spd(L, _t(L, A3))),
    lambda L: L.qr(_t(L, A3)),
    lambda L: L.cross(_t(L, A3), _t(L, A3)),
    lambda L: L.chain_matmul(_t(L, A3), _t(L, A3)),
    lambda L: L.triangular_solve(_t(L, np.ones((3, 2))), _t(L, A3)),
])
def test_legacy_functions_warn_and_agree(call, torch):
    want, wmsg = _warned(lambda: call(torch))
    got, gmsg = _warned(lambda: call(ember))
    assert gmsg
    if wmsg:  # PyTorch warns once per process, so its text is there only the first time
        assert gmsg == wmsg
    for w, g in zip(want if isinstance(want, tuple) else (want,),
                    got if isinstance(got, tuple) else (got,)):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("some", [True, False])
def test_legacy_svd_returns_v(some, torch):
    a = RNG.normal(size=(4, 3))
    want, got = torch.svd(_t(torch, a), some=some), ember.svd(_t(ember, a), some=some)
    for f in ("U", "S", "V"):
        assert tuple(getattr(got, f).shape) == tuple(getattr(want, f).shape)
    u, s, v = (_np(x) for x in got)
    k = s.shape[0]
    np.testing.assert_allclose(u[:, :k] @ np.diag(s) @ v[:, :k].T, a, atol=1e-12)
    no_uv = ember.svd(_t(ember, a), compute_uv=False)
    assert not _np(no_uv.U).any() and not _np(no_uv.V).any()
    assert tuple(no_uv.U.shape) == tuple(torch.svd(_t(torch, a), compute_uv=False).U.shape)


def test_logdet_of_negative_and_singular(torch):
    for a in (-np.eye(3), np.zeros((3, 3)), A3):
        np.testing.assert_allclose(_np(ember.logdet(_t(ember, a))),
                                   _np(torch.logdet(_t(torch, a))), rtol=1e-12)


def test_methods_exist_like_torch(torch):
    for name in ("det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "qr", "svd",
                 "matrix_power", "matrix_exp", "cross", "dist", "cholesky_solve",
                 "cholesky_inverse", "triangular_solve"):
        assert hasattr(ember.Tensor, name) and hasattr(ember, name), name
    x, y = RNG.normal(size=(3, 4)), RNG.normal(size=(4,))
    for p in (2, 1, 0, 3.5, float("inf")):
        np.testing.assert_allclose(_np(_t(ember, x).dist(_t(ember, y), p)),
                                   _np(torch.dist(_t(torch, x), _t(torch, y), p)), rtol=1e-12)


def test_out_arguments(torch):
    out = ember.empty(0, dtype=ember.float64)
    res = ember.linalg.inv(_t(ember, A3), out=out)
    assert res is out
    np.testing.assert_allclose(_np(out), np.linalg.inv(A3), rtol=1e-12)
    q, r = ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.float64)
    got = ember.linalg.qr(_t(ember, TALL), out=(q, r))
    assert got.Q is q and got.R is r
    want = torch.linalg.qr(_t(torch, TALL))
    np.testing.assert_allclose(_np(q), _np(want.Q), atol=1e-12)


def test_qr_r_mode_has_empty_q_and_no_gradient(torch):
    want = torch.linalg.qr(_t(torch, TALL), mode="r")
    a = _t(ember, TALL, requires_grad=True)
    got = ember.linalg.qr(a, mode="r")
    assert tuple(got.Q.shape) == tuple(want.Q.shape) == (0,)
    np.testing.assert_allclose(_np(got.R), _np(want.R), atol=1e-12)
    with pytest.raises(RuntimeError, match="mode='r'"):
        got.R.sum().backward()


def test_complete_qr_of_tall_matrix_is_not_differentiable():
    a = _t(ember, TALL, requires_grad=True)
    q, r = ember.linalg.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        (q.sum() + r.sum()).backward()


@pytest.mark.parametrize("dt", ["float32", "float64", "complex64", "complex128"])
def test_decompositions_keep_dtypes_on_every_device(dt, device, torch):
    a = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    if dt.startswith("complex"):
        a = a + 1j * RNG.normal(size=(3, 3))
    h = a @ a.conj().T
    for name, fn in (("inv", lambda L, x: L.linalg.inv(x)), ("det", lambda L, x: L.linalg.det(x)),
                     ("svdvals", lambda L, x: L.linalg.svdvals(x)),
                     ("eigvalsh", lambda L, x: L.linalg.eigvalsh(x)),
                     ("cholesky", lambda L, x: L.linalg.cholesky(x)),
                     ("matrix_exp", lambda L, x: L.linalg.matrix_exp(x / 4)),
                     ("pinv", lambda L, x: L.linalg.pinv(x))):
        src = h if name in ("eigvalsh", "cholesky") else a
        want = fn(torch, torch.tensor(src, dtype=getattr(torch, dt)))
        got = fn(ember, ember.tensor(src, dtype=getattr(ember, dt), device=device))
        assert str(got.dtype) == str(want.dtype), name
        tol = 1e-4 if dt in ("float32", "complex64") else 1e-10
        np.testing.assert_allclose(_np(got), _np(want), rtol=tol, atol=tol, err_msg=name)


def test_complex_gradients_match_torch(torch):
    a = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))
    a = a @ a.conj().T + np.eye(3)  # Hermitian positive definite, so cholesky takes it too
    g = RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3))
    for fn in (lambda L, x: L.linalg.inv(x), lambda L, x: L.linalg.det(x),
               lambda L, x: L.linalg.solve(x, x.sum(0)),
               lambda L, x: L.linalg.cholesky(x),
               lambda L, x: L.linalg.matrix_exp(x / 3)):
        grads = []
        for lib in (torch, ember):
            x = _t(lib, a, "complex128", requires_grad=True)
            out = fn(lib, x)
            cot = _t(lib, g.reshape(-1)[:out.numel()].reshape(tuple(out.shape)), "complex128")
            grads.append(_np(lib.autograd.grad(out, x, cot)[0]))
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-8, atol=1e-10)
