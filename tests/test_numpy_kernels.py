"""The numpy backend's speed kernels (issue 20) against PyTorch and against the generic
defaults they replace: the vectorized float32 erf, scipy-backed special functions, the
blocked in-place Adam/axpy updates, chunked stride-1 convolutions, and thread counts
(``set_num_threads`` reaching numpy's BLAS; ``OMP_NUM_THREADS``; DataLoader workers)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.backends import Backend


def test_erf_float32_against_torch_and_float64(nb, torch):
    pytest.importorskip("scipy")
    from ember_numpy.special import erf_float32
    x = np.concatenate([np.linspace(-12, 12, 200_001, dtype=np.float32),
                        np.logspace(-38, 1, 4001, dtype=np.float32),
                        -np.logspace(-38, 1, 4001, dtype=np.float32)])
    got = erf_float32(x)
    ref = np.asarray(torch.erf(torch.tensor(x, dtype=torch.float64)), dtype=np.float64)
    assert got.dtype == np.float32
    assert np.abs(got - ref).max() < 1.5e-7  # 2 ulp near 0.84; torch's own: 3e-8
    tail = np.abs(x) > 2  # near ±1 as accurate as torch's float32 erf (3.2e-8 there)
    torch32 = torch.erf(torch.tensor(x)).numpy()
    assert np.abs(got - ref)[tail].max() <= max(4e-8, np.abs(torch32 - ref)[tail].max())
    tiny = np.abs(x) < 0.5
    assert (np.abs(got[tiny] - ref[tiny]) / np.maximum(np.abs(ref[tiny]), 1e-45)).max() < 3e-7
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 20.0, -20.0], np.float32)
    out = erf_float32(special)
    assert np.isnan(out[0]) and list(out[1:3]) == [1.0, -1.0]
    assert np.signbit(out[4]) and not np.signbit(out[3]) and out[3] == 0
    assert out[5] > 0 and list(out[6:]) == [1.0, -1.0]


def test_erf_float32_stays_ours_after_a_float64_call(nb):
    """A float64 erf (scipy's) must not shadow the float32 kernel for later calls."""
    pytest.importorskip("scipy")
    from ember_numpy.special import erf_float32
    x = np.linspace(-3, 3, 1001, dtype=np.float32)
    nb.special.erf(x.astype(np.float64))
    nb.special.erf(x.astype(np.float16))
    assert np.array_equal(nb.special.erf(x), erf_float32(x))


def test_erf_float32_threads_split_the_same(nb):
    pytest.importorskip("scipy")
    from ember_numpy.special import erf_float32
    x = np.random.default_rng(0).standard_normal(300_000).astype(np.float32)
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        one = erf_float32(x)
        ember.set_num_threads(3)
        three = erf_float32(x)
    finally:
        ember.set_num_threads(before)
    assert np.array_equal(one, three)


def test_gelu_kernels_equal_the_generic_default(nb):
    pytest.importorskip("scipy")
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((3, 70_001)) * 3).astype(np.float32)  # blocks, threads
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    g = rng.standard_normal(x.shape).astype(np.float32)
    want_y, want_cdf = Backend.gelu(nb, x)
    want_gx = Backend.gelu_backward(nb, g, x, want_cdf)
    before = ember.get_num_threads()
    try:
        for threads in (1, 2):
            ember.set_num_threads(threads)
            y, cdf = nb.gelu(x)
            gx = nb.gelu_backward(g, x, cdf)
            for w, o in ((want_y, y), (want_cdf, cdf), (want_gx, gx)):
                assert o.dtype == np.float32 and o.shape == x.shape
                assert np.array_equal(w, o, equal_nan=True)  # bit for bit: same formulas
    finally:
        ember.set_num_threads(before)
    xt = x.T  # not contiguous: the generic formulas
    assert np.array_equal(nb.gelu(xt)[0], Backend.gelu(nb, xt)[0], equal_nan=True)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv", "special.erfcx",
                                  "special.i1e", "special.ndtri"])
def test_native_special_functions_match_torch(device, torch, name):
    vals = [0.0, -0.0, -1.0, -2.5, -np.inf, np.inf, np.nan, 1e-30, 0.5, 3.7, 25.0, -25.0]
    if name in ("erfinv", "special.ndtri"):
        vals = [0.0, 1.0, -1.0, 0.5, -0.99999, 0.999, 1e-7, 2.0, np.nan, 0.3]
    from capabilities import missing_dtypes
    fe = ember.special if name.startswith("special.") else ember
    ft = torch.special if name.startswith("special.") else torch
    for dt in ("float32", "float64", "float16"):
        if dt in missing_dtypes(device)[0]:
            continue
        e = ember.tensor(vals, dtype=getattr(ember, dt), device=device)
        # float16: torch has no half kernel for some; its float32 values rounded to half
        t = torch.tensor(vals, dtype=getattr(torch, dt))
        t = t.float() if dt == "float16" else t
        got = getattr(fe, name.split(".")[-1])(e).cpu().numpy().astype(np.float64)
        want = getattr(ft, name.split(".")[-1])(t).to(getattr(torch, dt)).numpy()
        want = want.astype(np.float64)
        tol = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-12}[dt]
        np.testing.assert_allclose(got, want, rtol=tol, atol=0, equal_nan=True,
                                   err_msg=f"{name} {dt}")


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_equals_the_generic_default(nb, amsgrad):
    rng = np.random.default_rng(1)
    n = 300_001  # several blocks, and a split over threads
    a, g, m = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    v, vmax = (np.abs(rng.standard_normal(n)).astype(np.float32) for _ in range(2))
    want = Backend.adam_update(nb, a.copy(), g, m.copy(), v.copy(), 0.9, 0.999, 0.01, 0.3,
                               1e-8, vmax.copy() if amsgrad else None)
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(2)
        got = nb.adam_update(a.copy(), g, m.copy(), v.copy(), 0.9, 0.999, 0.01, 0.3, 1e-8,
                             vmax.copy() if amsgrad else None)
    finally:
        ember.set_num_threads(before)
    for w, o in zip(want, got):
        assert (w is None) == (o is None)
        if w is not None:
            assert np.array_equal(w, o)  # bit for bit: same formulas, same order


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_statistics_as_matvec_match_torch(device, torch, dtype):
    """layer_norm's row means and weight/bias gradients as BLAS matrix-vector products
    (mutable backends), incl. empty inputs and several normalized dims."""
    tol = 1e-5 if dtype == "float32" else 1e-12
    for shape, ns in [((0, 5), (5,)), ((3, 0, 4), (4,)), ((2, 3, 4, 5), (4, 5)),
                      ((7, 6), (6,))]:
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        g = np.random.default_rng(1).standard_normal(shape).astype(dtype)
        got = []
        for lib, kw in ((ember, {"device": device}), (torch, {})):
            X = lib.tensor(x, requires_grad=True, **kw)
            w = lib.full(ns, 1.5, dtype=getattr(lib, dtype), requires_grad=True, **kw)
            b = lib.full(ns, 0.1, dtype=getattr(lib, dtype), requires_grad=True, **kw)
            y = lib.nn.functional.layer_norm(X, ns, w, b)
            y.backward(lib.tensor(g, **kw))
            got.append([np.asarray(t.detach().cpu().numpy()) for t in (y, X.grad, w.grad, b.grad)])
        for e, t in zip(*got):
            assert e.shape == t.shape
            np.testing.assert_allclose(e, t, atol=tol, rtol=tol)


def test_axpy_in_place(nb):
    y = np.arange(100_000, dtype=np.float32)
    x = np.ones(100_000, np.float32)
    want = y - 0.5 * x
    out = nb.axpy_(y, x, -0.5)
    assert out is y and np.array_equal(y, want)
    z = np.zeros((3, 4), np.float32)  # non-contiguous operand: the whole-array path
    assert np.array_equal(nb.axpy_(z, np.ones((4, 3), np.float32).T, 2.0), np.full((3, 4), 2))


def test_chunked_conv_matches_torch(device, torch, monkeypatch):
    from ember_numpy import conv
    monkeypatch.setattr(conv, "CHUNK_ELEMENTS", 3000)  # several chunks and a remainder
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    g = rng.standard_normal((5, 6, 9, 8)).astype(np.float32)
    ex = ember.tensor(x, device=device, requires_grad=True)
    ew = ember.tensor(w, device=device, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ey = ember.nn.functional.conv2d(ex, ew, padding=1, groups=2, dilation=(1, 1))
    ty = torch.nn.functional.conv2d(tx, tw, padding=1, groups=2)
    ey.backward(ember.tensor(g, device=device))
    ty.backward(torch.tensor(g))
    for e, t in ((ey, ty), (ex.grad, tx.grad), (ew.grad, tw.grad)):
        np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=1e-4,
                                   atol=1e-4)


def test_set_num_threads_reaches_numpy_blas(nb):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas)
        from ember_numpy import _threads
        assert _threads.num_threads() == 1
    finally:
        ember.set_num_threads(before)


def test_scipys_own_blas_stays_at_one_thread_while_numpys_follows():
    """The numpy backend's axpy loads scipy's BLAS; where that is a second library beside
    numpy's, its worker pool stays at one thread (a second spinning pool slowed whole
    training steps at 2 threads), while numpy's BLAS follows set_num_threads. In a fresh
    process, so the libraries load in the order a script loads them."""
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy")
    code = """if True:
        import numpy as np, ember, threadpoolctl
        from ember_numpy import optim
        ember.set_num_threads(2)
        np_blas = {i["filepath"] for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas"}  # numpy's, loaded before scipy's
        y = np.ones(1 << 21, np.float32)
        optim.axpy_(y, np.ones_like(y), 2.0)
        assert y[0] == 3.0 and y[-1] == 3.0
        ember.set_num_threads(2)  # re-applied: the pinned library stays pinned
        for i in threadpoolctl.threadpool_info():
            if i["user_api"] != "blas":
                continue
            want = 2 if i["filepath"] in np_blas else 1
            assert i["num_threads"] == want, (i["filepath"], i["num_threads"])
        print("ok")
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_get_num_threads_reads_omp_num_threads():
    code = "import ember; print(ember.get_num_threads())"
    env = {**os.environ, "OMP_NUM_THREADS": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "3"


class _Threads(ember.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return ember.get_num_threads()


def test_dataloader_workers_use_one_thread():
    loader = ember.utils.data.DataLoader(_Threads(), batch_size=1, num_workers=1)
    assert [int(b[0]) for b in loader] == [1, 1]


def test_threaded_conv_matches_single_thread(nb):
    from ember_numpy import conv
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)  # chunks big enough to split
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    g = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    before = ember.get_num_threads()
    res = []
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            y = np.array(conv.conv2d_save(x, w, (1, 1), (1, 1), (1, 1), 1)[0])
            gx = np.array(conv.conv_transpose2d(g, w, (1, 1), (1, 1), (32, 32), (1, 1), 1))
            gw = conv.conv2d_weight(x, g, w.shape, (1, 1), (1, 1), (1, 1), 1)
            res.append((y, gx, gw))
    finally:
        ember.set_num_threads(before)
    # the weight gradient (sums of 4096 products, up to ~100) is summed per batch piece at
    # 2 threads, in another order than one pass: float32 rounding, not a tighter bound
    for a, b, atol in zip(*res, (1e-5, 1e-5, 2e-4)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol)


@pytest.mark.parametrize("case", [
    # (x shape, w shape, stride, padding, dilation, groups)
    ((3, 4, 11, 10), (6, 2, 3, 3), (2, 2), (1, 1), (1, 1), 2),
    ((2, 3, 12, 9), (4, 3, 3, 2), (2, 1), (0, 1), (1, 2), 1),
    ((2, 3, 10, 11), (5, 3, 1, 1), (3, 2), (0, 0), (1, 1), 1),
    ((3, 5, 9, 8), (5, 5, 3, 3), (1, 1), (2, 1), (2, 1), 1),  # the flipped transposed conv
])
def test_strided_conv_kernels_match_torch(device, torch, monkeypatch, case):
    """Every stride goes through the numpy backend's im2col kernels (exact windows, x read
    in place when unpadded, col2im by strided adds); chunks of a few samples."""
    from ember_numpy import conv
    monkeypatch.setattr(conv, "CHUNK_ELEMENTS", 2000)
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    res = []
    for lib, dev in ((torch, {}), (ember, {"device": device})):
        tx = lib.tensor(x, requires_grad=True, **dev)
        tw = lib.tensor(w, requires_grad=True, **dev)
        y = lib.nn.functional.conv2d(tx, tw, **kw)
        y.backward(lib.tensor(g, **dev))
        # the transposed convolution with an output_padding where the stride allows one
        op = tuple(min(s - 1, 1) for s in stride)
        z = lib.nn.functional.conv_transpose2d(lib.tensor(g, **dev), tw.detach(), stride=stride,
                                               padding=padding, output_padding=op,
                                               dilation=dilation, groups=groups)
        res.append([np.asarray(t.detach().cpu().numpy()) for t in (y, tx.grad, tw.grad, z)])
    for t, e in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)


def test_masked_fill_bit_select_equals_where(nb):
    """The numpy backend's branch-free masked_fill gives np.where's bits exactly (NaN,
    -0.0, infinities, integers), on strided inputs too, and declines broadcast masks."""
    rng = np.random.default_rng(5)
    for dt in (np.float32, np.float64, np.int32, np.int64):
        x = (rng.standard_normal((70, 90)) * 100).astype(dt)
        if dt in (np.float32, np.float64):
            x[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
        mask = rng.random((70, 90)) < 0.5
        values = (0, -7, np.inf, -0.0, np.nan) if dt in (np.float32, np.float64) else (0, -7, 3)
        for v in values:
            want = np.where(mask, np.asarray(v, dt), x)
            for a, m in ((x, mask), (x.T, mask.T)):
                got = nb.masked_fill(a, m, np.asarray(v, dt))
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(np.ascontiguousarray(got).view(np.uint8),
                                              np.ascontiguousarray(
                                                  want if a is x else want.T).view(np.uint8))
    from ember_numpy.select import masked_fill
    assert masked_fill(x, np.broadcast_to(mask[:1], mask.shape), 0) is None


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_fused_norm_matches_torch_to_second_order(device, torch, kind):
    """batch_norm/layer_norm with weight and bias are one fused node; its closed-form
    backward and (under create_graph) its Tensor-op backward agree with PyTorch."""
    rng = np.random.default_rng(6)
    shape = (4, 3, 5, 2) if kind == "batch" else (3, 4, 6)
    c = shape[1] if kind == "batch" else shape[-1]
    x = rng.standard_normal(shape) * 3 + 2
    w, b, g = rng.standard_normal(c), rng.standard_normal(c), rng.standard_normal(shape)
    res = []
    for lib, dev in ((torch, {}), (ember, {"device": device})):
        dt = lib.float64
        xt, wt, bt = (lib.tensor(a, dtype=dt, requires_grad=True, **dev) for a in (x, w, b))
        F = lib.nn.functional
        y = (F.batch_norm(xt, None, None, wt, bt, training=True) if kind == "batch"
             else F.layer_norm(xt, (c,), wt, bt))
        gx, gw, gb = lib.autograd.grad(y, (xt, wt, bt), lib.tensor(g, dtype=dt, **dev),
                                       create_graph=True)
        hx, hw = lib.autograd.grad((gx * gx).sum() + (gw * gb).sum(), (xt, wt))
        res.append([np.asarray(t.detach().cpu().numpy()) for t in (y, gx, gw, gb, hx, hw)])
        assert type(y.grad_fn).__name__ == ("NativeBatchNormBackward0" if kind == "batch"
                                            else "NativeLayerNormBackward0")
    for t, e in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-7, atol=1e-8)
