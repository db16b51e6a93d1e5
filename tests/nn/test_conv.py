"""Convolutions against PyTorch: Conv1d/Conv2d/ConvTranspose1d/ConvTranspose2d over a grid
of options (identical weights copied in; forward, input and parameter gradients), reprs and
state-dict keys, errors, default initialisation, float64 gradcheck (first and second order),
and the generic backend kernels against the backend's own."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, copy_weights, run_both
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


CONV2D = [  # (constructor kwargs, input shape)
    (dict(in_channels=1, out_channels=6, kernel_size=5), (4, 1, 12, 12)),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1), (2, 3, 9, 8)),
    (dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 1),
          padding=(1, 0)), (2, 3, 7, 6)),
    (dict(in_channels=2, out_channels=4, kernel_size=3, dilation=2, padding=2), (2, 2, 8, 9)),
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, bias=False), (2, 4, 6, 6)),
    (dict(in_channels=4, out_channels=4, kernel_size=3, groups=4, padding=1), (2, 4, 5, 5)),
    (dict(in_channels=3, out_channels=2, kernel_size=3, padding="same"), (2, 3, 6, 7)),
    (dict(in_channels=3, out_channels=2, kernel_size=4, padding="same", dilation=(1, 2)),
     (2, 3, 7, 8)),
    (dict(in_channels=3, out_channels=2, kernel_size=(2, 3), padding="valid"), (2, 3, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="reflect"),
     (2, 2, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=(2, 1),
          padding_mode="replicate"), (2, 2, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="circular",
          stride=2), (2, 2, 5, 6)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=3), (1, 2, 10, 11)),
    (dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), (3, 6, 5)),  # unbatched
]

CONV1D = [
    (dict(in_channels=2, out_channels=3, kernel_size=3), (4, 2, 10)),
    (dict(in_channels=4, out_channels=2, kernel_size=5, stride=2, padding=2, dilation=1,
          groups=2), (2, 4, 11)),
    (dict(in_channels=2, out_channels=2, kernel_size=4, padding="same", dilation=3),
     (2, 2, 12)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="circular"),
     (2, 2, 7)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, bias=False), (2, 9)),  # unbatched
]

CONVT2D = [
    (dict(in_channels=3, out_channels=2, kernel_size=3), (2, 3, 5, 4)),
    (dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1,
          output_padding=1), (2, 3, 4, 5)),
    (dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(2, 1), groups=2,
          bias=False), (2, 4, 3, 4)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, dilation=2,
          output_padding=(1, 0), padding=(0, 1)), (2, 2, 4, 4)),
    (dict(in_channels=2, out_channels=2, kernel_size=2, stride=3, output_padding=2),
     (1, 2, 3, 3)),
    (dict(in_channels=2, out_channels=3, kernel_size=3, padding=1), (2, 4, 4)),  # unbatched
]

CONVT1D = [
    (dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, output_padding=1),
     (2, 2, 6)),
    (dict(in_channels=4, out_channels=2, kernel_size=4, groups=2, dilation=2, padding=1),
     (2, 4, 5)),
]


def _check_layer(torch, device, cls, kw, shape, dtype="float32"):
    tm = getattr(torch.nn, cls)(**kw)
    em = getattr(nn, cls)(**kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    if dtype == "float64":
        tm, em = tm.double(), em.double()
    copy_weights(em, tm, device)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-11)
    eo, _ = run_both(torch, em, tm, [rnd(*shape, dtype=dtype)], device, **tol)
    assert eo.dtype == getattr(ember, dtype)
    assert em.weight.grad.dtype == getattr(ember, dtype)


@pytest.mark.parametrize("kw,shape", CONV2D, ids=[str(i) for i in range(len(CONV2D))])
def test_conv2d_matches_torch(torch, device, kw, shape):
    _check_layer(torch, device, "Conv2d", kw, shape)


@pytest.mark.parametrize("kw,shape", CONV2D[:6], ids=[str(i) for i in range(6)])
def test_conv2d_float64(torch, device, kw, shape):
    _check_layer(torch, device, "Conv2d", kw, shape, "float64")


@pytest.mark.parametrize("kw,shape", CONV1D, ids=[str(i) for i in range(len(CONV1D))])
def test_conv1d_matches_torch(torch, device, kw, shape):
    _check_layer(torch, device, "Conv1d", kw, shape)


@pytest.mark.parametrize("kw,shape", CONVT2D, ids=[str(i) for i in range(len(CONVT2D))])
def test_conv_transpose2d_matches_torch(torch, device, kw, shape):
    _check_layer(torch, device, "ConvTranspose2d", kw, shape)


@pytest.mark.parametrize("kw,shape", CONVT1D, ids=[str(i) for i in range(len(CONVT1D))])
def test_conv_transpose1d_matches_torch(torch, device, kw, shape):
    _check_layer(torch, device, "ConvTranspose1d", kw, shape)


def test_conv_transpose2d_output_size(torch, device):
    kw = dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1)
    tm = torch.nn.ConvTranspose2d(**kw)
    em = copy_weights(nn.ConvTranspose2d(**kw), tm, device)
    x = rnd(1, 2, 4, 4)
    for size in ([8, 8], [7, 8], (1, 3, 8, 7)):
        eo = em(ember.tensor(x, device=device), output_size=size)
        to = tm(torch.tensor(x), output_size=size)
        assert_close(eo, to, 1e-5, 1e-6)
    with pytest.raises(ValueError) as ee:
        em(ember.tensor(x, device=device), output_size=[10, 10])
    with pytest.raises(ValueError) as te:
        tm(torch.tensor(x), output_size=[10, 10])
    assert str(ee.value) == str(te.value)


def test_functional_conv_bias_and_grad_fn(torch, device):
    x, w, b = rnd(2, 3, 6, 6), rnd(4, 3, 3, 3), rnd(4)
    e = [ember.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
    t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    eo = F.conv2d(*e, stride=[2], padding=[1])
    to = torch.nn.functional.conv2d(*t, stride=[2], padding=[1])
    assert type(eo.grad_fn).__name__ == type(to.grad_fn).__name__
    assert_close(eo, to, 1e-4, 1e-5)
    eo.sum().backward()
    to.sum().backward()
    for a, c in zip(e, t):
        assert_close(a.grad, c.grad, 1e-4, 1e-4)


def test_no_grad_needed_for_frozen_input(device):
    x = ember.randn(2, 3, 6, 6, device=device)
    w = ember.randn(4, 3, 3, 3, device=device, requires_grad=True)
    y = F.conv2d(x, w)
    y.sum().backward()
    assert x.grad is None and w.grad is not None


ERRORS = [
    ("input 2d", lambda L, F: F.conv2d(L.randn(3, 8), L.randn(6, 3, 3, 3))),
    ("channels", lambda L, F: F.conv2d(L.randn(2, 4, 8, 8), L.randn(6, 3, 3, 3))),
    ("groups channels", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 1, 3, 3),
                                              groups=2)),
    ("weight groups", lambda L, F: F.conv2d(L.randn(2, 4, 5, 5), L.randn(5, 2, 3, 3),
                                            groups=2)),
    ("too small", lambda L, F: F.conv2d(L.randn(2, 3, 2, 2), L.randn(6, 3, 3, 3))),
    ("too small 1d", lambda L, F: F.conv1d(L.randn(2, 3, 2), L.randn(4, 3, 3))),
    ("same strided", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3),
                                           stride=2, padding="same")),
    ("bad padding string", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3),
                                                 padding="foo")),
    ("weight dims", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3))),
    ("weight dims 1d", lambda L, F: F.conv1d(L.randn(2, 3, 8), L.randn(6, 3, 3, 3))),
    ("dtype", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8).double(), L.randn(6, 3, 3, 3))),
    ("bias dtype", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3),
                                         L.randn(6).double())),
    ("bias size", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3),
                                        L.randn(5))),
    ("stride 0", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3), stride=0)),
    ("negative padding", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3),
                                               padding=-1)),
    ("groups 0", lambda L, F: F.conv2d(L.randn(2, 3, 8, 8), L.randn(6, 3, 3, 3), groups=0)),
    ("transposed channels", lambda L, F: F.conv_transpose2d(L.randn(2, 3, 8, 8),
                                                            L.randn(4, 2, 3, 3))),
    ("output padding", lambda L, F: F.conv_transpose2d(L.randn(2, 3, 8, 8),
                                                       L.randn(3, 2, 3, 3), stride=2,
                                                       output_padding=2)),
    ("module groups", lambda L, F: L.nn.Conv2d(3, 4, 3, groups=2)),
    ("module padding string", lambda L, F: L.nn.Conv2d(3, 4, 3, padding="full")),
    ("module same strided", lambda L, F: L.nn.Conv2d(3, 4, 3, padding="same", stride=2)),
    ("module padding mode", lambda L, F: L.nn.Conv2d(3, 4, 3, padding_mode="wrap")),
    ("transposed padding mode", lambda L, F: L.nn.ConvTranspose2d(3, 4, 3,
                                                                  padding_mode="reflect")),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch, torch.nn.functional), lambda: fn(ember, F))


@pytest.mark.parametrize("cls,args,fan_in", [("Conv2d", (3, 8, 5), 75),
                                             ("Conv1d", (4, 6, 3), 12),
                                             ("ConvTranspose2d", (8, 6, 3), 54),
                                             ("Conv2d", (4, 8, 3, 1, 0, 1, 2), 18)])
def test_default_init_bounds(cls, args, fan_in):
    m = getattr(nn, cls)(*args)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=√5) and the bias both give this
    w = m.weight.detach().numpy()
    b = m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound


def _dbl(*shape):
    return ember.tensor(R.standard_normal(shape), dtype=ember.float64, requires_grad=True)


def test_gradcheck_conv2d():
    x, w, b = _dbl(2, 4, 5, 6), _dbl(4, 2, 3, 2), _dbl(4)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                              groups=2), (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), (x, w))


def test_gradcheck_conv_transpose2d():
    x, w, b = _dbl(1, 4, 3, 3), _dbl(4, 1, 3, 2), _dbl(2)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,  # noqa: E731
                                            output_padding=1, groups=2, dilation=(2, 1))
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2), (x, w))


def test_gradcheck_conv1d_same():
    x, w = _dbl(2, 2, 7), _dbl(3, 2, 4)
    assert gradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=2), (x, w))


def test_double_backward_matches_torch(torch):
    x, w = rnd(2, 3, 6, 5, dtype="float64"), rnd(4, 3, 3, 3, dtype="float64")
    out = []
    for L, Fn in ((ember, F), (torch, torch.nn.functional)):
        a, b = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
        y = Fn.conv2d(a, b, stride=2, padding=1)
        gx, gw = L.autograd.grad((y * y).sum(), (a, b), create_graph=True)
        (gx.pow(2).sum() + gw.pow(3).sum()).backward()
        out.append((a.grad, b.grad))
    assert_close(out[0][0], out[1][0], 1e-9, 1e-9)
    assert_close(out[0][1], out[1][1], 1e-9, 1e-9)


@pytest.mark.parametrize("args", [((2, 2), (1, 1), (1, 1), 1), ((2, 1), (0, 1), (1, 2), 2),
                                  ((1, 3), (1, 0), (2, 1), 4), ((1, 1), (0, 0), (1, 1), 1),
                                  ((1, 1), (2, 1), (1, 2), 2), ((1, 1), (1, 0), (2, 1), 4)])
def test_generic_kernels_match_backend(device, args):
    """The Backend base class's im2col defaults agree with the backend's own kernels."""
    from ember.backends import Backend
    stride, padding, dilation, groups = args
    be = ember.zeros(1, device=device)._device._be
    x = be.from_numpy(rnd(2, 4, 7, 8), None)
    w = be.from_numpy(rnd(4, 4 // groups, 3, 2), None)
    y = be.conv2d(x, w, stride, padding, dilation, groups)
    ref = Backend.conv2d(be, x, w, stride, padding, dilation, groups)
    np.testing.assert_allclose(be.to_numpy(y), be.to_numpy(ref), rtol=1e-5, atol=1e-5)
    g = be.from_numpy(rnd(*y.shape), None)
    for name, a in (("conv_transpose2d", (g, w, stride, padding, (7, 8), dilation, groups)),
                    ("conv2d_weight", (x, g, w.shape, stride, padding, dilation, groups))):
        np.testing.assert_allclose(be.to_numpy(getattr(be, name)(*a)),
                                   be.to_numpy(getattr(Backend, name)(be, *a)),
                                   rtol=1e-5, atol=1e-5, err_msg=name)


def test_outputs_survive_later_calls_and_padding_variants(torch, device):
    """Backends may reuse work buffers between calls (numpy does): an output still alive is
    never overwritten, and convolutions whose padded inputs share a shape but not a
    padding each see their own zeros."""
    xa, xb = rnd(2, 3, 10, 10), rnd(2, 3, 12, 12)
    w = rnd(4, 3, 3, 3)
    cases = [(xa, 1), (xb, 0), (xa, 1), (xb, 0)]  # padded 12x12 both ways
    outs = []
    for x, p in cases:
        e = F.conv2d(ember.tensor(x, device=device), ember.tensor(w, device=device), padding=p)
        outs.append((e, torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                                   padding=p)))
    for e, t in outs:  # compared only after all ran
        assert_close(e, t, 1e-4, 1e-5)
    g1 = F.conv_transpose2d(ember.tensor(xa, device=device), ember.tensor(w.transpose(1, 0, 2, 3)
                                                                          .copy(), device=device))
    keep = g1.cpu().numpy().copy()
    F.conv_transpose2d(ember.tensor(-xa, device=device),
                       ember.tensor(w.transpose(1, 0, 2, 3).copy(), device=device))
    np.testing.assert_array_equal(g1.cpu().numpy(), keep)


@pytest.mark.parametrize("stride", [1, 2])
def test_empty_batch(torch, device, stride):
    x, w = np.zeros((0, 3, 8, 8), "float32"), rnd(4, 3, 3, 3)
    e = [ember.tensor(a, device=device, requires_grad=True) for a in (x, w)]
    t = [torch.tensor(a, requires_grad=True) for a in (x, w)]
    eo, to = F.conv2d(*e, stride=stride), torch.nn.functional.conv2d(*t, stride=stride)
    assert eo.shape == to.shape
    eo.sum().backward()
    to.sum().backward()
    for a, b in zip(e, t):
        assert_close(a.grad, b.grad)
