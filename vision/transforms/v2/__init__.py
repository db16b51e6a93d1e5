"""``ember_vision.transforms.v2``: the common names of ``torchvision.transforms.v2``.

Each transform here is the v1 transform of the same name, taking v2's calling convention:
it accepts several inputs or one nested structure (``t(img, label)``, ``t((img, target))``,
``t({"image": img, ...})``) and returns the same structure with the images transformed, one
set of random parameters per call. Images are PIL images and tensors of at least two
dimensions (the first tensor or ndarray found when there is no PIL image, as v2 treats a plain tensor);
everything else passes through untouched.

Deliberate differences: no ``tv_tensors`` (bounding boxes, masks, videos are not transformed);
``ToImage`` returns a plain uint8 tensor rather than an ``Image`` tv_tensor."""
from __future__ import annotations

from typing import Any

import ember

from ... import transforms as _v1
from ..autoaugment import AutoAugmentPolicy
from ..functional import InterpolationMode
from . import functional

# v1 transforms offered with v2's calling convention (see ``_v2``)
_WRAPPED = ["Normalize", "Resize", "CenterCrop", "Pad", "Lambda", "RandomCrop",
            "RandomHorizontalFlip", "RandomVerticalFlip", "RandomPerspective",
            "RandomResizedCrop", "FiveCrop", "TenCrop", "LinearTransformation", "ColorJitter",
            "RandomRotation", "RandomAffine", "Grayscale", "RandomGrayscale", "RandomErasing",
            "GaussianBlur", "RandomInvert", "RandomPosterize", "RandomSolarize",
            "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize",
            "ElasticTransform", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix",
            "PILToTensor", "ToPILImage", "ToTensor", "ConvertImageDtype"]
__all__ = ["AutoAugmentPolicy", "InterpolationMode", "functional", "Transform", "Compose",
           "RandomApply", "RandomChoice", "RandomOrder", "ToImage", "ToDtype", "ToPureTensor",
           "Identity", "RGB", "Normalize", "Resize", "CenterCrop", "Pad", "Lambda", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomPerspective", "RandomResizedCrop",
           "FiveCrop", "TenCrop", "LinearTransformation", "ColorJitter", "RandomRotation",
           "RandomAffine", "Grayscale", "RandomGrayscale", "RandomErasing", "GaussianBlur",
           "RandomInvert", "RandomPosterize", "RandomSolarize", "RandomAdjustSharpness",
           "RandomAutocontrast", "RandomEqualize", "ElasticTransform", "AutoAugment",
           "RandAugment", "TrivialAugmentWide", "AugMix", "PILToTensor", "ToPILImage", "ToTensor",
           "ConvertImageDtype"]


def _is_image(x: Any) -> bool:
    import numpy as np
    from PIL import Image
    return isinstance(x, Image.Image) or (isinstance(x, (ember.Tensor, np.ndarray))
                                          and x.ndim >= 2)


def _map_first_images(inputs: Any, fn):
    """Apply ``fn`` to the PIL images in ``inputs`` (or, without any, to its first
    image-like tensor), keeping the structure."""
    from PIL import Image
    has_pil = [False]

    def scan(x):
        if isinstance(x, Image.Image):
            has_pil[0] = True
        elif isinstance(x, (list, tuple)):
            for y in x:
                scan(y)
        elif isinstance(x, dict):
            for y in x.values():
                scan(y)
    scan(inputs)
    done = [False]

    def walk(x):
        if isinstance(x, (list, tuple)) and not isinstance(x, ember.Size):
            return type(x)(walk(y) for y in x)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if has_pil[0] and isinstance(x, Image.Image):
            return fn(x)
        if not has_pil[0] and not done[0] and _is_image(x):
            done[0] = True
            return fn(x)
        return x
    return walk(inputs)


class Transform(ember.nn.Module):
    """Mirrors ``torchvision.transforms.v2.Transform``: subclasses implement
    ``transform(inpt, params)`` (and optionally ``make_params(flat_inputs)``)."""

    def make_params(self, flat_inputs: list) -> dict:
        return {}

    def transform(self, inpt: Any, params: dict) -> Any:
        raise NotImplementedError

    def forward(self, *inputs: Any) -> Any:
        inpt = inputs if len(inputs) > 1 else inputs[0]
        params = self.make_params([inpt])
        return _map_first_images(inpt, lambda x: self.transform(x, params))


def _v2(cls):
    """The v2 flavour of a v1 transform class: v2's calling convention, v1's behaviour."""
    call = cls.forward if issubclass(cls, ember.nn.Module) else cls.__call__

    def forward(self, *inputs):
        inpt = inputs if len(inputs) > 1 else inputs[0]
        # one set of random parameters for the call: v1 draws them inside ``call``, once
        # per image; images are transformed once each here (there is normally one)
        return _map_first_images(inpt, lambda x: call(self, x))
    ns = {"__doc__": f"Mirrors ``torchvision.transforms.v2.{cls.__name__}`` (v1 behaviour, "
                     f"v2 calling convention; see the module docstring).",
          "__module__": __name__, "__qualname__": cls.__name__}
    ns["forward" if issubclass(cls, ember.nn.Module) else "__call__"] = forward
    return type(cls.__name__, (cls,), ns)


for _name in _WRAPPED:
    globals()[_name] = _v2(getattr(_v1, _name))


class Compose(_v1.Compose):
    """Mirrors ``torchvision.transforms.v2.Compose``: each transform gets the whole
    structure (several inputs are passed on as a tuple)."""

    def __call__(self, *inputs: Any) -> Any:
        x = inputs if len(inputs) > 1 else inputs[0]
        for t in self.transforms:
            x = t(x)
        return x


class RandomApply(_v1.RandomApply):
    """Mirrors ``torchvision.transforms.v2.RandomApply``."""

    def forward(self, *inputs: Any) -> Any:
        x = inputs if len(inputs) > 1 else inputs[0]
        if self.p < ember.rand(1).item():
            return x
        for t in self.transforms:
            x = t(x)
        return x


class RandomChoice(Transform):
    """Mirrors ``torchvision.transforms.v2.RandomChoice``."""

    def __init__(self, transforms, p=None) -> None:
        super().__init__()
        if p is None:
            p = [1.0] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} "
                             f"!= {len(transforms)}")
        total = sum(p)
        self.transforms, self.p = transforms, [q / total for q in p]

    def forward(self, *inputs: Any) -> Any:
        idx = int(ember.multinomial(ember.tensor(self.p), 1))
        return self.transforms[idx](*inputs)


class RandomOrder(Transform):
    """Mirrors ``torchvision.transforms.v2.RandomOrder``."""

    def __init__(self, transforms) -> None:
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs: Any) -> Any:
        x = inputs if len(inputs) > 1 else inputs[0]
        for i in ember.randperm(len(self.transforms)).tolist():
            x = self.transforms[i](x)
        return x


class ToImage(Transform):
    """Mirrors ``torchvision.transforms.v2.ToImage``: PIL image or HWC ndarray -> CHW
    tensor of the same dtype (a plain tensor: ember has no tv_tensors)."""

    def transform(self, inpt: Any, params: dict) -> Any:
        return functional.to_image(inpt)


class ToDtype(Transform):
    """Mirrors ``torchvision.transforms.v2.ToDtype``: ``scale=True`` rescales values
    between integer and float ranges as ``convert_image_dtype`` does."""

    def __init__(self, dtype, scale: bool = False) -> None:
        super().__init__()
        self.dtype, self.scale = dtype, scale

    def transform(self, inpt: Any, params: dict) -> Any:
        dtype = self.dtype
        if isinstance(dtype, dict):
            dtype = next((v for k, v in dtype.items() if getattr(k, "__name__", k) in
                          ("Image", "others")), None)
            if dtype is None:
                return inpt
        if not isinstance(inpt, ember.Tensor):
            return inpt
        return functional.to_dtype(inpt, dtype, scale=self.scale)


class ToPureTensor(Transform):
    """Mirrors ``torchvision.transforms.v2.ToPureTensor`` (tensors here are already plain)."""

    def transform(self, inpt: Any, params: dict) -> Any:
        return inpt


class Identity(Transform):
    """Mirrors ``torchvision.transforms.v2.Identity``."""

    def transform(self, inpt: Any, params: dict) -> Any:
        return inpt


class RGB(Transform):
    """Mirrors ``torchvision.transforms.v2.RGB``: grayscale -> 3 channels."""

    def transform(self, inpt: Any, params: dict) -> Any:
        return functional.grayscale_to_rgb(inpt)
