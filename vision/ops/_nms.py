"""Non-maximum suppression, as torchvision's CPU kernel does it (``nms_kernel.cpp``): boxes
visited in decreasing score order (stable for ties), each kept box suppressing the later
ones whose IoU with it exceeds the threshold, IoU computed in the boxes' dtype. Runs on the
host (a sequential loop over a few thousand boxes); the result is an int64 tensor on the
boxes' device."""
from __future__ import annotations

import numpy as np

import ember

__all__ = ["nms"]


def nms(boxes: ember.Tensor, scores: ember.Tensor, iou_threshold: float) -> ember.Tensor:
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise RuntimeError(f"boxes should be a 2d tensor of shape [N, 4], got "
                           f"{boxes.ndim}D")
    if scores.ndim != 1:
        raise RuntimeError(f"scores should be a 1d tensor, got {scores.ndim}D")
    if boxes.shape[0] != scores.shape[0]:
        raise RuntimeError(f"boxes and scores should have same number of elements in "
                           f"dimension 0, got {boxes.shape[0]} and {scores.shape[0]}")
    b = boxes.detach().cpu().numpy()
    s = scores.detach().cpu().numpy()
    n = b.shape[0]
    if n == 0:
        return ember.empty(0, dtype=ember.int64, device=boxes.device)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-s, kind="stable")
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    thr = b.dtype.type(iou_threshold)
    for _i, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[_i + 1:]
        rest = rest[~suppressed[rest]]
        if rest.size == 0:
            continue
        w = np.maximum(b.dtype.type(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(b.dtype.type(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[ovr > thr]] = True
    return ember.from_numpy(np.asarray(keep, dtype=np.int64)).to(boxes.device)
