"""Convolution and pooling for the JAX backend, jitted per geometry: the overrides of
ember's im2col defaults (``ember.backends._conv``), same arguments and results. Each is
the formulation XLA's CPU backend ran fastest inside a jitted training step (measured
with ``benchmarks/compile_step.py``; see the README section "Compiling"):

- a convolution with one input channel and one group (a first layer on grey images) is
  one matrix product of the weights with the ``kh * kw`` shifted planes of the input
  stacked on a leading axis; XLA's convolution kernel is about 10x slower there, and
  the elementwise form (below) XLA fuses into each consumer of a compiled step,
  computing it several times. Ungrouped convolutions with a few input channels (up to
  ``PATCHES_MAX_CHANNELS``) are the same product over the ``C * kh * kw`` planes: for
  LeNet's second convolution (6 -> 16, 5x5) the compiled step ran about 5% faster than
  with XLA's kernel. Grouped convolutions whose groups each see one input
  channel (depthwise) are ``kh * kw`` shifted multiply-adds. Other convolutions and the
  weight gradient use ``lax.conv_general_dilated`` (the weight gradient as its
  ``jax.linear_transpose``);
- the input gradient (transposed convolution) of an ungrouped convolution is one
  matmul whose per-offset blocks are spread back with ``lax.pad`` (interior padding for
  the stride) and summed, kernel row by kernel row: about 2x faster than the transpose
  of XLA's convolution;
- max pooling stacks the ``kh * kw`` window slices on a leading axis and reduces
  (value, slot) pairs over it. Its backward, where every window lies inside the input
  (no padding, no ceil-mode overhang), spreads the gradient by window slot with
  ``lax.pad`` and sums (``max_pool2d_backward_slots``; the backend keeps each index
  array's slots for it); otherwise one flat scatter-add. Inside a compiled LeNet step
  the first convolution as a product and this pooling took the step from 1.3x to 0.9x
  PyTorch's time (README "Compiling").

Average pooling's backward is ``jax.linear_transpose`` of its window sum. Imported on
first use, after the backend has loaded JAX.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ember.backends import pool_divisor, pool_geometry

_DIMS = ("NCHW", "OIHW", "NCHW")
# ungrouped convolutions with at most this many input channels run as one product with
# their stacked planes (``_conv_patches``); measured at 1 and 6 channels (LeNet's two
# convolutions): above that the copies grow with C * kh * kw and XLA's kernel is kept
PATCHES_MAX_CHANNELS = 8


def _conv(x, w, stride, padding, dilation, groups):
    return lax.conv_general_dilated(x, w, stride, [(p, p) for p in padding],
                                    rhs_dilation=dilation, dimension_numbers=_DIMS,
                                    feature_group_count=groups)


def _windows(x, kernel, stride, dilation, out_hw) -> list:
    """The ``kh * kw`` strided slices of x: slice ``i * kw + j`` holds
    ``x[:, :, oh * sh + i * dh, ow * sw + j * dw]``."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    return [x[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]


def _conv_shifted(x, w, stride, padding, dilation, groups):
    """Groups of one input channel: sum over kernel offsets of weight * shifted input."""
    o, _, kh, kw = w.shape
    x = jnp.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    if groups > 1 and o != groups:  # output channel k reads input channel k // (O / groups)
        x = jnp.repeat(x, o // groups, axis=1)
    out_hw = tuple((x.shape[2 + a] - dilation[a] * ((kh, kw)[a] - 1) - 1) // stride[a] + 1
                   for a in range(2))
    y = None
    for k, s in enumerate(_windows(x, (kh, kw), stride, dilation, out_hw)):
        term = w[None, :, 0, k // kw, k % kw, None, None] * s
        y = term if y is None else y + term
    return y


def _conv_patches(x, w, stride, padding, dilation):
    """Few input channels, one group: the ``kh * kw`` shifted planes of each input
    channel stacked on a leading axis, (C * kh * kw, N, OH, OW), each a contiguous copy
    of the channels-first input, and one matrix product with the (O, C * kh * kw)
    weights. Its result is a library product's, which XLA computes once; the shifted
    multiply-adds of ``_conv_shifted`` are elementwise, and inside a compiled step XLA
    fused them into every consumer (the pooling windows, the ReLU mask of the backward),
    computing the convolution several times over."""
    o, c, kh, kw = w.shape
    x = jnp.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out_hw = tuple((x.shape[2 + a] - dilation[a] * ((kh, kw)[a] - 1) - 1) // stride[a] + 1
                   for a in range(2))
    xc = jnp.transpose(x, (1, 0, 2, 3))  # (C, N, H, W): each plane's copy is one slice
    pt = jnp.stack(_windows(xc, (kh, kw), stride, dilation, out_hw), axis=1)
    pt = jnp.reshape(pt, (c * kh * kw,) + pt.shape[2:])  # row c * kh * kw + i * kw + j
    y = lax.dot_general(w.reshape(o, c * kh * kw), pt, (((1,), (0,)), ((), ())))
    return jnp.transpose(y, (1, 0, 2, 3))  # (O, N, OH, OW) -> (N, O, OH, OW)


@partial(jax.jit, static_argnums=(2, 3, 4, 5))
def conv2d(x, w, stride, padding, dilation, groups):
    if jnp.issubdtype(x.dtype, jnp.floating):
        if groups == 1 and w.shape[1] <= PATCHES_MAX_CHANNELS:
            return _conv_patches(x, w, stride, padding, dilation)
        if w.shape[1] == 1:
            return _conv_shifted(x, w, stride, padding, dilation, groups)
    return _conv(x, w, stride, padding, dilation, groups)


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def conv_transpose2d(x, w, stride, padding, out_hw, dilation, groups):
    if groups == 1 and jnp.issubdtype(x.dtype, jnp.floating):
        return _conv_transpose_spread(x, w, stride, padding, out_hw, dilation)
    spec = jax.ShapeDtypeStruct((x.shape[0], w.shape[1] * groups) + out_hw, x.dtype)
    fwd = partial(_conv, w=w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return jax.linear_transpose(fwd, spec)(x)[0]


def _conv_transpose_spread(x, w, stride, padding, out_hw, dilation):
    """x (N, Ci, H, W), w (Ci, Co, kh, kw): one matmul ``w^T x`` over the channels gives,
    for each kernel offset (i, j), a channels-first block (Co, N, H, W) of the values
    landing on rows ``h * sh + i * dh`` and columns ``w * sw + j * dw`` of the
    zero-padded output; ``lax.pad`` (interior padding ``s - 1`` for the stride) puts
    them there, summed in two stages, the ``kw`` column offsets of each kernel row, then
    the ``kh`` rows (run on its own, 1.5x faster than one sum of ``kh * kw`` padded
    blocks, where XLA evaluates every pad for every output element; inside a compiled
    step XLA fuses both forms into the same loop); then the padding is cropped."""
    ci, co, kh, kw = w.shape
    n, _, h, wd = x.shape
    (sh, sw), (dh, dw), (ph, pw) = stride, dilation, padding
    # the padded output must hold every window and the requested size (output_padding)
    bh = max(out_hw[0] + 2 * ph, (h - 1) * sh + dh * (kh - 1) + 1)
    bw = max(out_hw[1] + 2 * pw, (wd - 1) * sw + dw * (kw - 1) + 1)
    t = jnp.reshape(jnp.transpose(w, (2, 3, 1, 0)), (kh * kw * co, ci)) @ \
        jnp.reshape(jnp.transpose(x, (1, 0, 2, 3)), (ci, n * h * wd))
    t = jnp.reshape(t, (kh, kw, co, n, h, wd))
    zero = jnp.zeros((), x.dtype)
    none = (0, 0, 0)
    y = None
    for i in range(kh):
        row = None
        for j in range(kw):
            left = j * dw
            p = lax.pad(t[i, j], zero, (none, none, none,
                                        (left, bw - left - (wd - 1) * sw - 1, sw - 1)))
            row = p if row is None else row + p
        top = i * dh
        p = lax.pad(row, zero, (none, none, (top, bh - top - (h - 1) * sh - 1, sh - 1), none))
        y = p if y is None else y + p
    return jnp.transpose(y[:, :, ph:ph + out_hw[0], pw:pw + out_hw[1]], (1, 0, 2, 3))


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def conv2d_weight(x, g, weight_shape, stride, padding, dilation, groups):
    spec = jax.ShapeDtypeStruct(weight_shape, x.dtype)
    fwd = partial(_conv, x, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return jax.linear_transpose(fwd, spec)(g)[0]


def _first_max(a, b):
    """The reducer of (value, slot) pairs: the larger value, the lower slot among equals,
    a NaN beating numbers (PyTorch's max propagates NaN; the first NaN wins)."""
    (av, ai), (bv, bi) = a, b
    win = (av > bv) | ((av == bv) & (ai < bi))
    if jnp.issubdtype(av.dtype, jnp.floating):
        win = win | (jnp.isnan(av) & (~jnp.isnan(bv) | (ai < bi)))
    return jnp.where(win, av, bv), jnp.where(win, ai, bi)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """(max, flat per-plane index ``h * W + w`` of the first maximum, and its slot
    ``i * kw + j`` in the window, for ``max_pool2d_backward_slots``)."""
    h, w = x.shape[2], x.shape[3]
    out_hw, (eh, ew) = pool_geometry((h, w), kernel, stride, padding, dilation, ceil_mode)
    floating = jnp.issubdtype(x.dtype, jnp.floating)
    low = -jnp.inf if floating else jnp.iinfo(x.dtype).min
    (ph, pw), kw = padding, kernel[1]
    xpad = x
    if ph or pw or eh or ew:
        xpad = jnp.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)),
                       constant_values=jnp.asarray(low, x.dtype))
    # the window slices stacked on a leading axis and reduced over it as (value, slot)
    # pairs: one loop over the output with a long contiguous innermost axis (a stack on
    # a last axis of size kh * kw, argmax and take_along_axis ran 1.5x slower in a
    # compiled LeNet step: a short innermost axis and a gather)
    stk = jnp.stack(_windows(xpad, kernel, stride, dilation, out_hw))
    slot = lax.broadcasted_iota(jnp.int32, stk.shape, 0)
    out, k = lax.reduce((stk, slot), (jnp.asarray(low, x.dtype), jnp.int32(0)), _first_max,
                        (0,))
    rows = (jnp.arange(out_hw[0]) * stride[0] - ph).reshape(-1, 1) + (k // kw) * dilation[0]
    cols = (jnp.arange(out_hw[1]) * stride[1] - pw).reshape(1, -1) + (k % kw) * dilation[1]
    # a window of padding and -inf only names its first slot: PyTorch names the first
    # real element the (dilated) window reads there
    rows = jnp.where(rows < 0, rows % dilation[0], rows)
    cols = jnp.where(cols < 0, cols % dilation[1], cols)
    idx = rows * w + cols
    return out, idx.astype(jnp.int64), k


@partial(jax.jit, static_argnums=(2, 3, 4, 5))
def max_pool2d_backward_slots(g, k, in_hw, kernel, stride, dilation):
    """The gradient of an unpadded max pool from each output's window slot ``k``: per
    kernel offset, the gradients whose maximum sat there, spread onto the input grid with
    ``lax.pad`` (interior padding ``stride - 1``) and summed. No scatter: XLA fuses it
    into one loop over the input (a scatter-add runs element by element on a CPU)."""
    (h, w), (kh, kw), (sh, sw), (dh, dw) = in_hw, kernel, stride, dilation
    oh, ow = g.shape[2], g.shape[3]
    zero = jnp.zeros((), g.dtype)
    none = (0, 0, 0)
    y = None
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            p = lax.pad(jnp.where(k == i * kw + j, g, zero), zero,
                        (none, none, (top, h - top - (oh - 1) * sh - 1, sh - 1),
                         (left, w - left - (ow - 1) * sw - 1, sw - 1)))
            y = p if y is None else y + p
    return y


@partial(jax.jit, static_argnums=(2,))
def max_pool2d_backward(g, idx, in_shape):
    """g added into zeros of ``in_shape`` at the flat per-plane indices, as one flat
    scatter-add (duplicates accumulate)."""
    n, c, h, w = in_shape
    plane = jnp.arange(n * c, dtype=idx.dtype).reshape(n, c, 1, 1) * (h * w)
    flat = (plane + idx.reshape(n, c, *g.shape[2:])).reshape(-1)
    return jnp.zeros(n * c * h * w, g.dtype).at[flat].add(g.reshape(-1)).reshape(in_shape)


def _window_sum(x, kernel, stride, padding, extra):
    pads = ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
            (padding[1], padding[1] + extra[1]))
    # a concrete zero and lax.add: JAX's window-sum primitive, which has a transpose rule
    return lax.reduce_window(x, np.zeros((), x.dtype), lax.add, (1, 1) + kernel,
                             (1, 1) + stride, pads)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    h, w = x.shape[2], x.shape[3]
    out_hw, extra = pool_geometry((h, w), kernel, stride, padding, (1, 1), ceil_mode)
    div = pool_divisor(_Jnp, (h, w), out_hw, kernel, stride, padding, count_include_pad,
                       divisor_override, x.dtype)
    total = _window_sum(x, kernel, stride, padding, extra)
    if jnp.issubdtype(x.dtype, jnp.integer):  # C division: truncates toward zero
        return (total / div).astype(x.dtype)
    return total / div


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def avg_pool2d_backward(g, in_hw, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    _, extra = pool_geometry(in_hw, kernel, stride, padding, (1, 1), ceil_mode)
    div = pool_divisor(_Jnp, in_hw, g.shape[2:], kernel, stride, padding, count_include_pad,
                       divisor_override, g.dtype)
    spec = jax.ShapeDtypeStruct(g.shape[:2] + in_hw, g.dtype)
    fwd = partial(_window_sum, kernel=kernel, stride=stride, padding=padding, extra=extra)
    return jax.linear_transpose(fwd, spec)(g / div)[0]


class _Jnp:
    """What ``pool_divisor`` reads of a backend: its namespace."""
    xp = jnp
