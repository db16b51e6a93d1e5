"""The numpy backend's convolution and max-pooling kernels: ember's generic im2col
defaults, laid out for numpy.

im2col is one ``as_strided`` view of the zero-padded input and one copy. With a column
stride of 1 the view is "full-width": the padded input is one flat row per (sample,
channel), so the patch rows for kernel tap (i, j) are one contiguous run starting at
``i·dh·Wp + j·dw`` (Wp the padded width), and the ``Wp - OW`` extra columns per output row
compute values that are dropped (a view, no copy). Other strides read the windows exactly.
Columns are channel-major, (C·kh·kw, n·OH·RW), built for a chunk of n samples at a time
(``CHUNK_ELEMENTS``): the chunk's copy is still in cache when its matmul reads it, which
halves the forward's time against one whole-batch pass (columns of 20 MiB for a 16-channel
3x3 layer at batch 32 stream from memory twice: 6.2 against 3.4 ms CPU, one thread) while
each matmul stays large (numpy's batched matmul over N small ones costs up to 40% more).
The adjoint (col2im, for the input gradient) adds each tap's rows back (the extra columns
carrying zeros); at stride 1 with no more output than input channels it is the
convolution with the flipped kernel instead (one im2col copy instead of kh·kw adds),
unless the flipped weight's copy would outweigh the columns (deep layers on small maps).
Small maps (under ``FULL_WIDTH_MIN`` wide) with many output channels read the windows
exactly: there the full-width rows' dropped columns would cost up to half the products.
The weight gradient comes back in the weight's own layout (a transposed one slows every
later pass over it, the optimizer's included). Max pooling pads with -inf itself
(PyTorch's padding, ceil mode and dilation), so resnet's 3x3/2 stem pooling stays here.

At 2+ threads a convolution's batch is split into whole-sample pieces on the backend's
threads, each at single-threaded BLAS (:func:`_over_batch`); large max pools likewise.
"""
from __future__ import annotations

import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _blas, _threads

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


#: elements of one chunk's columns: ~2 MiB of float32, so that a chunk's im2col copy is
#: still in cache when its matmul reads it
CHUNK_ELEMENTS = 1 << 19


def _chunk(n: int, per_sample: int) -> int:
    """Samples per chunk for columns of ``per_sample`` elements a sample."""
    return max(1, min(n, CHUNK_ELEMENTS // max(1, per_sample)))


#: a stride-1 convolution reads full-width rows on outputs at least this wide, or with
#: fewer than ``EXACT_ROWS_MIN`` matmul rows (output channels): otherwise the ``Wp - OW``
#: dropped columns cost more matmul (at 8x8 maps a quarter of the products, at 2x2
#: half) than the exact windows' slower copy (with few rows the copy dominates: LeNet's
#: 16-channel 10x10 layer is 8-13% slower per step read exactly)
FULL_WIDTH_MIN = 16
EXACT_ROWS_MIN = 64


def _full_width(sw: int, ow: int, wp: int, rows: int) -> bool:
    return sw == 1 and (ow >= FULL_WIDTH_MIN or wp == ow or rows < EXACT_ROWS_MIN)


def _view(x, kernel, stride, padding, dilation, rows: int = 0):
    """(a read-only (C, kh, kw, N, OH, RW) view of x's zero-padded rows, whose copy is the
    columns of the convolution, OH, OW, RW, fill): ``fill(lo, hi)`` copies samples lo:hi
    into the padded buffer the view reads (each batch piece its own, before reading).
    With a column stride of 1 the rows are read full-width (RW = Wp, the padded width:
    each (OH, RW) block is one contiguous run) as :func:`_full_width` says for a matmul
    of ``rows`` rows; otherwise exactly (RW = OW)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    hp, wp = h + 2 * ph, w + 2 * pw
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    full = _full_width(sw, ow, wp, rows)
    rw = wp if full else ow
    if ph == pw == 0 and (not full or (kw == 1 and x.flags.c_contiguous)):
        # nothing read past a row's end: x itself, no padded copy (1x1 and unpadded
        # strided convolutions)
        s0, s1, s2, s3 = x.strides
        src = x

        def fill(lo, hi):
            pass
    else:
        # zeros (the padding) stay zero: only this interior is ever written
        src = scratch.get((n, c, hp * wp + dw * (kw - 1)), x.dtype, ("pad", h, w, ph, pw))
        inner = src[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w]

        def fill(lo, hi):
            inner[lo:hi] = x[lo:hi]
        s0, s1, s3 = src.strides
        s2 = wp * s3
    view = as_strided(src, (c, kh, kw, n, oh, rw),
                      (s1, dh * s2, dw * s3, s0, sh * s2, sw * s3), writeable=False)
    return view, oh, ow, rw, fill


def _cols(view, groups: int, lo: int, hi: int):
    """The columns of samples lo:hi, (groups, C/groups·kh·kw, (hi - lo)·OH·RW)."""
    c, kh, kw, _, oh, rw = view.shape
    cols = scratch.get((groups, (c // groups) * kh * kw, (hi - lo) * oh * rw), view.dtype)
    dst, src = cols.reshape(c, kh, kw, hi - lo, oh, rw), view[:, :, :, lo:hi]
    _by_channel(lambda a, b: np.copyto(dst[a:b], src[a:b]), c, cols.size)
    return cols


def _by_channel(fn, c: int, size: int) -> None:
    """fn(c0, c1) over channel ranges, split across the backend's threads when the pass
    (``size`` elements) is worth it (numpy releases the GIL in copies and adds)."""
    k = 1 if getattr(_INNER, "on", False) else min(c, _threads.pieces(size))
    _threads.parallel(fn, _threads.split(c, k))


#: A/B flag: at 2+ threads, split a convolution's batch across the backend's threads
BATCH_THREADS = True
#: the fewest multiply-adds per thread worth a batch split (~0.15 ms of one core)
BATCH_MIN_MACS = 1 << 21
_INNER = threading.local()  # set inside a batch piece: no nested splits


def _over_batch(fn, n: int, macs: int) -> list:
    """[fn(lo, hi) for the batch ranges]: the whole batch ``range(n)`` in one call, or, at
    2+ threads for ``macs`` multiply-adds worth it, whole-sample ranges on the backend's
    threads with BLAS at one thread inside (PyTorch's oneDNN likewise splits whole
    convolutions over its threads): OpenBLAS splitting each thin per-sample product over
    2 threads ran resnet18's convolutions barely faster than one thread. A convolution too
    small to split also runs at one BLAS thread: a product OpenBLAS splits leaves its
    worker spinning for work (~0.1 s, 190 ms of CPU per resnet18 step on 2 cores), which
    takes a core from the pieces of the next split."""
    nt = _threads.num_threads()
    k = min(n, nt)
    if (k > 1 and BATCH_THREADS and not getattr(_INNER, "on", False)
            and macs >= 2 * BATCH_MIN_MACS and _blas.available()):
        k = min(k, macs // BATCH_MIN_MACS)
    else:
        k = 1
    if k == 1:
        if nt > 1 and BATCH_THREADS and macs < 2 * BATCH_MIN_MACS:
            with _blas.single():
                return [fn(0, n)]
        return [fn(0, n)]
    def piece(lo, hi):
        _INNER.on = True
        try:
            return fn(lo, hi)
        finally:
            _INNER.on = False
    with _blas.single():
        return _threads.map_ranges(piece, _threads.split(n, k))


def _widen(g, wp: int, lo: int, hi: int):
    """g[lo:hi] (N, C, H, W) as (C, hi - lo, H, wp), zeros in the extra columns (never
    written)."""
    _, c, h, w = g.shape
    out = scratch.get((c, hi - lo, h, wp), g.dtype, ("widen", w))
    out[:, :, :, :w] = g[lo:hi].transpose(1, 0, 2, 3)
    return out


_PER_SAMPLE_RUN = 256  # output pixels per sample from which one matmul per sample pays


#: A/B flag: full-width results copied to a compact output chunk by chunk (in cache)
COMPACT = True
#: weights (O/groups · C/groups·kh·kw elements) up to which one product per sample pays
#: on small maps too (it stays in cache; LeNet's 16x150 second layer: 0.74 against 0.91 ms
#: at batch 64 for one product per chunk and a transposing copy of its result)
SMALL_WEIGHT = 1 << 14


def conv2d_save(x, w, stride, padding, dilation, groups):
    """conv2d: (output (N, O, OH, OW), None: the weight gradient rebuilds its columns chunk
    by chunk, cheaper than keeping them). The batch goes through in chunks whose columns
    fit in cache: the im2col copy and the matmul reading it then cost about half what one
    whole-batch pass does (columns of several MiB stream from memory twice). Full-width
    results (rows of RW > OW) are copied to a contiguous output while each chunk's are
    still in cache: every later pass over a strided view costs more (the bias add over
    LeNet's first layer, 64x6x28x28: 229 against 52 us; the ReLU 172 against 112)."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    og = o // groups
    view, oh, ow, rw, fill = _view(x, (kh, kw), stride, padding, dilation, og)
    run = oh * rw
    compact = COMPACT and rw != ow
    y = scratch.get((n, o, oh, ow) if compact else (n, o, run), x.dtype)
    wm = w.reshape(groups, og, cg * kh * kw)
    per = view.shape[0] * kh * kw * run
    per_sample = run >= _PER_SAMPLE_RUN or og * cg * kh * kw <= SMALL_WEIGHT

    def part(first, last):
        fill(first, last)
        nb = _chunk(last - first, per)
        for lo in range(first, last, nb):
            hi = min(last, lo + nb)
            m = hi - lo
            cols = _cols(view, groups, lo, hi).reshape(groups, -1, m, run)
            if per_sample:
                # one matmul per sample straight into y's layout (numpy's batched loop):
                # cheaper than one matmul and a transposing copy of its result
                dst = scratch.get((m, o, run), x.dtype) if compact else y[lo:hi]
                np.matmul(wm, cols.transpose(2, 0, 1, 3),
                          out=dst.reshape(m, groups, og, run))
                if compact:
                    y[lo:hi] = dst.reshape(m, o, oh, rw)[:, :, :, :ow]
            else:  # small maps (deep layers): per-sample products are too thin for BLAS
                res = np.matmul(wm, cols.reshape(groups, -1, m * run))
                res = res.reshape(groups, og, m, oh, rw).transpose(2, 0, 1, 3, 4)
                if compact:
                    y[lo:hi] = res.reshape(m, o, oh, rw)[:, :, :, :ow]
                else:
                    y[lo:hi] = res.reshape(m, o, run)
    _over_batch(part, n, n * per * og)
    if compact:
        return y, None
    y = y.reshape(n, o, oh, rw)
    return (y if rw == ow else y[:, :, :, :ow]), None


#: output channels (per group) from which the weight gradient is computed as g @ columns^T
WEIGHT_ROWS_MIN = 256


def conv2d_weight(x, g, weight_shape, stride, padding, dilation, groups, cols=None):
    """Weight gradient: per chunk, the chunk's columns against the output gradient (widened
    to the columns' row width), summed."""
    o, cg, kh, kw = weight_shape
    n = x.shape[0]
    view, oh, ow, rw, fill = _view(x, (kh, kw), stride, padding, dilation, o // groups)
    run = oh * rw
    per = view.shape[0] * kh * kw * run
    # columns (K, L) @ g^T (L, O/groups): OpenBLAS runs this orientation ~30% faster than
    # g @ columns^T for the skinny O of small convolutions (3.1 against 4.3 ms for
    # K = 144, L = 35k, O = 16, one thread); from WEIGHT_ROWS_MIN output channels on,
    # g @ columns^T, whose result is the weight's own layout: a transposed gradient makes
    # every later pass over it (the optimizer's update) strided, 10x slower at 512x512x3x3
    rows = o // groups >= WEIGHT_ROWS_MIN
    shape = (groups, o // groups, cg * kh * kw) if rows else (groups, cg * kh * kw, o // groups)

    def piece(first, last):
        # each batch piece sums into its own accumulator (added up after)
        # (the first chunk's product is the accumulator: no zeroing pass, one add fewer)
        fill(first, last)
        acc = part = None
        nb = _chunk(last - first, per)
        for lo in range(first, last, nb):
            hi = min(last, lo + nb)
            gm = _widen(g, rw, lo, hi).reshape(groups, o // groups, -1)
            cols = _cols(view, groups, lo, hi)
            if acc is None:
                dst = acc = np.empty(shape, x.dtype)
            else:
                if part is None:
                    part = np.empty(shape, x.dtype)
                dst = part
            if rows:
                np.matmul(gm, cols.transpose(0, 2, 1), out=dst)
            else:
                np.matmul(cols, gm.transpose(0, 2, 1), out=dst)
            if dst is part:
                acc += part
        return np.zeros(shape, x.dtype) if acc is None else acc  # (an empty batch)
    accs = _over_batch(piece, n, n * per * (o // groups))
    acc = accs[0]
    for a in accs[1:]:
        acc += a
    if rows:
        return acc.reshape(weight_shape)
    return np.ascontiguousarray(acc.transpose(0, 2, 1)).reshape(weight_shape)


#: whether the flipped path also weighs the weight copy against the columns (A/B flag)
FLIP_BY_SIZE = True
#: the flipped path is left for col2im only where the weight (per output-map pixel of the
#: batch) outweighs the columns more than this: input gradient of a 3x3 layer, one
#: thread, flipped against col2im: 256 channels at 4x4, batch 16 (ratio 1): 4.2 against
#: 5.8 ms; 512 at 2x2, batch 64 (2): 18.9 against 23.9; batch 32 (4): 10.3 against 12.0;
#: batch 16 (8): 5.8-6.2 against 5.9-6.1 (col2im's adds over maps this small are numpy
#: loops of 2-4 elements)
FLIP_WEIGHT_RATIO = 8


def _flipped(x, w, padding, out_hw, dilation, groups):
    """A stride-1 transposed convolution as the convolution it is (flipped kernel, padding
    d·(k - 1) - p), or None where that does not apply. im2col's one copy of O·kh·kw rows
    then replaces col2im's kh·kw adds over Ci·kh·kw rows: 3.9 against 6.0 ms for the
    input gradient of a 16-channel 3x3 layer at 32x32, batch 32 (one thread)."""
    n, ci, h, wd = x.shape
    _, cog, kh, kw = w.shape
    pad = (dilation[0] * (kh - 1) - padding[0], dilation[1] * (kw - 1) - padding[1])
    # the flipped weight is a copy of it: where it far outweighs the columns (deep layers
    # on small maps, few samples), col2im's adds cost less
    if (groups != 1 or ci > cog or min(pad) < 0
            or (FLIP_BY_SIZE and cog > FLIP_WEIGHT_RATIO * n * out_hw[0] * out_hw[1])
            or tuple(out_hw) != (h + pad[0] - padding[0], wd + pad[1] - padding[1])):
        return None
    wf = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return conv2d_save(x, wf, (1, 1), pad, dilation, 1)[0]


def conv_transpose2d(x, w, stride, padding, out_hw, dilation, groups):
    """Transposed convolution (the input gradient of conv2d), chunk by chunk of the batch:
    columns by one matmul, col2im by adding each kernel tap's strided rows back."""
    if tuple(stride) == (1, 1):
        res = _flipped(x, w, padding, out_hw, dilation, groups)
        if res is not None:
            return res
    n, ci, h, wd = x.shape
    _, cog, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, out_hw, dilation
    # the buffer's rows and row width: the padded output, or what the windows reach
    bh = max(oh + 2 * ph, (h - 1) * sh + dh * (kh - 1) + 1)
    bw = max(ow + 2 * pw, (wd - 1) * sw + dw * (kw - 1) + 1)
    # column stride 1 (as _full_width says): x widened to full rows (zeros beyond wd),
    # each tap's rows one run; otherwise the windows exactly
    rw = bw if _full_width(sw, wd, bw, ci // groups) else wd
    contiguous = sh == sw == 1 and rw == bw
    wm = w.reshape(groups, ci // groups, cog * kh * kw).transpose(0, 2, 1)
    run = h * rw
    out = scratch.get((n, groups * cog, oh, ow), x.dtype)
    per = groups * cog * kh * kw * run

    def piece(first, last):
        nb = _chunk(last - first, per)
        for lo in range(first, last, nb):
            hi = min(last, lo + nb)
            m = hi - lo
            xm = _widen(x, rw, lo, hi).reshape(groups, ci // groups, m * run)
            cols = scratch.get((groups, cog * kh * kw, m * run), x.dtype)
            np.matmul(wm, xm, out=cols)
            cols = cols.reshape(groups * cog, kh * kw, m, h, rw)
            buf = scratch.get((groups * cog, m, bh * bw + dw * (kw - 1)), x.dtype)
            s0, s1, s2 = buf.strides

            def col2im(a, b, buf=buf, cols=cols, lo=lo, hi=hi, m=m):
                buf[a:b].fill(0)
                for i in range(kh):
                    for j in range(kw):
                        off = i * dh * bw + j * dw
                        if contiguous:  # stride 1: each tap's rows are one run
                            buf[a:b, :, off:off + run] += cols[a:b, i * kw + j].reshape(
                                b - a, m, run)
                            continue
                        dst = as_strided(buf[a:b, :, off:], (b - a, m, h, rw),
                                         (s0, s1, sh * bw * s2, sw * s2))
                        dst += cols[a:b, i * kw + j]
                crop = buf[a:b, :, :bh * bw].reshape(b - a, m, bh, bw)
                out[lo:hi, a:b] = crop[:, :, ph:ph + oh, pw:pw + ow].transpose(1, 0, 2, 3)
            _by_channel(col2im, groups * cog, cols.size)
    _over_batch(piece, n, n * per * (ci // groups))
    return out


def _lowest_padded(x, top: int, bottom: int, left: int, right: int):
    """x with rows/columns of -inf around it (padding never wins a window's maximum)."""
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    buf = scratch.get((n, c, h + top + bottom, w + left + right), x.dtype)
    buf[:, :, :top] = -np.inf
    buf[:, :, top + h:] = -np.inf
    buf[:, :, top:top + h, :left] = -np.inf
    buf[:, :, top:top + h, left + w:] = -np.inf
    buf[:, :, top:top + h, left:left + w] = x
    return buf


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, extra=(0, 0)):
    """:func:`_max_pool2d` over the batch, split across the backend's threads for large
    inputs (whole samples per thread: the passes below are numpy loops that release the
    GIL; resnet18's stem pooling is 5 ms a step on one thread)."""
    n = x.shape[0]
    k = min(n, _threads.pieces(x.size, 2 * _threads.MIN_ELEMENTS))
    if k <= 1:  # (0: an empty batch)
        return _max_pool2d(x, kernel, stride, padding, dilation, out_hw, extra)
    parts = _threads.map_ranges(
        lambda lo, hi: _max_pool2d(x[lo:hi], kernel, stride, padding, dilation, out_hw, extra),
        _threads.split(n, k))
    if any(p is None for p in parts):
        return None
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def _max_pool2d(x, kernel, stride, padding, dilation, out_hw, extra=(0, 0)):
    """Max pooling of floating x: (maxima, flat indices ``h * W + w`` into x). Running
    maxima over the kh·kw strided taps of x (padded with -inf: ``padding`` each side plus
    ``extra`` rows/columns at the end that ceil-mode windows reach), then the first tap
    equal to the maximum (numpy's argmax over a stacked axis costs ten times more). None
    when a NaN is present (the caller's generic kernel then picks it as PyTorch does)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, \
        out_hw
    h, w = x.shape[2:]
    xp = _lowest_padded(x, ph, ph + extra[0], pw, pw + extra[1])
    taps = [xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
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
    if ph == pw == 0:
        # np.take of an int64 table, then the window's base added in place: 84 against
        # 144 us for fancy indexing and a fresh sum (64x6x14x14 windows)
        table = np.array([i * dh * w + j * dw for i in range(kh) for j in range(kw)],
                         dtype=np.int64)
        base = (np.arange(oh, dtype=np.int64) * (sh * w)).reshape(oh, 1) + \
            np.arange(ow, dtype=np.int64) * sw
        idx = np.take(table, k)
        idx += base
        return m, idx
    # padded: the tap's row and column in x; a window whose maximum is -inf may name a
    # padding tap, always its first (top-left): moved on by whole dilations, that is the
    # window's first element of x, which PyTorch names
    rows = np.take(np.array([i * dh for i in range(kh) for j in range(kw)], dtype=np.int64), k)
    rows += (np.arange(oh) * sh - ph).reshape(oh, 1)
    cols = np.take(np.array([j * dw for i in range(kh) for j in range(kw)], dtype=np.int64), k)
    cols += np.arange(ow) * sw - pw
    for a, d in ((rows, dh), (cols, dw)):
        if d == 1:
            np.maximum(a, 0, out=a)
        else:
            np.copyto(a, a % d, where=a < 0)
    rows *= w
    rows += cols
    return m, rows.astype(np.int64, copy=False)


def max_pool2d_backward(g, idx, in_shape):
    """g added at the flat indices of each (sample, channel) plane, by one 1-d
    ``np.add.at`` (a tuple of index arrays makes it several times slower)."""
    n, c, h, w = in_shape
    plane = (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n * c, 1)
    flat = (idx.reshape(n * c, -1) + plane).ravel()
    out = np.zeros(n * c * h * w, dtype=g.dtype)
    np.add.at(out, flat, g.ravel())
    return out.reshape(in_shape)
