"""``ember.utils.checkpoint`` vs running without it and vs ``torch.utils.checkpoint``: the
same outputs and gradients (inputs and parameters) in both variants, dropout masks replayed
(``preserve_rng_state``), the RNG stream left as without checkpointing, autograd.grad and
keyword arguments (non-reentrant), second derivatives, and PyTorch's warnings and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember

RNG = np.random.default_rng(0)
XN = RNG.standard_normal((5, 8)).astype(np.float32)
WEIGHTS = [(RNG.standard_normal((8, 8)) * 0.4).astype(np.float32) for _ in range(4)]


def _mlp(L, device=None, p=0.3):
    layers = []
    for w in WEIGHTS:
        lin = L.nn.Linear(8, 8)
        with L.no_grad():
            lin.weight.copy_(L.tensor(w))
            lin.bias.fill_(0.1)
        layers += [lin, L.nn.Tanh(), L.nn.Dropout(p)]
    m = L.nn.Sequential(*layers)
    return m.to(device) if device else m


def _step(L, device, how, p=0.3):
    m = _mlp(L, device, p)
    x = L.tensor(XN, requires_grad=True, **({"device": device} if device else {}))
    L.manual_seed(7)
    if how == "plain":
        y = m(x)
    elif how == "sequential":
        y = L.utils.checkpoint.checkpoint_sequential(m, 3, x, use_reentrant=False)
    else:
        y = L.utils.checkpoint.checkpoint(m, x, use_reentrant=how == "reentrant")
    (y * y).sum().backward()
    after = float(L.rand(1))  # the RNG stream after forward and backward
    return [y, x.grad, m[0].weight.grad, m[9].bias.grad], after


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("how", ["reentrant", "non-reentrant", "sequential"])
def test_same_gradients_and_dropout_masks(how, device):
    want, want_after = _step(ember, device, "plain")
    got, got_after = _step(ember, device, how)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-6)
    assert got_after == want_after


@pytest.mark.parametrize("how", ["reentrant", "non-reentrant"])
def test_gradients_like_torch(how, device, torch):
    got, _ = _step(ember, device, how, p=0.0)
    want, _ = _step(torch, None, how, p=0.0)
    for g, w in zip(got, want):
        np.testing.assert_allclose(_np(g), _np(w), rtol=1e-4, atol=1e-5)


def test_rng_not_preserved_changes_masks(device):
    m = _mlp(ember, device, p=0.5)
    x = ember.tensor(XN, requires_grad=True, device=device)
    ember.manual_seed(1)
    y = ember.utils.checkpoint.checkpoint(m, x, use_reentrant=False, preserve_rng_state=False)
    y.sum().backward()
    plain = _mlp(ember, device, p=0.5)
    x2 = ember.tensor(XN, requires_grad=True, device=device)
    ember.manual_seed(1)
    plain(x2).sum().backward()
    # the recomputation drew fresh masks: the gradients are not those of the forward's masks
    assert not np.allclose(_np(x.grad), _np(x2.grad))


def test_non_reentrant_grad_kwargs_and_frozen_input(device, torch):
    def run(L, d):
        kw = {"device": d} if d else {}
        w = L.tensor(WEIGHTS[0], requires_grad=True, **kw)
        x = L.tensor(XN, **kw)  # needs no grad: the parameters still get theirs

        def f(a, scale=1.0):
            return (a @ w).tanh() * scale
        y = L.utils.checkpoint.checkpoint(f, x, use_reentrant=False, scale=3.0)
        (g,) = L.autograd.grad(y.pow(2).sum(), w, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), w)
        return y, g, gg
    for a, b in zip(run(ember, device), run(torch, None)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-4, atol=1e-5)


def test_reentrant_without_grad_inputs_warns_like_torch(device, torch):
    def run(L, d):
        kw = {"device": d} if d else {}
        w = L.tensor(WEIGHTS[0], requires_grad=True, **kw)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            y = L.utils.checkpoint.checkpoint(lambda a: a @ w, L.tensor(XN, **kw),
                                              use_reentrant=True)
        return y.requires_grad, [str(r.message) for r in rec]
    assert run(ember, device) == run(torch, None)


def test_warnings_and_errors_like_torch(torch):
    def warns(L, seq):
        lin = L.nn.Linear(2, 2)
        x = L.ones(1, 2, requires_grad=True)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            if seq:
                L.utils.checkpoint.checkpoint_sequential(L.nn.Sequential(lin, lin), 1, x)
            else:
                L.utils.checkpoint.checkpoint(lin, x)
        return [(r.category, str(r.message)) for r in rec if "use_reentrant" in str(r.message)]
    for seq in (False, True):
        got, want = warns(ember, seq), warns(torch, seq)
        assert got == want and len(want) == 1
    errors = [
        lambda L: L.utils.checkpoint.checkpoint(lambda a: a, L.ones(1), use_reentrant=True,
                                                foo=1),
        lambda L: L.utils.checkpoint.checkpoint(lambda a: a, L.ones(1), use_reentrant=True,
                                                debug=True),
        lambda L: L.utils.checkpoint.checkpoint_sequential([lambda a: a], 1, L.ones(1),
                                                           use_reentrant=False, bar=2),
    ]
    for run in errors:
        with pytest.raises(Exception) as want:
            run(torch)
        with pytest.raises(type(want.value)) as got:
            run(ember)
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("reentrant", [True, False])
def test_activations_not_kept(reentrant, device):
    """The checkpointed function's intermediates die with its forward call (no GC needed)."""
    import gc
    import weakref
    kept = []
    w = ember.tensor(WEIGHTS[0], requires_grad=True, device=device)

    def f(a):
        h = (a @ w).tanh()  # tanh saves its output: a cycle through its node
        kept.append(weakref.ref(h))
        return h.sum(1)
    x = ember.tensor(XN, requires_grad=True, device=device)
    gc.disable()
    try:
        y = ember.utils.checkpoint.checkpoint(f, x, use_reentrant=reentrant)
        assert kept[0]() is None
    finally:
        gc.enable()
    y.sum().backward()
    assert w.grad is not None and x.grad is not None
