"""Layers against PyTorch: identical weights copied in, same forward outputs and
gradients of inputs and parameters; BatchNorm running statistics; reprs."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from nn_oracle import assert_close, copy_weights, run_both

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


# (constructor taking the library's nn, input arrays)
LAYERS = [
    ("Linear", lambda n: n.Linear(5, 3), [rnd(4, 5)]),
    ("Linear-nobias", lambda n: n.Linear(5, 3, bias=False), [rnd(4, 5)]),
    ("Linear-3d", lambda n: n.Linear(5, 3), [rnd(2, 4, 5)]),
    ("Linear-1d", lambda n: n.Linear(5, 3), [rnd(5)]),
    ("Bilinear", lambda n: n.Bilinear(3, 4, 2), [rnd(5, 3), rnd(5, 4)]),
    ("Identity", lambda n: n.Identity(7, a=1), [rnd(3, 2)]),
    ("Flatten", lambda n: n.Flatten(), [rnd(2, 3, 4)]),
    ("Flatten-0", lambda n: n.Flatten(0, 1), [rnd(2, 3, 4)]),
    ("Unflatten", lambda n: n.Unflatten(1, (2, 3)), [rnd(4, 6)]),
    ("Unflatten-neg", lambda n: n.Unflatten(-1, (2, -1)), [rnd(4, 6)]),
    ("LayerNorm", lambda n: n.LayerNorm(6), [rnd(4, 6)]),
    ("LayerNorm-2d", lambda n: n.LayerNorm((3, 4)), [rnd(2, 3, 4)]),
    ("LayerNorm-noaffine", lambda n: n.LayerNorm(4, elementwise_affine=False), [rnd(3, 4)]),
    ("LayerNorm-nobias", lambda n: n.LayerNorm(4, bias=False), [rnd(3, 4)]),
    ("GroupNorm", lambda n: n.GroupNorm(2, 4), [rnd(3, 4, 5)]),
    ("GroupNorm-4d", lambda n: n.GroupNorm(3, 6, affine=False), [rnd(2, 6, 3, 3)]),
    ("InstanceNorm2d", lambda n: n.InstanceNorm2d(3), [rnd(2, 3, 4, 4)]),
    ("InstanceNorm2d-affine", lambda n: n.InstanceNorm2d(3, affine=True), [rnd(2, 3, 4, 4)]),
    ("InstanceNorm2d-unbatched", lambda n: n.InstanceNorm2d(3), [rnd(3, 4, 4)]),
    ("InstanceNorm1d", lambda n: n.InstanceNorm1d(3, affine=True), [rnd(2, 3, 5)]),
    ("BatchNorm1d", lambda n: n.BatchNorm1d(4), [rnd(8, 4)]),
    ("BatchNorm1d-3d", lambda n: n.BatchNorm1d(4), [rnd(3, 4, 5)]),
    ("BatchNorm2d", lambda n: n.BatchNorm2d(3), [rnd(4, 3, 2, 2)]),
    ("BatchNorm2d-noaffine", lambda n: n.BatchNorm2d(3, affine=False), [rnd(4, 3, 2, 2)]),
    ("RMSNorm", lambda n: n.RMSNorm(4), [rnd(3, 4)]),
    ("PReLU", lambda n: n.PReLU(), [rnd(3, 4)]),
    ("PReLU-channels", lambda n: n.PReLU(4), [rnd(3, 4, 2)]),
]


@pytest.mark.parametrize("name,make,inputs", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_torch(torch, device, exact_oracle, name, make, inputs):
    tm = make(torch.nn)
    em = copy_weights(make(nn), tm, device)
    if exact_oracle:  # norm layers' reprs gained ``bias=`` in torch 2.13
        assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    run_both(torch, em, tm, inputs, device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,make,inputs", LAYERS[:5], ids=[c[0] for c in LAYERS[:5]])
def test_layer_float64(torch, device, name, make, inputs):
    tm = make(torch.nn).double()
    em = copy_weights(make(nn).double(), tm, device)
    run_both(torch, em, tm, [a.astype("float64") for a in inputs], device, rtol=1e-10,
             atol=1e-12)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 2, 3))])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"momentum": 0.3, "affine": False},
                                {"track_running_stats": False}])
def test_batchnorm_running_stats_and_eval(torch, device, cls, shape, kw):
    tm = getattr(torch.nn, cls)(3, **kw)
    em = copy_weights(getattr(nn, cls)(3, **kw), tm, device)
    for step in range(4):
        x = rnd(*shape) * (step + 1) + step
        run_both(torch, em, tm, [x], device, rtol=1e-4, atol=1e-5)
    for (k, a), (k2, b) in zip(em.state_dict().items(), tm.state_dict().items()):
        assert k == k2
        assert_close(a, b, 1e-5, 1e-6, k)
    em.eval(), tm.eval()
    run_both(torch, em, tm, [rnd(*shape)], device, rtol=1e-4, atol=1e-5)


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(ember.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(ember.randn(1, 3))
    m = nn.BatchNorm1d(3).eval()
    assert m(ember.randn(1, 3)).shape == (1, 3)


def test_dropout_modes(torch, device):
    m = nn.Dropout(0.5)
    x = ember.ones(100, 100, device=device)
    m.eval()
    assert m(x) is x
    m.train()
    y = m(x)
    vals = set(np.unique(y.cpu().numpy()).tolist())
    assert vals <= {0.0, 2.0}
    assert repr(m) == repr(torch.nn.Dropout(0.5))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                         "but got 1.5"):
        nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels(device):
    x = ember.ones(8, 16, 5, 5, device=device)
    y = nn.Dropout2d(0.5)(x).cpu().numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


def test_embedding_matches_torch(torch, device):
    for kw in ({}, {"padding_idx": 1}, {"padding_idx": -2}, {"scale_grad_by_freq": True}):
        tm = torch.nn.Embedding(6, 3, **kw)
        em = copy_weights(nn.Embedding(6, 3, **kw), tm, device)
        assert repr(em) == repr(tm)
        idx = np.array([[1, 2, 1], [4, 5, 1]])
        eo = em(ember.tensor(idx, device=device))
        to = tm(torch.tensor(idx))
        assert_close(eo, to)
        cot = rnd(2, 3, 3)
        eo.backward(ember.tensor(cot, device=device))
        to.backward(torch.tensor(cot))
        assert_close(em.weight.grad, tm.weight.grad, 1e-6, 1e-6, str(kw))


def test_embedding_padding_row_zero_and_from_pretrained(torch):
    e = nn.Embedding(5, 3, padding_idx=2)
    assert np.all(e.weight.detach().numpy()[2] == 0)
    w = ember.tensor(rnd(4, 2))
    f = nn.Embedding.from_pretrained(w)
    assert not f.weight.requires_grad
    assert_close(f(ember.tensor([3]))[0], w[3])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(IndexError, match="index out of range in self"):
        f(ember.tensor([4]))


def test_embedding_max_norm(torch):
    tm = torch.nn.Embedding(5, 3, max_norm=1.0)
    em = copy_weights(nn.Embedding(5, 3, max_norm=1.0), tm)
    idx = np.array([0, 2, 2])
    assert_close(em(ember.tensor(idx)), tm(torch.tensor(idx)), 1e-5, 1e-6)
    assert_close(em.weight, tm.weight, 1e-5, 1e-6)


REPRS = [
    "ReLU()", "ReLU(inplace=True)", "ReLU6()", "LeakyReLU()", "LeakyReLU(0.2, True)", "ELU()",
    "GELU()", "GELU('tanh')", "SiLU()", "Mish()", "Softplus()", "Softplus(2, 10)", "Sigmoid()",
    "Tanh()", "Hardtanh()", "Hardtanh(-2, 2)", "Softmax()", "Softmax(dim=1)", "LogSoftmax(1)",
    "Softmin(1)", "Hardswish()", "Hardsigmoid()", "PReLU()", "PReLU(3)", "SELU()", "CELU()",
    "LogSigmoid()", "Softsign()", "Tanhshrink()", "Threshold(0.1, 20)", "Hardshrink()",
    "Softshrink()", "GLU()", "RReLU()", "Dropout(0.2, inplace=True)", "Dropout1d()",
    "Dropout2d()", "AlphaDropout()", "Embedding(10, 3, padding_idx=0, max_norm=1.0)",
    "Embedding(10, 3, scale_grad_by_freq=True, sparse=True)",
    "BatchNorm2d(4, affine=False, track_running_stats=False, momentum=None)",
    "InstanceNorm2d(3, affine=True)", "GroupNorm(2, 4)", "LayerNorm((3, 4))", "Flatten()",
    "Unflatten(1, (2, 3))", "Bilinear(2, 3, 4)", "MSELoss()", "L1Loss()", "SmoothL1Loss()",
    "HuberLoss()", "CrossEntropyLoss()", "NLLLoss()", "BCELoss()", "BCEWithLogitsLoss()",
    "KLDivLoss()", "CosineEmbeddingLoss()", "MarginRankingLoss()", "CosineSimilarity()",
    "PairwiseDistance()", "RMSNorm(4)",
]


# torch 2.13 added ``bias=`` to the reprs of these norm layers
_NORM_REPRS = ("BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm")


@pytest.mark.parametrize("expr", [pytest.param(e, marks=pytest.mark.torch_exact)
                                  if e.startswith(_NORM_REPRS) else e for e in REPRS])
def test_repr_matches_torch(torch, expr):
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr))


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 6)),
                                       ("InstanceNorm2d", (2, 4, 3, 3))])
def test_instancenorm_tracked_stats(torch, device, cls, shape):
    kw = {"track_running_stats": True, "affine": True, "momentum": 0.2}
    tm = getattr(torch.nn, cls)(4, **kw)
    em = copy_weights(getattr(nn, cls)(4, **kw), tm, device)
    for step in range(3):
        run_both(torch, em, tm, [rnd(*shape) + step], device, rtol=1e-4, atol=1e-5)
    for (k, a), (_, b) in zip(em.state_dict().items(), tm.state_dict().items()):
        assert_close(a, b, 1e-5, 1e-6, k)
    em.eval(), tm.eval()
    run_both(torch, em, tm, [rnd(*shape)], device, rtol=1e-4, atol=1e-5)


def test_module_type_and_double_forward(torch):
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    em = copy_weights(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), tm)
    em.type(ember.float64)
    tm.double()
    assert em[0].weight.dtype == ember.float64
    run_both(torch, em, tm, [rnd(4, 3, dtype="float64")], rtol=1e-10, atol=1e-12)
