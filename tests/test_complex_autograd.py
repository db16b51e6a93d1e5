"""Complex autograd as PyTorch defines it (conjugate Wirtinger: for a real loss L the
gradient of z is dL/dRe(z) + i dL/dIm(z)): the boundary ops between real and complex
(``real``/``imag`` views and writes through them, ``conj``, ``abs``/``angle``/``sgn``,
``view_as_real``/``view_as_complex``, ``complex``, ``polar``, casts), Hermitian
decompositions, second derivatives, gradcheck's complex mode and PyTorch's errors.
Gradients are compared with PyTorch's and with finite differences. Every op of the op
table gets the same on complex128 in ``test_optable_complex.py``."""
from __future__ import annotations

import numpy as np
import pytest

import ember

RNG = np.random.default_rng(5)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
W = np.cos(np.arange(12.0)).reshape(3, 4) + 1j * np.sin(np.arange(12.0) * 2 + 1).reshape(3, 4)


def _np(t):
    t = t.detach()
    if hasattr(t, "resolve_conj"):
        t = t.resolve_conj()
    return np.asarray(t.cpu().numpy() if hasattr(t, "cpu") else t.numpy())


def _loss(lib, out, dev=None):
    kw = {} if dev is None else {"device": dev}
    if out.is_complex():
        w = lib.tensor(W[tuple(slice(0, n) for n in out.shape)] if out.ndim == 2 else
                       np.resize(W.reshape(-1), tuple(out.shape)), dtype=out.dtype, **kw)
        return (out * w).sum().real
    w = np.resize(W.real.reshape(-1), tuple(out.shape))
    return (out * lib.tensor(w, dtype=out.dtype, **kw)).sum()


def _grads(lib, fn, arrays, dev=None):
    kw = {} if dev is None else {"device": dev}
    ins = [lib.tensor(a, **kw).requires_grad_(True) for a in arrays]
    outs = fn(lib, *ins)
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = sum(_loss(lib, o, dev) for o in outs)
    loss.backward()
    return [o for o in outs], [t.grad for t in ins]


def _same(a, b, tol=1e-10):
    a, b = _np(a), _np(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


Z0 = Z.copy()
Z0[0, :2] = 0  # abs/angle/sgn at zero: PyTorch's gradient there is 0
BOUNDARY = {
    "real": (lambda L, z: z.real * 3, (Z,)),
    "imag": (lambda L, z: L.imag(z) * 3, (Z,)),
    "real_and_imag": (lambda L, z: z.real * z.imag, (Z,)),
    "torch.real_of_real": (lambda L, x: L.real(x) * 2, (X,)),
    "conj": (lambda L, z: z.conj() * z, (Z,)),
    "conj_physical": (lambda L, z: L.conj_physical(z).exp(), (Z,)),
    "resolve_conj": (lambda L, z: L.resolve_conj(z.conj()) * 2, (Z,)),
    "abs": (lambda L, z: z.abs() ** 2, (Z0,)),
    "angle": (lambda L, z: L.angle(z), (Z0,)),
    "angle_real": (lambda L, x: x.angle() + x, (X,)),
    "sgn": (lambda L, z: z.sgn(), (Z0,)),
    "view_as_real": (lambda L, z: L.view_as_real(z).sin(), (Z,)),
    "view_as_complex": (lambda L, x: L.view_as_complex(x).exp(), (np.stack([X, Y], -1),)),
    "complex": (lambda L, x, y: L.complex(x, y) ** 2, (X, Y)),
    "polar": (lambda L, r, t: L.polar(r, t).log(), (np.abs(X) + 0.5, Y)),
    "real_times_complex": (lambda L, x, z: x * z, (X, Z)),
    "real_times_1j": (lambda L, x: (x * 1j).exp(), (X,)),
    "to_complex": (lambda L, x: (x.to(L.complex128) * (1 - 2j)).exp(), (X,)),
    "cdouble": (lambda L, x: x.cdouble().sqrt(), (X,)),
    "complex_to_real": (lambda L, z: z.to(L.float64).exp(), (Z,)),
    "complex_mean_abs": (lambda L, z: (z - z.mean()).abs().sum(), (Z,)),
    "div_pow": (lambda L, z, w: (z / w) ** 2.5 + z ** w, (Z, Z[::-1] + 3)),
    "matmul_conj": (lambda L, z: z @ z.mH, (Z,)),
    "vdot": (lambda L, a, b: L.vdot(a, b), (Z[0], Z[1])),
    "linalg.vector_norm": (lambda L, z: L.linalg.vector_norm(z, dim=1), (Z,)),
    "linalg.norm_fro": (lambda L, z: L.linalg.norm(z), (Z,)),
    "linalg.det": (lambda L, z: L.linalg.det(z[:, :3]), (Z,)),
    "linalg.svdvals": (lambda L, z: L.linalg.svdvals(z), (Z,)),
}


@pytest.mark.parametrize("name", sorted(BOUNDARY))
def test_boundary_grads_match_torch(name, device, torch):
    fn, arrays = BOUNDARY[name]
    e_out, e_g = _grads(torch, fn, arrays)
    g_out, g_g = _grads(ember, fn, arrays, device)
    for e, g in zip(e_out, g_out):
        _same(g, e)
        assert g.grad_fn is not None
    for e, g in zip(e_g, g_g):
        _same(g, e)  # a real input's gradient is real, as PyTorch's


@pytest.mark.parametrize("name", ["real_and_imag", "conj", "abs", "angle", "sgn", "polar",
                                  "view_as_real", "view_as_complex", "complex",
                                  "real_times_complex", "to_complex", "div_pow"])
def test_boundary_gradcheck(name, device):
    fn, arrays = BOUNDARY[name]
    arrays = [a[:2, :2] if a.ndim == 2 else a[:2] for a in arrays]
    if name in ("abs", "angle", "sgn"):
        arrays = [a + 0.5 for a in arrays]  # away from the kink at 0
    ins = [ember.tensor(a, device=device).requires_grad_(True) for a in arrays]
    assert ember.autograd.gradcheck(lambda *ts: fn(ember, *ts), ins)


def test_second_derivatives_gradgradcheck(device):
    z = ember.tensor(Z[:2, :2], device=device).requires_grad_(True)
    assert ember.autograd.gradgradcheck(lambda t: (t * t.exp()).sin(), (z,))
    assert ember.autograd.gradgradcheck(lambda t: t.abs() * t.real, (z,))


# --- Hermitian decompositions: PyTorch's gradcheck wraps the input as (A + A^H) / 2 --------
def _herm(a):
    return (a + a.mH) / 2


HERMITIAN = {
    "eigvalsh": lambda L, a: L.linalg.eigvalsh(_herm(a)),
    # eigenvectors are defined up to a phase: a gauge-invariant function of them
    "eigh": lambda L, a: (lambda r: (r[0], (r[1] * r[1].conj()).real))(L.linalg.eigh(_herm(a))),
    "pinv_hermitian": lambda L, a: L.linalg.pinv(_herm(a) + 3 * L.eye(3, device=a.device), hermitian=True),
    "inv": lambda L, a: L.linalg.inv(_herm(a) + 3 * L.eye(3, device=a.device)),
}


@pytest.mark.parametrize("name", sorted(HERMITIAN))
def test_hermitian_grads(name, device, torch):
    fn = HERMITIAN[name]
    a = Z[:, :3]
    e_out, e_g = _grads(torch, fn, (a,))
    g_out, g_g = _grads(ember, fn, (a,), device)
    for e, g in zip(e_out, g_out):
        _same(g, e, 1e-8)
    _same(g_g[0], e_g[0], 1e-8)
    x = ember.tensor(a, device=device).requires_grad_(True)
    assert ember.autograd.gradcheck(lambda t: fn(ember, t), (x,))


# --- writes through .real / .imag --------------------------------------------------------------
def _writes(lib, dev=None):
    kw = {} if dev is None else {"device": dev}
    a = lib.tensor(Z, **kw).requires_grad_(True)
    x = lib.tensor(X[0], **kw).requires_grad_(True)
    b = a * 1
    b.real.mul_(3)                # in place through the real view
    b.imag[1] = x                 # a slice of the imaginary view
    c = lib.tensor(Z, **kw) * 1
    c.real = lib.tensor(X, **kw)  # assignment copies into the part (no graph)
    c.imag = 2.0
    loss = _loss(lib, b * b, dev)
    loss.backward()
    return b, c, a.grad, x.grad


def test_writes_through_real_imag_match_torch(device, torch):
    for e, g in zip(_writes(torch), _writes(ember, device)):
        _same(g, e)


def test_real_imag_are_views(device):
    z = ember.tensor(Z, device=device) * 1
    r = z.real
    r[0, 0] = 100.0
    assert _np(z)[0, 0].real == 100.0
    assert r._base is not None and z.imag.dtype == ember.float64


def test_view_as_real_is_a_view(device):
    z = ember.tensor(Z, device=device) * 1
    be = z._device._be
    if be.mutable and not hasattr(z._data, "view"):
        pytest.skip("the backend's arrays cannot be reinterpreted as another dtype (no "
                    "ndarray.view: array_api_strict): view_as_real copies there")
    v = ember.view_as_real(z)
    v[1, 1, 1] = -7.0
    assert _np(z)[1, 1].imag == -7.0
    assert tuple(v.shape) == (3, 4, 2)
    c = ember.view_as_complex(v)
    c[0, 0] = 3j
    assert _np(z)[0, 0] == 3j


# --- errors and gradcheck --------------------------------------------------------------------
def test_complex_scalar_backward_is_torchs_error(device, torch):
    for lib, kw in ((torch, {}), (ember, {"device": device})):
        z = lib.tensor(Z, **kw).requires_grad_(True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for real "
                                               "scalar outputs but got torch.complex128"):
            z.sum().backward()


ERRORS = [
    lambda L: L.view_as_real(L.ones(2)),
    lambda L: L.view_as_complex(L.ones(3)),
    lambda L: L.view_as_complex(L.ones(2, 2).t()),
    lambda L: L.view_as_complex(L.ones(3, 2, dtype=L.int64)),
    lambda L: L.complex(L.ones(2), L.ones(2, dtype=L.float64)),
    lambda L: L.complex(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64)),
    lambda L: L.polar(L.ones(2, dtype=L.int64), L.ones(2, dtype=L.int64)),
    lambda L: L.ones(2).imag,
    lambda L: L.deg2rad(L.ones(2, dtype=L.complex128)),
    lambda L: L.rad2deg(L.ones(2, dtype=L.complex128)),
    lambda L: L.logit(L.ones(2, dtype=L.complex128)),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k, torch):
    with pytest.raises(Exception) as expected:
        ERRORS[k](torch)
    with pytest.raises(type(expected.value)) as got:
        ERRORS[k](ember)
    assert str(got.value) == str(expected.value)


def test_gradcheck_catches_an_unconjugated_backward(device):
    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * g * a  # PyTorch's convention wants 2 * g * conj(a)

    from ember.autograd.gradcheck import GradcheckError
    z = ember.tensor(Z[:2, :2], device=device).requires_grad_(True)
    with pytest.raises(GradcheckError,
                       match="While considering the real part of complex outputs only, "
                             "Jacobian mismatch for output 0 with respect to input 0"):
        ember.autograd.gradcheck(Square.apply, (z,))
    assert ember.autograd.gradcheck(lambda a: a * a, (z,))


def test_complex_to_real_cast_warns_as_torch(device):
    z = ember.tensor(Z, device=device)
    with pytest.warns(UserWarning, match="Casting complex values to real discards the "
                                         "imaginary part"):
        x = z.to(ember.float64)
    np.testing.assert_array_equal(_np(x), Z.real)
    np.testing.assert_array_equal(_np(z.to(ember.bool)), Z != 0)


def test_real_input_of_complex_op_gets_real_grad(device):
    x = ember.tensor(X, device=device).requires_grad_(True)
    (x * (1 + 2j)).abs().sum().backward()
    assert x.grad.dtype == ember.float64
    np.testing.assert_allclose(_np(x.grad), np.sqrt(5) * np.sign(X))


def test_conj_and_parts_of_real_tensors(device):
    x = ember.tensor(X, device=device)
    assert x.conj() is x and ember.resolve_conj(x) is x and x.real is x
    assert not x.is_conj() and not ember.is_neg(x)
