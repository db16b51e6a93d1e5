"""The random transforms draw torchvision's parameters for the same seed: ember's generator
gives PyTorch's numbers on the numpy backend, so each transform's parameters (and the
generator's position after it) are compared with torchvision's draw sequence replayed with
the real torch's generator (transcribed from torchvision/transforms/transforms.py and
autoaugment.py; torchvision itself is not needed)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember_vision.transforms as T

SEEDS = range(4)


@pytest.fixture
def torch(torch):
    if ember.empty(1)._device._be.name != "numpy":
        pytest.skip("PyTorch's streams are drawn by the numpy backend only")
    return torch


def _img():
    return ember.from_numpy((np.arange(3 * 32 * 40) * 37 % 251).astype(np.uint8)
                            .reshape(3, 32, 40).copy())


def _after(lib):
    return lib.rand(3).numpy().tolist()


def _check(torch, ours, theirs):
    """ours() with ember seeded and theirs(torch) with torch seeded give the same
    parameters and leave both generators at the same place."""
    for seed in SEEDS:
        ember.manual_seed(seed)
        got = ours()
        got_after = _after(ember)
        torch.manual_seed(seed)
        want = theirs(torch)
        assert got == want, seed
        assert got_after == _after(torch), seed


def _u(torch, a, b):
    return torch.empty(1).uniform_(a, b).item()


def _ri(torch, lo, hi):
    return torch.randint(lo, hi, size=(1,)).item()


def test_random_crop(torch):
    img = _img()
    _check(torch, lambda: T.RandomCrop.get_params(img, (20, 25)),
           lambda t: (_ri(t, 0, 32 - 20 + 1), _ri(t, 0, 40 - 25 + 1), 20, 25))


def _resized_crop_params(t, height, width, scale, ratio):
    area = height * width
    log_ratio = t.log(t.tensor(ratio))
    for _ in range(10):
        target_area = area * _u(t, scale[0], scale[1])
        aspect = t.exp(t.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return _ri(t, 0, height - h + 1), _ri(t, 0, width - w + 1), h, w
    raise AssertionError("fallback not exercised here")


def test_random_resized_crop(torch):
    img = _img()
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    _check(torch, lambda: tuple(T.RandomResizedCrop.get_params(img, list(scale), list(ratio))),
           lambda t: _resized_crop_params(t, 32, 40, scale, ratio))


def test_flips(torch):
    img = _img()
    for cls in (T.RandomHorizontalFlip, T.RandomVerticalFlip):
        _check(torch, lambda: cls(p=0.5)(img).numpy().tolist() == img.numpy().tolist(),
               lambda t: not bool(t.rand(1) < 0.5))


def test_rotation_and_affine(torch):
    _check(torch, lambda: T.RandomRotation.get_params([-30.0, 30.0]),
           lambda t: float(_u(t, -30.0, 30.0)))

    def affine(t):
        angle = float(_u(t, -20.0, 20.0))
        tx = int(round(_u(t, -0.1 * 40, 0.1 * 40)))
        ty = int(round(_u(t, -0.2 * 32, 0.2 * 32)))
        scale = float(_u(t, 0.8, 1.2))
        shear = (float(_u(t, 5.0, 10.0)), float(_u(t, -5.0, 5.0)))
        return angle, (tx, ty), scale, shear
    _check(torch, lambda: tuple(
        tuple(v) if isinstance(v, (list, tuple)) else v for v in T.RandomAffine.get_params(
            [-20.0, 20.0], [0.1, 0.2], [0.8, 1.2], [5.0, 10.0, -5.0, 5.0], [40, 32])),
        affine)


def test_color_jitter(torch):
    def theirs(t):
        fn_idx = t.randperm(4).tolist()
        return (fn_idx, _u(t, 0.6, 1.4), _u(t, 0.6, 1.4), _u(t, 0.6, 1.4), _u(t, -0.1, 0.1))

    def ours():
        fn_idx, *factors = T.ColorJitter.get_params((0.6, 1.4), (0.6, 1.4), (0.6, 1.4),
                                                    (-0.1, 0.1))
        return (fn_idx.tolist(), *factors)
    _check(torch, ours, theirs)


def test_random_erasing(torch):
    img = _img().float()

    def theirs(t, value):
        area = 32 * 40
        log_ratio = t.log(t.tensor((0.3, 3.3)))
        for _ in range(10):
            erase_area = area * _u(t, 0.02, 0.33)
            aspect = t.exp(t.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < 32 and w < 40):
                continue
            v = t.empty([3, h, w], dtype=t.float32).normal_() if value is None else None
            i, j = _ri(t, 0, 32 - h + 1), _ri(t, 0, 40 - w + 1)
            return i, j, h, w, (None if v is None else v.numpy().tolist())
        raise AssertionError("no box drawn")

    def ours(value):
        i, j, h, w, v = T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value)
        return i, j, h, w, (v.numpy().tolist() if value is None else None)
    _check(torch, lambda: ours(None), lambda t: theirs(t, None))
    _check(torch, lambda: ours([0.0]), lambda t: theirs(t, [0.0]))


def test_auto_augment_family(torch):
    img = _img()

    def policy(t):
        return (int(_ri(t, 0, 25)), t.rand((2,)).tolist(), t.randint(2, (2,)).tolist())
    _check(torch, lambda: (lambda r: (r[0], r[1].tolist(), r[2].tolist()))(
        T.AutoAugment.get_params(25)), policy)
    # whole transforms: the generator ends where torchvision's draw sequence leaves it
    for make in (T.AutoAugment, T.RandAugment, T.TrivialAugmentWide):
        outs = []
        for seed in SEEDS:
            ember.manual_seed(seed)
            make()(img)
            outs.append(_after(ember))
        assert len({tuple(o) for o in outs}) == len(outs)  # the draws depend on the seed

    def trivial(t):
        op_index = int(t.randint(14, (1,)).item())
        if 1 <= op_index <= 11:  # ops with a magnitude range (Identity, AutoContrast,
            t.randint(31, (1,), dtype=t.long)  # Equalize have a 0-d one: no draw)
        if 1 <= op_index <= 9:  # the signed ops: ShearX .. Sharpness
            t.randint(2, (1,))
        return op_index

    def ours_trivial():
        # the op TrivialAugmentWide picks is the first draw: replay it from the same seed
        seed = ember.initial_seed()
        ember.manual_seed(seed)
        op = int(ember.randint(14, (1,)).item())
        ember.manual_seed(seed)
        T.TrivialAugmentWide()(img)
        return op
    _check(torch, ours_trivial, trivial)
