"""``ember.autograd.functional`` vs ``torch.autograd.functional``: jacobian, hessian, vjp,
jvp, hvp, vhp on small functions of one and several inputs (tuple and single outputs),
create_graph (a second derivative through the result), strict mode and argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember

RNG = np.random.default_rng(0)
A = RNG.standard_normal(3)
B = RNG.standard_normal((2, 3))


def multi(x, y):
    return (x.exp() * y).sum(0), (x * y).tanh()


def scalar(x, y):
    return (x.sin() * y).sum() * x.pow(2).sum()


def single(x):
    return x.pow(3).cumsum(0) * x[0]


def _np(r):
    if isinstance(r, (tuple, list)):
        return tuple(_np(e) for e in r)
    return r.detach().cpu().numpy()


def _same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6, atol=1e-9)


def _two(L, device=None):
    kw = {"device": device} if device else {}
    return L.tensor(A, **kw), L.tensor(B, **kw)


def _vs(L, device=None):
    kw = {"device": device} if device else {}
    return L.ones(3, dtype=L.float64, **kw), L.tensor(B[::-1].copy(), **kw)


CASES = {
    "jacobian-multi": lambda L, d: L.autograd.functional.jacobian(multi, _two(L, d)),
    "jacobian-single": lambda L, d: L.autograd.functional.jacobian(single, _two(L, d)[0]),
    "jacobian-vectorize": lambda L, d: L.autograd.functional.jacobian(
        multi, _two(L, d), vectorize=True),
    "jacobian-forward": lambda L, d: L.autograd.functional.jacobian(
        multi, _two(L, d), vectorize=True, strategy="forward-mode"),
    "hessian-multi": lambda L, d: L.autograd.functional.hessian(scalar, _two(L, d)),
    "hessian-forward": lambda L, d: L.autograd.functional.hessian(
        scalar, _two(L, d), vectorize=True, outer_jacobian_strategy="forward-mode"),
    "hessian-single": lambda L, d: L.autograd.functional.hessian(
        lambda x: single(x).sum(), _two(L, d)[0]),
    "vjp": lambda L, d: L.autograd.functional.vjp(
        multi, _two(L, d), (_vs(L, d)[0] * 2, _vs(L, d)[1])),
    "vjp-scalar": lambda L, d: L.autograd.functional.vjp(scalar, _two(L, d)),
    "jvp": lambda L, d: L.autograd.functional.jvp(multi, _two(L, d), _vs(L, d)),
    "jvp-single": lambda L, d: L.autograd.functional.jvp(single, _two(L, d)[0], _vs(L, d)[0]),
    "hvp": lambda L, d: L.autograd.functional.hvp(scalar, _two(L, d), _vs(L, d)),
    "vhp": lambda L, d: L.autograd.functional.vhp(scalar, _two(L, d), _vs(L, d)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_like_torch(case, device, torch):
    _same(CASES[case](ember, device), CASES[case](torch, None))


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_create_graph_differentiates_again(name, device, torch):
    """With create_graph the result is differentiable w.r.t. the caller's inputs."""
    def run(L, d):
        kw = {"device": d} if d else {}
        x = L.tensor(A, requires_grad=True, **kw)
        f = (lambda t: (t.sin() * t).sum()) if name in ("hessian", "hvp", "vhp") else \
            (lambda t: t.sin() * t.sum())
        F = getattr(L.autograd.functional, name)
        if name in ("jacobian", "hessian"):
            r = F(f, x, create_graph=True)
        else:
            v = L.ones(3, dtype=L.float64, **kw) * 0.5
            r = F(f, x, v, create_graph=True)[1]
        assert r.requires_grad
        (g,) = L.autograd.grad(r.pow(2).sum(), x)
        return g
    _same(run(ember, device), run(torch, None))


def test_without_create_graph_results_are_detached(device):
    x = ember.tensor(A, requires_grad=True, device=device)
    out, g = ember.autograd.functional.vjp(lambda t: (t * t).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    assert x.grad is None


def test_independent_input_zeros_or_strict(device, torch):
    def f(x, y):
        return x * 2
    for L, d in ((ember, device), (torch, None)):
        jac = L.autograd.functional.jacobian(f, _two(L, d))
        assert float(jac[1].abs().sum()) == 0.0 and tuple(jac[1].shape) == (3, 2, 3)
    errors = [
        lambda L, d: L.autograd.functional.jacobian(f, _two(L, d), strict=True),
        lambda L, d: L.autograd.functional.vjp(f, _two(L, d), _vs(L, d)[0], strict=True),
        lambda L, d: L.autograd.functional.hessian(lambda x: (x * 2).sum(), _two(L, d)[0],
                                                   strict=True),
        lambda L, d: L.autograd.functional.jvp(lambda x: x.detach(), _two(L, d)[0],
                                               _vs(L, d)[0], strict=True),
        lambda L, d: L.autograd.functional.jacobian(f, _two(L, d), strict=True,
                                                    vectorize=True),
    ]
    for run in errors:
        with pytest.raises(Exception) as want:
            run(torch, None)
        with pytest.raises(type(want.value)) as got:
            run(ember, device)
        assert str(got.value) == str(want.value)


def test_argument_errors_like_torch(device, torch):
    errors = [
        lambda L, d: L.autograd.functional.vjp(multi, _two(L, d)),
        lambda L, d: L.autograd.functional.jvp(multi, _two(L, d), L.ones(3)),
        lambda L, d: L.autograd.functional.jvp(multi, _two(L, d), (L.ones(3), L.ones(3))),
        lambda L, d: L.autograd.functional.hvp(multi, _two(L, d), _vs(L, d)),
        lambda L, d: L.autograd.functional.hessian(single, _two(L, d)[0]),
        lambda L, d: L.autograd.functional.jacobian(multi, [1.0]),
        lambda L, d: L.autograd.functional.jacobian(multi, _two(L, d), strategy="x"),
        lambda L, d: L.autograd.functional.jacobian(multi, _two(L, d), strategy="forward-mode"),
    ]
    for run in errors:
        with pytest.raises(Exception) as want:
            run(torch, None)
        with pytest.raises(type(want.value)) as got:
            run(ember, device)
        assert str(got.value) == str(want.value)
