"""``ember.cpu``: mirrors ``torch.cpu`` (the CPU device module: ``is_available``,
``synchronize``, ``device_count``, and the deprecated ``amp`` aliases)."""
from __future__ import annotations

import sys

from ..amp._device_amp import module as _amp_module

__all__ = ["is_available", "synchronize", "device_count", "current_device", "amp"]


def is_available() -> bool:
    return True


def synchronize(device=None) -> None:
    """CPU work is synchronous: nothing to wait for."""


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


amp = sys.modules[__name__ + ".amp"] = _amp_module("cpu")
