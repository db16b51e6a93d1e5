"""Losses against PyTorch: every reduction, forward and gradients (input and, where
differentiable, target), options, errors and warnings worded as PyTorch's."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from nn_oracle import assert_close, pair

R = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def f32(*shape):
    return R.standard_normal(shape).astype("float32")


def probs(*shape):
    return R.uniform(0.05, 0.95, shape).astype("float32")


def _run(torch, device, fn_name, arrays, grad_idx, kw, module=None, mkw=None, rtol=1e-5,
         atol=1e-6):
    """Call F.<fn_name> (and the module form) on both libraries; compare values and the
    gradients of the arrays listed in grad_idx."""
    es, ts = [], []
    for i, a in enumerate(arrays):
        e, t = pair(torch, a, device, requires_grad=i in grad_idx)
        es.append(e)
        ts.append(t)
    eo = getattr(F, fn_name)(*es, **kw)
    to = getattr(torch.nn.functional, fn_name)(*ts, **kw)
    assert_close(eo, to, rtol, atol, f"{fn_name} forward")
    cot = np.cos(np.arange(max(to.numel(), 1))).reshape(tuple(to.shape)).astype("float32")
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    for i in grad_idx:
        assert_close(es[i].grad, ts[i].grad, rtol * 10, atol * 10, f"{fn_name} grad {i}")
    if module is not None:
        em = getattr(nn, module)(**(mkw or {})).to(device)
        tm = getattr(torch.nn, module)(**(mkw or {}))
        assert_close(em(*[e.detach() for e in es]), tm(*[t.detach() for t in ts]), rtol, atol,
                     f"{module}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,module,kw", [
    ("mse_loss", "MSELoss", {}), ("l1_loss", "L1Loss", {}),
    ("smooth_l1_loss", "SmoothL1Loss", {}), ("smooth_l1_loss", "SmoothL1Loss", {"beta": 0.5}),
    ("smooth_l1_loss", "SmoothL1Loss", {"beta": 0.0}), ("huber_loss", "HuberLoss", {}),
    ("huber_loss", "HuberLoss", {"delta": 0.3}), ("soft_margin_loss", "SoftMarginLoss", {}),
])
def test_pointwise_losses(torch, device, name, module, kw, reduction):
    x, y = f32(4, 5), f32(4, 5)
    grads = (0,) if name == "soft_margin_loss" else (0, 1)  # PyTorch: no target gradient
    _run(torch, device, name, [x, y], grads, dict(kw, reduction=reduction), module,
         dict(kw, reduction=reduction))


def test_mse_broadcast_warning_and_error(torch):
    x, y = ember.randn(3, 1, requires_grad=True), ember.randn(3)
    with pytest.warns(UserWarning) as rec:
        out = F.mse_loss(x, y)
    with warnings.catch_warnings(record=True) as trec:
        warnings.simplefilter("always")
        tout = torch.nn.functional.mse_loss(torch.tensor(x.detach().numpy()),
                                            torch.tensor(y.numpy()))
    assert str(rec[0].message) == str(trec[0].message)
    assert_close(out, tout)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"), \
            pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(ember.randn(3, 2), ember.randn(4))


def test_weighted_mse_l1(torch):
    x, y, w = f32(3, 4), f32(3, 4), probs(3, 4)
    for name in ("mse_loss", "l1_loss", "huber_loss"):
        for red in REDUCTIONS:
            e, t = pair(torch, x, requires_grad=True)
            eo = getattr(F, name)(e, ember.tensor(y), reduction=red, weight=ember.tensor(w))
            to = getattr(torch.nn.functional, name)(t, torch.tensor(y), reduction=red,
                                                     weight=torch.tensor(w))
            assert_close(eo, to, 1e-5, 1e-6, name)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"weight": "w"}, {"ignore_index": 1},
                                {"label_smoothing": 0.2},
                                {"weight": "w", "ignore_index": 2, "label_smoothing": 0.1}])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 2), (4,)])
def test_cross_entropy_class_indices(torch, device, shape, kw, reduction):
    x = f32(*shape)
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = R.integers(0, c, tshape)
    ekw, tkw = dict(kw, reduction=reduction), dict(kw, reduction=reduction)
    if "weight" in kw:
        w = probs(c)
        ekw["weight"], tkw["weight"] = ember.tensor(w, device=device), torch.tensor(w)
    e, tt = pair(torch, x, device, requires_grad=True)
    eo = F.cross_entropy(e, ember.tensor(t, device=device), **ekw)
    to = torch.nn.functional.cross_entropy(tt, torch.tensor(t), **tkw)
    assert_close(eo, to, 1e-5, 1e-6, "forward")
    (eo * eo).sum().backward()
    (to * to).sum().backward()
    assert_close(e.grad, tt.grad, 1e-4, 1e-6, "grad")
    mod_kw = {k: v for k, v in ekw.items()}
    em = nn.CrossEntropyLoss(**mod_kw)
    tm = torch.nn.CrossEntropyLoss(**tkw)
    assert_close(em(e.detach(), ember.tensor(t, device=device)),
                 tm(tt.detach(), torch.tensor(t)), 1e-5, 1e-6, "module")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.3}, {"weight": "w"}])
def test_cross_entropy_probabilities(torch, device, kw, reduction):
    x = f32(5, 4, 3)
    p = np.exp(f32(5, 4, 3))
    p = (p / p.sum(1, keepdims=True)).astype("float32")
    ekw, tkw = dict(kw, reduction=reduction), dict(kw, reduction=reduction)
    if "weight" in kw:
        w = probs(4)
        ekw["weight"], tkw["weight"] = ember.tensor(w, device=device), torch.tensor(w)
    ex, tx = pair(torch, x, device, requires_grad=True)
    ep, tp = pair(torch, p, device, requires_grad=True)
    eo = F.cross_entropy(ex, ep, **ekw)
    to = torch.nn.functional.cross_entropy(tx, tp, **tkw)
    assert_close(eo, to, 1e-5, 1e-6)
    eo.sum().backward()
    to.sum().backward()
    assert_close(ex.grad, tx.grad, 1e-4, 1e-6)
    assert_close(ep.grad, tp.grad, 1e-4, 1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"weight": "w"}, {"ignore_index": 0}])
def test_nll_loss(torch, device, kw, reduction):
    x = f32(6, 3)
    t = np.array([0, 1, 2, 2, 0, 1])
    ekw, tkw = dict(kw, reduction=reduction), dict(kw, reduction=reduction)
    if "weight" in kw:
        w = probs(3)
        ekw["weight"], tkw["weight"] = ember.tensor(w, device=device), torch.tensor(w)
    e, tt = pair(torch, x, device, requires_grad=True)
    eo = F.nll_loss(e, ember.tensor(t, device=device), **ekw)
    to = torch.nn.functional.nll_loss(tt, torch.tensor(t), **tkw)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, tt.grad)
    assert eo.grad_fn.name() == "NllLossBackward0"
    em, tm = nn.NLLLoss(**ekw), torch.nn.NLLLoss(**tkw)
    assert_close(em(e.detach(), ember.tensor(t, device=device)),
                 tm(tt.detach(), torch.tensor(t)))
    assert list(em.state_dict()) == list(tm.state_dict())


def test_nll_uint8_target_and_all_ignored(torch):
    x = f32(3, 4)
    t = np.array([1, 2, 3], dtype="uint8")
    assert_close(F.nll_loss(ember.tensor(x), ember.tensor(t)),
                 torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(t)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.nll_loss(ember.tensor(x), ember.tensor([-100, -100, -100]))
    assert np.isnan(out.item())


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_targets_ignored_give_nan_loss_and_zero_gradient(torch, device, name, weighted):
    x = f32(3, 4)
    w = np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
    outs = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        xi = lib.tensor(x, device=dev, requires_grad=True)
        loss = getattr(lib.nn.functional, name)(
            xi, lib.tensor([2, 2, 2], device=dev), ignore_index=2,
            weight=lib.tensor(w, device=dev) if weighted else None)
        loss.backward()
        outs.append((loss.detach().cpu().numpy(), xi.grad.cpu().numpy()))
    (el, eg), (tl, tg) = outs
    assert np.isnan(el) and np.isnan(tl)
    np.testing.assert_array_equal(eg, tg)
    assert not np.isnan(eg).any()


ERRORS = [
    ("cross_entropy", lambda L: (L.randn(3, 5), L.tensor([1, 2, 3, 4]))),
    # torch before 2.13: "expected scalar type Long but found Float" for these two
    pytest.param("cross_entropy", lambda L: (L.randn(3, 5), L.tensor([1.0, 2, 3])),
                 marks=pytest.mark.torch_exact),
    pytest.param("cross_entropy", lambda L: (L.randn(3, 5), L.tensor([1, 2, 3], dtype=L.int32)),
                 marks=pytest.mark.torch_exact),
    ("cross_entropy", lambda L: (L.randn(3, 5), L.tensor([1, 5, 3]))),
    ("cross_entropy", lambda L: (L.randn(3, 5), L.tensor([1, -1, 3]))),
    ("cross_entropy", lambda L: (L.randn(3, 5), L.zeros(3, 2, dtype=L.int64))),
    ("cross_entropy", lambda L: (L.randn(3, 5), L.zeros(3, 5, dtype=L.int64))),
    ("cross_entropy", lambda L: (L.randn(2, 3, 4), L.zeros(2, 5, dtype=L.int64))),
    ("nll_loss", lambda L: (L.tensor(1.0), L.tensor(0))),
    ("nll_loss", lambda L: (L.randn(3, 5), L.tensor([1, 2, 3, 4]))),
    ("nll_loss", lambda L: (L.randn(3, 5), L.tensor([1, 7, 9]))),
    ("binary_cross_entropy", lambda L: (L.rand(3, 1), L.rand(3))),
    ("binary_cross_entropy", lambda L: (L.tensor([1.5]), L.rand(1))),
    ("binary_cross_entropy_with_logits", lambda L: (L.rand(3, 1), L.rand(3))),
]


@pytest.mark.parametrize("name,make", ERRORS)
def test_loss_errors_match_torch(torch, name, make):
    with pytest.raises(Exception) as a:
        getattr(F, name)(*make(ember))
    with pytest.raises(Exception) as b:
        getattr(torch.nn.functional, name)(*make(torch))
    assert type(a.value) is type(b.value)
    assert str(a.value) == str(b.value)


def test_cross_entropy_option_errors(torch):
    x, t = ember.randn(3, 5), ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0. Got: "
                                           "1.5"):
        F.cross_entropy(x, t, label_smoothing=1.5)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.cross_entropy(x, t, reduction="foo")
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5 "
                                           r"classes or no classes but got weight tensor of "
                                           r"shape: \[4\]"):
        F.cross_entropy(x, t, weight=ember.ones(4))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point "
                                           "target"):
        F.cross_entropy(x, ember.rand(3, 5), ignore_index=1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(torch, device, reduction, weighted):
    x, y = probs(4, 3), probs(4, 3)
    kw = {"reduction": reduction}
    e, t = pair(torch, x, device, requires_grad=True)
    ey, ty = pair(torch, y, device, requires_grad=True)
    ekw, tkw = dict(kw), dict(kw)
    if weighted:
        w = probs(3)
        ekw["weight"], tkw["weight"] = ember.tensor(w, device=device), torch.tensor(w)
    eo = F.binary_cross_entropy(e, ey, **ekw)
    to = torch.nn.functional.binary_cross_entropy(t, ty, **tkw)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, t.grad, 1e-4, 1e-6)
    assert_close(ey.grad, ty.grad, 1e-4, 1e-6)
    assert_close(nn.BCELoss(**ekw)(e.detach(), ey.detach()),
                 torch.nn.BCELoss(**tkw)(t.detach(), ty.detach()))


def test_bce_log_clamp_at_extremes(torch):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype="float32")
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype="float32")
    e, t = pair(torch, x, requires_grad=True)
    eo = F.binary_cross_entropy(e, ember.tensor(y), reduction="none")
    to = torch.nn.functional.binary_cross_entropy(t, torch.tensor(y), reduction="none")
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, t.grad, 1e-5, 1e-3)
    assert np.all(np.isfinite(e.grad.numpy()))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"pos_weight": "p"}, {"weight": "w"},
                                {"pos_weight": "p", "weight": "w"}])
def test_bce_with_logits(torch, device, kw, reduction):
    x = (f32(5, 3) * 4).astype("float32")
    y = probs(5, 3)
    ekw, tkw = {"reduction": reduction}, {"reduction": reduction}
    for k, v in kw.items():
        arr = probs(3) * 2
        ekw[k if v == "p" else "weight"] = ember.tensor(arr, device=device)
        tkw[k if v == "p" else "weight"] = torch.tensor(arr)
    e, t = pair(torch, x, device, requires_grad=True)
    ey, ty = pair(torch, y, device, requires_grad=True)
    eo = F.binary_cross_entropy_with_logits(e, ey, **ekw)
    to = torch.nn.functional.binary_cross_entropy_with_logits(t, ty, **tkw)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, t.grad, 1e-4, 1e-6)
    assert_close(ey.grad, ty.grad, 1e-4, 1e-6)
    em = nn.BCEWithLogitsLoss(**ekw)
    tm = torch.nn.BCEWithLogitsLoss(**tkw)
    assert_close(em(e.detach(), ey.detach()), tm(t.detach(), ty.detach()))
    assert list(em.state_dict()) == list(tm.state_dict())


def test_bce_with_logits_stable_for_large_inputs(torch):
    x = np.array([-200.0, -50.0, 50.0, 200.0, 1000.0], dtype="float32")
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.5], dtype="float32")
    e, t = pair(torch, x, requires_grad=True)
    eo = F.binary_cross_entropy_with_logits(e, ember.tensor(y), reduction="none")
    to = torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(y),
                                                               reduction="none")
    assert np.all(np.isfinite(eo.detach().numpy()))
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, t.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(torch, device, reduction, log_target):
    x = np.log(probs(4, 5))
    y = probs(4, 5)
    y[0, 0] = 0.0
    if log_target:
        y = np.log(probs(4, 5))
    e, t = pair(torch, x, device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eo = F.kl_div(e, ember.tensor(y, device=device), reduction=reduction,
                      log_target=log_target)
        to = torch.nn.functional.kl_div(t, torch.tensor(y), reduction=reduction,
                                        log_target=log_target)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e.grad, t.grad)


def test_kl_div_mean_warns(torch):
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both "
                                         "the batch size and the support size."):
        F.kl_div(ember.randn(2, 3), ember.rand(2, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_margin_losses(torch, device, reduction, margin):
    a, b = f32(6, 4), f32(6, 4)
    tgt = np.array([1, -1, 1, -1, -1, 1])
    ea, ta = pair(torch, a, device, requires_grad=True)
    eb, tb = pair(torch, b, device, requires_grad=True)
    et, tt = ember.tensor(tgt, device=device), torch.tensor(tgt)
    eo = F.cosine_embedding_loss(ea, eb, et, margin=margin, reduction=reduction)
    to = torch.nn.functional.cosine_embedding_loss(ta, tb, tt, margin=margin,
                                                   reduction=reduction)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(ea.grad, ta.grad, 1e-4, 1e-6), assert_close(eb.grad, tb.grad, 1e-4, 1e-6)
    x1, x2 = f32(6), f32(6)
    e1, t1 = pair(torch, x1, device, requires_grad=True)
    e2, t2 = pair(torch, x2, device, requires_grad=True)
    eo = F.margin_ranking_loss(e1, e2, et.float(), margin=margin, reduction=reduction)
    to = torch.nn.functional.margin_ranking_loss(t1, t2, tt.float(), margin=margin,
                                                 reduction=reduction)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(e1.grad, t1.grad), assert_close(e2.grad, t2.grad)
    assert_close(nn.MarginRankingLoss(margin)(e1, e2, et.float()),
                 torch.nn.MarginRankingLoss(margin)(t1, t2, tt.float()))
    assert_close(nn.CosineEmbeddingLoss(margin)(ea, eb, et),
                 torch.nn.CosineEmbeddingLoss(margin)(ta, tb, tt))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_other_losses(torch, reduction):
    a, p, n = f32(5, 3), f32(5, 3), f32(5, 3)
    t = np.array([1, -1, -1, 1, 1], dtype="float32")
    cases = [
        ("hinge_embedding_loss", [f32(5), t], {}),
        ("triplet_margin_loss", [a, p, n], {}),
        ("triplet_margin_loss", [a, p, n], {"swap": True, "margin": 2.0}),
        ("poisson_nll_loss", [f32(5), probs(5) * 3], {}),
        ("poisson_nll_loss", [probs(5) * 2, np.array([0, 1, 2, 3, 4], "float32")],
         {"log_input": False, "full": True}),
        ("gaussian_nll_loss", [f32(5, 2), f32(5, 2), probs(5, 2)], {}),
        ("multilabel_soft_margin_loss", [f32(5, 3), (probs(5, 3) > 0.5).astype("float32")],
         {}),
    ]
    for name, arrays, kw in cases:
        es = [ember.tensor(x, requires_grad=i == 0) for i, x in enumerate(arrays)]
        ts = [torch.tensor(x, requires_grad=i == 0) for i, x in enumerate(arrays)]
        eo = getattr(F, name)(*es, reduction=reduction, **kw)
        to = getattr(torch.nn.functional, name)(*ts, reduction=reduction, **kw)
        assert_close(eo, to, 1e-5, 1e-5, name)
        eo.sum().backward(), to.sum().backward()
        assert_close(es[0].grad, ts[0].grad, 1e-4, 1e-5, name)


def test_legacy_size_average_reduce(torch):
    x, y = f32(3, 4), f32(3, 4)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        e = nn.MSELoss(size_average=False)(ember.tensor(x), ember.tensor(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.MSELoss(size_average=False)(torch.tensor(x), torch.tensor(y))
    assert_close(e, t)


@pytest.mark.parametrize("name,make", [
    ("cross_entropy", lambda L, x: (x, L.tensor([0, 2, 1, 1]))),
    ("cross_entropy", lambda L, x: (x, L.tensor([0, 2, 1, 1]), None, None, 1, None, "mean",
                                    0.2)),
    ("mse_loss", lambda L, x: (x, L.ones(4, 3, dtype=L.float64))),
    ("binary_cross_entropy_with_logits", lambda L, x: (x, L.ones(4, 3, dtype=L.float64) / 3)),
    ("binary_cross_entropy", lambda L, x: (x.sigmoid(), L.ones(4, 3, dtype=L.float64) / 3)),
])
def test_loss_second_derivative(torch, name, make):
    x = R.standard_normal((4, 3))
    ex, tx = pair(torch, x, requires_grad=True)
    ge = ember.autograd.grad(getattr(F, name)(*make(ember, ex)), ex, create_graph=True)[0]
    gt = torch.autograd.grad(getattr(torch.nn.functional, name)(*make(torch, tx)), tx,
                             create_graph=True)[0]
    assert_close(ge, gt, 1e-10, 1e-12)
    w = np.cos(np.arange(12)).reshape(4, 3)
    hve = ember.autograd.grad((ge * ember.tensor(w)).sum(), ex)[0]
    hvt = torch.autograd.grad((gt * torch.tensor(w)).sum(), tx)[0]
    assert_close(hve, hvt, 1e-8, 1e-10)
