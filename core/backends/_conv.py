"""Generic convolution and pooling kernels over an array-API namespace, the defaults behind
:class:`~ember.backends.Backend`'s ``conv2d`` family.

im2col by strided slicing: one slice of the padded input per kernel position (a loop over
``kh * kw``, never over output pixels), stacked and contracted with the weight by one
batched matmul. The adjoints (col2im) add the same slices back into a zero buffer. Every
array is (N, C, H, W); 1-d ops reach here with H == 1. Parameters are pairs:
``stride=(sh, sw)``, ``padding=(ph, pw)`` (zeros on both sides), ``dilation=(dh, dw)``.
"""
from __future__ import annotations

__all__ = ["out_size", "pad2d", "windows", "im2col", "col2im", "conv2d", "conv_transpose2d", "conv2d_weight",
           "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
           "pool_divisor", "pool_geometry"]


def out_size(n: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    """Output length of a window of size ``k`` (dilation ``d``) sliding by ``s`` over ``n``
    padded by ``p`` each side; ``ceil`` lets a last partial window start inside the input
    or the left padding (PyTorch's pooling rule)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    o = -(-span // s) + 1
    if (o - 1) * s >= n + p:
        o -= 1
    return o


def pad2d(be, x, top: int, bottom: int, left: int, right: int, value=0):
    """x (N, C, H, W) with ``value`` rows/columns added around it."""
    if not (top or bottom or left or right):
        return x
    xp = be.xp
    n, c, h, w = x.shape
    out = xp.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    return be.setitem(out, (slice(None), slice(None), slice(top, top + h),
                            slice(left, left + w)), x)


def _span(i: int, d: int, s: int, o: int) -> slice:
    return slice(i * d, i * d + s * (o - 1) + 1, s)


def windows(x, kernel, stride, dilation, out_hw) -> list:
    """The ``kh * kw`` strided slices of x: slice ``i * kw + j`` holds
    ``x[:, :, oh * sh + i * dh, ow * sw + j * dw]`` for every output position."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    return [x[:, :, _span(i, dh, sh, oh), _span(j, dw, sw, ow)]
            for i in range(kh) for j in range(kw)]


def _add_windows(be, buf, vals, kernel, stride, dilation, in_hw):
    """col2im: add ``vals[k]`` (or ``vals`` itself when it is one array) into window ``k``
    of ``buf``."""
    (kh, kw), (sh, sw), (dh, dw), (h, w) = kernel, stride, dilation, in_hw
    k = 0
    for i in range(kh):
        for j in range(kw):
            key = (slice(None), slice(None), _span(i, dh, sh, h), _span(j, dw, sw, w))
            v = vals if not isinstance(vals, list) else vals[k]
            if be.mutable:
                buf[key] += v
            else:
                buf = be.setitem(buf, key, buf[key] + v)
            k += 1
    return buf


def _crop(buf, top: int, left: int, h: int, w: int):
    if top == 0 and left == 0 and buf.shape[2] == h and buf.shape[3] == w:
        return buf
    return buf[:, :, top:top + h, left:left + w]


def im2col(be, x, kernel, stride, padding, dilation, out_hw):
    """im2col: (N, C, kh * kw, OH, OW), entry ``[n, c, i * kw + j, oh, ow]`` being
    ``xpad[n, c, oh * sh + i * dh, ow * sw + j * dw]`` (xpad: x with zero padding)."""
    (ph, pw) = padding
    xpad = pad2d(be, x, ph, ph, pw, pw)
    return be.xp.stack(windows(xpad, kernel, stride, dilation, out_hw), axis=2)


def col2im(be, cols, out_hw, kernel, stride, padding, dilation):
    """The adjoint of :func:`im2col`: cols (N, C, kh * kw, H, W) of a convolution's output
    positions added back into the zero-padded input they came from, cropped to
    ``out_hw`` (rows/columns past the windows' reach stay 0)."""
    xp = be.xp
    n, c, _, h, wd = cols.shape
    (kh, kw), (ph, pw), (oh, ow) = kernel, padding, out_hw
    bh = max(oh + 2 * ph, (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1)
    bw = max(ow + 2 * pw, (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1)
    buf = xp.zeros((n, c, bh, bw), dtype=cols.dtype)
    vals = [cols[:, :, k, ...] for k in range(kh * kw)]
    buf = _add_windows(be, buf, vals, (kh, kw), stride, dilation, (h, wd))
    return _crop(buf, ph, pw, oh, ow)


def _cols(be, x, kernel, stride, padding, dilation, out_hw, groups):
    """The backend's im2col as (N, groups, C/groups * kh * kw, OH * OW)."""
    n, c = x.shape[0], x.shape[1]
    cols = be.im2col(x, kernel, stride, padding, dilation, out_hw)
    return be.xp.reshape(cols, (n, groups, (c // groups) * kernel[0] * kernel[1],
                                out_hw[0] * out_hw[1]))


def conv2d(be, x, w, stride, padding, dilation, groups, keep: bool = False):
    """Cross-correlation of x (N, C, H, W) with w (O, C/groups, kh, kw): (N, O, OH, OW);
    with ``keep``, (that, the im2col columns for :func:`conv2d_weight`)."""
    xp = be.xp
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = out_size(wd, kw, stride[1], padding[1], dilation[1])
    cols = _cols(be, x, (kh, kw), stride, padding, dilation, (oh, ow), groups)
    wm = xp.reshape(w, (groups, o // groups, cg * kh * kw))
    y = xp.reshape(xp.matmul(wm, cols), (n, o, oh, ow))
    return (y, cols) if keep else y


def conv_transpose2d(be, x, w, stride, padding, out_hw, dilation, groups):
    """The adjoint of :func:`conv2d` in its input: x (N, Ci, H, W) with w
    (Ci, Co/groups, kh, kw) to (N, Co, *out_hw)."""
    xp = be.xp
    n, ci, h, wd = x.shape
    _, cog, kh, kw = w.shape
    wm = xp.permute_dims(xp.reshape(w, (groups, ci // groups, cog * kh * kw)), (0, 2, 1))
    cols = xp.matmul(wm, xp.reshape(x, (n, groups, ci // groups, h * wd)))
    cols = xp.reshape(cols, (n, groups * cog, kh * kw, h, wd))
    return be.col2im(cols, out_hw, (kh, kw), stride, padding, dilation)


def conv2d_weight(be, x, g, weight_shape, stride, padding, dilation, groups, saved=None):
    """The gradient of :func:`conv2d` in its weight, for output gradient g (N, O, OH, OW);
    ``saved``: the forward's im2col columns of x, if it kept them."""
    xp = be.xp
    n = x.shape[0]
    o, cg, kh, kw = weight_shape
    oh, ow = g.shape[2], g.shape[3]
    cols = saved if saved is not None else \
        _cols(be, x, (kh, kw), stride, padding, dilation, (oh, ow), groups)
    gm = xp.reshape(g, (n, groups, o // groups, oh * ow))
    gw = xp.sum(xp.matmul(gm, xp.permute_dims(cols, (0, 1, 3, 2))), axis=0)
    return xp.reshape(gw, tuple(weight_shape))


def _lowest(xp, dtype):
    if xp.isdtype(dtype, "real floating"):
        return -float("inf")
    return xp.iinfo(dtype).min


def pool_geometry(in_hw, kernel, stride, padding, dilation, ceil_mode):
    """(OH, OW) and the extra bottom/right padding a ceil-mode last window reaches into."""
    out, extra = [], []
    for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation):
        o = out_size(n, k, s, p, d, ceil_mode)
        out.append(o)
        extra.append(max((o - 1) * s + d * (k - 1) + 1 - n - 2 * p, 0))
    return tuple(out), tuple(extra)


def max_pool2d(be, x, kernel, stride, padding, dilation, ceil_mode):
    """(max over each window, flat index ``h * W + w`` of the first maximum in the input);
    padding never wins (windows of only padding cannot occur)."""
    xp = be.xp
    h, w = x.shape[2], x.shape[3]
    (oh, ow), (eh, ew) = pool_geometry((h, w), kernel, stride, padding, dilation, ceil_mode)
    (ph, pw), kw = padding, kernel[1]
    xpad = pad2d(be, x, ph, ph + eh, pw, pw + ew, _lowest(xp, x.dtype))
    stk = xp.stack(windows(xpad, kernel, stride, dilation, (oh, ow)), axis=0)
    k = xp.argmax(stk, axis=0)
    out = xp.max(stk, axis=0)
    rows = xp.reshape(xp.arange(oh) * stride[0] - ph, (oh, 1)) + (k // kw) * dilation[0]
    cols = xp.reshape(xp.arange(ow) * stride[1] - pw, (1, ow)) + (k % kw) * dilation[1]
    # a window of -inf only picks its first slot, maybe padding: torch names the first
    # real element there (whole dilations on from it)
    rows = xp.where(rows < 0, rows % dilation[0], rows)
    cols = xp.where(cols < 0, cols % dilation[1], cols)
    idx = rows * w + cols
    return out, xp.astype(idx, xp.int64)


def max_pool2d_backward(be, g, idx, in_shape):
    """Gradient of :func:`max_pool2d`: g added at the indices (duplicates accumulate)."""
    xp = be.xp
    n, c, h, w = in_shape
    z = xp.zeros((n, c, h * w), dtype=g.dtype)
    key = (xp.reshape(xp.arange(n), (n, 1, 1)), xp.reshape(xp.arange(c), (1, c, 1)),
           xp.reshape(idx, (n, c, -1)))
    return xp.reshape(be.index_add(z, key, xp.reshape(g, (n, c, -1))), (n, c, h, w))


def _counts(xp, n, o, k, s, p, include_pad):
    start = xp.arange(o) * s - p
    end = xp.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return xp.minimum(end, n) - xp.maximum(start, 0)


def pool_divisor(be, in_hw, out_hw, kernel, stride, padding, count_include_pad,
                 divisor_override, dtype):
    """What each window's sum is divided by: ``divisor_override``, or the window's size
    (padding included or not; a ceil-mode window past the padding counts only up to it)."""
    if divisor_override:
        return divisor_override
    xp = be.xp
    ch = _counts(xp, in_hw[0], out_hw[0], kernel[0], stride[0], padding[0], count_include_pad)
    cw = _counts(xp, in_hw[1], out_hw[1], kernel[1], stride[1], padding[1], count_include_pad)
    return xp.astype(xp.reshape(ch, (-1, 1)) * xp.reshape(cw, (1, -1)), dtype)


def _tiles(xp, dtype, kernel, stride, padding, extra) -> bool:
    """Whether the windows tile the input's top-left (stride = kernel, no padding):
    pooling is then a reshape and one reduction (the global average pooling of a ResNet's
    head took 256 window slices)."""
    return (tuple(stride) == tuple(kernel) and tuple(padding) == (0, 0)
            and tuple(extra) == (0, 0) and xp.isdtype(dtype, "real floating"))


def avg_pool2d(be, x, kernel, stride, padding, ceil_mode, count_include_pad,
               divisor_override):
    xp = be.xp
    h, w = x.shape[2], x.shape[3]
    (oh, ow), (eh, ew) = pool_geometry((h, w), kernel, stride, padding, (1, 1), ceil_mode)
    if _tiles(xp, x.dtype, kernel, stride, padding, (eh, ew)):
        (kh, kw), n, c = kernel, x.shape[0], x.shape[1]
        if oh * kh != h or ow * kw != w:
            x = x[:, :, :oh * kh, :ow * kw]
        total = xp.sum(xp.reshape(x, (n, c, oh, kh, ow, kw)), axis=(3, 5))
        return total / (divisor_override or kh * kw)
    ph, pw = padding
    xpad = pad2d(be, x, ph, ph + eh, pw, pw + ew)
    ws = windows(xpad, kernel, stride, (1, 1), (oh, ow))
    total = ws[0] + ws[1] if len(ws) > 1 else ws[0] * 1
    for v in ws[2:]:
        if be.mutable:
            total += v
        else:
            total = total + v
    div = pool_divisor(be, (h, w), (oh, ow), kernel, stride, padding, count_include_pad,
                       divisor_override, x.dtype if xp.isdtype(x.dtype, "real floating")
                       else xp.float64)
    if xp.isdtype(x.dtype, "integral"):  # C division: truncates toward zero
        return xp.astype(xp.astype(total, xp.float64) / div, x.dtype)
    return total / div


def avg_pool2d_backward(be, g, in_hw, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """The adjoint of :func:`avg_pool2d`: each output's gradient over its window's size,
    spread back over the window."""
    xp = be.xp
    n, c, oh, ow = g.shape
    h, w = in_hw
    _, (eh, ew) = pool_geometry((h, w), kernel, stride, padding, (1, 1), ceil_mode)
    if _tiles(xp, g.dtype, kernel, stride, padding, (eh, ew)):
        (kh, kw) = kernel
        part = xp.broadcast_to(xp.reshape(g / (divisor_override or kh * kw),
                                          (n, c, oh, 1, ow, 1)), (n, c, oh, kh, ow, kw))
        part = xp.reshape(part, (n, c, oh * kh, ow * kw))
        if oh * kh == h and ow * kw == w:
            return part
        return pad2d(be, part, 0, h - oh * kh, 0, w - ow * kw)
    ph, pw = padding
    div = pool_divisor(be, (h, w), (oh, ow), kernel, stride, padding, count_include_pad,
                       divisor_override, g.dtype)
    buf = xp.zeros((n, c, h + 2 * ph + eh, w + 2 * pw + ew), dtype=g.dtype)
    buf = _add_windows(be, buf, g / div, kernel, stride, (1, 1), (oh, ow))
    return _crop(buf, ph, pw, h, w)
