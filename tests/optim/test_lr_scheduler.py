"""Every scheduler's learning-rate sequence equals PyTorch's, step for step."""
from __future__ import annotations

import warnings

import pytest

import ember
import ember.optim as eoptim

N = 30


def _same(e, t):
    """Two sequences of per-step lists agree to float precision."""
    assert len(e) == len(t)
    for step, (a, b) in enumerate(zip(e, t)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {step}: {a} != {b}"


def _opt(lib, opt_mod, name="SGD", **kw):
    p = lib.zeros(2, requires_grad=True)
    q = lib.zeros(1, requires_grad=True)
    return getattr(opt_mod, name)([{"params": [p]}, {"params": [q], "lr": 0.05}],
                                  lr=kw.pop("lr", 0.1), **kw)


SCHEDULERS = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.2, end_factor=1.0, total_iters=6)),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("PolynomialLR", dict(total_iters=10, power=2.0)),
]


def _sequence(lib, opt_mod, build, metric=None):
    opt = _opt(lib, opt_mod, **build.get("opt", {}))
    sched = build["make"](opt_mod.lr_scheduler, opt)
    seq = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(N):
            opt.step()
            if metric is None:
                sched.step()
            else:
                sched.step(metric[i])
            seq.append([g["lr"] for g in opt.param_groups] +
                       [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
    return seq, sched


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_sequence_matches_torch(name, kw, torch):
    build = {"make": lambda mod, opt: getattr(mod, name)(opt, **kw)}
    t, ts = _sequence(torch, torch.optim, build)
    e, es = _sequence(ember, eoptim, build)
    _same(e, t)
    assert es.get_last_lr() == pytest.approx(ts.get_last_lr())
    tsd, esd = ts.state_dict(), es.state_dict()
    assert sorted(esd) == sorted(tsd)


def test_lambda_and_multiplicative(torch):
    for cls in ("LambdaLR", "MultiplicativeLR"):
        build = {"make": lambda mod, opt: getattr(mod.lr_scheduler if hasattr(mod, "lr_scheduler")
                                                  else mod, cls)(opt, lambda e: 0.95 ** e)}
        t, _ = _sequence(torch, torch.optim, {"make": lambda mod, opt: getattr(mod, cls)(
            opt, lambda e: 0.95 ** e)})
        e, _ = _sequence(ember, eoptim, {"make": lambda mod, opt: getattr(mod, cls)(
            opt, lambda e: 0.95 ** e)})
        del build
        _same(e, t)


@pytest.mark.parametrize("kw", [dict(max_lr=0.5, total_steps=N),
                                dict(max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10,
                                     anneal_strategy="linear", three_phase=True)])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_lr_and_momentum(kw, opt_name, torch):
    o = {"momentum": 0.9} if opt_name == "SGD" else {}
    build = {"opt": dict(name=opt_name, **o),
             "make": lambda mod, opt: mod.OneCycleLR(opt, **kw)}
    t, _ = _sequence(torch, torch.optim, {"opt": dict(build["opt"]), "make": build["make"]})
    e, _ = _sequence(ember, eoptim, {"opt": dict(build["opt"]), "make": build["make"]})
    _same(e, t)


def test_reduce_on_plateau(torch):
    metric = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8] + [0.8] * (N - 12)
    for kw in (dict(patience=2, factor=0.5), dict(mode="max", patience=1, cooldown=2,
                                                  threshold_mode="abs", min_lr=0.01)):
        build = {"make": lambda mod, opt: mod.ReduceLROnPlateau(opt, **kw)}
        t, _ = _sequence(torch, torch.optim, build, metric)
        e, _ = _sequence(ember, eoptim, build, metric)
        _same(e, t)


def test_sequential_lr(torch):
    def make(mod, opt):
        return mod.SequentialLR(opt, [mod.LinearLR(opt, start_factor=0.1, total_iters=4),
                                      mod.CosineAnnealingLR(opt, T_max=10),
                                      mod.StepLR(opt, step_size=3, gamma=0.5)],
                                milestones=[5, 15])
    t, _ = _sequence(torch, torch.optim, {"make": make})
    e, _ = _sequence(ember, eoptim, {"make": make})
    _same(e, t)


def test_warns_when_scheduler_steps_first(torch):
    opt = _opt(ember, eoptim)
    sched = eoptim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_state_dict_round_trip():
    opt = _opt(ember, eoptim)
    s = eoptim.lr_scheduler.StepLR(opt, 3, gamma=0.5)
    for _ in range(4):
        opt.step()
        s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 4
    opt2 = _opt(ember, eoptim)
    s2 = eoptim.lr_scheduler.StepLR(opt2, 3, gamma=0.5)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 4 and s2.get_last_lr() == s.get_last_lr()
