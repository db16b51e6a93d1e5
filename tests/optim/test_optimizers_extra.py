"""NAdam, RAdam, Adamax, ASGD, Rprop and SparseAdam vs PyTorch: identical parameters and
gradients, compared after every step (float32 and float64), with state_dict layout, state
values and round trips; plus torch's handling of foreach / fused / capturable arguments."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as eoptim

CONFIGS = [
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.8, 0.9))),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.5, 0.6), maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, eps=1e-6)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.9), maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.01, t0=3, maximize=True, foreach=False)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.02), maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-4, 1e-2), d=1.5, weight_decay=0.1,
                       maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]


def _problem(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype)
            for k, s in (("W", (4, 3)), ("b", (4,)), ("x", (3, 5)), ("y", (4, 5)))}


def _loss(W, b, x, y):
    out = W @ x + b.reshape(4, 1)
    return ((out - y) ** 2).mean() + (W * W).sum() * 0.01


def _setup(lib, data, device=None):
    kwd = {} if device is None else {"device": device}
    W = lib.tensor(data["W"], requires_grad=True, **kwd)
    b = lib.tensor(data["b"], requires_grad=True, **kwd)
    return W, b, lib.tensor(data["x"], **kwd), lib.tensor(data["y"], **kwd)


def _steps(opt, W, b, x, y, n):
    history = []
    for _ in range(n):
        opt.zero_grad()
        _loss(W, b, x, y).backward()
        opt.step()
        history.append((W.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy()))
    return history


def _run(lib, opt_mod, name, kw, data, device=None, steps=15):
    W, b, x, y = _setup(lib, data, device)
    opt = getattr(opt_mod, name)([W, b], **kw)
    return _steps(opt, W, b, x, y, steps), opt


def _close(dtype):
    return (dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_steps_match_torch(name, kw, dtype, device, torch):
    data = _problem(dtype)
    th, topt = _run(torch, torch.optim, name, kw, data)
    eh, eopt = _run(ember, eoptim, name, kw, data, device)
    tol = _close(dtype)
    for step, ((tw, tb), (ew, eb)) in enumerate(zip(th, eh)):
        np.testing.assert_allclose(ew, tw, err_msg=f"W after step {step}", **tol)
        np.testing.assert_allclose(eb, tb, err_msg=f"b after step {step}", **tol)
    tsd, esd = topt.state_dict(), eopt.state_dict()
    assert esd["param_groups"] == [dict(g) for g in tsd["param_groups"]]
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert list(esd["state"][k]) == list(tsd["state"][k])
        for key, tv in tsd["state"][k].items():
            ev = esd["state"][k][key]
            assert str(ev.dtype) == str(tv.dtype) and tuple(ev.shape) == tuple(tv.shape), key
            # torch keeps ASGD's scalars on the parameter's device, the others' on the CPU
            host = key in ("step", "mu_product") and name != "ASGD"
            pdev = eopt.param_groups[0]["params"][0].device
            assert ev.device == (ember.device("cpu") if host else pdev), key
            np.testing.assert_allclose(ev.cpu().numpy(), tv.numpy(), err_msg=key, **tol)


@pytest.mark.parametrize("name,kw", [CONFIGS[1], CONFIGS[4], CONFIGS[7], CONFIGS[9],
                                     CONFIGS[12]], ids=lambda v: v if isinstance(v, str) else "")
def test_state_dict_round_trip_resumes_exactly(name, kw, device, tmp_path):
    data = _problem(np.float32, 1)
    full, _ = _run(ember, eoptim, name, kw, data, device, steps=8)
    W, b, x, y = _setup(ember, data, device)
    opt = getattr(eoptim, name)([W, b], **kw)
    _steps(opt, W, b, x, y, 4)
    ember.save({"opt": opt.state_dict(), "W": W, "b": b}, tmp_path / "ck.pt")
    ck = ember.load(tmp_path / "ck.pt")
    W2 = ck["W"].detach().requires_grad_(True)
    b2 = ck["b"].detach().requires_grad_(True)
    opt2 = getattr(eoptim, name)([W2, b2], **kw)
    opt2.load_state_dict(ck["opt"])
    last = _steps(opt2, W2, b2, x, y, 4)[-1]
    np.testing.assert_array_equal(last[0], full[-1][0])
    np.testing.assert_array_equal(last[1], full[-1][1])


def test_loads_a_torch_state_dict(torch):
    """A state_dict saved by torch resumes in ember as it resumes in torch (loading casts
    floating state such as NAdam's mu_product to the parameters' dtype, in both)."""
    data = _problem(np.float64, 2)
    for name, kw in (CONFIGS[1], CONFIGS[9]):
        W, b, x, y = _setup(torch, data)
        topt = getattr(torch.optim, name)([W, b], **kw)
        _steps(topt, W, b, x, y, 3)
        sd = topt.state_dict()
        topt = getattr(torch.optim, name)([W, b], **kw)
        topt.load_state_dict(sd)
        We = ember.tensor(W.detach().numpy(), requires_grad=True)
        be = ember.tensor(b.detach().numpy(), requires_grad=True)
        eopt = getattr(eoptim, name)([We, be], **kw)
        eopt.load_state_dict({"state": {k: {kk: ember.tensor(vv.numpy()) for kk, vv in v.items()}
                                        for k, v in sd["state"].items()},
                              "param_groups": sd["param_groups"]})
        th = _steps(topt, W, b, x, y, 3)
        eh = _steps(eopt, We, be, ember.tensor(data["x"]), ember.tensor(data["y"]), 3)
        np.testing.assert_allclose(eh[-1][0], th[-1][0], rtol=1e-11, atol=1e-12)
        for k, v in topt.state_dict()["state"][0].items():
            assert str(eopt.state_dict()["state"][0][k].dtype) == str(v.dtype), k


def test_rprop_sign_flips_and_clamps(device, torch):
    """An oscillating gradient exercises Rprop's shrink, skip and clamp branches."""
    grads = [[1.0, -2.0, 0.0], [-1.0, -1.0, 3.0], [2.0, -1.0, -3.0], [2.0, 0.0, 1.0],
             [-0.5, 1.0, 1.0]] * 3
    out = []
    for lib, mod, kwd in ((torch, torch.optim, {}), (ember, eoptim, {"device": device})):
        p = lib.zeros(3, dtype=lib.float64, requires_grad=True, **kwd)
        opt = mod.Rprop([p], lr=0.1, etas=(0.4, 1.7), step_sizes=(0.03, 0.3))
        seq = []
        for g in grads:
            p.grad = lib.tensor(g, dtype=lib.float64, **kwd)
            opt.step()
            seq.append(p.detach().cpu().numpy().copy())
        out.append(np.array(seq))
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12, atol=1e-14)


def test_sparse_adam_refuses_dense_gradients_like_torch(torch):
    p_t, p_e = torch.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    topt, eopt = torch.optim.SparseAdam([p_t]), eoptim.SparseAdam([p_e])
    assert eopt.state_dict() == topt.state_dict()
    topt.step(), eopt.step()  # no gradients: nothing to do
    p_t.grad, p_e.grad = torch.ones(2), ember.ones(2)
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ee:
        eopt.step()
    assert str(ee.value) == str(te.value)
    for kw in (dict(lr=0.0), dict(eps=0.0), dict(betas=(0.9, 1.0))):
        with pytest.raises(ValueError) as te:
            torch.optim.SparseAdam([p_t], **kw)
        with pytest.raises(ValueError) as ee:
            eoptim.SparseAdam([p_e], **kw)
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Complex params at indices \\[\\[0, 0\\]\\]"):
        eoptim.SparseAdam([ember.zeros(2, dtype=ember.complex64, requires_grad=True)])


CTOR_ERRORS = [("NAdam", dict(momentum_decay=-1.0)), ("NAdam", dict(betas=(0.9, 1.0))),
               ("RAdam", dict(lr=-1.0)), ("RAdam", dict(weight_decay=-0.1)),
               ("Adamax", dict(eps=-1.0)), ("Adamax", dict(betas=(-0.1, 0.9))),
               ("ASGD", dict(weight_decay=-1.0)), ("Rprop", dict(etas=(1.2, 0.5))),
               ("Rprop", dict(lr=-0.1)),
               ("NAdam", dict(fused=True)), ("Rprop", dict(weight_decay=0.1)),
               ("Adafactor", dict(beta2_decay=0.1)), ("Adafactor", dict(d=0.5)),
               ("Adafactor", dict(eps=(-1.0, 1e-3)))]


@pytest.mark.parametrize("name,kw", CTOR_ERRORS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CTOR_ERRORS)])
def test_constructor_errors_match_torch(name, kw, torch):
    with pytest.raises(Exception) as te:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(type(te.value)) as ee:
        getattr(eoptim, name)([ember.zeros(2, requires_grad=True)], **kw)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "ASGD", "Rprop"])
def test_foreach_and_capturable_as_torch(name, torch):
    """foreach is accepted (same numbers); capturable=True on CPU parameters raises torch's
    AssertionError at the first step; the flags land in param_groups as in torch."""
    data = _problem(np.float32, 3)
    th, _ = _run(torch, torch.optim, name, dict(foreach=True), data, steps=3)
    eh, eopt = _run(ember, eoptim, name, dict(foreach=True), data, steps=3)
    np.testing.assert_allclose(eh[-1][0], th[-1][0], rtol=1e-5, atol=1e-6)
    msgs = []
    for lib, mod in ((torch, torch.optim), (ember, eoptim)):
        p = lib.zeros(2, requires_grad=True)
        opt = getattr(mod, name)([p], capturable=True, differentiable=False)
        assert opt.param_groups[0]["capturable"] is True
        p.grad = lib.ones(2)
        with pytest.raises(AssertionError) as e:
            opt.step()
        msgs.append(str(e.value))
    assert msgs[1] == msgs[0]


def test_repr_and_defaults_match_torch(torch):
    for name in ("NAdam", "RAdam", "Adamax", "ASGD", "Rprop", "SparseAdam", "Adafactor"):
        te = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)])
        ee = getattr(eoptim, name)([ember.zeros(1, requires_grad=True)])
        assert repr(ee) == repr(te)
        assert ee.defaults == te.defaults


MUON = [dict(lr=0.02), dict(lr=0.02, weight_decay=0.0, momentum=0.9, nesterov=False,
                            adjust_lr_fn="match_rms_adamw", ns_steps=3)]


def _muon_run(lib, mod, kw, data, device=None, steps=6):
    kwd = {} if device is None else {"device": device}
    W = lib.tensor(data["W"], requires_grad=True, **kwd)  # tall: the transposed path
    V = lib.tensor(data["y"], requires_grad=True, **kwd)
    x = lib.tensor(data["x"], **kwd)
    opt = mod.Muon([W, V], **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        ((x.T @ W.T - V.T * 0.5) ** 2).sum().backward()
        opt.step()
        out.append(np.concatenate([W.detach().cpu().numpy().ravel(),
                                   V.detach().cpu().numpy().ravel()]))
    return np.array(out), opt


@pytest.mark.parametrize("kw", MUON, ids=["default", "plain-momentum"])
def test_muon_matches_torch(kw, device, torch, monkeypatch):
    """torch orthogonalises in bfloat16, ember in the parameter's dtype: against real torch the
    trajectories agree to bfloat16 rounding; against torch's algorithm with bfloat16 replaced
    by float64 (``Tensor.bfloat16`` patched) they agree to float64 precision."""
    data = _problem(np.float64, 4)
    eh, eopt = _muon_run(ember, eoptim, kw, data, device)
    th, topt = _muon_run(torch, torch.optim, kw, data)
    np.testing.assert_allclose(eh, th, rtol=0, atol=5e-3)
    assert eopt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self: self.double().clone())
    th64, _ = _muon_run(torch, torch.optim, kw, data)
    np.testing.assert_allclose(eh, th64, rtol=1e-10, atol=1e-12)


def test_muon_errors_match_torch(torch):
    for make in (lambda lib: [lib.zeros(3, requires_grad=True)],
                 lambda lib: [lib.zeros(2, 2, requires_grad=True)]):
        for kw in ({}, {"adjust_lr_fn": "nope"}, {"momentum": -1.0}):
            try:
                torch.optim.Muon(make(torch), **kw)
                texc = None
            except Exception as e:  # noqa: BLE001 - the oracle's exception, whatever it is
                texc = e
            if texc is None:
                eoptim.Muon(make(ember), **kw)
                continue
            with pytest.raises(type(texc)) as ee:
                eoptim.Muon(make(ember), **kw)
            assert str(ee.value).replace("ember.Size", "torch.Size") == str(texc)
