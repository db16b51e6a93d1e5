"""What the transforms (adapted from torchvision's own sources, BSD-3-Clause; Copyright (c) Soumith Chintala 2016; license text: vision/LICENSE-torchvision) need beyond
ember's public API: resizing with antialias and bicubic resizing (``interpolate``), and
``grid_sample`` (rotate/affine/perspective on tensors), written with ember's public ops so
they run on any backend; plus the Pillow-version shim torchvision uses for
``Image.fromarray(arr, mode)``.

Core ops that would make this cleaner: ``F.interpolate(..., antialias=True)`` and
``mode="bicubic"``, ``F.grid_sample``/``F.affine_grid``."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, __version__ as _PILLOW_VERSION

import ember
from ember.nn.functional import conv2d, pad  # noqa: F401 - re-exported for the kernels
from ember.nn.functional import interpolate as _interpolate

__all__ = ["conv2d", "pad", "interpolate", "grid_sample", "_Image_fromarray",
           "_log_api_usage_once"]


def _log_api_usage_once(obj) -> None:
    """torchvision logs API usage through torch's C++ hooks; ember has none."""


def _Image_fromarray(obj: np.ndarray, mode: str) -> Image.Image:
    """``Image.fromarray(obj, mode)`` with the old meaning (read the buffer in ``mode``),
    which Pillow 11.3 deprecated; the same workaround as torchvision's."""
    try:
        version = tuple(int(x) for x in _PILLOW_VERSION.split("."))
    except ValueError:
        version = None
    if version is None or version < (11, 3):
        return Image.fromarray(obj, mode)
    arr = obj.__array_interface__
    shape = arr["shape"]
    size = 1 if len(shape) == 1 else shape[1], shape[0]
    data = obj.tobytes() if arr.get("strides") is not None else obj
    return Image.frombuffer(mode, size, data, "raw", mode, 0, 1)


# -- resizing: one (out, in) weight matrix per axis, applied with matmuls ------------------

def _aa_filter(x, cubic: bool, f):
    x = abs(x)
    if not cubic:
        return f(1.0) - x if x < 1.0 else f(0.0)
    a = f(-0.5)  # PyTorch's antialiased bicubic uses PIL's a = -0.5
    if x < 1.0:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return f(0.0)


def _aa_matrix(n_in: int, n_out: int, cubic: bool, f=np.float32) -> np.ndarray:
    """PyTorch's ``_upsample_bilinear2d_aa``/``_upsample_bicubic2d_aa`` weights
    (``_compute_indices_min_size_weights_aa``, align_corners=False), computed step by step
    in the input's precision ``f`` as the kernel does, so uint8 results round the same."""
    scale = f(n_in) / f(n_out)
    interp = 4 if cubic else 2
    support = f(interp * 0.5) * scale if scale >= 1.0 else f(interp * 0.5)
    invscale = f(1.0) / scale if scale >= 1.0 else f(1.0)
    m = np.zeros((n_out, n_in), dtype=f)
    for i in range(n_out):
        center = scale * f(i + 0.5)
        xmin = max(int(center - support + f(0.5)), 0)
        xsize = min(int(center + support + f(0.5)), n_in) - xmin
        ws = [_aa_filter((f(j + xmin) - center + f(0.5)) * invscale, cubic, f)
              for j in range(xsize)]
        total = f(0.0)
        for w in ws:
            total = f(total + w)
        for j, w in enumerate(ws):
            m[i, xmin + j] = w / total if total != 0 else w
    return m


def _cubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    """PyTorch's ``upsample_bicubic2d`` (A = -0.75, align_corners=False, border indices
    clamped)."""
    a = -0.75
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = scale * (i + 0.5) - 0.5
        i0 = math.floor(src)
        t = src - i0
        x1, x2 = t + 1, 1 - t
        ws = (((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a,
              ((a + 2) * t - (a + 3)) * t * t + 1,
              ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1,
              (((a * (x2 + 1) - 5 * a) * (x2 + 1) + 8 * a) * (x2 + 1) - 4 * a))
        for k, w in enumerate(ws):
            m[i, min(max(i0 - 1 + k, 0), n_in - 1)] += w
    return m


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """``torch.nn.functional.interpolate`` for 4-D input, adding ``antialias=True`` for
    bilinear/bicubic and plain bicubic (align_corners=False) to ember's modes."""
    if not (mode == "bicubic" or (antialias and mode == "bilinear")):
        return _interpolate(input, size=size, scale_factor=scale_factor, mode=mode,
                            align_corners=align_corners,
                            recompute_scale_factor=recompute_scale_factor)
    if align_corners:
        raise NotImplementedError("ember_vision's bicubic/antialiased resize implements "
                                  "align_corners=False only")
    h_in, w_in = input.shape[-2:]
    if size is None:
        sf = scale_factor if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * 2
        size = (int(math.floor(h_in * sf[0])), int(math.floor(w_in * sf[1])))
    h_out, w_out = (size, size) if isinstance(size, int) else size
    cubic = mode == "bicubic"
    if antialias:
        f = np.float64 if input.dtype == ember.float64 else np.float32
        mh, mw = _aa_matrix(h_in, h_out, cubic, f), _aa_matrix(w_in, w_out, cubic, f)
    else:
        mh, mw = _cubic_matrix(h_in, h_out), _cubic_matrix(w_in, w_out)
    dt, dev = input.dtype, input.device
    mh = ember.from_numpy(mh).to(dtype=dt, device=dev)
    mw = ember.from_numpy(mw.T.copy()).to(dtype=dt, device=dev)
    # PyTorch resizes the width first, then the height
    return mh @ (input @ mw)


# -- grid_sample --------------------------------------------------------------------------

def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = False):
    """``torch.nn.functional.grid_sample`` for 4-D input, modes bilinear/nearest with
    zeros padding (what torchvision's rotate/affine/perspective use)."""
    if padding_mode != "zeros" or mode not in ("bilinear", "nearest"):
        raise NotImplementedError("ember_vision's grid_sample implements bilinear/nearest "
                                  "with padding_mode='zeros'")
    n, c, h, w = input.shape
    gx, gy = grid[..., 0], grid[..., 1]
    if align_corners:
        x, y = (gx + 1) / 2 * (w - 1), (gy + 1) / 2 * (h - 1)
    else:
        x, y = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
    flat = input.reshape(n, c, h * w)
    ho, wo = grid.shape[1], grid.shape[2]

    def tap(ix, iy):
        valid = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
        idx = (iy.clamp(0, h - 1) * w + ix.clamp(0, w - 1)).long().reshape(n, 1, ho * wo)
        vals = flat.gather(2, idx.expand(n, c, ho * wo)).reshape(n, c, ho, wo)
        return vals * valid.unsqueeze(1).to(input.dtype)

    if mode == "nearest":
        return tap(ember.round(x), ember.round(y))
    x0, y0 = ember.floor(x), ember.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    wx1, wy1 = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    wx0, wy0 = 1 - wx1, 1 - wy1
    return (tap(x0, y0) * wx0 * wy0 + tap(x1, y0) * wx1 * wy0
            + tap(x0, y1) * wx0 * wy1 + tap(x1, y1) * wx1 * wy1)
