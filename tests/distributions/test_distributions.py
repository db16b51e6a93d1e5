"""``ember.distributions`` families vs PyTorch: densities, moments, cdf/icdf, entropy and
their gradients at fixed values; sample shapes under batching and ``expand``; sample
moments of 10^5 draws within 4 standard errors; reparameterised-sample gradients."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import ember
import ember.distributions as ED
from dist_cases import CASES, PATHWISE, build

NAMES = sorted(CASES)
PROPS = ("mean", "mode", "variance", "stddev")


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _pair(torch, name, device, grad=False):
    case = CASES[name]
    eps = {}
    tps = {}

    def e_tensor(k, v):
        eps[k] = ember.tensor(v, dtype=ember.float64, device=device, requires_grad=grad)
        return eps[k]

    def t_tensor(k, v):
        tps[k] = torch.tensor(v, dtype=torch.float64, requires_grad=grad)
        return tps[k]
    return (build(ED, case, e_tensor), build(torch.distributions, case, t_tensor), eps, tps)


def _same(e, t, what, rtol=1e-6, atol=1e-9):
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, err_msg=what)


def _both(fn_e, fn_t):
    """(ember result, torch result), or (None, None) where both raise the same type."""
    try:
        rt = fn_t()
    except (NotImplementedError, ValueError) as exc:
        with pytest.raises(type(exc)):
            fn_e()
        return None, None
    return fn_e(), rt


@pytest.mark.parametrize("name", NAMES)
def test_values_vs_torch(name, device, torch):
    de, dt, _, _ = _pair(torch, name, device)
    assert tuple(de.batch_shape) == tuple(dt.batch_shape)
    assert tuple(de.event_shape) == tuple(dt.event_shape)
    # (a one-element parameter prints its value, with the device where it is not the CPU,
    # as PyTorch's do on CUDA)
    assert re.sub(r", device='[^']*'", "", repr(de)) == repr(dt)
    assert type(de.support).__name__ == type(dt.support).__name__
    if ember.device(device).type == "cpu":  # bounds print their device elsewhere
        assert repr(de.support) == repr(dt.support)
    assert de.has_rsample == dt.has_rsample
    v = CASES[name].values
    e, t = _both(lambda: de.log_prob(ember.tensor(v, dtype=ember.float64, device=device)),
                 lambda: dt.log_prob(torch.tensor(v, dtype=torch.float64)))
    _same(e, t, "log_prob")
    e, t = _both(de.entropy, dt.entropy)
    if t is not None:
        _same(e, t, "entropy", rtol=1e-5)
    for prop in PROPS:
        e, t = _both(lambda: getattr(de, prop), lambda: getattr(dt, prop))
        if t is not None:
            _same(e, t, prop, rtol=1e-5)
    if not CASES[name].discrete and de.event_shape == ():
        e, t = _both(lambda: de.cdf(ember.tensor(v, dtype=ember.float64, device=device)),
                     lambda: dt.cdf(torch.tensor(v, dtype=torch.float64)))
        if t is not None:
            _same(e, t, "cdf", rtol=1e-6)
        q = np.linspace(0.2, 0.8, len(v))
        e, t = _both(lambda: de.icdf(ember.tensor(q, dtype=ember.float64, device=device)),
                     lambda: dt.icdf(torch.tensor(q, dtype=torch.float64)))
        if t is not None:
            _same(e, t, "icdf", rtol=1e-6)
    if de.has_enumerate_support:
        for expand in (True, False):
            e, t = _both(lambda: de.enumerate_support(expand),
                         lambda: dt.enumerate_support(expand))
            if t is not None:
                _same(e, t, f"enumerate_support({expand})")


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_and_entropy_gradients_vs_torch(name, device, torch):
    de, dt, eps, tps = _pair(torch, name, device, grad=True)
    v = CASES[name].values
    le = de.log_prob(ember.tensor(v, dtype=ember.float64, device=device)).sum()
    lt = dt.log_prob(torch.tensor(v, dtype=torch.float64)).sum()
    try:
        ht = dt.entropy().sum()
        he = de.entropy().sum()
        le, lt = le + 0.5 * he, lt + 0.5 * ht
    except NotImplementedError:
        pass
    keys = [k for k in tps if tps[k].requires_grad]
    gt = torch.autograd.grad(lt, [tps[k] for k in keys], allow_unused=True)
    ge = ember.autograd.grad(le, [eps[k] for k in keys], allow_unused=True)
    for k, a, b in zip(keys, ge, gt):
        if b is None:
            assert a is None or not np.any(_np(a)), k
        else:
            _same(a, b, f"d/d{k}", rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_and_expand(name, device):
    case = CASES[name]
    d = build(ED, case, lambda k, v: ember.tensor(v, dtype=ember.float32, device=device))
    batch, event = tuple(d.batch_shape), tuple(d.event_shape)
    assert tuple(d.sample().shape) == batch + event
    s = d.sample((4, 2))
    assert tuple(s.shape) == (4, 2) + batch + event
    assert s.dtype == (ember.float32 if name != "Categorical" and not name.startswith(
        "Categorical") else ember.int64)
    assert s.device.type == ember.device(device).type
    if d.has_rsample:
        assert tuple(d.rsample((3,)).shape) == (3,) + batch + event
    e = d.expand((5,) + batch)
    assert tuple(e.batch_shape) == (5,) + batch
    assert tuple(e.sample((2,)).shape) == (2, 5) + batch + event
    v = d.sample()
    lp = d.log_prob(v)
    np.testing.assert_allclose(_np(e.log_prob(v)), np.broadcast_to(_np(lp), (5,) + batch),
                               rtol=1e-6)
    assert d.support.check(s).all()
    ember.manual_seed(3)
    a = d.sample((2,))
    ember.manual_seed(3)
    assert ember.equal(a, d.sample((2,)))  # manual_seed reproduces draws


N = 100_000


def _within(stat, expected, what):
    """The sample mean of ``stat`` (N draws along axis 0) within 4 standard errors."""
    se = stat.std(0) / math.sqrt(stat.shape[0])
    err = np.abs(stat.mean(0) - expected)
    assert np.all(err <= 4 * se + 1e-12), (what, (err / np.maximum(se, 1e-300)).max())


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n].moments])
def test_sample_moments(name, device):
    """Sample mean and variance of 10^5 draws within 4 standard errors of the
    distribution's own moments (which are checked against torch above). Categoricals
    compare category frequencies with probs; heavy-tailed families (and those without
    a closed-form mean) the fraction of draws below the median with 1/2; VonMises the
    circular mean E cos(x - loc) = 1 - variance."""
    case = CASES[name]
    d = build(ED, case, lambda k, v: ember.tensor(v, dtype=ember.float64, device=device))
    x = _np(d.sample((N,)))
    if case.discrete:
        assert np.all(x == np.round(x))
    if case.heavy:
        med = _np(d.icdf(ember.tensor(0.5, dtype=ember.float64, device=device)))
        _within((x < med).astype(float), 0.5, "P(x < median)")
    elif name.startswith("Categorical"):
        probs = _np(d.probs)
        onehot = (x[..., None] == np.arange(probs.shape[-1])).astype(float)
        _within(onehot, probs, "frequencies")
    elif name == "VonMises":
        _within(np.cos(x - _np(d.loc)), 1 - _np(d.variance), "E cos(x - loc)")
    else:
        mean, var = _np(d.mean), _np(d.variance)
        _within(x, mean, "mean")
        _within((x - mean) ** 2, var, "variance")


@pytest.mark.parametrize("name", PATHWISE)
def test_rsample_gradients_by_finite_differences(name, device):
    """A seeded rsample is a deterministic function of the parameters: its gradient is
    checked by finite differences (gradcheck in float64)."""
    case = CASES[name]
    keys = [k for k in case.params if k not in ("temp",)]

    def f(*vals):
        p = dict(zip(keys, vals))
        ember.manual_seed(11)
        d = build(ED, case, lambda k, v: p[k] if k in p else ember.tensor(
            v, dtype=ember.float64, device=device))
        return d.rsample((3,))
    args = [ember.tensor(case.params[k], dtype=ember.float64, device=device,
                         requires_grad=True) for k in keys]
    # finite differences step off the constraint (scale_tril's zero upper triangle)
    ED.Distribution.set_default_validate_args(False)
    try:
        assert ember.autograd.gradcheck(f, args, eps=1e-6, atol=1e-5, rtol=1e-4)
    finally:
        ED.Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("name", ["Gamma", "Chi2", "Beta", "Dirichlet", "StudentT"])
def test_rsample_gradients_implicit_vs_torch(name, device, torch):
    """Gamma-based samplers: the gradient of ember's draws w.r.t. the parameters equals
    PyTorch's implicit-reparameterisation gradient (``torch._standard_gamma_grad``,
    ``_Dirichlet_backward``) evaluated at the same draws."""
    from torch.distributions.dirichlet import _Dirichlet_backward
    ember.manual_seed(5)
    de, _, eps, tps = _pair(torch, name, device, grad=True)
    x = de.rsample((4,))
    w = np.linspace(0.5, 1.5, x.numel()).reshape(tuple(x.shape))
    ge = ember.autograd.grad((x * ember.tensor(w, dtype=ember.float64, device=device)).sum(),
                             list(eps.values()))
    xs, wt = torch.tensor(_np(x)), torch.tensor(w)
    p = {k: t.detach() for k, t in tps.items()}
    if name in ("Gamma", "Chi2"):  # x = z / rate, z ~ Gamma(conc, 1)
        conc, rate = (p["conc"], p["rate"]) if name == "Gamma" else (p["df"] / 2, 0.5)
        dz = torch._standard_gamma_grad(conc.expand_as(xs), xs * rate)
        want = [(wt * dz / rate).sum(0)] if name == "Gamma" else [(wt * dz).sum(0) / 2 / rate]
        if name == "Gamma":
            want.append((-wt * xs / rate).sum(0))
    elif name == "Dirichlet":
        want = [_Dirichlet_backward(xs, p["conc"].expand_as(xs), wt).sum(0)]
    elif name == "Beta":  # PyTorch's Beta draws Dirichlet([a, b])[..., 0]
        conc = torch.stack([p["a"], p["b"]], -1).expand(xs.shape + (2,))
        g = _Dirichlet_backward(torch.stack([xs, 1 - xs], -1), conc,
                                torch.stack([wt, torch.zeros_like(wt)], -1)).sum(0)
        want = [g[..., 0], g[..., 1]]
    else:  # StudentT: loc and scale enter as loc + scale * y (df through Chi2 above)
        want = [None, wt.sum(0), (wt * (xs - p["loc"]) / p["scale"]).sum(0)]
    for k, a, b in zip(eps, ge, want):
        if b is not None:
            _same(a, b, f"d/d{k}", rtol=1e-6)


def test_straight_through_gradient(device, torch):
    """OneHotCategoricalStraightThrough passes the gradient through probs."""
    w = [1.0, 2.0, 3.0]
    pe = ember.tensor([[0.2, 0.5, 0.3]], device=device, requires_grad=True)
    pt = torch.tensor([[0.2, 0.5, 0.3]], requires_grad=True)
    (ED.OneHotCategoricalStraightThrough(probs=pe).rsample((2,))
     * ember.tensor(w, device=device)).sum().backward()
    (torch.distributions.OneHotCategoricalStraightThrough(probs=pt).rsample((2,))
     * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(pe.grad), _np(pt.grad), rtol=1e-6, atol=1e-7)


def test_categorical_reinforce_step(device):
    """The REINFORCE pattern from torch.distributions' docs trains a policy."""
    ember.manual_seed(0)
    logits = ember.zeros(3, device=device, requires_grad=True)
    opt = ember.optim.SGD([logits], lr=0.5)
    reward = ember.tensor([0.0, 1.0, 0.0], device=device)
    for _ in range(60):
        m = ED.Categorical(logits=logits)
        a = m.sample((16,))
        loss = -(m.log_prob(a) * reward[a]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert ED.Categorical(logits=logits).probs[1].item() > 0.8
