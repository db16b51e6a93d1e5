"""CyclicLR, CosineAnnealingWarmRestarts and swa_utils (AveragedModel, SWALR, update_bn) vs
PyTorch: learning-rate (and momentum) trajectories step for step, state_dict keys and round
trips, averaged weights and BatchNorm statistics."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.optim as eoptim

N = 25


def _opt(lib, mod, name="SGD", **kw):
    p = lib.zeros(2, requires_grad=True)
    q = lib.zeros(1, requires_grad=True)
    return getattr(mod, name)([{"params": [p]}, {"params": [q], "lr": 0.05}],
                              lr=kw.pop("lr", 0.1), **kw)


def _trajectory(lib, mod, opt_kw, make, n=N, epochs=None):
    opt = _opt(lib, mod, **dict(opt_kw))
    sched = make(mod, opt)
    seq = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            opt.step()
            sched.step() if epochs is None else sched.step(epochs[i])
            seq.append(list(sched.get_last_lr()) +
                       [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return seq, sched, opt


def _same(e, t):
    assert len(e) == len(t)
    for step, (a, b) in enumerate(zip(e, t)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {step}: {a} != {b}"


def _triangle_fn(x):
    return 1.0 / (1 + x)


CASES = [
    ("cyclic-tri", {"momentum": 0.9},
     lambda m, o: m.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4)),
    ("cyclic-tri2", {"momentum": 0.9},
     lambda m, o: m.lr_scheduler.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=3,
                                          step_size_down=5, mode="triangular2")),
    ("cyclic-exp-adam", {"name": "Adam"},
     lambda m, o: m.lr_scheduler.CyclicLR(o, 0.001, 0.01, step_size_up=5, mode="exp_range",
                                          gamma=0.9, base_momentum=0.7, max_momentum=0.95)),
    ("cyclic-fn-nomom", {},
     lambda m, o: m.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=2, scale_fn=_triangle_fn,
                                          scale_mode="iterations", cycle_momentum=False)),
    ("warm-restarts", {},
     lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.001)),
    ("warm-restarts-mult", {},
     lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
    ("swalr-cos", {}, lambda m, o: m.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=5)),
    ("swalr-linear", {}, lambda m, o: m.swa_utils.SWALR(o, swa_lr=[0.3, 0.01], anneal_epochs=4,
                                                         anneal_strategy="linear")),
    ("swalr-0", {}, lambda m, o: m.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=0)),
]


@pytest.mark.parametrize("name,opt_kw,make", CASES, ids=[c[0] for c in CASES])
def test_trajectory_and_state_dict_match_torch(name, opt_kw, make, torch):
    t, ts, _ = _trajectory(torch, torch.optim, opt_kw, make)
    e, es, _ = _trajectory(ember, eoptim, opt_kw, make)
    _same(e, t)
    tsd, esd = ts.state_dict(), es.state_dict()
    assert sorted(esd) == sorted(tsd)
    for k, v in tsd.items():
        if isinstance(v, (int, float, str, bool, list, tuple)) or v is None:
            assert esd[k] == pytest.approx(v) if isinstance(v, float) else esd[k] == v, k
    # resume: a fresh scheduler loaded from the state dict continues as the original
    t2, _, _ = _resume(torch, torch.optim, opt_kw, make)
    e2, _, _ = _resume(ember, eoptim, opt_kw, make)
    _same(e2, t2)
    _same(e2, e[10:])


def _resume(lib, mod, opt_kw, make):
    seq, sched, opt = _trajectory(lib, mod, opt_kw, make, n=10)
    sd = sched.state_dict()
    opt_sd = opt.state_dict()
    opt2 = _opt(lib, mod, **dict(opt_kw))
    opt2.load_state_dict(opt_sd)
    sched2 = make(mod, opt2)
    sched2.load_state_dict(sd)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(N - 10):
            opt2.step()
            sched2.step()
            out.append(list(sched2.get_last_lr()) +
                       [g.get("momentum", g.get("betas", (None,))[0]) for g in opt2.param_groups])
    return out, sched2, opt2


def test_warm_restarts_with_fractional_epochs(torch):
    epochs = [i * 0.7 for i in range(N)]
    make = (lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                    eta_min=0.01))
    t, _, _ = _trajectory(torch, torch.optim, {}, make, epochs=epochs)
    e, _, _ = _trajectory(ember, eoptim, {}, make, epochs=epochs)
    _same(e, t)


BAD = [lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
       lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
       lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"),
       lambda m, o: m.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2).step(-1),
       lambda m, o: m.lr_scheduler.CyclicLR(o, 0.1, 0.2, mode="nope"),
       lambda m, o: m.lr_scheduler.CyclicLR(o, [0.1], 0.2),
       lambda m, o: m.lr_scheduler.CyclicLR(m.Adagrad(o.param_groups[0]["params"]), 0.1, 0.2),
       lambda m, o: m.swa_utils.SWALR(o, 0.1, anneal_strategy="exp"),
       lambda m, o: m.swa_utils.SWALR(o, 0.1, anneal_epochs=-1),
       lambda m, o: m.swa_utils.get_ema_multi_avg_fn(1.5),
       lambda m, o: m.swa_utils.get_ema_avg_fn(-0.1)]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_errors_match_torch(i, torch):
    with pytest.raises(Exception) as te:
        BAD[i](torch.optim, _opt(torch, torch.optim))
    with pytest.raises(type(te.value)) as ee:
        BAD[i](eoptim, _opt(ember, eoptim))
    assert str(ee.value) == str(te.value).replace("torch.", "ember.")


def _model(lib, data):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with lib.no_grad():
        for p, v in zip(m.parameters(), data):
            p.copy_(lib.tensor(v))
    return m


def _weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((4, 3), (4,), (4,), (4,), (2, 4), (2,))]


AVG = [("swa", lambda m: {}), ("ema", lambda m: {"avg_fn": m.get_ema_avg_fn(0.9)}),
       ("ema-multi", lambda m: {"multi_avg_fn": m.get_ema_multi_avg_fn(0.8)}),
       ("swa-multi", lambda m: {"multi_avg_fn": m.get_swa_multi_avg_fn()}),
       ("swa-fn", lambda m: {"avg_fn": m.get_swa_avg_fn()}),
       ("ema-buffers", lambda m: {"multi_avg_fn": m.get_ema_multi_avg_fn(0.7),
                                  "use_buffers": True})]


@pytest.mark.parametrize("name,kw", AVG, ids=[a[0] for a in AVG])
def test_averaged_model_matches_torch(name, kw, torch):
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((6, 3)).astype(np.float32) for _ in range(4)]
    out = []
    for lib in (torch, ember):
        model = _model(lib, _weights(0))
        avg = lib.optim.swa_utils.AveragedModel(model, **kw(lib.optim.swa_utils))
        for k in range(4):
            with lib.no_grad():
                for p, v in zip(model.parameters(), _weights(k + 1)):
                    p.copy_(lib.tensor(v))
            model(lib.tensor(xs[k]))  # moves the BatchNorm statistics
            avg.update_parameters(model)
        sd = avg.state_dict()
        out.append({k: v.detach().cpu().numpy().copy() for k, v in sd.items()})
        y = avg(lib.tensor(xs[0])).detach().numpy()
        out[-1]["forward"] = y
    assert sorted(out[1]) == sorted(out[0])
    for k in out[0]:
        assert out[1][k].dtype == out[0][k].dtype, k
        np.testing.assert_allclose(out[1][k], out[0][k], rtol=1e-6, atol=1e-6, err_msg=k)


def test_averaged_model_refuses_two_functions(torch):
    sw = eoptim.swa_utils
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        sw.AveragedModel(_model(ember, _weights(0)), avg_fn=sw.get_swa_avg_fn(),
                         multi_avg_fn=sw.get_swa_multi_avg_fn())


def test_update_bn_matches_torch(torch):
    rng = np.random.default_rng(7)
    batches = [rng.standard_normal((5, 3)).astype(np.float32) * (i + 1) for i in range(3)]
    out = []
    for lib in (torch, ember):
        model = _model(lib, _weights(0))
        model.eval()
        loader = [(lib.tensor(b), lib.zeros(5)) for b in batches[:2]] + [lib.tensor(batches[2])]
        lib.optim.swa_utils.update_bn(loader, model)
        bn = model[1]
        assert not model.training and bn.momentum == 0.1
        out.append([bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                    int(bn.num_batches_tracked)])
        lib.optim.swa_utils.update_bn(loader, lib.nn.Linear(3, 2))  # no BatchNorm: no-op
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-5, atol=1e-6)
    assert out[1][2] == out[0][2]


def test_swa_training_loop_as_in_the_docs(torch):
    """The documented SWA recipe (CosineAnnealingLR, then SWALR + update_parameters, then
    update_bn) gives torch's averaged weights."""
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((8, 3)).astype(np.float32) for _ in range(3)]
    ys = [rng.standard_normal((8, 2)).astype(np.float32) for _ in range(3)]
    res = []
    for lib in (torch, ember):
        model = _model(lib, _weights(1))
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        swa_model = lib.optim.swa_utils.AveragedModel(model)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)
        swa_sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2)
        loader = [(lib.tensor(x), lib.tensor(y)) for x, y in zip(xs, ys)]
        for epoch in range(6):
            for x, y in loader:
                opt.zero_grad()
                lib.nn.functional.mse_loss(model(x), y).backward()
                opt.step()
            if epoch >= 3:
                swa_model.update_parameters(model)
                swa_sched.step()
            else:
                sched.step()
        lib.optim.swa_utils.update_bn(loader, swa_model)
        res.append({k: v.detach().numpy() for k, v in swa_model.state_dict().items()})
    for k in res[0]:
        np.testing.assert_allclose(res[1][k], res[0][k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_custom_scheduler_on_the_old_base_class(torch):
    """Scripts subclass ``lr_scheduler._LRScheduler`` (torch's old name) with their own get_lr."""
    def make(mod, opt):
        class Warmup(mod.lr_scheduler._LRScheduler):
            def get_lr(self):
                return [b * min(1.0, (self.last_epoch + 1) / 4) for b in self.base_lrs]
        return Warmup(opt)
    t, _, _ = _trajectory(torch, torch.optim, {}, make, n=8)
    e, _, _ = _trajectory(ember, eoptim, {}, make, n=8)
    _same(e, t)
