"""The numpy backend's convolution, pooling and batch-norm paths chosen for speed (issues
15 and 20) against PyTorch: full-width against exact im2col windows (small maps), the
flipped-weight against the col2im input gradient, max pooling with padding, ceil mode and
dilation (windows of -inf included), and batch norm's centered statistics. Each path is
forced both ways through its module flag, so both stay checked on any map size."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def _conv_both(lib, dev, x, w, g, **kw):
    tx = lib.tensor(x, requires_grad=True, **dev)
    tw = lib.tensor(w, requires_grad=True, **dev)
    y = lib.nn.functional.conv2d(tx, tw, **kw)
    y.backward(lib.tensor(g, **dev))
    return [np.asarray(t.detach().cpu().numpy()) for t in (y, tx.grad, tw.grad)]


@pytest.mark.parametrize("full_width_min", [1, 10 ** 6])
@pytest.mark.parametrize("flip_by_size", [False, True])
@pytest.mark.parametrize("case", [
    # (x shape, w shape, padding, dilation): 2x2 maps with more channels than columns
    # (flipped), with over FLIP_WEIGHT_RATIO times more (the col2im input gradient by
    # size), a wide odd map, a dilated 5x5
    ((3, 12, 2, 2), (12, 12, 3, 3), (1, 1), (1, 1)),
    ((1, 40, 2, 2), (40, 40, 3, 3), (1, 1), (1, 1)),
    ((2, 3, 7, 19), (4, 3, 3, 3), (1, 1), (1, 1)),
    ((2, 4, 9, 10), (4, 4, 5, 3), (2, 1), (2, 1)),
])
def test_conv_width_and_input_gradient_paths_match_torch(device, torch, monkeypatch,
                                                         full_width_min, flip_by_size, case):
    from ember_numpy import conv
    monkeypatch.setattr(conv, "FULL_WIDTH_MIN", full_width_min)
    monkeypatch.setattr(conv, "EXACT_ROWS_MIN", 0)  # exact windows whatever the channels
    monkeypatch.setattr(conv, "FLIP_BY_SIZE", flip_by_size)
    # both weight-gradient orientations (columns @ g^T; g @ columns^T from many channels)
    monkeypatch.setattr(conv, "WEIGHT_ROWS_MIN", 1 if flip_by_size else 10 ** 6)
    monkeypatch.setattr(conv, "CHUNK_ELEMENTS", 1500)  # a few chunks and a remainder
    xs, ws, padding, dilation = case
    rng = np.random.default_rng(11)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    kw = dict(padding=padding, dilation=dilation)
    g = rng.standard_normal(tuple(torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w), **kw).shape)).astype(np.float32)
    want = _conv_both(torch, {}, x, w, g, **kw)
    got = _conv_both(ember, {"device": device}, x, w, g, **kw)
    for e, t in zip(got, want):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)


def test_numpy_conv_weight_gradient_is_contiguous(torch):
    """The weight gradient comes back in the weight's own layout (a transposed one made
    the optimizer's update over it ten times slower), in either orientation."""
    from ember_numpy import conv
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    g = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    want = torch.nn.grad.conv2d_weight(torch.tensor(x), (4, 3, 3, 3), torch.tensor(g),
                                       padding=1).numpy()
    for rows_min in (1, 10 ** 6):
        conv.WEIGHT_ROWS_MIN, old = rows_min, conv.WEIGHT_ROWS_MIN
        try:
            gw = conv.conv2d_weight(x, g, (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1)
        finally:
            conv.WEIGHT_ROWS_MIN = old
        assert gw.flags.c_contiguous
        np.testing.assert_allclose(gw, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", [
    (3, 2, 1, 1, False),  # resnet's stem pooling
    (3, 2, 1, 1, True),
    (2, 1, 1, 2, False),  # dilated: a -inf window names its first element of x
    (3, 2, 0, 1, True),   # ceil mode without padding
    (2, 2, 0, 1, False),
])
def test_max_pool_padding_ceil_dilation_match_torch(device, torch, kernel, stride, padding,
                                                    dilation, ceil_mode):
    rng = np.random.default_rng(12)
    x = np.round(rng.standard_normal((2, 3, 7, 9)), 1).astype(np.float32)  # ties
    x[0, 0, :2] = -np.inf   # windows that are all -inf (padding included)
    x[1, 1] = -np.inf
    g = None
    res = []
    for lib, dev in ((torch, {}), (ember, {"device": device})):
        tx = lib.tensor(x, requires_grad=True, **dev)
        out, idx = lib.nn.functional.max_pool2d(tx, kernel, stride, padding, dilation,
                                                ceil_mode, return_indices=True)
        if g is None:
            g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
        out.backward(lib.tensor(g, **dev))
        res.append([np.asarray(t.detach().cpu().numpy()) for t in (out, idx, tx.grad)])
    (to, ti, tg), (eo, ei, eg) = res
    np.testing.assert_array_equal(eo, to)
    np.testing.assert_array_equal(ei, ti)
    np.testing.assert_allclose(eg, tg, rtol=1e-6, atol=1e-6)


def test_batch_norm_centered_statistics_match_torch(device, torch):
    """Training batch norm keeps x - mean and folds invstd into per-channel factors (sums
    of g·(x - mean) by einsum): values, all gradients and running statistics as PyTorch's,
    in float32 on data whose mean is large against its spread."""
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((6, 4, 5, 7)) * 0.5 + 20).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    res = []
    for lib, dev in ((torch, {}), (ember, {"device": device})):
        bn = lib.nn.BatchNorm2d(4)
        bn = bn.to(dev["device"]) if dev else bn
        with lib.no_grad():
            bn.weight.copy_(lib.tensor([0.5, 1.0, 1.5, -2.0], **dev))
            bn.bias.copy_(lib.tensor([0.1, -0.2, 0.3, 0.0], **dev))
        tx = lib.tensor(x, requires_grad=True, **dev)
        y = bn(tx)
        y.backward(lib.tensor(g, **dev))
        res.append([np.array(t.detach().cpu().numpy(), copy=True) for t in (
            y, tx.grad, bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var)])
    for e, t in zip(*reversed(res)):
        np.testing.assert_allclose(e, t, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("hw,kernel,ceil_mode,divisor", [
    ((16, 16), 16, False, None),      # a ResNet head's global average pooling
    ((7, 9), (2, 3), False, None),    # windows tiling the top-left, a remainder dropped
    ((7, 9), 2, True, None),          # ceil mode past the edge: the general path
    ((6, 6), 3, False, 5),            # divisor_override
])
def test_tiling_avg_pool_matches_torch(device, torch, hw, kernel, ceil_mode, divisor):
    """Average pooling whose windows tile the input (stride = kernel, no padding) is a
    reshape and one reduction, its backward one broadcast: values and gradients (and the
    adaptive form over it) as PyTorch's."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 3) + hw).astype(np.float32)
    res = []
    for lib, dev in ((torch, {}), (ember, {"device": device})):
        tx = lib.tensor(x, requires_grad=True, **dev)
        y = lib.nn.functional.avg_pool2d(tx, kernel, ceil_mode=ceil_mode,
                                         divisor_override=divisor)
        g = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(np.float32)
        y.backward(lib.tensor(g, **dev))
        z = lib.nn.functional.adaptive_avg_pool2d(lib.tensor(x, **dev), 1)
        res.append([np.asarray(t.detach().cpu().numpy()) for t in (y, tx.grad, z)])
    for e, t in zip(*reversed(res)):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [
    # (x shape, w shape, stride, padding): per-sample products on a wide map, one product
    # per chunk on a small map with many channels (both weight-gradient orientations),
    # a strided layer whose input gradient adds the taps back (col2im)
    ((5, 3, 9, 18), (4, 3, 3, 3), (1, 1), (1, 1)),
    ((4, 8, 3, 3), (300, 8, 3, 3), (1, 1), (1, 1)),
    ((3, 4, 8, 8), (6, 4, 3, 3), (2, 2), (1, 1)),
])
def test_numpy_conv_batch_threads_match_one_thread(torch, monkeypatch, case):
    """At 2 threads a convolution's batch is split across the backend's threads (BLAS at
    one thread inside): forward, input and weight gradients equal the unsplit kernels'
    and torch's, uneven pieces and several chunks per piece included."""
    from ember_numpy import _blas, _threads, conv
    if not _blas.available():
        pytest.skip("numpy's BLAS is not a pthreads OpenBLAS")
    monkeypatch.setattr(conv, "BATCH_MIN_MACS", 1)
    monkeypatch.setattr(conv, "CHUNK_ELEMENTS", 700)
    monkeypatch.setattr(conv, "FULL_WIDTH_MIN", 1)  # full-width rows, compacted per chunk
    xs, ws, stride, padding = case
    rng = np.random.default_rng(15)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    want_y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=stride,
                                        padding=padding).numpy()
    g = rng.standard_normal(want_y.shape).astype(np.float32)

    def kernels():
        y = conv.conv2d_save(x, w, stride, padding, (1, 1), 1)[0].copy()
        gx = conv.conv_transpose2d(g, w, stride, padding, xs[2:], (1, 1), 1).copy()
        gw = conv.conv2d_weight(x, g, ws, stride, padding, (1, 1), 1)
        return y, gx, gw
    old = _threads.num_threads()
    try:
        _threads._STATE["n"] = 1
        one = kernels()
        _threads._STATE["n"] = 2
        calls = []
        monkeypatch.setattr(_threads, "parallel", lambda fn, b, p=_threads.parallel: (
            calls.append(len(b)), p(fn, b))[1])
        split = kernels()
    finally:
        _threads._STATE["n"] = old
    assert 2 in calls  # the batch really went through in pieces
    for a, b in zip(one, split):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(split[0], want_y, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("small_weight", [0, 10 ** 6])
def test_numpy_conv_forward_layouts_match_torch(torch, monkeypatch, compact, small_weight):
    """The forward's full-width rows come back as a strided view or compacted chunk by
    chunk, from one product per sample or per chunk: the same values, and the compact
    output is contiguous."""
    from ember_numpy import conv
    monkeypatch.setattr(conv, "COMPACT", compact)
    monkeypatch.setattr(conv, "SMALL_WEIGHT", small_weight)
    monkeypatch.setattr(conv, "CHUNK_ELEMENTS", 900)
    rng = np.random.default_rng(16)
    x = rng.standard_normal((5, 3, 6, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    y = conv.conv2d_save(x, w, (1, 1), (0, 1), (1, 1), 1)[0]
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=(0, 1))
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-4, atol=1e-4)
    if compact:
        assert y.flags.c_contiguous


@pytest.mark.parametrize("kernel,stride,padding", [((3, 3), (2, 2), (1, 1)), ((2, 2), (2, 2), (0, 0))])
def test_numpy_max_pool_batch_threads_match_one_thread(monkeypatch, kernel, stride, padding):
    """Max pooling split over the batch at 2 threads gives the 1-thread maxima and
    indices (ties and windows of -inf included); a NaN in any piece still defers to the
    generic kernel (None)."""
    from ember.backends._conv import pool_geometry
    from ember_numpy import _threads, conv
    rng = np.random.default_rng(17)
    x = np.round(rng.standard_normal((5, 3, 8, 7)), 1).astype(np.float32)
    x[1, 2] = -np.inf
    out_hw, extra = pool_geometry(x.shape[2:], kernel, stride, padding, (1, 1), False)
    args = (kernel, stride, padding, (1, 1), out_hw, extra)
    monkeypatch.setattr(_threads, "MIN_ELEMENTS", 16)
    old = _threads._STATE["n"]
    try:
        _threads._STATE["n"] = 1
        one = conv.max_pool2d(x, *args)
        _threads._STATE["n"] = 2
        two = conv.max_pool2d(x, *args)
        x[4, 0, 0, 0] = np.nan
        assert conv.max_pool2d(x, *args) is None
    finally:
        _threads._STATE["n"] = old
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(two[1], one[1])


def test_numpy_blas_single_restores_the_thread_count():
    """``_blas.single()`` runs numpy's OpenBLAS at one thread inside the block and restores
    its count after, an exception included."""
    from ember_numpy import _blas
    if not _blas.available():
        pytest.skip("numpy's BLAS is not a pthreads OpenBLAS")
    set_, get = _blas._find()
    before = get()
    set_(2)
    try:
        with _blas.single():
            assert get() == 1
        assert get() == 2
        with pytest.raises(ValueError):
            with _blas.single():
                raise ValueError
        assert get() == 2
    finally:
        set_(before)
