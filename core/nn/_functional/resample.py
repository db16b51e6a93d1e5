"""Resampling and padding: ``pad``, ``interpolate`` (nearest, nearest-exact, linear,
bilinear, bicubic, trilinear, area, antialias), ``upsample*``, ``pixel_shuffle``, ``pixel_unshuffle``. Mirror
``torch.nn.functional`` of the same names.

Constant padding is one op (a filled array with the input written in; its backward slices
the gradient). Reflect/replicate/circular padding and nearest resizing gather along each
spatial dim with an index vector (``index_select``, whose backward accumulates). Linear
resizing is separable: along each dim it is a constant (out, in) interpolation matrix, so
the op is matmuls and its gradient is exact and differentiable again.
"""
from __future__ import annotations

import math
import warnings

from ... import _dtype
from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle"]


# --- pad --------------------------------------------------------------------------------

def _constant_pad(input: Tensor, pads: list, value) -> Tensor:
    """``pads`` is (before, after) per dim, first dim first, all >= 0."""
    be = input._device._be
    xp = be.xp
    shape = tuple(n + a + b for n, (a, b) in zip(input.shape, pads))
    key = tuple(slice(a, a + n) for n, (a, _) in zip(input.shape, pads))
    out = xp.full(shape, value, dtype=be.native_dtype(input.dtype))
    res = wrap(be.setitem(out, key, input._data), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "ConstantPadNdBackward0", (input,), lambda g: (g[key],))
    return res


def _pad_pairs(pad, ndim: int) -> list:
    """PyTorch's last-dim-first flat ``pad`` as (before, after) per dim, first dim first."""
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pairs


def _crop_negative(input: Tensor, pairs: list) -> tuple[Tensor, list]:
    """Negative padding removes elements: slice them off, keep the positive part."""
    if all(a >= 0 and b >= 0 for a, b in pairs):
        return input, pairs
    key = []
    for n, (a, b) in zip(input.shape, pairs):
        start, stop = max(-a, 0), n - max(-b, 0)
        if stop < start:
            raise RuntimeError("narrow(): length must be non-negative.")
        key.append(slice(start, stop))
    return input[tuple(key)], [(max(a, 0), max(b, 0)) for a, b in pairs]


_NONCONST = {"reflect": "Reflection", "replicate": "Replication", "circular": "Circular"}


def _nonconstant_index(xp, n: int, before: int, after: int, mode: str):
    i = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    i = xp.abs(i)  # reflect about 0 and about n - 1
    return xp.where(i > n - 1, 2 * (n - 1) - i, i)


def _check_nonconstant(input: Tensor, pairs: list, k: int, mode: str) -> None:
    for d in range(input.ndim - k, input.ndim):
        n = input.shape[d]
        a, b = pairs[d]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({a}, {b}) "
                               f"at dimension {d} of input {list(input.shape)}")
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    lead = input.ndim - k
    if any(input.shape[d] == 0 for d in range(1 if lead == 2 else 0, input.ndim)):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.pad``: ``pad`` lists (left, right) of the last dim,
    then of the one before, ...; constant padding takes any number of dims (negative values
    crop), the other modes the last 1-3 dims of a 2-5-d input."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    pairs = _pad_pairs(pad, input.ndim)
    if mode == "constant":
        x, pairs = _crop_negative(input, pairs)
        if all(a == 0 and b == 0 for a, b in pairs):
            return x.clone() if x is input else x
        return _constant_pad(x, pairs, 0 if value is None else value)
    if mode not in _NONCONST:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    x, pairs = _crop_negative(input, pairs) if mode != "reflect" else (input, pairs)
    _check_nonconstant(x, pairs, k, mode)
    xp = x._device._be.xp
    for d in range(x.ndim - k, x.ndim):
        a, b = pairs[d]
        if a or b:
            idx = _nonconstant_index(xp, x.shape[d], a, b, mode)
            x = x.index_select(d, wrap(idx, _dtype.int64, x._device))
    return x


# --- interpolate ------------------------------------------------------------------------

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _sizes(input: Tensor, size, scale_factor, recompute):
    """(output sizes, scales for the index maths or None per dim) as PyTorch derives them."""
    k = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != k:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {spatial} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    f"and output size in (o1, o2, ...,oK) format.")
            return [int(s) for s in size], [None] * k
        return [int(size)] * k, [None] * k
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != k:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                f"format and scale_factor in (s1, s2, ...,sK) format.")
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * k
    out = [int(math.floor(n * s)) for n, s in zip(spatial, scales)]
    return out, ([None] * k if recompute else scales)


def _src_scale(n_in: int, n_out: int, scale, align_corners: bool):
    """How far one output step moves in the input (PyTorch's area_pixel_compute_scale)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_index(xp, n_in: int, n_out: int, scale, exact: bool, shortcut: bool):
    if shortcut and not exact and n_out in (n_in, 2 * n_in):
        # PyTorch's 2-d nearest kernel copies or halves indices here, whatever the scale
        return xp.arange(n_out) // (n_out // n_in)
    # float32 index maths, as PyTorch's nearest kernels (floorf of a float product)
    f32 = xp.float32
    s = xp.asarray(1.0 / scale if scale is not None and scale > 0 else n_in / n_out,
                   dtype=f32)
    o = xp.astype(xp.arange(n_out), f32)
    src = xp.floor((o + 0.5) * s) if exact else xp.floor(o * s)
    return xp.clip(xp.astype(src, xp.int64), 0, n_in - 1)


def _linear_matrix(be, n_in: int, n_out: int, scale, align_corners: bool, dt):
    """The (n_out, n_in) matrix of linear interpolation weights along one dim."""
    xp = be.xp
    r = _src_scale(n_in, n_out, scale, align_corners)
    o = xp.astype(xp.arange(n_out), xp.float64)
    src = o * r if align_corners else xp.clip((o + 0.5) * r - 0.5, 0.0, None)
    i0 = xp.clip(xp.astype(xp.floor(src), xp.int64), 0, n_in - 1)
    i1 = xp.clip(i0 + 1, 0, n_in - 1)
    lam = src - xp.astype(i0, xp.float64)
    cols = xp.reshape(xp.arange(n_in), (1, n_in))
    m = xp.where(cols == xp.reshape(i0, (-1, 1)), xp.reshape(1.0 - lam, (-1, 1)), 0.0) + \
        xp.where(cols == xp.reshape(i1, (-1, 1)), xp.reshape(lam, (-1, 1)), 0.0)
    return be.astype(m, dt)


def _cubic_coefficients(xp, t):
    """PyTorch's get_cubic_upsample_coefficients (Keys' kernel, A = -0.75) of the four taps
    at floor(src) - 1 .. floor(src) + 2 for the fraction t."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def _cubic_matrix(be, n_in: int, n_out: int, scale, align_corners: bool, dt):
    """The (n_out, n_in) matrix of bicubic weights along one dim: PyTorch's source index
    (not clamped below 0 for cubic), taps clamped to the border (their weights add up)."""
    xp = be.xp
    r = _src_scale(n_in, n_out, scale, align_corners)
    o = xp.astype(xp.arange(n_out), xp.float64)
    src = o * r if align_corners else (o + 0.5) * r - 0.5
    fl = xp.floor(src)
    t = src - fl
    base = xp.astype(fl, xp.int64)
    cols = xp.reshape(xp.arange(n_in), (1, n_in))
    m = xp.zeros((n_out, n_in), dtype=xp.float64)
    for k, w in enumerate(_cubic_coefficients(xp, t)):
        i = xp.clip(base - 1 + k, 0, n_in - 1)
        m = m + xp.where(cols == xp.reshape(i, (-1, 1)), xp.reshape(w, (-1, 1)), 0.0)
    return be.astype(m, dt)


def _aa_matrix(be, n_in: int, n_out: int, scale, align_corners: bool, dt, interp: int = 2):
    """The (n_out, n_in) matrix of antialiased weights along one dim (PyTorch's
    _compute_indices_min_size_weights_aa, as Pillow resamples): when shrinking, the
    triangle (bilinear) or Keys a = -0.5 (bicubic) filter stretched by the scale, the
    weights of each output normalised to sum to 1."""
    xp = be.xp
    r = _src_scale(n_in, n_out, scale, align_corners)
    support = interp * 0.5 * r if r >= 1.0 else interp * 0.5
    inv = 1.0 / r if r >= 1.0 else 1.0
    center = (xp.astype(xp.arange(n_out), xp.float64) + 0.5) * r
    lo = xp.clip(xp.astype(center - support + 0.5, xp.int64), 0, None)  # truncation
    hi = xp.clip(xp.astype(center + support + 0.5, xp.int64), None, n_in)
    j = xp.astype(xp.reshape(xp.arange(n_in), (1, n_in)), xp.float64)
    x = xp.abs((j - xp.reshape(center, (-1, 1)) + 0.5) * inv)
    if interp == 2:
        w = xp.where(x < 1.0, 1.0 - x, 0.0)
    else:
        a = -0.5
        w = xp.where(x < 1.0, ((a + 2) * x - (a + 3)) * x * x + 1,
                     xp.where(x < 2.0, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    jj = xp.reshape(xp.arange(n_in), (1, n_in))
    w = xp.where((jj >= xp.reshape(lo, (-1, 1))) & (jj < xp.reshape(hi, (-1, 1))), w, 0.0)
    total = xp.sum(w, axis=1, keepdims=True)
    w = xp.where(total != 0.0, w / xp.where(total != 0.0, total, 1.0), 0.0)
    return be.astype(w, dt)


def _linear_resize(input: Tensor, out, scales, align_corners: bool, matrix=None,
                   interp: int = 2) -> Tensor:
    """Separable resizing: along each resized dim, a product with the constant (out, in)
    weight matrix ``matrix`` builds (linear by default)."""
    if matrix is None:
        matrix = _linear_matrix
    extra = {"interp": interp} if matrix is _aa_matrix else {}
    be = input._device._be
    x = input
    k = input.ndim - 2
    for d in range(k):
        n_in = input.shape[2 + d]
        if out[d] == n_in and scales[d] is None:
            continue
        m = wrap(matrix(be, n_in, out[d], scales[d], bool(align_corners), x.dtype, **extra),
                 x.dtype, x._device)
        axis = 2 + d
        if axis == x.ndim - 1:
            x = x @ m.mT
        else:  # contract the axis by moving it last and back
            x = (x.movedim(axis, -1) @ m.mT).movedim(-1, axis)
    return x


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.interpolate`` for the modes nearest, nearest-exact,
    linear, bilinear, bicubic, trilinear and area; ``antialias`` for bilinear and bicubic
    (4-D input), as PyTorch. The linear, cubic and antialiased modes are separable: one
    constant weight matrix per resized dim."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    k = input.ndim - 2
    if mode not in _MODES or k not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode in _LINEAR and _LINEAR[mode] != k:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode] + 2}D input")
    if mode == "bicubic" and k != 2:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    out, scales = _sizes(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        if k == 1:
            return adaptive_avg_pool1d(input, out)
        if k == 2:
            return adaptive_avg_pool2d(input, out)
        return adaptive_avg_pool3d(input, out)
    if mode in _LINEAR or mode == "bicubic":
        if not input.dtype.is_floating_point:  # PyTorch's kernels are float-only
            from ._util import dtype_name
            kernel = "compute_indices_weights_cubic" if mode == "bicubic" else \
                {2: "upsample_bilinear2d_channels_last"}.get(k, "compute_indices_weights_linear")
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{dtype_name(input.dtype)}'")
        matrix = _aa_matrix if antialias else \
            _cubic_matrix if mode == "bicubic" else _linear_matrix
        return _linear_resize(input, out, scales, align_corners, matrix,
                              4 if mode == "bicubic" else 2)
    xp = input._device._be.xp
    x = input
    for d in range(k):
        idx = _nearest_index(xp, input.shape[2 + d], out[d], scales[d],
                             mode == "nearest-exact", k == 2)
        x = x.index_select(2 + d, wrap(idx, _dtype.int64, x._device))
    return x


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Mirrors the deprecated ``torch.nn.functional.upsample`` (warns, then interpolates)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Mirrors the deprecated ``torch.nn.functional.upsample_nearest``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Mirrors the deprecated ``torch.nn.functional.upsample_bilinear`` (align_corners)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --- pixel shuffle ----------------------------------------------------------------------

def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Mirrors ``torch.nn.functional.pixel_shuffle``: (*, C·r², H, W) -> (*, C, H·r, W·r)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    r = upscale_factor
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c}"
                           f" is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Mirrors ``torch.nn.functional.pixel_unshuffle``: (*, C, H·r, W·r) -> (*, C·r², H,
    W)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    r = downscale_factor
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
