"""The numpy backend's convolution and max-pooling kernels: ember's generic im2col
defaults, laid out for numpy.

Stride-1 convolutions use a "full-width" im2col: the padded input is one flat row per
(sample, channel), so the patch rows for kernel tap (i, j) are one contiguous run starting
at ``i·dh·Wp + j·dw`` (Wp the padded width). One ``as_strided`` view and one contiguous copy
build the columns; the ``Wp - OW`` extra columns per output row compute values that are
dropped (a view, no copy). Columns are channel-major, (C·kh·kw, N·OH·Wp), so each of the
forward, the weight gradient and the input gradient is one large matmul (numpy's batched
matmul over N small ones costs up to 40% more), and results are returned as transposed
views rather than copied. The adjoint (col2im, for the input gradient) adds the same
contiguous runs back, the extra columns carrying zeros. Other strides fall back to the
generic kernels.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["conv2d_save", "conv_transpose2d", "conv2d_weight", "max_pool2d",
           "max_pool2d_backward"]


def _cols(x, kernel, padding, dilation, groups):
    """(columns (groups, C/groups·kh·kw, N·OH·Wp), OH, OW, Wp) for a stride-1 conv."""
    n, c, h, w = x.shape
    (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    flat = np.zeros((n, c, hp * wp + dw * (kw - 1)), dtype=x.dtype)  # zeros: the padding
    flat[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w] = x
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    s0, s1, s2 = flat.strides
    view = as_strided(flat, (c, kh, kw, n, oh * wp), (s1, dh * wp * s2, dw * s2, s0, s2),
                      writeable=False)
    cols = np.ascontiguousarray(view).reshape(groups, (c // groups) * kh * kw, n * oh * wp)
    return cols, oh, ow, wp


def _widen(g, wp: int):
    """g (N, C, H, W) as (C, N, H, wp), zeros in the extra columns."""
    n, c, h, w = g.shape
    out = np.zeros((c, n, h, wp), dtype=g.dtype)
    out[:, :, :, :w] = g.transpose(1, 0, 2, 3)
    return out


def conv2d_save(x, w, padding, dilation, groups):
    """Stride-1 conv2d: (output (N, O, OH, OW), the columns for :func:`conv2d_weight`)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    cols, oh, ow, wp = _cols(x, (kh, kw), padding, dilation, groups)
    y = np.matmul(w.reshape(groups, o // groups, cg * kh * kw), cols)
    return y.reshape(o, n, oh, wp)[:, :, :, :ow].transpose(1, 0, 2, 3), cols


def conv2d_weight(x, g, weight_shape, padding, dilation, groups, cols=None):
    """Stride-1 weight gradient: the output gradient widened to Wp against the columns."""
    o, cg, kh, kw = weight_shape
    if cols is None:
        cols = _cols(x, (kh, kw), padding, dilation, groups)[0]
    n, oh = g.shape[0], g.shape[2]
    gm = _widen(g, cols.shape[-1] // (n * oh)).reshape(groups, o // groups, -1)
    return np.matmul(gm, cols.transpose(0, 2, 1)).reshape(weight_shape)


def conv_transpose2d(x, w, padding, out_hw, dilation, groups):
    """Stride-1 transposed convolution: columns by one matmul, col2im by contiguous runs."""
    n, ci, h, _ = x.shape
    _, cog, kh, kw = w.shape
    (ph, pw), (oh, ow), (dh, dw) = padding, out_hw, dilation
    hp, wp = oh + 2 * ph, ow + 2 * pw
    xm = _widen(x, wp).reshape(groups, ci // groups, n * h * wp)
    wm = w.reshape(groups, ci // groups, cog * kh * kw).transpose(0, 2, 1)
    run = h * wp
    cols = np.matmul(wm, xm).reshape(groups * cog, kh * kw, n, run)
    buf = np.zeros((groups * cog, n, hp * wp + dw * (kw - 1)), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            off = i * dh * wp + j * dw
            buf[:, :, off:off + run] += cols[:, i * kw + j]
    out = buf[:, :, :hp * wp].reshape(groups * cog, n, hp, wp)
    return out[:, :, ph:ph + oh, pw:pw + ow].transpose(1, 0, 2, 3)


def max_pool2d(x, kernel, stride, dilation, out_hw):
    """Unpadded max pooling: (maxima, flat indices). Running maxima over the kh·kw
    strided taps, then the first tap equal to the maximum (numpy's argmax over a stacked
    axis costs ten times more). None when a NaN is present (the caller's generic kernel
    then picks it as PyTorch does)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    w = x.shape[3]
    taps = [x[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]
    m = taps[0].copy()
    for t in taps[1:]:
        np.maximum(m, t, out=m)
    if np.isnan(m).any():
        return None
    k = np.full(m.shape, len(taps) - 1, dtype=np.intp)
    for i in range(len(taps) - 2, -1, -1):  # descending: the first equal tap wins
        np.copyto(k, i, where=taps[i] == m)
    table = np.array([i * dh * w + j * dw for i in range(kh) for j in range(kw)])
    base = (np.arange(oh) * (sh * w)).reshape(oh, 1) + np.arange(ow) * sw
    return m, (base + table[k]).astype(np.int64, copy=False)


def max_pool2d_backward(g, idx, in_shape):
    """g added at the flat indices of each (sample, channel) plane, by one 1-d
    ``np.add.at`` (a tuple of index arrays makes it several times slower)."""
    n, c, h, w = in_shape
    plane = (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n * c, 1)
    flat = (idx.reshape(n * c, -1) + plane).ravel()
    out = np.zeros(n * c * h * w, dtype=g.dtype)
    np.add.at(out, flat, g.ravel())
    return out.reshape(in_shape)
