"""``ember.distributions`` vs ``torch.distributions``: the calls a VAE / policy-gradient step
makes (build, rsample, log_prob with backward, KL) on a small batch, and the samplers that
ember writes over the backend's array namespace (gamma, Dirichlet, Poisson, binomial) on
10^5 draws. PyTorch runs with 2 threads; each figure is the best of ``--repeat`` rounds, the
libraries taking turns.

    python benchmarks/distributions.py [--repeat 5] [--cpu-time]

``--cpu-time`` counts this process's CPU seconds (all threads) instead of wall time, steadier
on a loaded machine.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cases_main  # noqa: E402


def cases(lib):
    D = lib.distributions
    loc = lib.zeros(64, 16, requires_grad=True)
    scale = lib.ones(64, 16, requires_grad=True)
    logits = lib.zeros(64, 6, requires_grad=True)
    conc = lib.full((100_000,), 2.5)
    rate = lib.full((100_000,), 7.0)
    big_rate = lib.full((100_000,), 40.0)
    count = lib.full((100_000,), 30.0)
    probs = lib.full((100_000,), 0.4)
    dconc = lib.full((20_000, 5), 1.5)

    def vae_step():
        q = D.Normal(loc, scale)
        z = q.rsample()
        p = D.Normal(lib.zeros_like(loc), lib.ones_like(scale))
        loss = (q.log_prob(z) - p.log_prob(z)).sum() + D.kl_divergence(q, p).sum()
        loss.backward()

    def reinforce_step():
        m = D.Categorical(logits=logits)
        a = m.sample()
        (-m.log_prob(a).sum()).backward()

    return {
        "Normal VAE step (64x16)": (vae_step, 50),
        "Categorical REINFORCE step (64x6)": (reinforce_step, 50),
        "Gamma(2.5).sample 1e5": (lambda: D.Gamma(conc, 1.0).sample(), 3),
        "Dirichlet(1.5).sample 2e4x5": (lambda: D.Dirichlet(dconc).sample(), 3),
        "Poisson(7).sample 1e5": (lambda: D.Poisson(rate).sample(), 3),
        "Poisson(40).sample 1e5": (lambda: D.Poisson(big_rate).sample(), 3),
        "Binomial(30, 0.4).sample 1e5": (lambda: D.Binomial(count, probs).sample(), 3),
    }


if __name__ == "__main__":
    cases_main(__doc__, cases)
