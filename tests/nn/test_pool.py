"""Pooling against PyTorch: max/avg/adaptive/Lp pooling layers over a grid of options
(forward, gradients, indices), reprs, errors, float64 gradcheck (first and second order),
and the generic backend kernels against the backend's own."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, run_both
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


LAYERS = [  # (class, kwargs, input shape)
    ("MaxPool2d", dict(kernel_size=2), (2, 3, 8, 8)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 8)),
    ("MaxPool2d", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
     (2, 2, 9, 9)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (2, 2, 8, 7)),
    ("MaxPool2d", dict(kernel_size=2, stride=1, padding=1, ceil_mode=True), (1, 2, 5, 5)),
    ("MaxPool2d", dict(kernel_size=2, dilation=2, ceil_mode=True), (1, 2, 7, 8)),
    ("MaxPool2d", dict(kernel_size=2), (3, 6, 6)),  # unbatched
    ("MaxPool1d", dict(kernel_size=3), (2, 3, 10)),
    ("MaxPool1d", dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
     (2, 3, 11)),
    ("MaxPool1d", dict(kernel_size=2), (3, 7)),  # unbatched
    ("AvgPool2d", dict(kernel_size=2), (2, 3, 8, 8)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 8)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
     (2, 3, 9, 8)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 2, 8, 7)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=False), (2, 2, 8, 7)),
    ("AvgPool2d", dict(kernel_size=(2, 3), stride=1, divisor_override=4), (2, 2, 5, 6)),
    ("AvgPool2d", dict(kernel_size=2, ceil_mode=True), (3, 5, 5)),  # unbatched
    ("AvgPool1d", dict(kernel_size=3), (2, 3, 10)),
    ("AvgPool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True,
                       count_include_pad=False), (2, 3, 11)),
    ("AdaptiveAvgPool2d", dict(output_size=(4, 4)), (2, 3, 8, 8)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 5)), (2, 3, 8, 7)),
    ("AdaptiveAvgPool2d", dict(output_size=(None, 3)), (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", dict(output_size=1), (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d", dict(output_size=(4, 9)), (3, 7, 6)),  # unbatched, upsampling
    ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 10)),
    ("AdaptiveMaxPool2d", dict(output_size=(3, 5)), (2, 3, 8, 7)),
    ("AdaptiveMaxPool2d", dict(output_size=(4, 4)), (2, 3, 8, 8)),
    ("AdaptiveMaxPool2d", dict(output_size=(None, 2)), (3, 5, 7)),
    ("AdaptiveMaxPool1d", dict(output_size=3), (2, 3, 10)),
    ("LPPool2d", dict(norm_type=2, kernel_size=2), (2, 3, 6, 6)),
    ("LPPool1d", dict(norm_type=3, kernel_size=3, stride=2), (2, 3, 9)),
]


@pytest.mark.parametrize("cls,kw,shape", LAYERS, ids=[f"{c[0]}-{i}" for i, c in
                                                       enumerate(LAYERS)])
def test_pool_matches_torch(torch, device, cls, kw, shape):
    tm, em = getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw)
    assert repr(em) == repr(tm)
    x = rnd(*shape)
    if cls.startswith("LP"):
        x = np.abs(x) + 0.1  # p-th powers of negatives: NaN gradients in both
    eo, _ = run_both(torch, em, tm, [x], device, rtol=1e-5, atol=1e-6)
    assert eo.dtype == ember.float32


@pytest.mark.parametrize("cls,kw,shape", [c for c in LAYERS if "Max" in c[0]],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYERS) if "Max" in c[0]])
def test_max_pool_indices_match_torch(torch, device, cls, kw, shape):
    tm = getattr(torch.nn, cls)(**kw, return_indices=True)
    em = getattr(nn, cls)(**kw, return_indices=True)
    x = rnd(*shape)
    (eo, ei), (to, ti) = em(ember.tensor(x, device=device)), tm(torch.tensor(x))
    assert ei.dtype == ember.int64
    assert_close(eo, to)
    np.testing.assert_array_equal(ei.cpu().numpy(), ti.numpy())


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("fn", ["max_pool2d", "max_pool1d"])
def test_max_pool_ties_pick_first(torch, device, fn, padding):
    shape = (2, 3, 7, 6) if fn == "max_pool2d" else (2, 3, 7)
    x = np.round(R.standard_normal(shape)).astype("float32")  # many ties
    x[0] = 1.0
    eo, ei = getattr(F, fn)(ember.tensor(x, device=device), 3, 2, padding,
                            return_indices=True)
    to, ti = getattr(torch.nn.functional, fn)(torch.tensor(x), 3, 2, padding,
                                              return_indices=True)
    np.testing.assert_array_equal(ei.cpu().numpy(), ti.numpy())


@pytest.mark.parametrize("padding", [0, 1])
def test_max_pool_nan_wins(torch, device, padding):
    x = R.standard_normal((1, 2, 6, 6)).astype("float32")
    x[0, 0, 1, 2] = x[0, 1, 4, 4] = np.nan
    eo, ei = F.max_pool2d(ember.tensor(x, device=device), 2, padding=padding,
                          return_indices=True)
    to, ti = torch.nn.functional.max_pool2d(torch.tensor(x), 2, padding=padding,
                                            return_indices=True)
    np.testing.assert_array_equal(eo.cpu().numpy(), to.numpy())  # NaN where NaN
    np.testing.assert_array_equal(ei.cpu().numpy(), ti.numpy())


def test_avg_pool_integer_input(torch, device):
    x = np.arange(-20, 30).reshape(1, 2, 5, 5)
    eo = F.avg_pool2d(ember.tensor(x, device=device), 3, 1, 1)
    to = torch.nn.functional.avg_pool2d(torch.tensor(x), 3, 1, 1)
    assert eo.dtype == ember.int64
    np.testing.assert_array_equal(eo.cpu().numpy(), to.numpy())


REPRS = ["MaxPool2d(2)", "MaxPool2d((3, 2), stride=1, padding=1, ceil_mode=True)",
         "MaxPool1d(3, 2, return_indices=True)", "AvgPool2d(2)",
         "AvgPool2d(3, 1, 1, True, False, 2)", "AvgPool1d(3)", "AvgPool1d(3, 2, 1)",
         "AdaptiveAvgPool2d((5, None))", "AdaptiveAvgPool2d(7)", "AdaptiveAvgPool1d(3)",
         "AdaptiveMaxPool2d(3)", "AdaptiveMaxPool1d(2, True)", "LPPool2d(2, 3)",
         "LPPool1d(1.5, 2, 1)"]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(torch, expr):
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr))


ERRORS = [
    ("pad too big", lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, padding=2)),
    ("max 2d input", lambda L, F: F.max_pool2d(L.randn(3, 8), 2)),
    ("output too small", lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 9)),
    ("avg output too small", lambda L, F: F.avg_pool2d(L.randn(2, 3, 8, 8), 9)),
    ("avg pad too big", lambda L, F: F.avg_pool2d(L.randn(2, 3, 8, 8), 2, padding=2)),
    ("kernel 0", lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 0, stride=1)),
    ("stride 0", lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, stride=0)),
    ("dilation 0", lambda L, F: F.max_pool2d(L.randn(2, 3, 8, 8), 2, dilation=0)),
    ("max1d pad", lambda L, F: F.max_pool1d(L.randn(2, 3, 8), 3, padding=2)),
    ("max1d input", lambda L, F: F.max_pool1d(L.randn(8), 3)),
    ("max1d output", lambda L, F: F.max_pool1d(L.randn(2, 3, 2), 3)),
    ("avg1d output", lambda L, F: F.avg_pool1d(L.randn(2, 3, 2), 3)),
    ("avg1d input", lambda L, F: F.avg_pool1d(L.randn(8), 3)),
    ("adaptive input", lambda L, F: F.adaptive_avg_pool2d(L.randn(3), 2)),
    ("adaptive long", lambda L, F: F.adaptive_avg_pool1d(L.ones(1, 3, 5, dtype=L.long), 2)),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch, torch.nn.functional), lambda: fn(ember, F))


def _distinct(*shape):
    """float64 values far apart, so no two tie for a window's maximum."""
    n = int(np.prod(shape))
    vals = R.permutation(n).astype("float64") * 0.1 + R.uniform(-0.01, 0.01, n)
    return ember.tensor(vals.reshape(shape), requires_grad=True)


def test_gradcheck_max_pool2d():
    x = _distinct(2, 2, 7, 6)
    fn = lambda x: F.max_pool2d(x, 3, 2, 1, dilation=(1, 2), ceil_mode=True)  # noqa: E731
    assert gradcheck(fn, (x,), eps=1e-4)
    assert gradgradcheck(fn, (x,), eps=1e-4)


def test_gradcheck_avg_pool2d():
    x = ember.tensor(R.standard_normal((2, 2, 7, 6)), requires_grad=True)
    for kw in (dict(count_include_pad=False, ceil_mode=True), dict(divisor_override=3)):
        fn = lambda x: F.avg_pool2d(x, 3, 2, 1, **kw)  # noqa: E731
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_gradcheck_adaptive():
    x = _distinct(1, 2, 7, 5)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (x,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), (x,), eps=1e-4)
    assert gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), (x,), eps=1e-4)


POOL_ARGS = [((2, 2), (2, 2), (0, 0), (1, 1), False), ((3, 3), (2, 2), (1, 1), (1, 1), True),
             ((3, 2), (1, 2), (1, 0), (2, 1), True), ((3, 2), (1, 2), (0, 0), (2, 1), False),
             ((3, 3), (2, 2), (0, 0), (1, 1), False)]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil", POOL_ARGS)
def test_generic_pool_kernels_match_backend(device, kernel, stride, padding, dilation, ceil):
    """The Backend base class's defaults agree with the backend's own kernels."""
    from ember.backends import Backend
    be = ember.zeros(1, device=device)._device._be
    x = be.from_numpy(rnd(2, 3, 9, 8), None)
    out, idx = be.max_pool2d(x, kernel, stride, padding, dilation, ceil)
    ref_out, ref_idx = Backend.max_pool2d(be, x, kernel, stride, padding, dilation, ceil)
    np.testing.assert_array_equal(be.to_numpy(out), be.to_numpy(ref_out))
    np.testing.assert_array_equal(be.to_numpy(idx), be.to_numpy(ref_idx))
    g = be.from_numpy(rnd(*out.shape), None)
    np.testing.assert_allclose(be.to_numpy(be.max_pool2d_backward(g, idx, x.shape)),
                               be.to_numpy(Backend.max_pool2d_backward(be, g, idx, x.shape)),
                               rtol=1e-6, atol=1e-6)
    for cip in (True, False):
        a = (kernel, stride, padding, ceil, cip, None)
        y = be.avg_pool2d(x, *a)
        np.testing.assert_allclose(be.to_numpy(y), be.to_numpy(Backend.avg_pool2d(be, x, *a)),
                                   rtol=1e-6, atol=1e-6)
        g = be.from_numpy(rnd(*y.shape), None)
        np.testing.assert_allclose(
            be.to_numpy(be.avg_pool2d_backward(g, (9, 8), *a)),
            be.to_numpy(Backend.avg_pool2d_backward(be, g, (9, 8), *a)), rtol=1e-6, atol=1e-6)
