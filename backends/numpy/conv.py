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
           "max_pool2d_backward", "scratch"]


class _Scratch:
    """Large buffers reused once nothing refers to them any more (a small caching
    allocator). Fresh multi-megabyte arrays arrive as new pages from the OS and the page
    faults of zeroing them cost as much as the convolution's own copies (about 800 faults
    per LeNet conv layer and step); PyTorch's kernels reuse their workspaces likewise.

    A buffer is free when only this pool holds it: an output handed out (or any view of
    it, or the columns an autograd node keeps) holds a reference, so it is never reused
    while alive. ``zeroed``: a tag naming the part of the buffer its callers write; such
    buffers start as zeros and are only handed to callers with the same tag, so what they
    never write stays zero."""

    def __init__(self, per_shape: int = 3, shapes: int = 32):
        import threading
        self._free: dict = {}
        self._per_shape, self._shapes = per_shape, shapes
        self._lock = threading.Lock()

    def get(self, shape: tuple, dtype, zeroed=None):
        import sys
        key = (shape, np.dtype(dtype).str, zeroed)
        with self._lock:
            lst = self._free.get(key)
            if lst is None:
                if len(self._free) >= self._shapes:  # forget the oldest shape
                    self._free.pop(next(iter(self._free)))
                lst = self._free[key] = []
            for a in lst:
                if sys.getrefcount(a) == 3:  # the list, ``a``, getrefcount's argument
                    return a
            a = np.empty(shape, dtype) if zeroed is None else np.zeros(shape, dtype)
            if len(lst) < self._per_shape:
                lst.append(a)
            return a

    def clear(self) -> None:
        with self._lock:
            self._free.clear()


scratch = _Scratch()


def _cols(x, kernel, padding, dilation, groups):
    """(columns (groups, C/groups·kh·kw, N·OH·Wp), OH, OW, Wp) for a stride-1 conv."""
    n, c, h, w = x.shape
    (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    # zeros (the padding) stay zero: only this interior is ever written
    flat = scratch.get((n, c, hp * wp + dw * (kw - 1)), x.dtype, ("pad", h, w, ph, pw))
    flat[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w] = x
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    s0, s1, s2 = flat.strides
    view = as_strided(flat, (c, kh, kw, n, oh * wp), (s1, dh * wp * s2, dw * s2, s0, s2),
                      writeable=False)
    cols = scratch.get((groups, (c // groups) * kh * kw, n * oh * wp), x.dtype)
    np.copyto(cols.reshape(view.shape), view)
    return cols, oh, ow, wp


def _widen(g, wp: int):
    """g (N, C, H, W) as (C, N, H, wp), zeros in the extra columns (never written)."""
    n, c, h, w = g.shape
    out = scratch.get((c, n, h, wp), g.dtype, ("widen", w))
    out[:, :, :, :w] = g.transpose(1, 0, 2, 3)
    return out


def conv2d_save(x, w, padding, dilation, groups):
    """Stride-1 conv2d: (output (N, O, OH, OW), the columns for :func:`conv2d_weight`)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    cols, oh, ow, wp = _cols(x, (kh, kw), padding, dilation, groups)
    y = scratch.get((groups, o // groups, cols.shape[-1]), x.dtype)
    np.matmul(w.reshape(groups, o // groups, cg * kh * kw), cols, out=y)
    return y.reshape(o, n, oh, wp)[:, :, :, :ow].transpose(1, 0, 2, 3), cols


def conv2d_weight(x, g, weight_shape, padding, dilation, groups, cols=None):
    """Stride-1 weight gradient: the output gradient widened to Wp against the columns."""
    o, cg, kh, kw = weight_shape
    if cols is None:
        cols = _cols(x, (kh, kw), padding, dilation, groups)[0]
    gm = _widen(g, x.shape[3] + 2 * padding[1]).reshape(groups, o // groups, -1)
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
    cols = scratch.get((groups, cog * kh * kw, n * run), x.dtype)
    np.matmul(wm, xm, out=cols)
    cols = cols.reshape(groups * cog, kh * kw, n, run)
    buf = scratch.get((groups * cog, n, hp * wp + dw * (kw - 1)), x.dtype)
    buf.fill(0)
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
    # the first tap equal to the maximum, Horner-style from the last tap:
    # k = ne0·(1 + ne1·(1 + ne2·(...))), ne_i = (tap_i != max); small unsigned arithmetic
    # is six times faster than masked assignments
    k = np.zeros(m.shape, dtype=np.uint8 if len(taps) < 256 else np.intp)
    for i in range(len(taps) - 2, -1, -1):
        k += 1
        k *= np.not_equal(taps[i], m)
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
