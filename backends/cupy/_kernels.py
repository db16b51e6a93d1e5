"""CUDA kernels for the convolution family, each one launch where the generic defaults
(``ember.backends._conv``) take one per kernel position: im2col, its adjoint col2im, max
pooling with PyTorch's index rule and its gradient; and Adam's update. Written as ``cupy.ElementwiseKernel``s (one thread
per output element, compiled by CuPy on first use and cached on disk). Float32/float64 only;
other dtypes keep the generic path.

Layouts match the generic ones: cols are (N, C, kh, kw, OH, OW) in C order, i.e. the
generic (N, C, kh * kw, OH, OW).
"""
from __future__ import annotations

import cupy

_GEOMETRY = ("int32 h, int32 w, int32 oh, int32 ow, int32 kh, int32 kw, int32 sy, int32 sx, "
             "int32 ph, int32 pw, int32 dy, int32 dx")

# one thread per column entry: the padded input's value under that window slot, or 0
_im2col = cupy.ElementwiseKernel(
    "raw T img, " + _GEOMETRY, "T col",
    """
    const ptrdiff_t c0 = i / ((ptrdiff_t)kh * kw * oh * ow);
    const int ky = i / ((ptrdiff_t)kw * oh * ow) % kh;
    const int kx = i / ((ptrdiff_t)oh * ow) % kw;
    const int y = ky * dy + (int)(i / ow % oh) * sy - ph;
    const int x = kx * dx + (int)(i % ow) * sx - pw;
    col = (y >= 0 && y < h && x >= 0 && x < w) ? img[(c0 * h + y) * w + x] : (T)0;
    """,
    "ember_im2col")

# one thread per image pixel: the sum of every column entry that read it (a gather, so no
# atomics and a deterministic order)
_col2im = cupy.ElementwiseKernel(
    "raw T col, " + _GEOMETRY, "T img",
    """
    const ptrdiff_t c0 = i / ((ptrdiff_t)h * w);
    const int y = i / w % h + ph;
    const int x = i % w + pw;
    T val = 0;
    for (int ky = 0; ky < kh; ++ky) {
      const int ty = y - ky * dy;
      if (ty < 0 || ty % sy != 0 || ty / sy >= oh) continue;
      for (int kx = 0; kx < kw; ++kx) {
        const int tx = x - kx * dx;
        if (tx < 0 || tx % sx != 0 || tx / sx >= ow) continue;
        val += col[(((c0 * kh + ky) * kw + kx) * oh + ty / sy) * ow + tx / sx];
      }
    }
    img = val;
    """,
    "ember_col2im")

# PyTorch's max-pool rule: start at the window's first real element, then a larger value
# or a NaN takes over (so NaN propagates and its last occurrence is the index)
_max_pool = cupy.ElementwiseKernel(
    "raw T img, " + _GEOMETRY, "T out, int64 idx",
    """
    const ptrdiff_t c0 = i / ((ptrdiff_t)oh * ow);
    int y0 = (int)(i / ow % oh) * sy - ph;
    int x0 = (int)(i % ow) * sx - pw;
    const int y1 = min(y0 + (kh - 1) * dy + 1, h);
    const int x1 = min(x0 + (kw - 1) * dx + 1, w);
    while (y0 < 0) y0 += dy;
    while (x0 < 0) x0 += dx;
    const T* plane = &img[c0 * h * w];
    int best = y0 * w + x0;
    T m = plane[best];
    for (int y = y0; y < y1; y += dy) {
      for (int x = x0; x < x1; x += dx) {
        const T v = plane[y * w + x];
        if (v > m || v != v) { m = v; best = y * w + x; }
      }
    }
    out = m;
    idx = best;
    """,
    "ember_max_pool2d")

# max pooling's gradient: each output's gradient added at its input index (windows overlap
# when stride < kernel, hence the atomic add)
_max_pool_back = cupy.ElementwiseKernel(
    "T g, int64 idx, int64 out_plane, int64 in_plane", "raw T img",
    "atomicAdd(&img[(i / out_plane) * in_plane + idx], g)",
    "ember_max_pool2d_backward")


def _geometry(h, w, oh, ow, kernel, stride, padding, dilation):
    return (h, w, oh, ow, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
            dilation[0], dilation[1])


def im2col(x, kernel, stride, padding, dilation, out_hw):
    n, c, h, w = x.shape
    oh, ow = out_hw
    out = cupy.empty((n, c, kernel[0] * kernel[1], oh, ow), dtype=x.dtype)
    _im2col(cupy.ascontiguousarray(x),
            *_geometry(h, w, oh, ow, kernel, stride, padding, dilation), out)
    return out


def col2im(cols, out_hw, kernel, stride, padding, dilation):
    n, c, _, oh, ow = cols.shape
    h, w = out_hw
    out = cupy.empty((n, c, h, w), dtype=cols.dtype)
    _col2im(cupy.ascontiguousarray(cols),
            *_geometry(h, w, oh, ow, kernel, stride, padding, dilation), out)
    return out


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    from ember.backends import pool_geometry
    n, c, h, w = x.shape
    (oh, ow), _ = pool_geometry((h, w), kernel, stride, padding, dilation, ceil_mode)
    out = cupy.empty((n, c, oh, ow), dtype=x.dtype)
    idx = cupy.empty((n, c, oh, ow), dtype=cupy.int64)
    _max_pool(cupy.ascontiguousarray(x),
              *_geometry(h, w, oh, ow, kernel, stride, padding, dilation), out, idx)
    return out, idx


# Adam's update in one pass over the four arrays (the generic path is ~9 launches), with
# PyTorch's formulas: the two-sided lerp for exp_avg, then addcmul for exp_avg_sq
_adam = cupy.ElementwiseKernel(
    "T g, float64 w1, float64 beta2, float64 w2, float64 step_size, float64 bc2_sqrt, "
    "float64 eps", "T a, T m, T v",
    """
    m = (w1 < 0.5) ? (T)(m + (T)w1 * (g - m)) : (T)(g - (g - m) * (T)(1.0 - w1));
    v = v * (T)beta2 + (T)w2 * (g * g);
    a = a - (T)step_size * (m / (sqrt(v) / (T)bc2_sqrt + (T)eps));
    """,
    "ember_adam")


def adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    _adam(g, 1.0 - beta1, beta2, 1.0 - beta2, step_size, bc2_sqrt, eps, a, m, v)
    return a, m, v, None


def max_pool2d_backward(g, idx, in_shape):
    n, c, h, w = in_shape
    out = cupy.zeros((n, c, h, w), dtype=g.dtype)
    _max_pool_back(cupy.ascontiguousarray(g), cupy.ascontiguousarray(idx),
                   g.shape[2] * g.shape[3], h * w, out)
    return out
