"""The numpy backend's softmax and log_softmax along the last axis, forward and backward.

Written as whole-array numpy operations, a log_softmax makes five passes over its input's
size (max, subtract, exp into a temporary, sum, subtract) and its backward four, each
streaming the whole array through memory: for the 700 x 10k logits of a word-level
language model (28 MB) that is ~15 ms a step where PyTorch's fused kernels take ~6. Done
over blocks of rows that fit in cache, every pass after the first reads the block from
cache, the ``exp`` temporary is one small scratch array, and the blocks are split over the
backend's threads. Each row sees the very same operations as the whole-array form, so the
results are bit for bit those of ``Backend.softmax`` / ``softmax_backward``.
"""
from __future__ import annotations

import numpy as np

from . import _threads

__all__ = ["softmax", "softmax_backward"]

#: elements per block of rows: a few float32 arrays of a block stay within L2
BLOCK = 1 << 17
#: below this many elements the whole-array form is as fast (the caller then uses it)
MIN_SIZE = 1 << 14


def _rows(*arrays):
    """2-d (rows, last axis) views of C-contiguous float arrays of one shape and dtype,
    or None."""
    a = arrays[0]
    if a.size < MIN_SIZE or a.dtype.kind != "f" or not a.shape[-1]:
        return None
    for b in arrays:
        if b.shape != a.shape or b.dtype != a.dtype or not b.flags.c_contiguous:
            return None
    return [b.reshape(-1, a.shape[-1]) for b in arrays]


def _over_rows(n_rows: int, width: int, dtype, fn) -> None:
    """``fn(lo, hi, scratch)`` over blocks of rows, the blocks spread over threads."""
    _threads.blocked(n_rows, max(1, BLOCK // width), lambda b, e, buf: fn(b, e, buf[:e - b]),
                     scratch=lambda m: np.empty((m, width), dtype), size=n_rows * width)


def softmax(x, log: bool):
    """``Backend.softmax`` over the last axis of a C-contiguous float array; None when
    the array does not qualify (the caller takes the generic path)."""
    rows = _rows(x)
    if rows is None:
        return None
    x2 = rows[0]
    out = np.empty_like(x)
    o2 = out.reshape(x2.shape)

    def block(lo, hi, t):
        xb, ob = x2[lo:hi], o2[lo:hi]
        np.subtract(xb, np.max(xb, axis=1, keepdims=True), out=ob)
        if log:
            np.exp(ob, out=t)
            s = np.sum(t, axis=1, keepdims=True)
            ob -= np.log(s, out=s)
        else:
            np.exp(ob, out=ob)
            ob /= np.sum(ob, axis=1, keepdims=True)
    _over_rows(x2.shape[0], x2.shape[1], x.dtype, block)
    return out


def softmax_backward(y, g, log: bool):
    """``Backend.softmax_backward`` over the last axis; None when the arrays do not
    qualify."""
    rows = _rows(y, g)
    if rows is None:
        return None
    y2, g2 = rows
    out = np.empty_like(y)
    o2 = out.reshape(y2.shape)

    def block(lo, hi, t):
        yb, gb, ob = y2[lo:hi], g2[lo:hi], o2[lo:hi]
        if log:                      # g - exp(y) sum(g)
            np.exp(yb, out=ob)
            ob *= -np.sum(gb, axis=1, keepdims=True)
            ob += gb
        else:                        # g y - y sum(g y)
            np.multiply(gb, yb, out=ob)
            np.multiply(yb, np.sum(ob, axis=1, keepdims=True), out=t)
            ob -= t
    _over_rows(y2.shape[0], y2.shape[1], y.dtype, block)
    return out
