"""Scalar optimizer state kept as 0-d float32 tensors, as torch keeps ``step``, ``mu_product``
(NAdam), ``eta`` and ``mu`` (ASGD): their values round to float32 after each update, and the
updates read them back as Python floats (torch's ``_get_value``), so ember does the same to
follow torch's numbers. Also torch's ``capturable`` device check."""
from __future__ import annotations

import struct

from .._tensor import Tensor

__all__ = ["scalar_state", "set_scalar", "scale_scalar", "check_capturable", "f32"]

# torch.optim.optimizer._get_capturable_supported_devices() on a build without accelerators
_CAPTURABLE_DEVICES = ["cuda", "xpu", "hpu", "privateuseone", "xla"]


def f32(value: float) -> float:
    """value rounded to float32 (what ``torch.as_tensor(python_float)`` holds under the
    default dtype)."""
    return struct.unpack("f", struct.pack("f", float(value)))[0]


def scalar_state(value: float, device=None) -> Tensor:
    """A 0-d float32 tensor holding value (on device; on the CPU by default, as torch)."""
    from .. import _dtype
    from .._creation import tensor
    return tensor(float(value), dtype=_dtype.float32, device=device)


def set_scalar(t: Tensor, value: float) -> float:
    """Store value into the 0-d state tensor t (rounding to its dtype, as ``copy_`` does);
    returns the stored value as a Python float."""
    t.fill_(float(value))
    return t.item()


def scale_scalar(t: Tensor, factor: float) -> float:
    """``t *= factor`` on a float32 0-d tensor as torch computes it: the Python factor rounds
    to float32 first, then the product rounds once (a product of two float32 values is exact
    in a double, so this is float32 multiplication)."""
    from .. import _dtype
    factor = float(factor)
    if t.dtype == _dtype.float32:  # float64 after loading into float64 params, as in torch
        factor = f32(factor)
    return set_scalar(t, t.item() * factor)


def check_capturable(p: Tensor, names: str) -> None:
    """With ``capturable=True`` torch asserts that parameters and state live on a device that
    graph capture supports; the CPU is not one."""
    if p.device.type not in _CAPTURABLE_DEVICES:
        raise AssertionError(f"If capturable=True, {names} must be on supported devices: "
                             f"{_CAPTURABLE_DEVICES}.")
