"""nn.functional against PyTorch: activations (forward, gradient, second derivative),
one_hot, normalize, distances, dropout statistics."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from nn_oracle import assert_close, pair

R = np.random.default_rng(0)
# avoid the kinks of piecewise functions: values well away from 0, ±0.5, ±1, ±3, 6, 20
X = np.concatenate([np.linspace(-7.9, 7.9, 40), [-25.3, 25.7, -0.27, 0.31, 1e-3]])
X = X[np.all(np.abs(X[:, None] - np.array([0, 0.5, -0.5, 1, -1, 3, -3, 6, 0.1])) > 0.05,
             axis=1)]

ACTS = [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 2.0}),
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}),
    ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 5.0}), ("sigmoid", {}),
    ("tanh", {}), ("hardtanh", {}), ("hardtanh", {"min_val": -2.0, "max_val": 3.0}),
    ("hardswish", {}), ("hardsigmoid", {}), ("logsigmoid", {}), ("softsign", {}),
    ("tanhshrink", {}), ("threshold", {"threshold": 0.1, "value": 20.0}),
    ("hardshrink", {}), ("softshrink", {}),
]
SMOOTH = {"elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
          "logsigmoid", "softsign", "tanhshrink"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", ACTS, ids=[f"{n}{kw}" for n, kw in ACTS])
def test_activation_matches_torch(torch, device, name, kw, dtype):
    x = X.astype(dtype)
    e, t = pair(torch, x, device, requires_grad=True)
    eo = getattr(F, name)(e, **kw)
    to = getattr(torch.nn.functional, name)(t, **kw)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    if name == "hardsigmoid" and dtype == "float64":
        tol = dict(rtol=1e-7, atol=1e-12)  # PyTorch's backward uses a float32 1/6
    assert eo.dtype == getattr(ember, dtype)
    assert_close(eo, to, what="forward", **tol)
    g = np.cos(np.arange(x.size)).astype(dtype)
    ge = ember.autograd.grad(eo, e, ember.tensor(g, device=device), create_graph=True)[0]
    gt = torch.autograd.grad(to, t, torch.tensor(g), create_graph=True)[0]
    assert_close(ge, gt, what="grad", **tol)
    if name in SMOOTH and dtype == "float64":
        gge = ember.autograd.grad(ge.sum(), e)[0]
        ggt = torch.autograd.grad(gt.sum(), t)[0]
        assert_close(gge, ggt, rtol=1e-7, atol=1e-9, what="second derivative")


def test_activation_grad_fn_names(torch):
    x = ember.randn(3, requires_grad=True)
    for name in ("gelu", "silu", "softplus", "elu", "leaky_relu", "hardtanh", "hardswish",
                 "mish"):
        tn = type(getattr(torch.nn.functional, name)(torch.randn(3, requires_grad=True))
                  .grad_fn).__name__
        assert getattr(F, name)(x).grad_fn.name() == tn


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "hardtanh", "relu6", "silu",
                                  "hardswish", "hardsigmoid", "mish", "selu", "celu"])
def test_inplace_activations(torch, name):
    x = X.astype("float32")
    e = ember.tensor(x)
    out = getattr(F, name)(e, inplace=True)
    assert out is e
    assert_close(e, getattr(torch.nn.functional, name)(torch.tensor(x)))
    # in place on a non-leaf keeps the graph
    a, t = pair(torch, x, requires_grad=True)
    b = a * 1.0
    getattr(F, name)(b, inplace=True).sum().backward()
    tb = t * 1.0
    getattr(torch.nn.functional, name)(tb, inplace=True).sum().backward()
    assert_close(a.grad, t.grad)


@pytest.mark.parametrize("fn,kw", [("softmax", {"dim": 1}), ("log_softmax", {"dim": 1}),
                                   ("softmin", {"dim": 0}), ("glu", {}), ("glu", {"dim": 0})])
def test_dim_functions(torch, fn, kw):
    x = R.standard_normal((4, 6)).astype("float32")
    e, t = pair(torch, x, requires_grad=True)
    eo, to = getattr(F, fn)(e, **kw), getattr(torch.nn.functional, fn)(t, **kw)
    assert_close(eo, to)
    (eo * eo).sum().backward()
    (to * to).sum().backward()
    assert_close(e.grad, t.grad, 1e-5, 1e-6)


def test_softmax_implicit_dim_warns(torch):
    x = ember.randn(3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been "
                                         "deprecated"):
        out = F.softmax(x)
    assert_close(out, torch.nn.functional.softmax(torch.tensor(x.numpy()), dim=1))


def test_prelu_and_rrelu_eval(torch):
    x = R.standard_normal((3, 4, 2)).astype("float32")
    w = np.array([0.1, 0.2, 0.3, 0.4], dtype="float32")
    e, t = pair(torch, x, requires_grad=True)
    ew, tw = pair(torch, w, requires_grad=True)
    eo, to = F.prelu(e, ew), torch.nn.functional.prelu(t, tw)
    assert_close(eo, to)
    eo.sum().backward(), to.sum().backward()
    assert_close(ew.grad, tw.grad), assert_close(e.grad, t.grad)
    assert_close(F.rrelu(ember.tensor(x)), torch.nn.functional.rrelu(torch.tensor(x)))


def test_linear_bilinear_errors_match_torch(torch):
    cases = [((3, 5), (2, 4)), ((5,), (2, 4)), ((2, 3, 5), (2, 4))]
    for xs, ws in cases:
        with pytest.raises(RuntimeError) as a:
            F.linear(ember.zeros(*xs), ember.zeros(*ws))
        with pytest.raises(RuntimeError) as b:
            torch.nn.functional.linear(torch.zeros(*xs), torch.zeros(*ws))
        assert str(a.value) == str(b.value)
    with pytest.raises(RuntimeError) as a:
        F.linear(ember.zeros(3, 4, dtype=ember.float64), ember.zeros(2, 4))
    with pytest.raises(RuntimeError) as b:
        torch.nn.functional.linear(torch.zeros(3, 4, dtype=torch.float64), torch.zeros(2, 4))
    assert str(a.value) == str(b.value)


def test_linear_grad_fn_names(torch):
    w = ember.randn(2, 4, requires_grad=True)
    b = ember.randn(2, requires_grad=True)
    assert F.linear(ember.randn(3, 4), w, b).grad_fn.name() == "AddmmBackward0"
    assert F.linear(ember.randn(3, 4), w).grad_fn.name() == "MmBackward0"


def test_linear_second_derivative(torch):
    x = R.standard_normal((3, 4))
    w = R.standard_normal((2, 4))
    ex, tx = pair(torch, x, requires_grad=True)
    ew, tw = pair(torch, w, requires_grad=True)
    ge = ember.autograd.grad((F.linear(ex, ew) ** 2).sum(), ew, create_graph=True)[0]
    gt = torch.autograd.grad((torch.nn.functional.linear(tx, tw) ** 2).sum(), tw,
                             create_graph=True)[0]
    assert_close(ge, gt, 1e-10, 1e-12)
    assert_close(ember.autograd.grad(ge.sum(), ex)[0], torch.autograd.grad(gt.sum(), tx)[0],
                 1e-10, 1e-12)


def test_one_hot(torch):
    t = np.array([[0, 2], [1, 4]])
    eo = F.one_hot(ember.tensor(t))
    to = torch.nn.functional.one_hot(torch.tensor(t))
    assert eo.dtype == ember.int64 and eo.shape == to.shape
    np.testing.assert_array_equal(eo.numpy(), to.numpy())
    np.testing.assert_array_equal(F.one_hot(ember.tensor(t), 6).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(t), 6).numpy())
    assert F.one_hot(ember.tensor([], dtype=ember.int64), 3).shape == (0, 3)
    for args in (([-1, 2],), ([1, 3], 3), ([1.0, 2.0],), ([],)):
        data = args[0]
        et = ember.tensor(data, dtype=ember.float32 if data and isinstance(data[0], float)
                          else ember.int64)
        tt = torch.tensor(data, dtype=torch.float32 if data and isinstance(data[0], float)
                          else torch.int64)
        with pytest.raises(RuntimeError) as a:
            F.one_hot(et, *args[1:])
        with pytest.raises(RuntimeError) as b:
            torch.nn.functional.one_hot(tt, *args[1:])
        assert str(a.value) == str(b.value)


@pytest.mark.parametrize("fn,kw", [("normalize", {}), ("normalize", {"p": 1, "dim": 0}),
                                   ("cosine_similarity", {}),
                                   ("cosine_similarity", {"dim": 0}),
                                   ("pairwise_distance", {}),
                                   ("pairwise_distance", {"p": 1, "keepdim": True})])
def test_norm_functions(torch, fn, kw):
    a = R.standard_normal((4, 5)).astype("float32")
    b = R.standard_normal((4, 5)).astype("float32")
    ea, ta = pair(torch, a, requires_grad=True)
    eb, tb = pair(torch, b, requires_grad=True)
    args_e = (ea,) if fn == "normalize" else (ea, eb)
    args_t = (ta,) if fn == "normalize" else (ta, tb)
    eo = getattr(F, fn)(*args_e, **kw)
    to = getattr(torch.nn.functional, fn)(*args_t, **kw)
    assert_close(eo, to, 1e-5, 1e-6)
    (eo * eo).sum().backward()
    (to * to).sum().backward()
    assert_close(ea.grad, ta.grad, 1e-4, 1e-5)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keep_rate_and_scale(device, p):
    x = ember.ones(200, 500, device=device)
    y = F.dropout(x, p).cpu().numpy()
    kept = y != 0
    n = kept.size
    rate = kept.mean()
    assert abs(rate - (1 - p)) < 4 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02
    assert F.dropout(x, p, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).cpu().numpy() == 0)


def test_dropout_gradient_uses_same_mask(device):
    x = ember.ones(50, 50, device=device, requires_grad=True)
    y = F.dropout(x, 0.3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), y.detach().cpu().numpy())
    assert y.grad_fn.name() == "MulBackward0"


def test_dropout_is_seeded(device):
    ember.manual_seed(3)
    a = F.dropout(ember.ones(10, 10, device=device)).cpu().numpy()
    ember.manual_seed(3)
    b = F.dropout(ember.ones(10, 10, device=device)).cpu().numpy()
    np.testing.assert_array_equal(a, b)


def test_alpha_dropout_keeps_moments():
    x = ember.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


def test_dropout2d_3d_warns():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(ember.ones(2, 3, 4))


def test_embedding_functional_errors(torch):
    with pytest.raises(RuntimeError) as a:
        F.embedding(ember.tensor([1.0]), ember.randn(3, 2))
    with pytest.raises(RuntimeError) as b:
        torch.nn.functional.embedding(torch.tensor([1.0]), torch.randn(3, 2))
    assert str(a.value) == str(b.value)


@pytest.mark.parametrize("fn,args", [
    ("layer_norm", lambda L, w, b: ((4,), w, b)),
    ("group_norm", lambda L, w, b: (2, w, b)),
    ("batch_norm", lambda L, w, b: (None, None, w, b, True)),
    ("instance_norm", lambda L, w, b: (None, None, w, b)),
])
def test_normalization_second_derivative(torch, fn, args):
    x = R.standard_normal((3, 4, 5)).astype("float64")
    if fn == "layer_norm":
        x = R.standard_normal((3, 5, 4)).astype("float64")
    w = R.standard_normal(4).astype("float64")
    b = R.standard_normal(4).astype("float64")
    ex, tx = pair(torch, x, requires_grad=True)
    ew, tw = pair(torch, w, requires_grad=True)
    eb, tb = pair(torch, b, requires_grad=True)
    eo = getattr(F, fn)(ex, *args(ember, ew, eb))
    to = getattr(torch.nn.functional, fn)(tx, *args(torch, tw, tb))
    assert_close(eo, to, 1e-10, 1e-10, "forward")
    cot = np.sin(np.arange(x.size)).reshape(x.shape)
    ge = ember.autograd.grad((eo * ember.tensor(cot)).sum(), (ex, ew), create_graph=True)
    gt = torch.autograd.grad((to * torch.tensor(cot)).sum(), (tx, tw), create_graph=True)
    for a, c in zip(ge, gt):
        assert_close(a, c, 1e-9, 1e-10, "grad")
    gge = ember.autograd.grad((ge[0] ** 2).sum() + ge[1].sum(), (ex, ew))
    ggt = torch.autograd.grad((gt[0] ** 2).sum() + gt[1].sum(), (tx, tw))
    for a, c in zip(gge, ggt):
        assert_close(a, c, 1e-7, 1e-9, "second derivative")
