"""3-d layers against PyTorch: conv3d/conv_transpose3d, max/avg/adaptive/Lp 3-d pooling and
max_unpool1d/2d/3d (forward values, indices, input and weight gradients over a grid of
options), module reprs and state-dict keys, errors as PyTorch words them, float64 gradcheck
(first and second order) of the composed ops."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, copy_weights, run_both, to_np
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


def compare_fn(torch, device, name, shapes, *args, rtol=1e-4, atol=1e-5, **kw):
    """F.<name>(*inputs, *args, **kw) on both libraries: outputs (and indices) equal,
    gradients of every input for one random cotangent equal."""
    arrs = [rnd(*s) for s in shapes]
    es = [ember.tensor(a, device=device, requires_grad=True) for a in arrs]
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    eo = getattr(F, name)(*es, *args, **kw)
    to = getattr(torch.nn.functional, name)(*ts, *args, **kw)
    if isinstance(to, tuple):
        np.testing.assert_array_equal(to_np(eo[1]), to_np(to[1]))
        assert eo[1].dtype == ember.int64
        eo, to = eo[0], to[0]
    assert_close(eo, to, rtol, atol, "forward")
    cot = rnd(*to.shape)
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    for i, (e, t) in enumerate(zip(es, ts)):
        assert_close(e.grad, t.grad, rtol, atol, f"grad of input {i}")


CONV3D = [  # (kwargs, input shape, weight shape, bias)
    (dict(), (2, 3, 4, 5, 4), (4, 3, 2, 3, 2), True),
    (dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
     (2, 4, 5, 6, 5), (6, 2, 3, 2, 3), True),
    (dict(padding="same", dilation=(2, 1, 1)), (1, 2, 5, 4, 4), (3, 2, 2, 3, 2), False),
    (dict(stride=3, padding=2), (1, 2, 7, 6, 5), (2, 2, 3, 3, 3), True),
    (dict(padding=1), (2, 4, 3, 4), (3, 2, 3, 1, 3), True),  # unbatched
]


@pytest.mark.parametrize("kw,xs,ws,bias", CONV3D, ids=[str(i) for i in range(len(CONV3D))])
def test_conv3d_matches_torch(torch, device, kw, xs, ws, bias):
    shapes = [xs, ws] + ([(ws[0],)] if bias else [])
    compare_fn(torch, device, "conv3d", shapes, **kw)


CONVT3D = [
    (dict(), (2, 3, 3, 4, 3), (3, 2, 2, 3, 2), True),
    (dict(stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 1), groups=2,
          dilation=(1, 2, 1)), (2, 4, 3, 4, 3), (4, 3, 3, 2, 3), True),
    (dict(stride=3, padding=1, output_padding=2), (1, 2, 3, 3, 2), (2, 2, 2, 2, 2), False),
    (dict(dilation=2, stride=2, padding=2), (2, 3, 4, 3), (2, 3, 3, 2, 2), True),  # unbatched
]


@pytest.mark.parametrize("kw,xs,ws,bias", CONVT3D, ids=[str(i) for i in range(len(CONVT3D))])
def test_conv_transpose3d_matches_torch(torch, device, kw, xs, ws, bias):
    shapes = [xs, ws] + ([(ws[1] * kw.get("groups", 1),)] if bias else [])
    compare_fn(torch, device, "conv_transpose3d", shapes, **kw)


LAYERS = [  # (class, kwargs, input shape)
    ("Conv3d", dict(in_channels=2, out_channels=3, kernel_size=(2, 3, 2), stride=(1, 2, 1),
                    padding=1), (2, 2, 4, 5, 4)),
    ("Conv3d", dict(in_channels=2, out_channels=2, kernel_size=3, padding=1,
                    padding_mode="circular", bias=False), (1, 2, 3, 4, 3)),
    ("ConvTranspose3d", dict(in_channels=2, out_channels=3, kernel_size=2, stride=2,
                             groups=1), (1, 2, 2, 3, 2)),
    ("MaxPool3d", dict(kernel_size=3, stride=(2, 1, 2), padding=1, dilation=(1, 2, 1),
                       ceil_mode=True), (2, 2, 5, 6, 7)),
    ("MaxPool3d", dict(kernel_size=2), (2, 5, 4, 6)),  # unbatched
    ("AvgPool3d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=False), (2, 2, 5, 6, 7)),
    ("AvgPool3d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (1, 2, 5, 6, 4)),
    ("AvgPool3d", dict(kernel_size=(2, 3, 2), stride=1, divisor_override=5), (1, 2, 3, 4, 3)),
    ("AdaptiveAvgPool3d", dict(output_size=(3, 4, 2)), (2, 2, 5, 6, 7)),
    ("AdaptiveAvgPool3d", dict(output_size=(None, 2, 6)), (2, 4, 5, 3)),
    ("AdaptiveMaxPool3d", dict(output_size=(3, 4, 2)), (2, 2, 5, 6, 7)),
    ("LPPool3d", dict(norm_type=2, kernel_size=2), (2, 2, 4, 4, 5)),
    ("LPPool3d", dict(norm_type=float("inf"), kernel_size=2, stride=1), (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("cls,kw,shape", LAYERS, ids=[f"{c}-{i}" for i, (c, _, _) in
                                                       enumerate(LAYERS)])
def test_layers_match_torch(torch, device, cls, kw, shape):
    tm = getattr(torch.nn, cls)(**kw).double()
    em = getattr(nn, cls)(**kw).double()
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    run_both(torch, em, tm, [rnd(*shape, dtype="float64")], device, rtol=1e-10, atol=1e-11)


POOL_INDICES = [  # (function, input shape, args, kwargs)
    ("max_pool3d", (2, 2, 5, 6, 7), (3, (2, 1, 2), 1, (1, 2, 1)), dict(return_indices=True)),
    ("max_pool3d", (2, 2, 5, 6, 5), ((3, 2, 2),), dict(stride=2, ceil_mode=True,
                                                       return_indices=True)),
    ("adaptive_max_pool3d", (2, 5, 6, 7), ((3, 4, 2), True), {}),
    ("max_pool3d_with_indices", (1, 2, 4, 4, 4), (2,), {}),
]


@pytest.mark.parametrize("name,shape,args,kw", POOL_INDICES,
                         ids=[str(i) for i in range(len(POOL_INDICES))])
def test_pool_indices_match_torch(torch, device, name, shape, args, kw):
    compare_fn(torch, device, name, [shape], *args, **kw)


def test_max_pool3d_ties_pick_the_first(torch, device):
    """Equal values everywhere: the first (d, h, w) in the window wins, as PyTorch's scan."""
    x = np.zeros((1, 1, 4, 4, 4), dtype="float32")
    _, ei = F.max_pool3d(ember.tensor(x, device=device), 2, return_indices=True)
    _, ti = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(to_np(ei), to_np(ti))


@pytest.mark.parametrize("nd,shape,kw", [
    (1, (2, 3, 8), dict(kernel_size=2)),
    (1, (3, 7), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 6, 5), dict(kernel_size=2, stride=1)),
    (2, (3, 5, 5), dict(kernel_size=3, stride=2, padding=1)),
    (3, (1, 2, 4, 6, 4), dict(kernel_size=2)),
    (3, (2, 5, 4, 4), dict(kernel_size=(3, 2, 2), stride=(2, 2, 1), padding=(1, 0, 0))),
])
def test_max_unpool_matches_torch(torch, device, nd, shape, kw):
    """Pool (in torch) then unpool in both: values, default and given output sizes, and the
    gradient (a gather at the indices)."""
    tf = torch.nn.functional
    x = torch.tensor(rnd(*shape))
    o, i = getattr(tf, f"max_pool{nd}d")(x, return_indices=True, **kw)
    ukw = {k: v for k, v in kw.items() if k != "dilation"}
    for size in (None, list(x.shape[-nd:])):
        eo = ember.tensor(o.numpy(), device=device, requires_grad=True)
        to = o.clone().requires_grad_(True)
        ey = getattr(F, f"max_unpool{nd}d")(eo, ember.tensor(i.numpy(), device=device),
                                            output_size=size, **ukw)
        ty = getattr(tf, f"max_unpool{nd}d")(to, i, output_size=size, **ukw)
        assert_close(ey, ty, 0, 0)
        cot = rnd(*ty.shape)
        ey.backward(ember.tensor(cot, device=device))
        ty.backward(torch.tensor(cot))
        assert_close(eo.grad, to.grad, 0, 0)
    em = getattr(nn, f"MaxUnpool{nd}d")(**ukw)
    assert repr(em) == repr(getattr(torch.nn, f"MaxUnpool{nd}d")(**ukw))
    assert_close(em(ember.tensor(o.numpy(), device=device),
                    ember.tensor(i.numpy(), device=device)),
                 getattr(torch.nn, f"MaxUnpool{nd}d")(**ukw)(o, i), 0, 0)


def _unpool_args(L, nd, shift=0, dtype=None):
    x = L.zeros((2, 3) + (4,) * nd)
    i = L.zeros((2, 3) + (4,) * nd, dtype=dtype or L.int64) + shift
    return x, i


ERRORS = [
    ("conv3d channels", lambda L, F: F.conv3d(L.randn(1, 3, 4, 4, 4), L.randn(2, 2, 3, 3, 3))),
    ("conv3d 3d input", lambda L, F: F.conv3d(L.randn(3, 4, 4), L.randn(2, 3, 3, 3, 3))),
    ("conv3d kernel too big", lambda L, F: F.conv3d(L.randn(1, 2, 2, 4, 4),
                                                    L.randn(2, 2, 3, 3, 3))),
    ("conv3d bias", lambda L, F: F.conv3d(L.randn(1, 2, 4, 4, 4), L.randn(2, 2, 3, 3, 3),
                                          L.randn(3))),
    ("conv3d stride", lambda L, F: F.conv3d(L.randn(1, 2, 4, 4, 4), L.randn(2, 2, 3, 3, 3),
                                            stride=(1, 2))),
    ("conv_transpose3d output padding",
     lambda L, F: F.conv_transpose3d(L.randn(1, 2, 3, 3, 3), L.randn(2, 2, 3, 3, 3), stride=2,
                                     output_padding=2)),
    ("conv_transpose3d channels",
     lambda L, F: F.conv_transpose3d(L.randn(1, 3, 3, 3, 3), L.randn(2, 2, 3, 3, 3))),
    ("max_pool3d dims", lambda L, F: F.max_pool3d(L.randn(2, 3, 3), 2)),
    ("max_pool3d too small", lambda L, F: F.max_pool3d(L.randn(2, 3, 3, 3), 4)),
    ("max_pool3d pad", lambda L, F: F.max_pool3d(L.randn(1, 2, 3, 3, 3), 3, padding=2)),
    ("max_pool3d stride 0", lambda L, F: F.max_pool3d(L.randn(1, 2, 3, 3, 3), 2, stride=0)),
    ("max_pool3d dilation", lambda L, F: F.max_pool3d(L.randn(1, 2, 3, 3, 3), 2, dilation=0)),
    ("avg_pool3d kernel", lambda L, F: F.avg_pool3d(L.randn(1, 2, 3, 3, 3), 4)),
    ("avg_pool3d divisor", lambda L, F: F.avg_pool3d(L.randn(1, 2, 3, 3, 3), 2,
                                                     divisor_override=0)),
    ("avg_pool3d dims", lambda L, F: F.avg_pool3d(L.randn(2, 3, 3), 2)),
    ("adaptive_avg_pool3d dims", lambda L, F: F.adaptive_avg_pool3d(L.randn(3, 3), 2)),
    ("adaptive_max_pool3d dims", lambda L, F: F.adaptive_max_pool3d(L.randn(3, 3), 2)),
    ("adaptive_max_pool3d size", lambda L, F: F.adaptive_max_pool3d(L.randn(3, 3, 3, 3),
                                                                    (2, 2))),
    ("adaptive_avg_pool3d size", lambda L, F: F.adaptive_avg_pool3d(L.randn(3, 3, 3, 3),
                                                                    (2, 2))),
    ("unpool2d index", lambda L, F: F.max_unpool2d(*_unpool_args(L, 2, 100), 2)),
    ("unpool3d index", lambda L, F: F.max_unpool3d(*_unpool_args(L, 3, 1000), 2)),
    ("unpool1d index", lambda L, F: F.max_unpool1d(*_unpool_args(L, 1, -3), 2)),
    ("unpool dtype", lambda L, F: F.max_unpool2d(*_unpool_args(L, 2, 0, L.int32), 2)),
    ("unpool shape", lambda L, F: F.max_unpool2d(L.zeros(2, 3, 4, 4),
                                                 L.zeros(1, 3, 4, 4, dtype=L.int64), 2)),
    ("unpool2d dims", lambda L, F: F.max_unpool2d(L.zeros(4, 4), L.zeros(4, 4, dtype=L.int64),
                                                  2)),
    ("unpool3d dims", lambda L, F: F.max_unpool3d(L.zeros(3, 4, 4),
                                                  L.zeros(3, 4, 4, dtype=L.int64), 2)),
    ("unpool1d dims", lambda L, F: F.max_unpool1d(L.zeros(4), L.zeros(4, dtype=L.int64), 2)),
    ("unpool output_size len", lambda L, F: F.max_unpool2d(*_unpool_args(L, 2), 2,
                                                           output_size=[1, 2, 3])),
    ("unpool output_size range", lambda L, F: F.max_unpool2d(*_unpool_args(L, 2), 2,
                                                             output_size=[20, 8])),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch, torch.nn.functional), lambda: fn(ember, F))


def _dbl(*shape):
    return ember.tensor(R.standard_normal(shape), dtype=ember.float64, requires_grad=True)


def test_gradcheck_conv3d():
    x, w, b = _dbl(1, 4, 3, 4, 3), _dbl(2, 2, 2, 2, 2), _dbl(2)
    fn = lambda x, w, b: F.conv3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1),  # noqa: E731
                                  dilation=(1, 2, 1), groups=2)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv3d(x, w, stride=2, padding=1, groups=2), (x, w))


def test_gradcheck_conv_transpose3d():
    x, w, b = _dbl(1, 2, 2, 3, 2), _dbl(2, 2, 2, 2, 2), _dbl(4)
    fn = lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=1,  # noqa: E731
                                            output_padding=1, groups=2)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=(2, 1, 1)), (x, w))


def test_gradcheck_pool3d():
    x = _dbl(1, 2, 4, 4, 5)
    assert gradcheck(lambda x: F.avg_pool3d(x, 3, 2, 1, True, False), (x,))
    assert gradgradcheck(lambda x: F.avg_pool3d(x, 2, 1), (x,))
    assert gradcheck(lambda x: F.max_pool3d(x, 2, 1, ceil_mode=True), (x,))
    assert gradgradcheck(lambda x: F.max_pool3d(x, (2, 3, 2), 2, 1), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool3d(x, (3, 3, 2)), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool3d(x, (3, 3, 2)), (x,))


def test_conv3d_module_errors_and_init(torch):
    assert_same_error(lambda: torch.nn.Conv3d(3, 4, 3, groups=2),
                      lambda: nn.Conv3d(3, 4, 3, groups=2))
    assert_same_error(lambda: torch.nn.ConvTranspose3d(3, 4, 3, padding_mode="reflect"),
                      lambda: nn.ConvTranspose3d(3, 4, 3, padding_mode="reflect"))
    m = nn.Conv3d(2, 4, 3)
    bound = 1 / np.sqrt(2 * 27)  # kaiming_uniform(a=√5) and the bias both give this
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound


def test_conv_transpose3d_output_size(torch, device):
    kw = dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1)
    tm = torch.nn.ConvTranspose3d(**kw)
    em = copy_weights(nn.ConvTranspose3d(**kw), tm, device)
    x = rnd(1, 2, 3, 3, 2)
    for size in ([6, 5, 4], (1, 3, 5, 6, 3)):
        assert_close(em(ember.tensor(x, device=device), output_size=size),
                     tm(torch.tensor(x), output_size=size), 1e-5, 1e-6)


EMPTY = [  # (function, input shapes (int64 ones are indices), args)
    ("conv3d", [(0, 2, 3, 3, 3), (4, 2, 2, 2, 2)], ()),
    ("conv_transpose3d", [(0, 2, 3, 3, 3), (2, 4, 2, 2, 2)], ()),
    ("max_pool3d", [(0, 2, 3, 3, 3)], (2,)),
    ("avg_pool3d", [(0, 2, 3, 3, 3)], (2,)),
    ("adaptive_avg_pool3d", [(0, 2, 3, 3, 3)], ((1, 2, 1),)),
    ("adaptive_max_pool3d", [(0, 2, 3, 3, 3)], ((1, 2, 1),)),
    ("max_unpool2d", [(0, 2, 3, 3), "idx"], (2,)),
]


@pytest.mark.parametrize("name,shapes,args", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty_batch(torch, device, name, shapes, args):
    """A batch of 0: the output shape as torch's (indices stand in by int64 zeros)."""
    idx = [s == "idx" for s in shapes]
    shapes = [shapes[0] if i else s for s, i in zip(shapes, idx)]
    es = [ember.zeros(s, device=device, dtype=ember.int64 if i else ember.float32)
          for s, i in zip(shapes, idx)]
    ts = [torch.zeros(s, dtype=torch.int64 if i else torch.float32)
          for s, i in zip(shapes, idx)]
    assert tuple(getattr(F, name)(*es, *args).shape) == \
        tuple(getattr(torch.nn.functional, name)(*ts, *args).shape)
