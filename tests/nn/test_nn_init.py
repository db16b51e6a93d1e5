"""nn.init and default layer initialisation: distributions checked statistically against
PyTorch's formulas; gains and fans compared with PyTorch exactly."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.init as init


def _np(t):
    return t.detach().cpu().numpy().astype("float64")


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("selu",)])
def test_calculate_gain(torch, args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


def test_gain_and_fan_errors(torch):
    for fn, args in ((init.calculate_gain, ("foo",)), (init.calculate_gain, ("leaky_relu", "x")),
                     (init._calculate_fan_in_and_fan_out, (ember.zeros(3),)),
                     (init.kaiming_uniform_, (ember.zeros(3, 3), 0, "fan_avg"))):
        tfn = getattr(torch.nn.init, fn.__name__)
        targs = tuple(torch.zeros(*a.shape) if isinstance(a, ember.Tensor) else a for a in args)
        with pytest.raises(ValueError) as a:
            fn(*args)
        with pytest.raises(ValueError) as b:
            tfn(*targs)
        assert str(a.value) == str(b.value)


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (2, 6, 7)])
def test_fans(torch, shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _check_uniform(a, low, high):
    assert a.min() >= low and a.max() <= high
    n = a.size
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    assert abs(a.mean() - mean) < 5 * math.sqrt(var / n)
    assert abs(a.var() - var) < 0.05 * var
    assert a.min() < low + 0.01 * (high - low) and a.max() > high - 0.01 * (high - low)


def _check_normal(a, mean, std):
    n = a.size
    assert abs(a.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(a.std() - std) < 0.03 * std


def test_uniform_normal_constant(device):
    t = ember.empty(200, 300, device=device)
    _check_uniform(_np(init.uniform_(t, -2, 3)), -2, 3)
    _check_normal(_np(init.normal_(t, 1.5, 0.5)), 1.5, 0.5)
    assert np.all(_np(init.constant_(t, 0.25)) == 0.25)
    assert np.all(_np(init.zeros_(t)) == 0) and np.all(_np(init.ones_(t)) == 1)
    assert init.ones_(t) is t


def test_xavier_kaiming(device):
    t = ember.empty(300, 200, device=device)
    fan_in, fan_out = 200, 300
    a = math.sqrt(6 / (fan_in + fan_out))
    _check_uniform(_np(init.xavier_uniform_(t)), -a, a)
    _check_uniform(_np(init.xavier_uniform_(t, gain=2.0)), -2 * a, 2 * a)
    _check_normal(_np(init.xavier_normal_(t)), 0, math.sqrt(2 / (fan_in + fan_out)))
    b = math.sqrt(2.0) * math.sqrt(3 / fan_in)
    _check_uniform(_np(init.kaiming_uniform_(t, nonlinearity="relu")), -b, b)
    _check_normal(_np(init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")), 0,
                  math.sqrt(2 / fan_out))
    g = math.sqrt(2 / (1 + 5))
    b5 = g * math.sqrt(3 / fan_in)
    _check_uniform(_np(init.kaiming_uniform_(t, a=math.sqrt(5))), -b5, b5)


def test_trunc_normal():
    t = ember.empty(400, 500)
    a = _np(init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=2.0))
    assert a.min() >= -1.0 and a.max() <= 2.0
    # mean of N(0.5, 1) truncated to [-1, 2] is 0.5 by symmetry
    assert abs(a.mean() - 0.5) < 0.01
    from math import erf, exp, pi, sqrt
    alpha, beta = -1.5, 1.5
    phi = lambda x: exp(-x * x / 2) / sqrt(2 * pi)  # noqa: E731
    z = erf(beta / sqrt(2))
    var = 1 + (alpha * phi(alpha) - beta * phi(beta)) / z
    assert abs(a.var() - var) < 0.02 * var


def test_eye_dirac_orthogonal(torch):
    e = init.eye_(ember.empty(3, 5))
    np.testing.assert_array_equal(e.numpy(), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    d = init.dirac_(ember.empty(4, 2, 3, 3), groups=2)
    np.testing.assert_array_equal(d.numpy(),
                                  torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), 2).numpy())
    for shape in ((6, 4), (4, 6), (5, 2, 3)):
        q = _np(init.orthogonal_(ember.empty(*shape), gain=2.0)).reshape(shape[0], -1)
        gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-4)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(ember.empty(3))


def test_init_is_in_place_without_graph():
    p = nn.Parameter(ember.empty(3, 4))
    out = init.normal_(p)
    assert out is p and p.is_leaf and p.grad_fn is None and p.requires_grad


def test_init_uses_ember_generator():
    ember.manual_seed(5)
    a = _np(init.normal_(ember.empty(10)))
    ember.manual_seed(5)
    b = _np(init.normal_(ember.empty(10)))
    np.testing.assert_array_equal(a, b)
    g = ember.Generator().manual_seed(1)
    c = _np(init.uniform_(ember.empty(10), generator=g))
    g.manual_seed(1)
    np.testing.assert_array_equal(c, _np(init.uniform_(ember.empty(10), generator=g)))


def test_zero_element_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))


def test_default_linear_init():
    m = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=√5) gives the same bound
    _check_uniform(_np(m.weight), -bound, bound)
    b = _np(m.bias)
    assert b.min() >= -bound and b.max() <= bound and abs(b.mean()) < 5 * bound / math.sqrt(300)


def test_default_bilinear_embedding_norm_init():
    m = nn.Bilinear(50, 40, 30)
    bound = 1 / math.sqrt(50)
    _check_uniform(_np(m.weight), -bound, bound)
    _check_normal(_np(nn.Embedding(500, 200).weight), 0.0, 1.0)
    bn = nn.BatchNorm2d(7)
    assert np.all(_np(bn.weight) == 1) and np.all(_np(bn.bias) == 0)
    assert np.all(_np(bn.running_mean) == 0) and np.all(_np(bn.running_var) == 1)
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == ember.int64
    ln = nn.LayerNorm(5)
    assert np.all(_np(ln.weight) == 1) and np.all(_np(ln.bias) == 0)
    assert np.all(_np(nn.PReLU(3).weight) == 0.25)


def test_factory_kwargs(device):
    m = nn.Linear(3, 2, dtype=ember.float64, device=device)
    assert m.weight.dtype == ember.float64 and m.bias.dtype == ember.float64
    assert nn.LayerNorm(3, dtype=ember.float64).weight.dtype == ember.float64
    e = nn.Embedding(4, 2, dtype=ember.float64)
    assert e.weight.dtype == ember.float64
