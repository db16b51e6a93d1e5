"""Sliding blocks and resampling against PyTorch: F.fold/F.unfold (nn.Fold/nn.Unfold),
Tensor.unfold (values, gradients, a view that writes reach), channel_shuffle, interpolate's
bicubic, antialiased, trilinear and 3-d area modes (nn.Upsample), grid_sample and
affine_grid (values, gradients for input, grid and theta), errors as PyTorch words them and
float64 gradcheck of the composed ops."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, to_np
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float64"):
    return R.standard_normal(shape).astype(dtype)


def compare(torch, device, fe, ft, arrays, rtol=1e-9, atol=1e-10, grads=None):
    """fe(*ember inputs) vs ft(*torch inputs): outputs, then the gradients of the inputs
    listed in ``grads`` (default: all) for one random cotangent."""
    es = [ember.tensor(a, device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo, to = fe(*es), ft(*ts)
    assert_close(eo, to, rtol, atol, "forward")
    cot = rnd(*to.shape).astype(to_np(to).dtype)
    eo.backward(ember.tensor(cot, device=device))
    to.backward(torch.tensor(cot))
    for i in (range(len(es)) if grads is None else grads):
        assert_close(es[i].grad, ts[i].grad, rtol, atol, f"grad of input {i}")


FOLD = [  # (unfold input shape, kernel_size, dilation, padding, stride)
    ((2, 3, 5, 6), 2, 1, 0, 1),
    ((2, 2, 6, 7), (2, 3), (1, 2), (1, 0), (2, 1)),
    ((3, 5, 6), 3, 1, 1, 2),  # unbatched
]


@pytest.mark.parametrize("shape,k,d,p,s", FOLD, ids=[str(i) for i in range(len(FOLD))])
def test_unfold_fold_match_torch(torch, device, shape, k, d, p, s):
    kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    compare(torch, device, lambda x: F.unfold(x, **kw),
            lambda x: torch.nn.functional.unfold(x, **kw), [rnd(*shape)])
    cols = torch.nn.functional.unfold(torch.zeros(shape), **kw).shape
    size = shape[-2:]
    compare(torch, device, lambda x: F.fold(x, size, **kw),
            lambda x: torch.nn.functional.fold(x, size, **kw), [rnd(*cols)])
    em, tm = nn.Fold(size, **kw), torch.nn.Fold(size, **kw)
    assert repr(em) == repr(tm)
    assert repr(nn.Unfold(**kw)) == repr(torch.nn.Unfold(**kw))
    compare(torch, device, em, tm, [rnd(*cols)])


def test_gradcheck_fold_unfold():
    x = ember.tensor(rnd(1, 2, 4, 5), requires_grad=True)
    assert gradcheck(lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1)), (x,))
    c = ember.tensor(rnd(1, 4, 8), requires_grad=True)
    assert gradgradcheck(lambda c: F.fold(c, (4, 5), 2, stride=(2, 1)) ** 2, (c,))


@pytest.mark.parametrize("dim,size,step", [(1, 3, 2), (-1, 2, 2), (0, 3, 1), (2, 1, 3),
                                           (1, 0, 1)])
def test_tensor_unfold_matches_torch(torch, device, dim, size, step):
    a = rnd(3, 7, 4)
    compare(torch, device, lambda x: x.unfold(dim, size, step),
            lambda x: x.unfold(dim, size, step), [a], 0, 0)
    e = ember.tensor(a, device=device)
    assert e.unfold(dim, size, step)._base is e  # a view, as torch's


def test_tensor_unfold_writes_reach_the_base(torch, device):
    """In-place through the windows (non-overlapping, step > size leaves gaps): base values
    and, under autograd, its gradient as torch's."""
    a = rnd(3, 8)
    e, t = ember.tensor(a, device=device), torch.tensor(a)
    e.unfold(1, 2, 3).mul_(10)
    t.unfold(1, 2, 3).mul_(10)
    assert_close(e, t, 0, 0)
    e = ember.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    ee, tt = e * 1, t * 1
    ee.unfold(-1, 2, 3).mul_(e[:, :1])
    tt.unfold(-1, 2, 3).mul_(t[:, :1])
    assert_close(ee, tt, 1e-12, 0)
    cot = rnd(3, 8)
    ee.backward(ember.tensor(cot, device=device))
    tt.backward(torch.tensor(cot))
    assert_close(e.grad, t.grad, 1e-12, 1e-12)


def test_tensor_unfold_scalar_and_gradcheck(torch):
    assert_close(ember.tensor(5.0).unfold(0, 1, 1), torch.tensor(5.0).unfold(0, 1, 1), 0, 0)
    x = ember.tensor(rnd(4, 6), requires_grad=True)
    assert gradcheck(lambda x: x.unfold(1, 3, 1), (x,))
    assert gradgradcheck(lambda x: x.unfold(0, 2, 1) ** 2, (x,))


def test_channel_shuffle_matches_torch(torch, device):
    compare(torch, device, lambda x: F.channel_shuffle(x, 3),
            lambda x: torch.nn.functional.channel_shuffle(x, 3), [rnd(2, 6, 3, 2)], 0, 0)
    assert repr(nn.ChannelShuffle(2)) == repr(torch.nn.ChannelShuffle(2))
    x = rnd(1, 4, 2, 2)
    assert_close(nn.ChannelShuffle(2)(ember.tensor(x, device=device)),
                 torch.nn.ChannelShuffle(2)(torch.tensor(x)), 0, 0)


INTERP = [  # (input shape, kwargs)
    ((2, 3, 5, 6), dict(size=(9, 4), mode="bicubic")),
    ((2, 3, 5, 6), dict(scale_factor=(2.5, 0.7), mode="bicubic", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(1, 7), mode="bicubic", align_corners=True)),
    ((2, 3, 9, 12), dict(size=(4, 5), mode="bicubic", antialias=True)),
    ((2, 3, 9, 12), dict(size=(4, 15), mode="bicubic", antialias=True, align_corners=True)),
    ((2, 3, 5, 6), dict(size=(2, 13), mode="bilinear", antialias=True)),
    ((2, 3, 5, 6), dict(scale_factor=0.4, mode="bilinear", antialias=True,
                        align_corners=True)),
    ((2, 3, 4, 5, 6), dict(size=(3, 7, 5), mode="trilinear")),
    ((2, 3, 4, 5, 6), dict(scale_factor=(1.5, 0.5, 2), mode="trilinear", align_corners=True)),
    ((2, 3, 4, 5, 6), dict(size=(3, 2, 5), mode="area")),
]


@pytest.mark.parametrize("shape,kw", INTERP, ids=[str(i) for i in range(len(INTERP))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_interpolate_matches_torch(torch, device, shape, kw, dtype):
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    compare(torch, device, lambda x: F.interpolate(x, **kw),
            lambda x: torch.nn.functional.interpolate(x, **kw), [rnd(*shape, dtype=dtype)],
            **tol)


def test_upsample_modules(torch, device):
    for kw in (dict(scale_factor=2, mode="bicubic"),
               dict(size=(3, 4, 5), mode="trilinear", align_corners=True)):
        em, tm = nn.Upsample(**kw), torch.nn.Upsample(**kw)
        assert repr(em) == repr(tm)
        shape = (1, 2, 3, 4) if kw["mode"] == "bicubic" else (1, 2, 2, 3, 4)
        compare(torch, device, em, tm, [rnd(*shape)])


def test_gradcheck_interpolate():
    x = ember.tensor(rnd(1, 2, 4, 5), requires_grad=True)
    assert gradcheck(lambda x: F.interpolate(x, size=(6, 3), mode="bicubic"), (x,))
    assert gradcheck(lambda x: F.interpolate(x, size=(2, 3), mode="bilinear",
                                             antialias=True), (x,))


GRID_2D = [(m, p, a) for m in ("bilinear", "nearest", "bicubic")
           for p in ("zeros", "border", "reflection") for a in (False, True)]
# the 3-d path is the 2-d one's code over three dims: fewer combinations
GRID_3D = [("bilinear", "zeros", False), ("bilinear", "reflection", True),
           ("bilinear", "border", False), ("nearest", "reflection", False)]
GRID = [((2, 3, 5, 6), (2, 4, 3, 2)) + c for c in GRID_2D] + \
    [((2, 2, 4, 3, 5), (2, 2, 3, 3, 3)) + c for c in GRID_3D]


@pytest.mark.parametrize("xs,gs,mode,padding_mode,align_corners", GRID,
                         ids=[f"{len(g[0]) - 2}d-{g[2]}-{g[3]}-{g[4]}" for g in GRID])
def test_grid_sample_matches_torch(torch, device, xs, gs, mode, padding_mode, align_corners):
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    grid = R.uniform(-1.3, 1.3, gs)  # reaches past the borders
    compare(torch, device, lambda x, g: F.grid_sample(x, g, **kw),
            lambda x, g: torch.nn.functional.grid_sample(x, g, **kw),
            [rnd(*xs), grid], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("size", [(2, 3, 5, 6), (2, 3, 4, 5, 6), (1, 1, 1, 4)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(torch, device, size, align_corners):
    k = len(size) - 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit-size grids with align_corners warn in both
        compare(torch, device, lambda t: F.affine_grid(t, size, align_corners=align_corners),
                lambda t: torch.nn.functional.affine_grid(t, size,
                                                          align_corners=align_corners),
                [rnd(size[0], k, k + 1)], 1e-12, 1e-12)


def test_spatial_transformer_round_trip(torch, device):
    """affine_grid into grid_sample, gradients to theta and the image, as torch's."""
    def run(L, F_, x, theta):
        grid = F_.affine_grid(theta, list(x.shape), align_corners=False)
        return F_.grid_sample(x, grid, align_corners=False, padding_mode="border")
    compare(torch, device, lambda x, t: run(ember, F, x, t),
            lambda x, t: run(torch, torch.nn.functional, x, t),
            [rnd(2, 3, 6, 5), np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]] * 2)],
            rtol=1e-8, atol=1e-9)


def test_gradcheck_grid_sample():
    x = ember.tensor(rnd(1, 1, 3, 3), requires_grad=True)
    g = ember.tensor(R.uniform(-0.9, 0.9, (1, 1, 3, 2)), requires_grad=True)
    assert gradcheck(lambda x, g: F.grid_sample(x, g, mode="bicubic", align_corners=False,
                                                padding_mode="reflection"), (x, g))


def test_grid_sample_warns_without_align_corners(torch):
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(ember.zeros(1, 1, 2, 2), ember.zeros(1, 1, 1, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ember.zeros(1, 2, 3), [1, 1, 2, 2])


def _x(L):
    return L.randn(2, 3, 4, 5)


def _g(L, *shape):
    return L.rand(*shape) * 2 - 1


ERRORS = [
    ("unfold dims", lambda L, F: F.unfold(L.randn(2, 3, 4, 5, 6), 2)),
    ("unfold too big", lambda L, F: F.unfold(_x(L), 7)),
    ("unfold kernel", lambda L, F: F.unfold(_x(L), 0)),
    ("unfold stride", lambda L, F: F.unfold(_x(L), 2, stride=0)),
    ("unfold padding", lambda L, F: F.unfold(_x(L), 2, padding=-1)),
    ("unfold dilation", lambda L, F: F.unfold(_x(L), 2, dilation=0)),
    ("fold divisible", lambda L, F: F.fold(L.randn(2, 13, 20), (5, 6), 2)),
    ("fold dims", lambda L, F: F.fold(L.randn(2, 12, 5, 6), (5, 6), 2)),
    ("fold blocks", lambda L, F: F.fold(L.randn(2, 12, 20), (1, 1), 2)),
    ("fold L", lambda L, F: F.fold(L.randn(2, 12, 21), (5, 6), 2)),
    ("shuffle divisible", lambda L, F: F.channel_shuffle(_x(L), 2)),
    ("shuffle groups", lambda L, F: F.channel_shuffle(_x(L), 0)),
    ("shuffle dims", lambda L, F: F.channel_shuffle(L.randn(3), 1)),
    ("tensor unfold size", lambda L, F: L.arange(8.0).unfold(0, 9, 1)),
    ("tensor unfold step", lambda L, F: L.arange(8.0).unfold(0, 2, 0)),
    ("tensor unfold negative", lambda L, F: L.arange(8.0).unfold(0, -1, 1)),
    ("tensor unfold dim", lambda L, F: L.arange(8.0).unfold(1, 2, 1)),
    pytest.param("bicubic 3d", lambda L, F: F.interpolate(L.randn(1, 2, 4), scale_factor=2,
                                                         mode="bicubic"),
                 marks=pytest.mark.torch_exact),
    ("bicubic long", lambda L, F: F.interpolate(L.ones(1, 2, 4, 4, dtype=L.long),
                                                scale_factor=2, mode="bicubic")),
    ("trilinear long", lambda L, F: F.interpolate(L.ones(1, 2, 4, 4, 3, dtype=L.long),
                                                  scale_factor=2, mode="trilinear")),
    ("antialias 5d", lambda L, F: F.interpolate(L.randn(1, 2, 4, 4, 4), scale_factor=2,
                                                mode="bilinear", antialias=True)),
    ("antialias nearest", lambda L, F: F.interpolate(_x(L), scale_factor=2, antialias=True)),
    ("grid mode", lambda L, F: F.grid_sample(_x(L), _g(L, 2, 3, 4, 2), mode="cubic")),
    ("grid padding", lambda L, F: F.grid_sample(_x(L), _g(L, 2, 3, 4, 2),
                                                padding_mode="wrap")),
    ("grid batch", lambda L, F: F.grid_sample(_x(L), _g(L, 1, 3, 4, 2), align_corners=True)),
    ("grid last dim", lambda L, F: F.grid_sample(_x(L), _g(L, 2, 3, 4, 3), align_corners=True)),
    ("grid unbatched", lambda L, F: F.grid_sample(_x(L)[0], _g(L, 3, 4, 2),
                                                  align_corners=True)),
    ("grid empty", lambda L, F: F.grid_sample(_x(L)[:, :, :0], _g(L, 2, 3, 4, 2),
                                              align_corners=True)),
    ("grid bicubic 3d", lambda L, F: F.grid_sample(L.randn(1, 2, 3, 4, 5),
                                                   _g(L, 1, 2, 3, 4, 3), mode="bicubic",
                                                   align_corners=True)),
    ("grid dtype", lambda L, F: F.grid_sample(_x(L), _g(L, 2, 3, 4, 2).double(),
                                              align_corners=True)),
    ("grid long", lambda L, F: F.grid_sample(_x(L).long(), _g(L, 2, 3, 4, 2).long(),
                                             align_corners=True)),
    ("affine dims", lambda L, F: F.affine_grid(L.randn(2, 2, 3), (2, 3, 4), False)),
    ("affine 2d theta", lambda L, F: F.affine_grid(L.randn(2, 3, 3), (2, 3, 4, 5), False)),
    ("affine 3d theta", lambda L, F: F.affine_grid(L.randn(2, 3, 3), (2, 3, 4, 5, 6), False)),
    ("affine long", lambda L, F: F.affine_grid(L.ones(2, 2, 3, dtype=L.long), (2, 3, 4, 5),
                                               False)),
    ("affine empty", lambda L, F: F.affine_grid(L.randn(2, 2, 3), (2, 3, 0, 5), False)),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[(e.values if hasattr(e, "values") else e)[0]
                                               for e in ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch, torch.nn.functional), lambda: fn(ember, F))


def test_empty_batch(torch, device):
    for fe, ft in [(lambda L, F_: F_.unfold(L.zeros(0, 2, 3, 3), 2),) * 2,
                   (lambda L, F_: F_.fold(L.zeros(0, 8, 4), (3, 3), 2),) * 2,
                   (lambda L, F_: F_.grid_sample(L.zeros(0, 2, 3, 3), L.zeros(0, 2, 2, 2),
                                                 align_corners=True),) * 2]:
        assert tuple(fe(ember, F).shape) == tuple(ft(torch, torch.nn.functional).shape)
