"""The body of ``ember.cpu.amp`` and ``ember.cuda.amp``: PyTorch's deprecated per-device
aliases of ``ember.amp`` (they warn with PyTorch's FutureWarning)."""
from __future__ import annotations

import types

from .. import _dtype
from .autocast_mode import _device_alias as _autocast_alias, custom_bwd, custom_fwd
from .grad_scaler import _device_alias as _scaler_alias


def module(device_type: str) -> types.ModuleType:
    """A fresh ``ember.<device_type>.amp`` module."""
    mod = types.ModuleType(f"ember.{device_type}.amp",
                           f"Mirrors ``torch.{device_type}.amp`` (deprecated aliases of "
                           f"``ember.amp`` with ``device_type='{device_type}'``).")
    low = _dtype.bfloat16 if device_type == "cpu" else _dtype.float16
    mod.autocast = _autocast_alias(device_type, low)
    mod.GradScaler = _scaler_alias(device_type)

    def _fwd(fwd=None, *, cast_inputs=None):
        return custom_fwd(fwd, device_type=device_type, cast_inputs=cast_inputs)

    def _bwd(bwd=None):
        return custom_bwd(bwd, device_type=device_type)

    mod.custom_fwd, mod.custom_bwd = _fwd, _bwd
    mod.__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]
    return mod
