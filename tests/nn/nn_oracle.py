"""Helpers for the nn tests: move weights and inputs between ember and PyTorch, run the
same module on both, compare outputs and gradients."""
from __future__ import annotations

import numpy as np

import ember


def to_np(t):
    """A tensor of either library as a numpy array."""
    if hasattr(t, "detach"):
        t = t.detach()
    if type(t).__module__.startswith("torch"):
        return t.cpu().numpy()
    return np.asarray(t.cpu().numpy() if hasattr(t, "cpu") else t)


def pair(torch, arr, device="cpu", requires_grad=False):
    """The same values as (ember tensor on device, torch tensor)."""
    arr = np.asarray(arr)
    e = ember.tensor(arr, device=device)
    t = torch.tensor(arr)
    if requires_grad:
        e.requires_grad_(True)
        t.requires_grad_(True)
    return e, t


def copy_weights(ember_module, torch_module, device="cpu"):
    """Load the torch module's state (through numpy) into the ember module."""
    sd = {k: ember.tensor(v.detach().cpu().numpy(), device=device)
          for k, v in torch_module.state_dict().items()}
    ember_module.load_state_dict(sd)
    return ember_module.to(device)


def assert_close(e, t, rtol=1e-5, atol=1e-6, what=""):
    a, b = to_np(e), to_np(t)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def run_both(torch, em, tm, inputs, device="cpu", rtol=1e-5, atol=1e-6, grad=True):
    """Run ember module ``em`` and torch module ``tm`` on the same inputs (numpy arrays;
    float ones require grad), compare outputs, then backward a fixed random cotangent
    and compare input and parameter gradients."""
    e_in, t_in = [], []
    for a in inputs:
        a = np.asarray(a)
        rg = grad and a.dtype.kind == "f"
        e, t = pair(torch, a, device, rg)
        e_in.append(e)
        t_in.append(t)
    eo = em(*e_in)
    to = tm(*t_in)
    assert_close(eo, to, rtol, atol, "forward")
    if not grad:
        return eo, to
    cot = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(
        to_np(to).dtype)
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if t.grad is not None:
            assert_close(e.grad, t.grad, rtol, atol, f"grad of input {i}")
    tparams = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        tp = tparams[name]
        if tp.grad is None:
            assert p.grad is None, name
        else:
            assert_close(p.grad, tp.grad, rtol, atol, f"grad of {name}")
    return eo, to
