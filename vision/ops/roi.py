"""``roi_align`` and ``roi_pool`` (and their modules), as torchvision's CPU kernels compute
them (``roi_align_kernel.cpp``, ``roi_pool_kernel.cpp``).

The sampling positions, bilinear weights (roi_align) and arg-max positions (roi_pool) are
worked out on the host from the boxes (and, for roi_pool, the values); the values are then
taken from ``input`` with ember's ``index_select`` and combined with ember ops, so gradients
reach ``input`` on any backend, as in torchvision (neither op differentiates the boxes).
A core gather-with-weights (or an ``F.grid_sample``) op would let this stay on the device."""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import Tensor, nn

from ._utils import check_roi_boxes_shape, convert_boxes_to_roi_format

__all__ = ["roi_align", "RoIAlign", "roi_pool", "RoIPool"]


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _rois(boxes) -> Tensor:
    check_roi_boxes_shape(boxes)
    return boxes if isinstance(boxes, Tensor) else convert_boxes_to_roi_format(boxes)


def _bilinear_taps(y: np.ndarray, x: np.ndarray, h: int, w: int):
    """torchvision's ``bilinear_interpolate``: 4 flat indices and weights per point (weights
    0 where the point lies outside [-1, H] x [-1, W])."""
    out = (y < -1.0) | (y > h) | (x < -1.0) | (x > w)
    y, x = np.maximum(y, 0), np.maximum(x, 0)
    y_low, x_low = y.astype(np.int64), x.astype(np.int64)
    top_y, top_x = y_low >= h - 1, x_low >= w - 1
    y_high = np.where(top_y, h - 1, y_low + 1)
    y_low = np.where(top_y, h - 1, y_low)
    y = np.where(top_y, y_low, y)
    x_high = np.where(top_x, w - 1, x_low + 1)
    x_low = np.where(top_x, w - 1, x_low)
    x = np.where(top_x, x_low, x)
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    idx = np.stack([y_low * w + x_low, y_low * w + x_high, y_high * w + x_low,
                    y_high * w + x_high], -1)
    wts = np.stack([hy * hx, hy * lx, ly * hx, ly * lx], -1)
    wts[out] = 0
    idx[out] = 0
    return idx, wts


def roi_align(input: Tensor, boxes, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """Mirrors ``torchvision.ops.roi_align``: (K, C, PH, PW) averages of bilinear samples."""
    rois = _rois(boxes)
    ph_n, pw_n = _pair(output_size)
    n, c, h, w = input.shape
    r = rois.detach().cpu().numpy().astype(input.detach().cpu().numpy().dtype
                                              if input.dtype.is_floating_point else np.float32)
    k = r.shape[0]
    if k == 0:
        return ember.zeros((0, c, ph_n, pw_n), dtype=input.dtype, device=input.device)
    dt = r.dtype.type
    offset = dt(0.5) if aligned else dt(0)
    all_idx, all_w = [], []
    for i in range(k):
        b = int(r[i, 0])
        sx, sy = r[i, 1] * dt(spatial_scale) - offset, r[i, 2] * dt(spatial_scale) - offset
        ex, ey = r[i, 3] * dt(spatial_scale) - offset, r[i, 4] * dt(spatial_scale) - offset
        rw, rh = ex - sx, ey - sy
        if not aligned:
            rw, rh = max(rw, dt(1)), max(rh, dt(1))
        bh, bw = dt(rh / ph_n), dt(rw / pw_n)
        gh = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rh / ph_n))
        gw = sampling_ratio if sampling_ratio > 0 else int(math.ceil(rw / pw_n))
        count = max(gh * gw, 1)
        ph, pw, iy, ix = np.meshgrid(np.arange(ph_n), np.arange(pw_n), np.arange(gh),
                                     np.arange(gw), indexing="ij")
        y = sy + ph.astype(dt) * bh + (iy.astype(dt) + dt(0.5)) * bh / dt(gh)
        x = sx + pw.astype(dt) * bw + (ix.astype(dt) + dt(0.5)) * bw / dt(gw)
        idx, wts = _bilinear_taps(y.astype(dt), x.astype(dt), h, w)
        # (PH, PW, gh*gw*4) per roi, offset into the (N*H*W) rows of the flat input
        idx = idx.reshape(ph_n, pw_n, -1) + b * h * w
        wts = (wts / count).reshape(ph_n, pw_n, -1)
        all_idx.append(idx)
        all_w.append(wts)
    s = max(a.shape[-1] for a in all_idx)
    idx = np.zeros((k, ph_n, pw_n, s), np.int64)
    wts = np.zeros((k, ph_n, pw_n, s), r.dtype)
    for i, (a, b_) in enumerate(zip(all_idx, all_w)):
        idx[i, :, :, :a.shape[-1]] = a
        wts[i, :, :, :b_.shape[-1]] = b_
    flat = input.permute(0, 2, 3, 1).reshape(n * h * w, c)
    idx_t = ember.from_numpy(idx.reshape(-1)).to(input.device)
    vals = flat.index_select(0, idx_t).reshape(k, ph_n, pw_n, s, c)
    wts_t = ember.from_numpy(wts).to(device=input.device, dtype=input.dtype).unsqueeze(-1)
    return (vals * wts_t).sum(3).permute(0, 3, 1, 2).contiguous()


def _round(v: float) -> int:
    # C++'s round(): halves away from zero
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """Mirrors ``torchvision.ops.roi_pool``: (K, C, PH, PW) maxima over integer bins; an
    empty bin gives 0."""
    rois = _rois(boxes)
    ph_n, pw_n = _pair(output_size)
    n, c, h, w = input.shape
    r = rois.detach().cpu().numpy().astype(np.float64)
    x = input.detach().cpu().numpy()
    k = r.shape[0]
    flat_idx = np.zeros((k, c, ph_n, pw_n), np.int64)
    valid = np.zeros((k, 1, ph_n, pw_n), bool)
    for i in range(k):
        b = int(r[i, 0])
        sx, sy = _round(r[i, 1] * spatial_scale), _round(r[i, 2] * spatial_scale)
        ex, ey = _round(r[i, 3] * spatial_scale), _round(r[i, 4] * spatial_scale)
        rw, rh = max(ex - sx + 1, 1), max(ey - sy + 1, 1)
        bh, bw = np.float32(rh) / np.float32(ph_n), np.float32(rw) / np.float32(pw_n)
        for ph in range(ph_n):
            hs = min(max(int(math.floor(ph * bh)) + sy, 0), h)
            he = min(max(int(math.ceil((ph + 1) * bh)) + sy, 0), h)
            for pw in range(pw_n):
                ws = min(max(int(math.floor(pw * bw)) + sx, 0), w)
                we = min(max(int(math.ceil((pw + 1) * bw)) + sx, 0), w)
                if he <= hs or we <= ws:
                    continue
                region = x[b, :, hs:he, ws:we].reshape(c, -1)
                am = region.argmax(1)  # first maximum, as the kernel's strict ">"
                yy, xx = hs + am // (we - ws), ws + am % (we - ws)
                flat_idx[i, :, ph, pw] = ((b * c + np.arange(c)) * h + yy) * w + xx
                valid[i, 0, ph, pw] = True
    idx_t = ember.from_numpy(flat_idx.reshape(-1)).to(input.device)
    out = input.reshape(-1).index_select(0, idx_t).reshape(k, c, ph_n, pw_n)
    return out * ember.from_numpy(valid).to(device=input.device, dtype=input.dtype)


class RoIAlign(nn.Module):
    """Mirrors ``torchvision.ops.RoIAlign``."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int,
                 aligned: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
                f"aligned={self.aligned})")


class RoIPool(nn.Module):
    """Mirrors ``torchvision.ops.RoIPool``."""

    def __init__(self, output_size, spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(output_size={self.output_size}, "
                f"spatial_scale={self.spatial_scale})")
