"""The annotation aliases PyTorch's distributions take from ``torch.types``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from .._dtype import dtype as _dtype  # noqa: F401 - re-exported for utils
from .._device import device as Device  # noqa: F401

_Number = (bool, int, float)
Number = Union[bool, int, float]
_size = Union[Sequence[int], tuple]
