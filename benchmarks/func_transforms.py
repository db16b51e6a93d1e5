"""``ember.func`` / ``autograd.forward_ad`` vs PyTorch on the patterns research code runs:
model ensembling (``vmap`` over ``functional_call`` with ``stack_module_state``),
per-sample gradients (``vmap(grad(loss))``), Jacobians both ways, a Hessian, and one
forward-mode JVP through an MLP. ember's ``vmap`` is a per-slice loop (no batching rules),
so its cost grows with the batch where PyTorch's does not: the figures say how much.
PyTorch runs with 2 threads; each figure is the best of ``--repeat`` rounds, the libraries
taking turns.

    python benchmarks/func_transforms.py [--repeat 5] [--cpu-time]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cases_main  # noqa: E402


def cases(L):
    F = L.func
    L.manual_seed(0)

    def mlp():
        return L.nn.Sequential(L.nn.Linear(16, 32), L.nn.Tanh(), L.nn.Linear(32, 4))

    models = [mlp() for _ in range(8)]
    params, buffers = F.stack_module_state(models)
    base = mlp()
    x = L.randn(32, 16)
    xs, ys = L.randn(16, 16), L.randint(0, 4, (16,))
    p0 = {k: v.detach() for k, v in base.named_parameters()}

    def ensemble():
        return L.vmap(lambda p, b: F.functional_call(base, (p, b), (x,)))(params, buffers)

    def loss(p, xi, yi):
        out = F.functional_call(base, p, (xi[None],))
        return L.nn.functional.cross_entropy(out, yi[None])

    def per_sample():
        return L.vmap(F.grad(loss), in_dims=(None, 0, 0))(p0, xs, ys)

    w = L.randn(16, 16)

    def f(v):
        return (w @ v).tanh() * v.sum()

    v = L.randn(16)
    fw = L.autograd.forward_ad

    def jvp_mlp():
        with fw.dual_level():
            d = fw.make_dual(x, L.ones_like(x))
            return fw.unpack_dual(base(d)).tangent

    return {
        "ensemble of 8 MLPs, vmap(functional_call), batch 32": (ensemble, 5),
        "per-sample grads, vmap(grad), 16 samples": (per_sample, 3),
        "jacrev 16 -> 16": (lambda: F.jacrev(f)(v), 5),
        "jacfwd 16 -> 16": (lambda: F.jacfwd(f)(v), 5),
        "hessian of a 16-d scalar": (lambda: F.hessian(lambda u: f(u).sum())(v), 3),
        "forward_ad jvp through the MLP, batch 32": (jvp_mlp, 20),
    }


if __name__ == "__main__":
    cases_main(__doc__, cases)
