"""``ember_vision.transforms.v2.functional``: v1's functional names plus v2's
``to_image``, ``to_dtype``, ``grayscale_to_rgb``, ``to_pil_image``."""
from __future__ import annotations

from typing import Any

import numpy as np

import ember

from ..functional import *  # noqa: F401,F403
from ..functional import convert_image_dtype, pil_to_tensor, rgb_to_grayscale  # noqa: F401
from ..functional import to_pil_image  # noqa: F401


def to_image(inpt: Any) -> ember.Tensor:
    """Mirrors ``torchvision.transforms.v2.functional.to_image``."""
    if isinstance(inpt, np.ndarray):
        arr = np.atleast_3d(inpt)
        return ember.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).contiguous()
    if isinstance(inpt, ember.Tensor):
        return inpt
    return pil_to_tensor(inpt)


def to_dtype(inpt: ember.Tensor, dtype=ember.float32, scale: bool = False) -> ember.Tensor:
    """Mirrors ``torchvision.transforms.v2.functional.to_dtype``."""
    if not scale:
        return inpt.to(dtype)
    if inpt.dtype == dtype:
        return inpt
    return convert_image_dtype(inpt, dtype)


def grayscale_to_rgb(inpt: Any) -> Any:
    """Mirrors ``torchvision.transforms.v2.functional.grayscale_to_rgb``."""
    if isinstance(inpt, ember.Tensor):
        return inpt if inpt.shape[-3] == 3 else inpt.expand(*inpt.shape[:-3], 3,
                                                            *inpt.shape[-2:])
    return inpt.convert("RGB")


to_grayscale = rgb_to_grayscale  # noqa: F811 - v2 spells it for tensors too
