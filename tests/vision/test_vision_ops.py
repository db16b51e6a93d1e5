"""ember_vision.ops against torchvision.ops (values and gradients), with hand-computed
cases that run without torchvision."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember_vision.ops as EO

_RNG = np.random.default_rng(0)
_XY = _RNG.random((40, 2)).astype(np.float32) * 50
BOXES = np.concatenate([_XY, _XY + _RNG.random((40, 2)).astype(np.float32) * 20 + 1], 1)
SCORES = _RNG.permutation(40).astype(np.float32) / 40  # no ties
FEAT = _RNG.standard_normal((2, 3, 12, 14)).astype(np.float32)
ROIS = np.concatenate([_RNG.integers(0, 2, (6, 1)).astype(np.float32), BOXES[:6] / 4], 1)


def _e(a, device="cpu"):
    return ember.from_numpy(np.ascontiguousarray(a)).to(device)


def _tvops():
    return pytest.importorskip("torchvision").ops


def test_nms_by_hand(device):
    boxes = _e(np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.]],
                        np.float32), device)
    scores = _e(np.array([0.9, 0.8, 0.7, 0.95], np.float32), device)
    keep = EO.nms(boxes, scores, 0.5)
    assert keep.dtype == ember.int64 and keep.device.type == ember.device(device).type
    assert keep.tolist() == [3, 2]  # 3 suppresses 0 (IoU 0.9) and 1; 2 overlaps none
    assert EO.nms(boxes, scores, 0.95).tolist() == [3, 0, 1, 2]
    assert EO.batched_nms(boxes, scores, _e(np.array([0, 1, 0, 0]), device), 0.5).tolist() \
        == [3, 1, 2]
    assert EO.nms(boxes[:0], scores[:0], 0.5).shape == (0,)


@pytest.mark.parametrize("thr", [0.1, 0.3, 0.7])
def test_nms_matches_torchvision(device, thr):
    ops = _tvops()
    import torch
    idxs = _RNG.integers(0, 3, 40)
    assert EO.nms(_e(BOXES, device), _e(SCORES, device), thr).tolist() == \
        ops.nms(torch.from_numpy(BOXES), torch.from_numpy(SCORES), thr).tolist()
    assert EO.batched_nms(_e(BOXES, device), _e(SCORES, device), _e(idxs, device),
                          thr).tolist() == \
        ops.batched_nms(torch.from_numpy(BOXES), torch.from_numpy(SCORES),
                        torch.from_numpy(idxs), thr).tolist()


def test_box_ops_by_hand(device):
    a = _e(np.array([[0, 0, 2, 2], [1, 1, 3, 4.]], np.float32), device)
    np.testing.assert_allclose(EO.box_iou(a, a).cpu().numpy(),
                               [[1, 1 / 9], [1 / 9, 1]], rtol=1e-6)
    np.testing.assert_allclose(EO.box_area(a).cpu().numpy(), [4, 6])
    np.testing.assert_allclose(EO.box_convert(a, "xyxy", "cxcywh").cpu().numpy(),
                               [[1, 1, 2, 2], [2, 2.5, 2, 3]])
    np.testing.assert_allclose(EO.box_convert(a, "xyxy", "xywh").cpu().numpy(),
                               [[0, 0, 2, 2], [1, 1, 2, 3]])


def test_box_ops_match_torchvision(device):
    ops = _tvops()
    import torch
    tb, eb = torch.from_numpy(BOXES), _e(BOXES, device)
    for fn in ("box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"):
        np.testing.assert_allclose(getattr(EO, fn)(eb[:5], eb).cpu().numpy(),
                                   getattr(ops, fn)(tb[:5], tb).numpy(), rtol=1e-5, atol=1e-6)
    for fmt in ("xywh", "cxcywh"):
        conv = EO.box_convert(eb, "xyxy", fmt)
        np.testing.assert_allclose(conv.cpu().numpy(),
                                   ops.box_convert(tb, "xyxy", fmt).numpy(), rtol=1e-6)
        np.testing.assert_allclose(EO.box_convert(conv, fmt, "xyxy").cpu().numpy(), BOXES,
                                   rtol=1e-5)
    np.testing.assert_array_equal(
        EO.clip_boxes_to_image(eb, (30, 40)).cpu().numpy(),
        ops.clip_boxes_to_image(tb, (30, 40)).numpy())
    assert EO.remove_small_boxes(eb, 10.0).tolist() == \
        ops.remove_small_boxes(tb, 10.0).tolist()


@pytest.mark.parametrize("kw", [{}, {"sampling_ratio": 2, "aligned": True},
                                {"spatial_scale": 0.7}])
def test_roi_align_matches_torchvision(device, kw):
    ops = _tvops()
    import torch
    tx = torch.from_numpy(FEAT).requires_grad_()
    ex = _e(FEAT, device).requires_grad_()
    want = ops.roi_align(tx, torch.from_numpy(ROIS), (3, 4), **kw)
    got = EO.roi_align(ex, _e(ROIS, device), (3, 4), **kw)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), atol=1e-6)
    g = _RNG.standard_normal(tuple(want.shape)).astype(np.float32)
    want.backward(torch.from_numpy(g))
    got.backward(_e(g, device))
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-6)


def test_roi_align_by_hand_and_box_lists(device):
    x = _e(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), device)
    # the box [0.5, 0.5, 2.5, 2.5] with aligned=True samples pixel centres 0..2 exactly:
    # one sample per bin (sampling_ratio=1) at (0.5, 0.5) and (1.5, 1.5) of the shifted box
    out = EO.roi_align(x, [_e(np.array([[0.5, 0.5, 2.5, 2.5]], np.float32), device)], 2,
                       sampling_ratio=1, aligned=True)
    np.testing.assert_allclose(out.cpu().numpy().ravel(), [2.5, 3.5, 6.5, 7.5])
    mod = EO.RoIAlign(2, 1.0, 1, aligned=True)
    assert ember.equal(mod(x, [_e(np.array([[0.5, 0.5, 2.5, 2.5]], np.float32), device)]),
                       out)


def test_roi_pool_matches_torchvision(device):
    ops = _tvops()
    import torch
    tx = torch.from_numpy(FEAT).requires_grad_()
    ex = _e(FEAT, device).requires_grad_()
    want = ops.roi_pool(tx, torch.from_numpy(ROIS), (3, 2), 0.8)
    got = EO.RoIPool((3, 2), 0.8)(ex, _e(ROIS, device))
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_array_equal(ex.grad.cpu().numpy(), tx.grad.numpy())


def test_roi_pool_by_hand(device):
    x = _e(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), device)
    out = EO.roi_pool(x, _e(np.array([[0, 0, 0, 3, 3]], np.float32), device), 2)
    np.testing.assert_array_equal(out.cpu().numpy().ravel(), [5, 7, 13, 15])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_sigmoid_focal_loss(device, reduction):
    lg = _RNG.standard_normal((5, 4)).astype(np.float32)
    t = (_RNG.random((5, 4)) > 0.5).astype(np.float32)
    got = EO.sigmoid_focal_loss(_e(lg, device), _e(t, device), alpha=0.3, gamma=1.5,
                                reduction=reduction)
    p = 1 / (1 + np.exp(-lg.astype(np.float64)))
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    want = ce * (1 - p_t) ** 1.5 * (0.3 * t + 0.7 * (1 - t))
    want = {"none": want, "mean": want.mean(), "sum": want.sum()}[reduction]
    np.testing.assert_allclose(got.detach().cpu().numpy(), want, rtol=1e-5)
