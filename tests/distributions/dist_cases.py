"""The distribution families under test, described once for ember and PyTorch alike.

Each case: a builder ``make(D, p)`` taking a ``distributions`` module (ember's or torch's)
and a dict of parameter tensors, the parameters as numpy arrays, and values in the support
at which to compare densities. Parameters give a small batch shape so every method is
checked batched."""
from __future__ import annotations

import numpy as np

LT = np.array([[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.5, 1.5]])
COV = LT @ LT.T
SIMPLEX = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
PROBS3 = np.array([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]])


class Case:
    def __init__(self, make, params, values, *, discrete=False, heavy=False, moments=True):
        self.make, self.params, self.values = make, params, np.asarray(values, dtype=float)
        self.discrete = discrete  # integer-valued samples
        self.heavy = heavy  # no finite variance (or no closed-form mean): the sample
        # test compares the median
        self.moments = moments  # whether the sample-moment test applies


def _a(*v):
    return np.array(v, dtype=float)


CASES = {
    "Normal": Case(lambda D, p: D.Normal(p["loc"], p["scale"]),
                   {"loc": _a(0.3, -1.2), "scale": _a(0.7, 2.0)}, _a(0.1, 1.5)),
    "LogNormal": Case(lambda D, p: D.LogNormal(p["loc"], p["scale"]),
                      {"loc": _a(0.1, -0.5), "scale": _a(0.4, 0.6)}, _a(0.5, 2.3)),
    "MultivariateNormal": Case(
        lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["scale_tril"]),
        {"loc": _a([0.1, -0.2, 0.3], [1.0, 0.0, -1.0]), "scale_tril": LT},
        _a([0.5, 0.1, -0.3], [0.0, 1.0, 2.0])),
    "MultivariateNormal_cov": Case(
        lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["cov"]),
        {"loc": _a(0.1, -0.2, 0.3), "cov": COV}, _a([0.5, 0.1, -0.3], [0.0, 1.0, 2.0])),
    "MultivariateNormal_prec": Case(
        lambda D, p: D.MultivariateNormal(p["loc"], precision_matrix=p["prec"]),
        {"loc": _a(0.1, -0.2, 0.3), "prec": np.linalg.inv(COV)},
        _a([0.5, 0.1, -0.3], [0.0, 1.0, 2.0])),
    "LowRankMultivariateNormal": Case(
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["cov_factor"], p["cov_diag"]),
        {"loc": _a([0.1, -0.2, 0.3], [1.0, 0.0, -1.0]),
         "cov_factor": _a([0.5, 0.1], [-0.3, 0.8], [0.2, 0.2]), "cov_diag": _a(0.5, 1.0, 0.7)},
        _a([0.5, 0.1, -0.3], [0.0, 1.0, 2.0])),
    "Bernoulli": Case(lambda D, p: D.Bernoulli(probs=p["probs"]), {"probs": _a(0.3, 0.8)},
                      _a(0.0, 1.0), discrete=True),
    "Bernoulli_logits": Case(lambda D, p: D.Bernoulli(logits=p["logits"]),
                             {"logits": _a(-0.4, 1.3)}, _a(1.0, 1.0), discrete=True),
    "Binomial": Case(lambda D, p: D.Binomial(p["total_count"], probs=p["probs"]),
                     {"total_count": _a(5.0, 40.0, 100.0), "probs": _a(0.3, 0.8, 0.4)},
                     _a(2.0, 31.0, 45.0), discrete=True),
    "Categorical": Case(lambda D, p: D.Categorical(probs=p["probs"]),
                        {"probs": PROBS3}, _a(1.0, 2.0), discrete=True),
    "Categorical_logits": Case(lambda D, p: D.Categorical(logits=p["logits"]),
                               {"logits": _a([0.1, -1.0, 2.0], [0.5, 0.5, -0.2])},
                               _a(0.0, 2.0), discrete=True),
    "OneHotCategorical": Case(lambda D, p: D.OneHotCategorical(probs=p["probs"]),
                              {"probs": PROBS3}, _a([0, 1, 0], [0, 0, 1]), discrete=True),
    "OneHotCategoricalStraightThrough": Case(
        lambda D, p: D.OneHotCategoricalStraightThrough(probs=p["probs"]),
        {"probs": PROBS3}, _a([0, 1, 0], [1, 0, 0]), discrete=True),
    "Multinomial": Case(lambda D, p: D.Multinomial(6, probs=p["probs"]), {"probs": PROBS3},
                        _a([1, 3, 2], [6, 0, 0]), discrete=True),
    "Poisson": Case(lambda D, p: D.Poisson(p["rate"]), {"rate": _a(0.5, 4.0, 25.0)},
                    _a(0.0, 3.0, 20.0), discrete=True),
    "Geometric": Case(lambda D, p: D.Geometric(probs=p["probs"]), {"probs": _a(0.2, 0.7)},
                      _a(0.0, 3.0), discrete=True),
    "NegativeBinomial": Case(lambda D, p: D.NegativeBinomial(p["total_count"], probs=p["probs"]),
                             {"total_count": _a(3.0, 5.5), "probs": _a(0.4, 0.6)},
                             _a(2.0, 5.0), discrete=True),
    "Uniform": Case(lambda D, p: D.Uniform(p["low"], p["high"]),
                    {"low": _a(0.0, -1.0), "high": _a(1.0, 2.0)}, _a(0.3, 1.5)),
    "Beta": Case(lambda D, p: D.Beta(p["a"], p["b"]), {"a": _a(0.5, 2.0), "b": _a(1.5, 3.0)},
                 _a(0.2, 0.7)),
    "Gamma": Case(lambda D, p: D.Gamma(p["conc"], p["rate"]),
                  {"conc": _a(0.5, 3.0, 12.0), "rate": _a(1.0, 2.5, 0.5)}, _a(0.4, 1.2, 20.0)),
    "Chi2": Case(lambda D, p: D.Chi2(p["df"]), {"df": _a(1.5, 4.0)}, _a(0.5, 3.0)),
    "Dirichlet": Case(lambda D, p: D.Dirichlet(p["conc"]),
                      {"conc": _a([0.5, 1.0, 2.0], [3.0, 4.0, 1.5])}, SIMPLEX),
    "Exponential": Case(lambda D, p: D.Exponential(p["rate"]), {"rate": _a(0.5, 2.0)},
                        _a(0.3, 2.0)),
    "Laplace": Case(lambda D, p: D.Laplace(p["loc"], p["scale"]),
                    {"loc": _a(0.3, -1.2), "scale": _a(0.7, 2.0)}, _a(0.1, 1.5)),
    "Cauchy": Case(lambda D, p: D.Cauchy(p["loc"], p["scale"]),
                   {"loc": _a(0.3, -1.2), "scale": _a(0.7, 2.0)}, _a(0.1, 1.5), heavy=True),
    "StudentT": Case(lambda D, p: D.StudentT(p["df"], p["loc"], p["scale"]),
                     {"df": _a(5.0, 9.0), "loc": _a(0.3, -1.2), "scale": _a(0.7, 2.0)},
                     _a(0.1, 1.5)),
    "Gumbel": Case(lambda D, p: D.Gumbel(p["loc"], p["scale"]),
                   {"loc": _a(0.3, -1.2), "scale": _a(0.7, 2.0)}, _a(0.1, 1.5)),
    "HalfNormal": Case(lambda D, p: D.HalfNormal(p["scale"]), {"scale": _a(0.7, 2.0)},
                       _a(0.1, 1.5)),
    "HalfCauchy": Case(lambda D, p: D.HalfCauchy(p["scale"]), {"scale": _a(0.7, 2.0)},
                       _a(0.1, 1.5), heavy=True),
    "VonMises": Case(lambda D, p: D.VonMises(p["loc"], p["conc"]),
                     {"loc": _a(0.5, -1.0), "conc": _a(1.0, 4.0)}, _a(0.2, -0.8)),
    "ContinuousBernoulli": Case(lambda D, p: D.ContinuousBernoulli(probs=p["probs"]),
                                {"probs": _a(0.2, 0.7, 0.5)}, _a(0.3, 0.9, 0.4)),
    "RelaxedBernoulli": Case(lambda D, p: D.RelaxedBernoulli(p["temp"], probs=p["probs"]),
                             {"temp": _a(0.5), "probs": _a(0.3, 0.8)}, _a(0.2, 0.6),
                             moments=False),
    "RelaxedOneHotCategorical": Case(
        lambda D, p: D.RelaxedOneHotCategorical(p["temp"], probs=p["probs"]),
        {"temp": _a(0.7), "probs": PROBS3}, SIMPLEX, moments=False),
    "MixtureSameFamily": Case(
        lambda D, p: D.MixtureSameFamily(D.Categorical(probs=p["mix"]),
                                         D.Normal(p["loc"], p["scale"])),
        {"mix": PROBS3, "loc": _a([0.0, 1.0, -2.0], [0.5, 0.3, 3.0]),
         "scale": _a([0.5, 1.0, 0.7], [1.2, 0.4, 0.9])}, _a(0.1, 0.4)),
    "Independent": Case(lambda D, p: D.Independent(D.Normal(p["loc"], p["scale"]), 1),
                        {"loc": _a([0.0, 1.0, -2.0], [0.5, 0.3, 3.0]),
                         "scale": _a([0.5, 1.0, 0.7], [1.2, 0.4, 0.9])},
                        _a([0.1, 0.4, -1.0], [0.2, 0.3, 2.0])),
    "TransformedDistribution": Case(
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["scale"]),
            [D.transforms.ExpTransform(), D.transforms.AffineTransform(1.0, 2.0)]),
        {"loc": _a(0.1, -0.5), "scale": _a(0.4, 0.6)}, _a(1.5, 4.0), heavy=True),
    # beyond issue 12's list: the rest of torch.distributions
    "Pareto": Case(lambda D, p: D.Pareto(p["scale"], p["alpha"]),
                   {"scale": _a(0.5, 1.0), "alpha": _a(5.0, 6.0)}, _a(1.0, 2.0)),
    "Weibull": Case(lambda D, p: D.Weibull(p["scale"], p["conc"]),
                    {"scale": _a(0.5, 1.0), "conc": _a(2.0, 3.0)}, _a(1.0, 2.0)),
    "Kumaraswamy": Case(lambda D, p: D.Kumaraswamy(p["a"], p["b"]),
                        {"a": _a(0.5, 1.0), "b": _a(2.0, 3.0)}, _a(0.3, 0.6)),
    "FisherSnedecor": Case(lambda D, p: D.FisherSnedecor(p["df1"], p["df2"]),
                           {"df1": _a(3.0, 5.0), "df2": _a(12.0, 15.0)}, _a(0.3, 1.6)),
    "InverseGamma": Case(lambda D, p: D.InverseGamma(p["conc"], p["rate"]),
                         {"conc": _a(6.0, 7.0), "rate": _a(6.0, 9.0)}, _a(0.3, 1.6)),
    "LogisticNormal": Case(lambda D, p: D.LogisticNormal(p["loc"], p["scale"]),
                           {"loc": _a(0.1, 0.2), "scale": _a(1.0, 2.0)}, _a(0.3, 0.5, 0.2),
                           moments=False),
    "Wishart": Case(lambda D, p: D.Wishart(p["df"], covariance_matrix=p["cov"]),
                    {"df": _a(4.0), "cov": _a([2.0, 0.5], [0.5, 1.0])},
                    _a([1.0, 0.2], [0.2, 2.0]), moments=False),
    "LKJCholesky": Case(lambda D, p: D.LKJCholesky(3, p["conc"]), {"conc": _a(2.0)},
                        np.linalg.cholesky(np.array([[1, 0.3, 0.1], [0.3, 1, 0.2],
                                                     [0.1, 0.2, 1.0]])), moments=False),
}

# families whose rsample is a deterministic function of parameter-free noise (so the
# gradient of a seeded draw can be checked by finite differences)
PATHWISE = ["Normal", "LogNormal", "MultivariateNormal",
            "LowRankMultivariateNormal", "Uniform", "Exponential", "Laplace", "Cauchy",
            "Gumbel", "HalfNormal", "HalfCauchy", "ContinuousBernoulli", "RelaxedBernoulli",
            "RelaxedOneHotCategorical", "Independent", "TransformedDistribution"]


def build(D, case: Case, make_tensor):
    """The case's distribution on ``D`` with each parameter turned into a tensor by
    ``make_tensor(name, array)``."""
    return case.make(D, {k: make_tensor(k, v) for k, v in case.params.items()})
