"""The CuPy backend's own pieces against the generic defaults they replace: its array-API
namespace (checked here over numpy given CuPy's sort/argsort signatures) and, on a GPU,
the one-launch kernels (im2col, col2im, max pooling and its gradient, Adam) against ``ember.backends._conv`` / ``Backend.adam_update`` run on the same CuPy arrays."""
from __future__ import annotations

import importlib.util
import itertools
import types

import numpy as np
import pytest

from ember.backends import Backend
from ember.backends import _conv as generic
from ember_cupy._xp import namespace  # importable without CuPy


def _cupy_like_numpy():
    """numpy with CuPy's sort/argsort: no ``stable`` keyword, always stable."""
    mod = types.ModuleType("cupy_like")
    mod.__dict__.update(vars(np))
    mod.argsort = lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable")
    mod.sort = lambda a, axis=-1: np.sort(a, axis=axis, kind="stable")
    return mod


def test_namespace_sorts_with_the_standards_signature():
    xp = namespace(_cupy_like_numpy())
    assert xp.sum is np.sum and xp.float32 is np.float32
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (4, 9)).astype(np.float32)
    x[1, 2] = np.nan
    for axis, desc in itertools.product((0, 1, -1), (False, True)):
        idx = xp.argsort(x, axis=axis, descending=desc, stable=True)
        for line_x, line_i in zip(np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis]),
                                  np.moveaxis(idx, axis, -1).reshape(-1, x.shape[axis])):
            # the oracle: Python's stable sort; NaN last ascending, first descending, equal
            # values in their original order either way
            nan = [bool(np.isnan(v)) for v in line_x]
            val = [0.0 if n else float(v) for n, v in zip(nan, line_x)]
            want = sorted(range(len(line_x)), key=(lambda i: (not nan[i], -val[i])) if desc
                          else (lambda i: (nan[i], val[i])))
            assert list(line_i) == want
        srt = xp.sort(x, axis=axis, descending=desc)
        assert np.array_equal(srt, np.take_along_axis(x, idx, axis), equal_nan=True)


cuda = pytest.mark.cuda
GEOMETRIES = [  # (N, C, H, W), kernel, stride, padding, dilation
    ((2, 3, 7, 6), (3, 3), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 9, 8), (5, 5), (1, 1), (2, 2), (1, 1)),
    ((2, 4, 10, 11), (3, 2), (2, 3), (1, 0), (2, 1)),
    ((1, 1, 5, 5), (1, 1), (2, 2), (0, 0), (1, 1)),
]


def _cupy_backend():
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy is not installed")
    from ember.backends import registry
    return registry.resolve("cuda")


@cuda
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_kernels_match_the_generic_defaults(geometry, dtype):
    import cupy
    be = _cupy_backend()
    shape, kernel, stride, padding, dilation = geometry
    x = cupy.asarray(np.random.default_rng(1).standard_normal(shape).astype(dtype))
    out_hw = tuple(generic.out_size(n, k, s, p, d)
                   for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation))
    cols = be.im2col(x, kernel, stride, padding, dilation, out_hw)
    want = Backend.im2col(be, x, kernel, stride, padding, dilation, out_hw)
    assert cols.shape == want.shape and bool(cupy.all(cols == want))
    back = be.col2im(cols, shape[2:], kernel, stride, padding, dilation)
    want = Backend.col2im(be, cols, shape[2:], kernel, stride, padding, dilation)
    cupy.testing.assert_allclose(back, want, rtol=1e-6 if dtype == "float32" else 1e-12)
    for ceil in (False, True):
        xm = x.copy()
        xm[0, 0, 1, 1] = cupy.nan
        xm[..., 2, :] = 0.5  # ties: the first maximum's index is PyTorch's
        got = be.max_pool2d(xm, kernel, stride, padding, dilation, ceil)
        want = Backend.max_pool2d(be, xm, kernel, stride, padding, dilation, ceil)
        assert bool(cupy.array_equal(got[0], want[0], equal_nan=True))
        # indices agree except in windows with NaN (PyTorch names the last NaN there)
        ok = ~cupy.isnan(got[0])
        assert bool(cupy.all((got[1] == want[1]) | ~ok))
        g = cupy.asarray(np.random.default_rng(3).standard_normal(got[0].shape).astype(dtype))
        back = be.max_pool2d_backward(g, want[1], shape)
        cupy.testing.assert_allclose(back, Backend.max_pool2d_backward(be, g, want[1], shape),
                                     rtol=1e-6, atol=1e-6)


@cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_kernel_matches_the_generic_update(dtype):
    import cupy
    be = _cupy_backend()
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(1000).astype(dtype) for _ in range(4)]
    a, g, m, v = (cupy.asarray(t) for t in arrays)
    v = abs(v)
    args = (0.9, 0.999, 1e-3 / (1 - 0.9 ** 3), (1 - 0.999 ** 3) ** 0.5, 1e-8)
    want = Backend.adam_update(be, a.copy(), g, m.copy(), v.copy(), *args)
    got = be.adam_update(a, g, m, v, *args)
    assert got[0] is a and got[1] is m and got[2] is v  # in place
    tol = 1e-6 if dtype == "float32" else 1e-13
    for w, o in zip(want[:3], got[:3]):
        cupy.testing.assert_allclose(o, w, rtol=tol, atol=tol)

