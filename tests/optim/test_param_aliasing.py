"""A Parameter shares the storage of the tensor it is made of, and ``p.data = other`` makes
it share other's, as in PyTorch: an optimizer step (on every backend, also those whose
arrays are immutable) and in-place writes reach exactly the tensors PyTorch's reach."""
from __future__ import annotations

import numpy as np
import pytest

import ember

OPTIMIZERS = [("SGD", {"lr": 0.5}), ("SGD", {"lr": 0.5, "momentum": 0.9}),
              ("Adam", {"lr": 0.1}), ("AdamW", {"lr": 0.1}), ("RMSprop", {"lr": 0.1}),
              ("Adagrad", {"lr": 0.1}), ("Adadelta", {"lr": 1.0}), ("NAdam", {"lr": 0.1})]


def _values(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().tolist(), dtype=np.float64)


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[f"{n}-{len(k)}" for n, k in OPTIMIZERS])
def test_step_reaches_the_tensor_a_parameter_is_made_of(device, torch, name, kw):
    def run(lib, dev):
        w = lib.tensor([0.5, -1.0, 2.0], device=dev)
        p = lib.nn.Parameter(w)
        opt = getattr(lib.optim, name)([p], **kw)
        for k in range(3):
            p.grad = lib.tensor([1.0, -2.0, 0.5 * k], device=dev)
            opt.step()
        return _values(w), _values(p)
    ew, ep = run(ember, device)
    tw, tp = run(torch, "cpu")
    np.testing.assert_allclose(ep, tp, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ew, tw, rtol=1e-6, atol=1e-7)  # w moved with p


def test_data_setter_shares_the_new_tensor_and_leaves_the_old_one(device, torch):
    def run(lib, dev):
        w = lib.zeros(3, device=dev)
        p = lib.nn.Parameter(w)
        other = lib.ones(3, device=dev)
        p.data = other
        with lib.no_grad():
            p.add_(5)
        with lib.no_grad():
            other.mul_(2)  # and the other way: a write into other shows in p
        return [_values(t) for t in (w, other, p)]
    for e, t in zip(run(ember, device), run(torch, "cpu")):
        np.testing.assert_array_equal(e, t)


def test_compiled_step_of_an_aliased_parameter_matches_eager(device):
    """Inside a compiled step (JAX: a traced program) the update is bound to the parameter
    after the call; no traced value may leak into the tensor the parameter was made of."""
    def run(compiled):
        w = ember.tensor([0.5, -1.0, 2.0], device=device)
        p = ember.nn.Parameter(w)
        opt = ember.optim.SGD([p], lr=0.5, momentum=0.9)
        x = ember.tensor([1.0, 2.0, 3.0], device=device)

        def step(x):
            opt.zero_grad()
            loss = (p * x).sum()
            loss.backward()
            opt.step()
            return loss
        fn = ember.compile(step) if compiled else step
        for _ in range(3):
            fn(x)
        return _values(w), _values(p)  # w readable: an array, not a tracer
    (cw, cp), (ew, ep) = run(True), run(False)
    np.testing.assert_allclose(cp, ep, rtol=1e-6)
    np.testing.assert_allclose(cw, ew, rtol=1e-6)  # w moved with p in both
    np.testing.assert_array_equal(cw, cp)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_detached_optimizer_state_sees_later_steps(device, torch, name):
    """A ``detach()`` of optimizer state (Adam's step count and moments, SGD's momentum
    buffer) shares its storage: the later steps' in-place updates show in it, as in
    PyTorch."""
    def run(lib, dev):
        p = lib.nn.Parameter(lib.tensor([0.5, -1.0, 2.0], device=dev))
        opt = (lib.optim.Adam([p], lr=0.1) if name == "Adam"
               else lib.optim.SGD([p], lr=0.1, momentum=0.9))
        held = None
        for k in range(3):
            p.grad = lib.tensor([1.0, -2.0, 0.5 * k], device=dev)
            opt.step()
            if held is None:
                held = {key: v.detach() for key, v in opt.state[p].items()
                        if isinstance(v, lib.Tensor)}
        return {key: _values(v) for key, v in held.items()}
    got, want = run(ember, device), run(torch, "cpu")
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-7, err_msg=key)
