"""Padding and resampling against PyTorch: F.pad (every mode, negative padding, errors),
F.interpolate (nearest, nearest-exact, linear, bilinear, area; sizes and scale factors),
Upsample/PixelShuffle/padding layers (forward, gradients, reprs), float64 gradcheck."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn  # noqa: F401 (used by eval)
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, pair
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


def _both(torch, device, fn_name, x, *args, tol=(1e-5, 1e-6), grad=True, **kw):
    """Run F.<fn_name> in both libraries; compare outputs and input gradients."""
    e, t = pair(torch, x, device, requires_grad=True)
    eo = getattr(F, fn_name)(e, *args, **kw)
    to = getattr(torch.nn.functional, fn_name)(t, *args, **kw)
    assert_close(eo, to, *tol, what="forward")
    if not grad:
        return eo
    cot = rnd(*to.shape)
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    assert_close(e.grad, t.grad, *tol, what="grad")
    return eo


PADS = [
    ("constant", (1, 2), (2, 3, 4)),
    ("constant", (1, 2, 0, 3), (2, 3, 4)),
    ("constant", (1, 1, 2, 2, 1, 0), (2, 3, 4, 5)),
    ("constant", (-1, 2, 1, -2), (2, 3, 4, 5)),
    ("constant", (2, 1), (5,)),
    ("reflect", (2, 1), (2, 3, 4)),
    ("reflect", (3, 0), (3, 4)),
    ("reflect", (1, 2, 3, 1), (2, 3, 4, 5)),
    ("reflect", (1, 2, 2, 1), (3, 4, 5)),
    ("reflect", (1, 1, 1, 2, 0, 1), (1, 2, 3, 4, 5)),
    ("replicate", (3, 2), (2, 3, 4)),
    ("replicate", (1, 4, 3, 1), (2, 3, 4, 5)),
    ("replicate", (-1, 2, 1, 1), (2, 3, 4, 5)),
    ("replicate", (1, 1, 2, 0, 1, 2), (2, 2, 3, 4, 5)),
    ("circular", (2, 1), (2, 3, 4)),
    ("circular", (1, 2, 3, 4), (2, 3, 4, 5)),
    ("circular", (-1, 2, 1, 1), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("mode,pad,shape", PADS, ids=[f"{p[0]}{p[1]}" for p in PADS])
def test_pad_matches_torch(torch, device, mode, pad, shape):
    _both(torch, device, "pad", rnd(*shape), pad, mode=mode)


def test_pad_value_and_dtype(torch, device):
    x = np.arange(12).reshape(3, 4)
    eo = F.pad(ember.tensor(x, device=device), (1, 1, 2, 0), value=7)
    to = torch.nn.functional.pad(torch.tensor(x), (1, 1, 2, 0), value=7)
    assert eo.dtype == ember.int64
    np.testing.assert_array_equal(eo.cpu().numpy(), to.numpy())
    _both(torch, device, "pad", rnd(2, 3), (1, 2), value=-1.5)


PAD_ERRORS = [
    ("odd", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (1, 2, 3))),
    ("too long", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9, 10))),
    ("reflect size", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (5, 5, 1, 1), mode="reflect")),
    ("reflect dims", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (1, 1), mode="reflect")),
    ("reflect 1d", lambda L, F: F.pad(L.randn(4), (1, 1), mode="reflect")),
    ("circular twice", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (6, 6, 1, 1),
                                          mode="circular")),
    ("mode", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (1, 1), mode="foo")),
    ("value", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (1, 1), mode="reflect", value=2.0)),
    ("crop too much", lambda L, F: F.pad(L.randn(1, 3, 4, 5), (-6, 2, 1, 1))),
    ("empty", lambda L, F: F.pad(L.randn(1, 3, 0, 4), (1, 1, 1, 1), mode="replicate")),
]

INTERP_ERRORS = [
    ("size and scale", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), size=3, scale_factor=2)),
    ("neither", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5))),
    ("align nearest", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), scale_factor=2,
                                                 align_corners=True)),
    ("bilinear 3d", lambda L, F: F.interpolate(L.randn(1, 3, 4), scale_factor=2,
                                               mode="bilinear")),
    ("linear 4d", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), scale_factor=2,
                                             mode="linear")),
    # torch 2.13 lists "lanczos" among the modes in these two messages
    pytest.param("mode", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), scale_factor=2,
                                                    mode="foo"), marks=pytest.mark.torch_exact),
    ("size len", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), size=(2, 3, 4))),
    ("scale len", lambda L, F: F.interpolate(L.randn(1, 3, 4, 5), scale_factor=(2, 3, 4))),
    pytest.param("2d input", lambda L, F: F.interpolate(L.randn(3, 4), scale_factor=2),
                 marks=pytest.mark.torch_exact),
    ("shuffle channels", lambda L, F: F.pixel_shuffle(L.randn(1, 5, 2, 2), 2)),
    ("unshuffle height", lambda L, F: F.pixel_unshuffle(L.randn(1, 5, 3, 2), 2)),
    ("shuffle dims", lambda L, F: F.pixel_shuffle(L.randn(5, 2), 2)),
    ("bilinear long", lambda L, F: F.interpolate(L.ones(1, 3, 5, 5, dtype=L.long),
                                                 scale_factor=2, mode="bilinear")),
    ("linear long", lambda L, F: F.interpolate(L.ones(1, 3, 5, dtype=L.long), scale_factor=2,
                                               mode="linear")),
    ("area long", lambda L, F: F.interpolate(L.ones(1, 3, 5, 5, dtype=L.long),
                                             scale_factor=2, mode="area")),
    ("circular module dims", lambda L, F: L.nn.CircularPad2d(1)(L.randn(3, 3))),
]


@pytest.mark.parametrize("name,fn", PAD_ERRORS + INTERP_ERRORS,
                         ids=[(e.values if hasattr(e, "values") else e)[0]
                              for e in PAD_ERRORS + INTERP_ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch, torch.nn.functional), lambda: fn(ember, F))


INTERP = [
    ((2, 3, 5, 6), dict(scale_factor=2)),
    ((2, 3, 5, 6), dict(size=(7, 13))),
    ((2, 3, 5, 6), dict(scale_factor=0.7)),
    ((2, 3, 5, 6), dict(scale_factor=(1.5, 2.3))),
    ((2, 3, 5, 6), dict(scale_factor=1.7, recompute_scale_factor=True)),
    ((2, 3, 4, 10), dict(scale_factor=(1.05, 2.05))),
    ((2, 3, 5, 6), dict(scale_factor=1.7, mode="nearest-exact")),
    ((2, 3, 9), dict(size=4, mode="nearest-exact")),
    ((2, 3, 5, 6), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 6), dict(scale_factor=(1.5, 2.3), mode="bilinear")),
    ((2, 3, 5, 6), dict(size=(4, 17), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 6), dict(size=(1, 3), mode="bilinear", align_corners=True)),
    ((2, 3, 8, 9), dict(scale_factor=0.6, mode="bilinear")),
    ((2, 3, 8, 9), dict(scale_factor=0.6, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 6), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 6), dict(size=11, mode="linear", align_corners=True)),
    ((2, 3, 7, 9), dict(size=(4, 3), mode="area")),
    ((2, 3, 8), dict(size=3, mode="area")),
    ((2, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    ((2, 2, 3, 4, 5), dict(size=(2, 5, 3))),
]


@pytest.mark.parametrize("shape,kw", INTERP, ids=[str(i) for i in range(len(INTERP))])
def test_interpolate_matches_torch(torch, device, shape, kw):
    eo = _both(torch, device, "interpolate", rnd(*shape), tol=(1e-5, 1e-5), **kw)
    assert eo.dtype == ember.float32


@pytest.mark.parametrize("shape,scale", [((2, 3, 10), 2.05), ((2, 3, 10), 1.05),
                                         ((2, 1, 1, 4, 10), (1, 1.05, 2.05))])
def test_nearest_doubling_by_other_scale(torch, device, shape, scale):
    """An output twice (or once) the input's size from another scale factor: 1-d and 3-d
    forwards use the scale (as PyTorch), the gradient is that forward's exact adjoint.
    PyTorch's 1-d/3-d backwards halve (or copy) indices there instead, so they disagree
    with their own forwards; only the forward is compared with PyTorch."""
    x = rnd(*shape)
    _both(torch, device, "interpolate", x, grad=False, scale_factor=scale)
    x64 = ember.tensor(x.astype("float64"), requires_grad=True)
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=scale), (x64,))


MODULES = [
    ("Upsample(scale_factor=2)", (2, 3, 4, 5)),
    ("Upsample(size=(3, 7), mode='bilinear', align_corners=True)", (2, 3, 4, 5)),
    ("Upsample(scale_factor=(2, 1.5), mode='bilinear')", (2, 3, 4, 5)),
    ("UpsamplingNearest2d(scale_factor=2)", (2, 3, 4, 5)),
    ("UpsamplingBilinear2d(size=4)", (2, 3, 3, 5)),
    ("PixelShuffle(2)", (2, 8, 3, 4)),
    ("PixelShuffle(3)", (9, 2, 2)),
    ("PixelUnshuffle(2)", (2, 2, 4, 6)),
    ("ZeroPad2d(2)", (2, 3, 4, 5)),
    ("ZeroPad1d((1, 2))", (2, 3, 4)),
    ("ConstantPad1d(3, 3.5)", (2, 3, 4)),
    ("ConstantPad2d((1, 0, 2, 1), -1.0)", (2, 3, 4, 5)),
    ("ConstantPad3d(1, 2.0)", (1, 2, 3, 4, 5)),
    ("ReflectionPad1d(2)", (2, 3, 4)),
    ("ReflectionPad2d((1, 2, 3, 0))", (2, 3, 4, 5)),
    ("ReplicationPad1d((0, 3))", (2, 3, 4)),
    ("ReplicationPad2d(2)", (2, 3, 4, 5)),
    ("ReplicationPad3d(1)", (1, 2, 3, 4, 5)),
    ("CircularPad1d(2)", (2, 3, 4)),
    ("CircularPad2d((1, 2, 0, 1))", (2, 3, 4, 5)),
]


@pytest.mark.parametrize("expr,shape", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(torch, device, expr, shape):
    em, tm = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(em) == repr(tm)
    e, t = pair(torch, rnd(*shape), device, requires_grad=True)
    eo, to = em(e), tm(t)
    assert_close(eo, to, 1e-5, 1e-6)
    cot = rnd(*to.shape)
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    assert_close(e.grad, t.grad, 1e-5, 1e-6)


def test_deprecated_upsample_warns(torch):
    x = rnd(1, 2, 3, 3)
    for name in ("upsample", "upsample_nearest", "upsample_bilinear"):
        with warnings.catch_warnings(record=True) as ew:
            warnings.simplefilter("always")
            eo = getattr(F, name)(ember.tensor(x), scale_factor=2)
        with warnings.catch_warnings(record=True) as tw:
            warnings.simplefilter("always")
            to = getattr(torch.nn.functional, name)(torch.tensor(x), scale_factor=2)
        assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
        assert_close(eo, to, 1e-6, 1e-6)


def test_gradcheck_interpolate_bilinear():
    x = ember.tensor(R.standard_normal((1, 2, 4, 5)), requires_grad=True)
    for kw in (dict(scale_factor=1.7), dict(size=(3, 7), align_corners=True)):
        fn = lambda x: F.interpolate(x, mode="bilinear", **kw)  # noqa: E731
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_gradcheck_pad_and_nearest():
    x = ember.tensor(R.standard_normal((1, 2, 4, 5)), requires_grad=True)
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert gradcheck(lambda x: F.pad(x, (2, 1, 1, 3), mode=mode), (x,))
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=1.5), (x,))
