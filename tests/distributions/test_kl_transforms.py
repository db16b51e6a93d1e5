"""``kl_divergence`` over every pair PyTorch registers (values and gradients),
``register_kl``, transforms (forward, inverse, log-det-Jacobian, shapes) and
``biject_to``/``transform_to``, constraints, and ``validate_args`` errors vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.distributions as ED
from dist_cases import CASES, build


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _a(*v):
    return np.array(v, dtype=float)


# one parameterisation per class, all with batch shape (2,), for the KL pairs
KL_FAMILIES = {
    "Bernoulli": (lambda D, p: D.Bernoulli(p["p"]), {"p": _a(0.3, 0.6)}),
    "Beta": (lambda D, p: D.Beta(p["a"], p["b"]), {"a": _a(0.7, 2.0), "b": _a(1.5, 3.0)}),
    "Binomial": (lambda D, p: D.Binomial(10, p["p"]), {"p": _a(0.3, 0.6)}),
    "Categorical": (lambda D, p: D.Categorical(p["p"]), {"p": CASES["Categorical"].params[
        "probs"]}),
    "Cauchy": (lambda D, p: D.Cauchy(p["m"], p["s"]), {"m": _a(0.2, -1.0), "s": _a(0.5, 2.0)}),
    "ContinuousBernoulli": (lambda D, p: D.ContinuousBernoulli(p["p"]), {"p": _a(0.2, 0.7)}),
    "Dirichlet": (lambda D, p: D.Dirichlet(p["c"]), {"c": CASES["Dirichlet"].params["conc"]}),
    "Exponential": (lambda D, p: D.Exponential(p["r"]), {"r": _a(0.5, 2.0)}),
    "Gamma": (lambda D, p: D.Gamma(p["c"], p["r"]), {"c": _a(0.8, 3.0), "r": _a(1.0, 2.5)}),
    "Geometric": (lambda D, p: D.Geometric(p["p"]), {"p": _a(0.2, 0.7)}),
    "Gumbel": (lambda D, p: D.Gumbel(p["m"], p["s"]), {"m": _a(0.2, -1.0), "s": _a(0.5, 2.0)}),
    "HalfNormal": (lambda D, p: D.HalfNormal(p["s"]), {"s": _a(0.5, 2.0)}),
    "Independent": (lambda D, p: D.Independent(D.Normal(p["m"], p["s"]), 1),
                    {"m": _a([0.1, 0.2], [0.0, -1.0]), "s": _a([0.5, 1.0], [2.0, 0.3])}),
    "Laplace": (lambda D, p: D.Laplace(p["m"], p["s"]), {"m": _a(0.2, -1.0), "s": _a(0.5, 2.0)}),
    "LowRankMultivariateNormal": (
        lambda D, p: D.LowRankMultivariateNormal(p["m"], p["f"], p["d"]),
        {"m": CASES["LowRankMultivariateNormal"].params["loc"],
         "f": CASES["LowRankMultivariateNormal"].params["cov_factor"],
         "d": CASES["LowRankMultivariateNormal"].params["cov_diag"]}),
    "MultivariateNormal": (lambda D, p: D.MultivariateNormal(p["m"], scale_tril=p["l"]),
                           {"m": _a([0.3, 0.0, -0.3], [0.5, 0.5, 0.5]),
                            "l": CASES["MultivariateNormal"].params["scale_tril"] * 0.8}),
    "Normal": (lambda D, p: D.Normal(p["m"], p["s"]), {"m": _a(0.2, -1.0), "s": _a(0.5, 2.0)}),
    "OneHotCategorical": (lambda D, p: D.OneHotCategorical(p["p"]),
                          {"p": CASES["Categorical"].params["probs"]}),
    "Pareto": (lambda D, p: D.Pareto(p["s"], p["a"]), {"s": _a(0.5, 1.0), "a": _a(2.0, 3.0)}),
    "Poisson": (lambda D, p: D.Poisson(p["r"]), {"r": _a(0.5, 4.0)}),
    "TransformedDistribution": (
        lambda D, p: D.TransformedDistribution(D.Normal(p["m"], p["s"]),
                                               [D.transforms.ExpTransform()]),
        {"m": _a(0.2, -1.0), "s": _a(0.5, 2.0)}),
    "Uniform": (lambda D, p: D.Uniform(p["lo"], p["hi"]), {"lo": _a(0.1, -1.0),
                                                           "hi": _a(0.9, 2.0)}),
}
# the second of a pair gets shifted parameters (same shapes, same support)
_SHIFT = {"Uniform": {"lo": _a(0.0, -2.0), "hi": _a(1.0, 3.0)}}


def _kl_pairs():
    from torch.distributions.kl import _KL_REGISTRY
    out = []
    for p, q in _KL_REGISTRY:
        if p.__name__ in KL_FAMILIES and q.__name__ in KL_FAMILIES:
            out.append((p.__name__, q.__name__))
    return sorted(set(out))


def _kl_ids():
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    return _kl_pairs()


def _dist(L, name, device, second, grads, lib):
    make, params = KL_FAMILIES[name]
    if second:
        params = _SHIFT.get(name, {k: v * 1.1 if name not in ("Categorical", "OneHotCategorical",
                                                           "Dirichlet") else v[::-1].copy()
                                   for k, v in params.items()})
        if name in ("Bernoulli", "Binomial", "Geometric", "ContinuousBernoulli"):
            params = {k: v * 0.9 for k, v in KL_FAMILIES[name][1].items()}
    ts = {}
    for k, v in params.items():
        if lib == "ember":
            ts[k] = ember.tensor(v, dtype=ember.float64, device=device, requires_grad=True)
        else:
            ts[k] = L.tensor(v, dtype=L.float64, requires_grad=True)
    grads.extend(ts.values())
    return make(L.distributions if lib == "torch" else ED, ts)


@pytest.mark.parametrize("pair", _kl_ids(), ids=lambda p: f"{p[0]}-{p[1]}")
def test_kl_pairs_vs_torch(pair, device, torch):
    ge, gt = [], []
    pe, qe = (_dist(ember, n, device, i == 1, ge, "ember") for i, n in enumerate(pair))
    pt, qt = (_dist(torch, n, device, i == 1, gt, "torch") for i, n in enumerate(pair))
    kt = torch.distributions.kl_divergence(pt, qt)
    ke = ED.kl_divergence(pe, qe)
    np.testing.assert_allclose(_np(ke), _np(kt), rtol=1e-6, atol=1e-10)
    if np.all(np.isfinite(_np(kt))):
        gts = torch.autograd.grad(kt.sum(), gt, allow_unused=True)
        ges = ember.autograd.grad(ke.sum(), ge, allow_unused=True)
        for a, b in zip(ges, gts):
            if b is None or a is None:
                assert (a is None or not _np(a).any()) and (b is None or not b.any())
            else:
                np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-9)


def test_register_kl_and_missing_pair(device):
    class MyNormal(ED.Normal):
        pass

    @ED.register_kl(MyNormal, ED.Laplace)
    def _kl(p, q):
        return ember.zeros(p.batch_shape) + 7.0

    p = MyNormal(ember.zeros(2, device=device), ember.ones(2, device=device))
    q = ED.Laplace(ember.zeros(2, device=device), ember.ones(2, device=device))
    assert ED.kl_divergence(p, q).tolist() == [7.0, 7.0]
    with pytest.raises(NotImplementedError):
        ED.kl_divergence(ED.VonMises(ember.zeros(1), ember.ones(1)),
                         ED.Cauchy(ember.zeros(1), ember.ones(1)))


# --- transforms -----------------------------------------------------------------------------
X = np.array([[0.3, -0.7, 1.1], [-0.2, 0.5, 0.05]])
TRANSFORMS = {
    "Exp": lambda T: T.ExpTransform(),
    "Affine": lambda T: T.AffineTransform(0.5, -2.0),
    "Affine_event": lambda T: T.AffineTransform(0.5, 2.0, event_dim=1),
    "Sigmoid": lambda T: T.SigmoidTransform(),
    "Tanh": lambda T: T.TanhTransform(),
    "Softplus": lambda T: T.SoftplusTransform(),
    "Power": lambda T: T.PowerTransform(3.0),
    "Abs": lambda T: T.AbsTransform(),
    "Softmax": lambda T: T.SoftmaxTransform(),
    "StickBreaking": lambda T: T.StickBreakingTransform(),
    "Compose": lambda T: T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform()]),
    "Independent": lambda T: T.IndependentTransform(T.ExpTransform(), 1),
    "Reshape": lambda T: T.ReshapeTransform((3,), (3, 1)),
    "LowerCholesky": lambda T: T.LowerCholeskyTransform(),
    "CorrCholesky": lambda T: T.CorrCholeskyTransform(),
    "Cat": lambda T: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)], 1, [1, 2]),
    "Stack": lambda T: T.StackTransform([T.ExpTransform(), T.TanhTransform(),
                                         T.AffineTransform(0.0, 2.0)], 1),
    "Inverse": lambda T: T.ExpTransform().inv,
}


def _input(name):
    x = X
    if name in ("Power", "Inverse"):
        x = np.abs(X) + 0.1
    if name == "LowerCholesky":
        x = np.array([[0.3, -0.7], [1.1, 0.2]])
    return x


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transforms_vs_torch(name, device, torch):
    te, tt = TRANSFORMS[name](ED.transforms), TRANSFORMS[name](torch.distributions.transforms)
    x = _input(name)
    xe = ember.tensor(x, dtype=ember.float64, device=device, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ye, yt = te(xe), tt(xt)
    np.testing.assert_allclose(_np(ye), _np(yt), rtol=1e-6, atol=1e-12)
    assert repr(te) == repr(tt)
    assert (te.domain.event_dim, te.codomain.event_dim) == (tt.domain.event_dim,
                                                           tt.codomain.event_dim)
    assert te.bijective == tt.bijective and te.sign == tt.sign if name in (
        "Exp", "Affine", "Sigmoid", "Tanh") else True
    assert tuple(te.forward_shape(xe.shape)) == tuple(tt.forward_shape(xt.shape))
    if tt.bijective:
        # the inverse of a cached forward returns x; a fresh value goes through _inverse
        np.testing.assert_allclose(_np(te.inv(ye.detach())), _np(tt.inv(yt.detach())),
                                   rtol=1e-6, atol=1e-12)
    try:
        lt = tt.log_abs_det_jacobian(xt, yt)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            te.log_abs_det_jacobian(xe, ye)
        return
    le = te.log_abs_det_jacobian(xe, ye)
    np.testing.assert_allclose(_np(le), _np(lt), rtol=1e-6, atol=1e-12)
    (ye.sum() + le.sum()).backward()
    (yt.sum() + lt.sum()).backward()
    np.testing.assert_allclose(_np(xe.grad), _np(xt.grad), rtol=1e-6, atol=1e-10)


CONSTRAINTS = ["real", "positive", "unit_interval", "simplex", "lower_cholesky",
               "positive_definite", "corr_cholesky", "real_vector", "greater_than(1.5)",
               "interval(-1.0, 2.0)", "less_than(0.2)", "nonnegative",
               "lower_triangular"]


@pytest.mark.parametrize("name", CONSTRAINTS)
def test_biject_to_transform_to_and_check(name, device, torch):
    def get(C):
        return eval(f"C.{name}", {"C": C})  # noqa: S307 - the names above
    ce, ct = get(ED.constraints), get(torch.distributions.constraints)
    assert repr(ce) == repr(ct)
    assert ce.event_dim == ct.event_dim and ce.is_discrete == ct.is_discrete
    n = 6 if name in ("lower_cholesky", "positive_definite", "corr_cholesky",
                      "lower_triangular") else 3
    u = np.linspace(-1.3, 1.7, 2 * n).reshape(2, n) if n == 3 else \
        np.linspace(-1.3, 1.7, 2 * n).reshape(2, n)[..., :6]
    if name in ("lower_cholesky", "positive_definite", "lower_triangular"):
        u = np.linspace(-1.3, 1.7, 8).reshape(2, 2, 2)
    if name == "corr_cholesky":
        u = np.linspace(-1.3, 1.7, 6).reshape(2, 3)
    for reg in ("biject_to", "transform_to"):
        try:
            tt = getattr(torch.distributions, reg)(ct)
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                getattr(ED, reg)(ce)
            continue
        te = getattr(ED, reg)(ce)
        assert repr(te) == repr(tt), reg
        ye = te(ember.tensor(u, dtype=ember.float64, device=device))
        yt = tt(torch.tensor(u, dtype=torch.float64))
        np.testing.assert_allclose(_np(ye), _np(yt), rtol=1e-6, atol=1e-12)
        assert bool(ce.check(ye).all()) and bool(ct.check(yt).all())
        np.testing.assert_array_equal(_np(ce.check(ye * -1.0)), _np(ct.check(yt * -1.0)))


# --- validate_args -----------------------------------------------------------------------------
BAD = {
    "Normal_scale": lambda D, t: D.Normal(t([0.0, 1.0]), t([1.0, -1.0])),
    "Normal_nan": lambda D, t: D.Normal(t([0.0, float("nan")]), t([1.0, 1.0])),
    "Bernoulli_both": lambda D, t: D.Bernoulli(probs=t([0.5]), logits=t([0.1])),
    "Bernoulli_none": lambda D, t: D.Bernoulli(),
    "Bernoulli_range": lambda D, t: D.Bernoulli(probs=t([1.5])),
    "Categorical_neg": lambda D, t: D.Categorical(probs=t([[0.5, -0.1, 0.6]])),
    "Categorical_dim": lambda D, t: D.Categorical(probs=t(0.5)),
    "Gamma_conc": lambda D, t: D.Gamma(t([-1.0]), t([1.0])),
    "Uniform_order": lambda D, t: D.Uniform(t([1.0]), t([0.0])),
    "Beta": lambda D, t: D.Beta(t([0.0]), t([1.0])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[1.0, -2.0]])),
    "MVN_none": lambda D, t: D.MultivariateNormal(t([0.0, 0.0])),
    "MVN_two": lambda D, t: D.MultivariateNormal(t([0.0]), covariance_matrix=t([[1.0]]),
                                                 scale_tril=t([[1.0]])),
    "MVN_notpd": lambda D, t: D.MultivariateNormal(t([0.0, 0.0]),
                                                   covariance_matrix=t([[1.0, 2.0],
                                                                        [2.0, 1.0]])),
    "Poisson": lambda D, t: D.Poisson(t([-0.5])),
    "Binomial": lambda D, t: D.Binomial(t([2.5]), t([0.3])),
    "lp_support": lambda D, t: D.Exponential(t([1.0, 2.0])).log_prob(t([-1.0, 1.0])),
    "lp_notensor": lambda D, t: D.Normal(t([0.0]), t([1.0])).log_prob(0.5),
    "lp_shape": lambda D, t: D.Normal(t([0.0, 1.0]), t([1.0, 1.0])).log_prob(t([0.0, 1, 2])),
    "lp_categorical": lambda D, t: D.Categorical(t([0.2, 0.8])).log_prob(t([2.0])),
    "Independent_dims": lambda D, t: D.Independent(D.Normal(t([0.0]), t([1.0])), 2),
    "Mixture_batch": lambda D, t: D.MixtureSameFamily(D.Categorical(t([[0.5, 0.5]])),
                                                      D.Normal(t([0.0, 1.0, 2.0]),
                                                               t([1.0, 1.0, 1.0]))),
    "Mixture_notcat": lambda D, t: D.MixtureSameFamily(D.Normal(t([0.0]), t([1.0])),
                                                       D.Normal(t([0.0]), t([1.0]))),
    "broadcast_all": lambda D, t: D.Normal("a", t([1.0])),
    "expand_bad": lambda D, t: D.Normal(t([0.0, 1.0]), t([1.0, 1.0])).expand((3,)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_args_errors_vs_torch(name, device, torch):
    with pytest.raises(Exception) as want:
        BAD[name](torch.distributions, lambda v: torch.tensor(v))
    with pytest.raises(type(want.value)) as got:
        BAD[name](ED, lambda v: ember.tensor(v, device=device))
    if ember.device(device).type == "cpu":  # the printed tensors name other devices
        assert str(got.value) == str(want.value)


def test_set_default_validate_args(device):
    try:
        ED.Distribution.set_default_validate_args(False)
        d = ED.Normal(ember.tensor([0.0], device=device), ember.tensor([-1.0], device=device))
        assert d.batch_shape == (1,)
        assert ED.Normal(0.0, 1.0, validate_args=False)._validate_args is False
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ED.Normal(ember.tensor([0.0], device=device), ember.tensor([-1.0], device=device))
    with pytest.raises(ValueError):
        ED.Distribution.set_default_validate_args("yes")


def test_case_table_is_complete():
    wanted = {"Normal", "LogNormal", "MultivariateNormal", "LowRankMultivariateNormal",
              "Bernoulli", "Binomial", "Categorical", "OneHotCategorical",
              "OneHotCategoricalStraightThrough", "Multinomial", "Poisson", "Geometric",
              "NegativeBinomial", "Uniform", "Beta", "Gamma", "Chi2", "Dirichlet",
              "Exponential", "Laplace", "Cauchy", "StudentT", "Gumbel", "HalfNormal",
              "HalfCauchy", "VonMises", "ContinuousBernoulli", "RelaxedBernoulli",
              "RelaxedOneHotCategorical", "MixtureSameFamily", "Independent",
              "TransformedDistribution"}
    have = {type(build(ED, c, lambda k, v: ember.tensor(v))).__name__ for c in CASES.values()}
    assert wanted <= have
