"""ember_vision.transforms against torchvision.transforms: every deterministic functional
op pixel-exact on PIL images and uint8 tensors (1e-5 on float tensors); the random
transforms give exactly torchvision's output for the parameters they drew. Without
torchvision, the checks whose oracle is Pillow or numpy still run."""
from __future__ import annotations

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import ember  # noqa: E402
import ember_vision.transforms as T  # noqa: E402
import ember_vision.transforms.functional as F  # noqa: E402
import ember_vision.transforms.v2 as T2  # noqa: E402

_RNG = np.random.default_rng(0)
ARR = _RNG.integers(0, 256, (13, 17, 3), dtype=np.uint8)


def _tv():
    return pytest.importorskip("torchvision")


def _pil():
    return Image.fromarray(ARR)


def _ours(kind: str, device: str):
    if kind == "pil":
        return _pil()
    t = ember.from_numpy(ARR.copy()).permute(2, 0, 1).contiguous().to(device)
    return t if kind == "u8" else t.float() / 255


def _theirs(kind: str):
    import torch
    if kind == "pil":
        return _pil()
    t = torch.from_numpy(ARR.copy()).permute(2, 0, 1).contiguous()
    return t if kind == "u8" else t.float() / 255


def _np(x) -> np.ndarray:
    if isinstance(x, Image.Image):
        return np.asarray(x)
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _assert_same(ours, theirs, kind: str) -> None:
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if kind == "f32":
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    else:
        np.testing.assert_array_equal(a, b)


def _mode(mod, name):
    return getattr(mod.InterpolationMode, name)


# (name, function name, args, kwargs (interpolation given by name), kinds)
CASES = [
    ("resize_short_side", "resize", [7], {}),
    ("resize_bilinear_up", "resize", [[20, 30]], {}),
    ("resize_nearest", "resize", [[9, 20]], {"interpolation": "NEAREST"}),
    ("resize_bicubic", "resize", [[9, 20]], {"interpolation": "BICUBIC"}),
    ("resize_max_size", "resize", [8], {"max_size": 10}),
    ("center_crop", "center_crop", [[8, 20]], {}),
    ("crop", "crop", [2, 3, 7, 9], {}),
    ("resized_crop", "resized_crop", [1, 2, 9, 10, [6, 5]], {}),
    ("pad_constant", "pad", [[1, 2]], {"fill": 7}),
    ("pad_reflect", "pad", [[2, 3]], {"padding_mode": "reflect"}),
    ("pad_edge", "pad", [[2, 3, 1, 4]], {"padding_mode": "edge"}),
    ("pad_symmetric", "pad", [[2, 3, 1, 4]], {"padding_mode": "symmetric"}),
    ("hflip", "hflip", [], {}),
    ("vflip", "vflip", [], {}),
    ("rotate", "rotate", [30.0], {}),
    ("rotate_bilinear_expand", "rotate", [17.0], {"interpolation": "BILINEAR", "expand": True}),
    ("rotate_fill", "rotate", [-40.0], {"fill": [10, 20, 30]}),
    ("affine", "affine", [10.0, [2, 1], 1.1, [5.0, 3.0]], {}),
    ("perspective", "perspective", [[[0, 0], [16, 0], [16, 12], [0, 12]],
                                    [[1, 2], [15, 0], [14, 12], [0, 10]]], {}),
    ("brightness", "adjust_brightness", [1.3], {}),
    ("contrast", "adjust_contrast", [0.7], {}),
    ("saturation", "adjust_saturation", [1.5], {}),
    ("hue", "adjust_hue", [0.2], {}),
    ("gamma", "adjust_gamma", [0.8], {}),
    ("sharpness", "adjust_sharpness", [2.0], {}),
    ("grayscale", "rgb_to_grayscale", [], {}),
    ("grayscale3", "rgb_to_grayscale", [3], {}),
    ("gaussian_blur", "gaussian_blur", [[3, 5]], {"sigma": [1.0, 1.5]}),
    ("invert", "invert", [], {}),
    ("autocontrast", "autocontrast", [], {}),
    ("posterize", "posterize", [3], {}),
    ("solarize", "solarize", [100], {}),
    ("equalize", "equalize", [], {}),
]
_INT_ONLY = {"posterize", "equalize"}


@pytest.mark.parametrize("kind", ["pil", "u8", "f32"])
@pytest.mark.parametrize("name,fn,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_functional_matches_torchvision(device, kind, name, fn, args, kwargs):
    tv = _tv()
    if kind == "f32" and name in _INT_ONLY:
        pytest.skip("torchvision takes uint8 only here")
    if kind == "f32" and name == "solarize":
        args = [0.4]
    if kind == "f32" and name == "pad_constant":
        kwargs = {"fill": 0.5}
    theirs_kw = {k: _mode(tv.transforms.functional, v) if k == "interpolation" else v
                 for k, v in kwargs.items()}
    ours_kw = {k: _mode(F, v) if k == "interpolation" else v for k, v in kwargs.items()}
    theirs = getattr(tv.transforms.functional, fn)(_theirs(kind), *args, **theirs_kw)
    ours = getattr(F, fn)(_ours(kind, device), *args, **ours_kw)
    if kind != "pil":
        assert ours.device.type == ember.device(device).type
    _assert_same(ours, theirs, kind)


@pytest.mark.parametrize("kind", ["u8", "f32"])
def test_functional_same_on_every_device(device, kind):
    """The tensor kernels on ``device`` against the same kernels on "cpu" (the oracle that
    needs no torchvision, for the other backends' devices)."""
    if device == "cpu":
        pytest.skip("the reference itself")
    for name, fn, args, kwargs in CASES:
        if kind == "f32" and name in _INT_ONLY | {"solarize"}:
            continue
        kw = {k: _mode(F, v) if k == "interpolation" else v for k, v in kwargs.items()}
        got = getattr(F, fn)(_ours(kind, device), *args, **kw)
        want = getattr(F, fn)(_ours(kind, "cpu"), *args, **kw)
        assert got.device.type == ember.device(device).type
        _assert_same(got, want, kind)


@pytest.mark.parametrize("mode", [None, "L", "RGBA", "F"])
def test_conversions_match_torchvision(mode):
    tv = _tv()
    import torch
    pil = _pil() if mode is None else _pil().convert(mode)
    _assert_same(F.to_tensor(pil), tv.transforms.functional.to_tensor(pil), "f32")
    if mode != "F":
        _assert_same(F.pil_to_tensor(pil), tv.transforms.functional.pil_to_tensor(pil), "u8")
    x = _RNG.random((3, 5, 4)).astype(np.float32)
    for m in (None, "RGB", "HSV"):
        a = F.to_pil_image(ember.from_numpy(x), m)
        b = tv.transforms.functional.to_pil_image(torch.from_numpy(x), m)
        assert a.mode == b.mode
        _assert_same(a, b, "pil")
    _assert_same(F.to_pil_image(ARR[:, :, :1]), tv.transforms.functional.to_pil_image(
        ARR[:, :, :1]), "pil")


def test_to_tensor_and_normalize_without_torchvision():
    x = F.to_tensor(_pil())
    assert x.dtype == ember.float32 and tuple(x.shape) == (3, 13, 17)
    np.testing.assert_allclose(x.numpy(), ARR.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    y = T.Normalize([0.5, 0.25, 0.0], [0.5, 2.0, 1.0])(x)
    want = (ARR.transpose(2, 0, 1) / 255.0 - np.array([0.5, 0.25, 0])[:, None, None]) / \
        np.array([0.5, 2.0, 1.0])[:, None, None]
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)
    # Pillow is the oracle of the PIL path
    np.testing.assert_array_equal(np.asarray(T.Resize((6, 8))(_pil())),
                                  np.asarray(_pil().resize((8, 6), Image.BILINEAR)))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        F.to_tensor([1, 2, 3])


def _params_then_output(cls_name, make, get_params, apply, kind, device):
    """Seeded, ember's transform draws parameters; torchvision's functional applied with
    exactly those parameters must give the same output."""
    tv = _tv()
    ember.manual_seed(5)
    params = get_params(getattr(T, cls_name), _ours(kind, device))
    ember.manual_seed(5)
    ours = make(T)(_ours(kind, device))
    theirs = apply(tv.transforms.functional, _theirs(kind), params)
    _assert_same(ours, theirs, kind)


@pytest.mark.parametrize("kind", ["pil", "u8"])
def test_random_transforms_use_their_parameters_like_torchvision(device, kind):
    _params_then_output(
        "RandomResizedCrop", lambda M: M.RandomResizedCrop(8, antialias=True),
        lambda C, img: C.get_params(img, [0.08, 1.0], [3 / 4, 4 / 3]),
        lambda TF, img, p: TF.resized_crop(img, *p, [8, 8], antialias=True), kind, device)
    _params_then_output(
        "RandomCrop", lambda M: M.RandomCrop(9, padding=2),
        lambda C, img: C.get_params(F.pad(img, [2]), (9, 9)),
        lambda TF, img, p: TF.crop(TF.pad(img, [2]), *p), kind, device)
    _params_then_output(
        "RandomRotation", lambda M: M.RandomRotation(45),
        lambda C, img: C.get_params([-45.0, 45.0]),
        lambda TF, img, p: TF.rotate(img, p), kind, device)
    _params_then_output(
        "RandomAffine", lambda M: M.RandomAffine(20, (0.1, 0.2), (0.8, 1.2), 10),
        lambda C, img: C.get_params([-20.0, 20.0], [0.1, 0.2], [0.8, 1.2], [-10.0, 10.0],
                                    list(F.get_image_size(img))),
        lambda TF, img, p: TF.affine(img, *p), kind, device)


def test_color_jitter_params_and_repeatability():
    tv = _tv()
    ember.manual_seed(1)
    order, b, c, s, h = T.ColorJitter.get_params([0.6, 1.4], [0.7, 1.3], [0.5, 1.5],
                                                 [-0.1, 0.1])
    ember.manual_seed(1)
    ours = T.ColorJitter(0.4, 0.3, 0.5, 0.1)(_pil())
    img = _pil()
    TF = tv.transforms.functional
    for i in order.tolist():
        img = [lambda x: TF.adjust_brightness(x, b), lambda x: TF.adjust_contrast(x, c),
               lambda x: TF.adjust_saturation(x, s), lambda x: TF.adjust_hue(x, h)][i](img)
    _assert_same(ours, img, "pil")


@pytest.mark.parametrize("op", ["ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
                                "Brightness", "Color", "Contrast", "Sharpness", "Posterize",
                                "Solarize", "AutoContrast", "Equalize", "Invert", "Identity"])
def test_autoaugment_ops_match_torchvision(op):
    tv = _tv()
    from ember_vision.transforms import autoaugment as ours
    magnitude = {"Posterize": 4.0, "Solarize": 120.0, "TranslateX": 3.0,
                 "TranslateY": -2.0, "Rotate": 20.0}.get(op, 0.3)
    for kind in ("pil", "u8"):
        a = ours._apply_op(_ours(kind, "cpu"), op, magnitude, F.InterpolationMode.NEAREST,
                           fill=[1, 2, 3])
        b = tv.transforms.autoaugment._apply_op(
            _theirs(kind), op, magnitude, tv.transforms.InterpolationMode.NEAREST,
            fill=[1, 2, 3])
        _assert_same(a, b, kind)


@pytest.mark.parametrize("cls", ["AutoAugment", "RandAugment", "TrivialAugmentWide",
                                 "AugMix"])
def test_auto_augment_policies_run_and_repeat(cls):
    for img in (_pil(), ember.from_numpy(ARR.copy()).permute(2, 0, 1).contiguous()):
        ember.manual_seed(0)
        a = getattr(T, cls)()(img)
        ember.manual_seed(0)
        b = getattr(T, cls)()(img)
        assert type(a) is type(img)
        np.testing.assert_array_equal(_np(a), _np(b))


def test_random_erasing_and_flips_follow_the_seed(device):
    x = ember.rand(3, 10, 12, device=device)
    ember.manual_seed(2)
    ember.rand(1)  # the transform's own draw: erase or not
    i, j, h, w, v = T.RandomErasing.get_params(x, (0.02, 0.33), (0.3, 3.3), [0.0])
    ember.manual_seed(2)
    y = T.RandomErasing(p=1.0)(x)
    want = x.clone()
    want[:, i:i + h, j:j + w] = 0
    assert ember.equal(y, want)
    assert ember.equal(T.RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    assert ember.equal(T.RandomVerticalFlip(p=0.0)(x), x)


def test_compose_lambda_grayscale_pipeline_matches_torchvision():
    tv = _tv()

    def pipeline(M):
        return M.Compose([M.Resize(10), M.CenterCrop((8, 9)), M.Grayscale(3), M.Pad(1),
                          M.GaussianBlur(3, sigma=0.8), M.ToTensor(),
                          M.Lambda(lambda t: t * 2), M.Normalize([0.5] * 3, [0.25] * 3)])
    _assert_same(pipeline(T)(_pil()), pipeline(tv.transforms)(_pil()), "f32")
    assert repr(pipeline(T)).splitlines()[1:5] == repr(pipeline(tv.transforms)).splitlines()[1:5]


def test_v2_pipeline_matches_torchvision():
    tv = _tv()
    import torch
    import torchvision.transforms.v2 as TV2

    def pipeline(M, lib):
        return M.Compose([M.ToImage(), M.ToDtype(lib.float32, scale=True), M.Resize(10),
                          M.CenterCrop(8), M.RandomHorizontalFlip(p=1.0),
                          M.Normalize([0.5] * 3, [0.2] * 3)])
    _assert_same(pipeline(T2, ember)(_pil()), pipeline(TV2, torch)(_pil()), "f32")
    # v2 resizes uint8 tensors with PyTorch's fixed-point uint8 kernel; ember_vision resizes
    # in float and rounds (v1's way): within one level
    a = T2.Resize(10)(T2.ToImage()(_pil())).numpy().astype(int)
    b = TV2.Resize(10)(TV2.ToImage()(_pil())).numpy().astype(int)
    assert np.abs(a - b).max() <= 1
    img, label = T2.Compose([T2.PILToTensor(), T2.RandomVerticalFlip(1.0)])(_pil(), 3)
    img2, label2 = TV2.Compose([TV2.PILToTensor(), TV2.RandomVerticalFlip(1.0)])(_pil(), 3)
    assert label == label2 == 3
    _assert_same(img, img2, "u8")
    assert tv is not None


def test_v2_leaves_non_images_alone():
    out = T2.RandomHorizontalFlip(p=1.0)({"image": _pil(), "label": 4, "name": "x"})
    assert out["label"] == 4 and out["name"] == "x"
    np.testing.assert_array_equal(np.asarray(out["image"]), ARR[:, ::-1])
    x = T2.ToDtype(ember.float32, scale=True)(T2.ToImage()(ARR))
    np.testing.assert_allclose(x.numpy(), ARR.transpose(2, 0, 1) / 255, rtol=1e-6)
