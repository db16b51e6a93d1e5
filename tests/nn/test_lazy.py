"""Lazy modules against PyTorch: reprs and state dicts before the first forward, the
shapes read from the first input, the class each becomes, outputs and gradients once the
weights are shared, an optimizer built before the first forward (the same Parameter
objects are materialized), loading a state dict into a lazy module, the errors of
uninitialized parameters. The 3-D lazies run where their base layers exist."""
import numpy as np
import pytest

import ember
from nn_oracle import assert_close, copy_weights
from same_error import assert_same_error

R = np.random.default_rng(0)

CASES = [  # (name, args, kwargs, input shape)
    ("LazyLinear", (3,), {}, (2, 5)),
    ("LazyLinear", (3,), {"bias": False}, (2, 4, 5)),
    ("LazyConv1d", (4, 3), {"padding": 1}, (2, 2, 6)),
    ("LazyConv2d", (4, 3), {"groups": 2}, (2, 2, 5, 5)),
    ("LazyConv3d", (4, 2), {}, (1, 2, 3, 3, 3)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 2, 5)),
    ("LazyConvTranspose2d", (4, 3), {"bias": False}, (1, 2, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 2, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm2d", (), {"affine": False}, (2, 3, 2, 2)),
    ("LazyBatchNorm3d", (), {}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False},
     (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {}, (1, 2, 2, 3, 3)),
]


def _make(torch, name, args, kwargs, device):
    if not hasattr(ember.nn, name):
        pytest.skip(f"ember.nn.{name}'s base layer is not in this build")
    return getattr(ember.nn, name)(*args, device=device, **kwargs), \
        getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.filterwarnings("ignore:input.s size at dim=1")
@pytest.mark.parametrize("name,args,kwargs,shape", CASES, ids=[c[0] + str(i)
                                                                for i, c in enumerate(CASES)])
def test_lazy_layer(torch, device, name, args, kwargs, shape):
    em, tm = _make(torch, name, args, kwargs, device)
    assert repr(em) == repr(tm)
    assert em.has_uninitialized_params() == tm.has_uninitialized_params()
    sd_e, sd_t = em.state_dict(), tm.state_dict()
    assert list(sd_e) == list(sd_t)
    assert [type(v).__name__ for v in sd_e.values()] == [type(v).__name__ for v in sd_t.values()]
    x = R.standard_normal(shape).astype("float32")
    em(ember.tensor(x, device=device))
    tm(torch.tensor(x))
    assert type(em).__name__ == type(tm).__name__ == name[4:]
    assert repr(em) == repr(tm)
    assert not hasattr(em, "has_uninitialized_params")  # the plain base class now
    assert {k: tuple(v.shape) for k, v in em.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert all(type(p) is ember.nn.Parameter for p in em.parameters())
    # default initialisation matches in distribution; copy to compare the maths
    em = copy_weights(em, tm, device)
    xe = ember.tensor(x, device=device, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    assert_close(ye, yt, 1e-4, 1e-5, "forward")
    ye.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    assert_close(xe.grad, xt.grad, 1e-4, 1e-4, "input grad")
    for n, p in tm.named_parameters():
        assert_close(em.get_parameter(n).grad, p.grad, 1e-4, 1e-4, n)


def test_optimizer_before_first_forward(torch, device):
    em, tm = ember.nn.LazyLinear(3, device=device), torch.nn.LazyLinear(3)
    oe = ember.optim.SGD(em.parameters(), lr=0.5)
    ot = torch.optim.SGD(tm.parameters(), lr=0.5)
    held = list(oe.param_groups[0]["params"])
    x = R.standard_normal((4, 2)).astype("float32")
    em(ember.tensor(x, device=device))
    tm(torch.tensor(x))
    assert held[0] is em.weight and held[1] is em.bias
    copy_weights(em, tm, device)  # copies into the same Parameter objects
    em(ember.tensor(x, device=device)).sum().backward()
    tm(torch.tensor(x)).sum().backward()
    oe.step()
    ot.step()
    assert_close(held[0], tm.weight, 1e-5, 1e-6)
    assert_close(held[1], tm.bias, 1e-5, 1e-6)


def test_load_state_dict_materializes(torch, device):
    src = torch.nn.Linear(5, 3)
    em = ember.nn.LazyLinear(3, device=device)
    em.load_state_dict({k: ember.tensor(v.detach().numpy(), device=device)
                        for k, v in src.state_dict().items()})
    assert not em.has_uninitialized_params()
    assert type(em) is ember.nn.LazyLinear  # becomes Linear at the first forward, as torch
    assert_close(em.weight, src.weight)
    x = R.standard_normal((2, 5)).astype("float32")
    assert_close(em(ember.tensor(x, device=device)), src(torch.tensor(x)), 1e-5, 1e-6)
    assert type(em) is ember.nn.Linear
    # a lazy state dict loads into a lazy module (still lazy)
    lazy = ember.nn.LazyBatchNorm1d()
    lazy.load_state_dict(ember.nn.LazyBatchNorm1d().state_dict())
    assert lazy.has_uninitialized_params()


def test_errors(torch, device):
    assert_same_error(lambda: torch.nn.LazyLinear(3).weight.shape,
                      lambda: ember.nn.LazyLinear(3).weight.shape)
    assert_same_error(lambda: torch.nn.LazyLinear(3).weight.add(1),
                      lambda: ember.nn.LazyLinear(3).weight.add(1))
    assert_same_error(lambda: torch.nn.Linear(2, 3).load_state_dict(
                          torch.nn.LazyLinear(3).state_dict()),
                      lambda: ember.nn.Linear(2, 3).load_state_dict(
                          ember.nn.LazyLinear(3).state_dict()))
    assert_same_error(lambda: torch.nn.LazyConv2d(4, 3)(torch.zeros(3, 3)),
                      lambda: ember.nn.LazyConv2d(4, 3)(ember.zeros(3, 3, device=device)))
    assert_same_error(lambda: torch.nn.LazyConv1d(4, 3, groups=2)(torch.zeros(1, 3, 5)),
                      lambda: ember.nn.LazyConv1d(4, 3, groups=2)(ember.zeros(1, 3, 5)))
    P = ember.nn.parameter
    p, b = P.UninitializedParameter(), P.UninitializedBuffer()
    assert repr(p) == "<UninitializedParameter>" and repr(b) == "<UninitializedBuffer>"
    assert p.requires_grad and not b.requires_grad
    assert P.is_lazy(p) and not P.is_lazy(ember.nn.Parameter(ember.zeros(1)))
    p.materialize((2, 3))
    b.materialize(4)
    assert type(p) is ember.nn.Parameter and tuple(p.shape) == (2, 3)
    assert type(b) is ember.Tensor and tuple(b.shape) == (4,)
