"""The ATen pieces ``ember.distributions`` re-implements (``_samplers``): the implicit
reparameterisation gradients of gamma and Dirichlet draws vs PyTorch's at fixed points
(every branch of their approximations), ``gammainc`` and its gradient vs PyTorch, and the
gamma/Poisson/binomial samplers' moments over wide parameter ranges, edge cases and
reproducibility."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.distributions import _samplers as S


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _t(v, device):
    return ember.tensor(np.asarray(v, dtype=float), dtype=ember.float64, device=device)


def test_standard_gamma_grad_vs_torch(device, torch):
    # alpha below and above 8, x below 0.8, near alpha (the Rice singularity) and in the tails
    alpha = np.array([0.05, 0.3, 1.0, 2.5, 7.9, 8.5, 20.0, 150.0])
    rel = np.array([0.01, 0.3, 0.92, 1.0, 1.07, 1.6, 3.0])
    a, r = np.meshgrid(alpha, rel, indexing="ij")
    x = np.concatenate([(a * r).ravel(), [0.01, 0.5, 0.79, 0.81, 5.0]])
    a = np.concatenate([a.ravel(), [3.0, 3.0, 3.0, 3.0, 3.0]])
    got = S._standard_gamma_grad(_t(a, device), _t(x, device))
    want = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x))
    np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-9, atol=1e-12)


def test_standard_gamma_grad_is_the_implicit_derivative(device):
    """Second oracle: -(dP(alpha, x)/d alpha) / pdf(x) by central differences of gammainc."""
    a = np.array([0.7, 2.0, 5.0, 12.0])
    x = np.array([0.3, 2.5, 4.0, 13.0])
    h = 1e-5
    dp = (_np(S.gammainc(_t(a + h, device), _t(x, device)))
          - _np(S.gammainc(_t(a - h, device), _t(x, device)))) / (2 * h)
    pdf = np.exp((a - 1) * np.log(x) - x - np.array([math.lgamma(v) for v in a]))
    got = _np(S._standard_gamma_grad(_t(a, device), _t(x, device)))
    np.testing.assert_allclose(got, -dp / pdf, rtol=5e-3)


def test_dirichlet_grad_vs_torch(device, torch):
    # x near 0 and 1 (the Taylor branches), both concentrations large, and the rational fit
    x = np.array([0.01, 0.1, 0.3, 0.5, 0.7, 0.95, 0.999, 0.45, 0.55, 0.2, 0.6])
    alpha = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 8.0, 2.0, 10.0, 12.0, 0.3, 1.5])
    total = np.array([1.5, 4.0, 3.0, 9.0, 5.0, 9.0, 2.5, 21.0, 20.0, 3.3, 2.0])
    got = S._dirichlet_grad(_t(x, device), _t(alpha, device), _t(total, device))
    want = torch._dirichlet_grad(torch.tensor(x), torch.tensor(alpha), torch.tensor(total))
    np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("fn", ["gammainc", "gammaincc"])
def test_gammainc_vs_torch(fn, device, torch):
    a = np.array([0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 3.0, 3.0, 3.0, 200.0])
    x = np.array([0.5, 0.2, 1.0, 4.0, 3.0, 12.0, 45.0, 0.0, 1e-8, 60.0, 210.0])
    xe = ember.tensor(x, dtype=ember.float64, device=device, requires_grad=True)
    got = getattr(S, fn)(_t(a, device), xe)
    xt = torch.tensor(x, requires_grad=True)
    want = getattr(torch.special, fn)(torch.tensor(a), xt)
    np.testing.assert_allclose(_np(got), want.detach().numpy(), rtol=1e-8, atol=1e-14)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(_np(xe.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-14)


def _within(x, mean, var, what):
    n = x.shape[0]
    se = np.sqrt(var / n)
    err = np.abs(x.mean(0) - mean)
    assert np.all(err <= 4 * se + 1e-12), (what, err / np.maximum(se, 1e-300))


N = 20_000


def test_gamma_sampler_moments(device):
    alpha = np.array([0.01, 0.3, 1.0, 5.0, 300.0])
    x = _np(S._standard_gamma(_t(np.broadcast_to(alpha, (N, 5)), device)))
    assert np.all(x > 0)
    _within(x, alpha, alpha, "gamma")


def test_poisson_sampler_moments_and_edges(device):
    rate = np.array([0.0, 0.1, 3.0, 9.99, 10.0, 57.0, 1e4])
    x = _np(S.poisson(_t(np.broadcast_to(rate, (N, len(rate))), device)))
    assert np.all(x == np.round(x)) and np.all(x[:, 0] == 0)
    _within(x, rate, rate, "poisson")
    with pytest.raises(RuntimeError, match="non-negative"):
        S.poisson(_t([-1.0], device))


def test_binomial_sampler_moments_and_edges(device):
    n = np.array([0.0, 1.0, 10.0, 100.0, 100.0, 1000.0, 1e5, 7.0, 7.0, 50.0])
    p = np.array([0.5, 0.3, 0.5, 0.02, 0.97, 0.4, 0.6, 0.0, 1.0, 0.9])
    shape = (N, len(n))
    x = _np(S.binomial(_t(np.broadcast_to(n, shape), device), _t(np.broadcast_to(p, shape),
                                                                     device)))
    assert np.all(x == np.round(x)) and np.all((x >= 0) & (x <= n))
    assert np.all(x[:, 0] == 0) and np.all(x[:, 7] == 0) and np.all(x[:, 8] == 7)
    _within(x, n * p, n * p * (1 - p), "binomial")


def test_samplers_keep_dtype_and_reproduce(device):
    r = ember.tensor([2.0, 30.0], device=device)
    ember.manual_seed(1)
    a = (S.poisson(r), S.binomial(r, ember.tensor([0.3, 0.6], device=device)),
         S._standard_gamma(r), S._sample_dirichlet(r))
    ember.manual_seed(1)
    b = (S.poisson(r), S.binomial(r, ember.tensor([0.3, 0.6], device=device)),
         S._standard_gamma(r), S._sample_dirichlet(r))
    for u, v in zip(a, b):
        assert u.dtype == ember.float32 and ember.equal(u, v)
    assert abs(float(a[3].sum()) - 1) < 1e-6
