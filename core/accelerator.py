"""``ember.accelerator``: mirrors ``torch.accelerator`` (PyTorch >= 2.6), the
device-agnostic view of "the GPU, if there is one".

ember's accelerator is ``cuda`` when some backend can serve it (CuPy, or JAX on a GPU).
PyTorch's answer depends on how it was compiled; ember has no compile-time accelerator, so
``current_accelerator(check_available=False)`` checks at run time too. Also here:
``Tensor.pin_memory``/``is_pinned``, which need the accelerator's backend to page-lock host
memory.
"""
from __future__ import annotations

from typing import Any

from . import cuda as _cuda
from ._device import device as _Device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "current_device_idx", "set_device_index", "set_device_idx", "device_index",
           "synchronize", "empty_cache", "memory_allocated", "max_memory_allocated",
           "reset_peak_memory_stats"]

_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    """Mirrors ``torch.accelerator.is_available``."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> _Device | None:
    """Mirrors ``torch.accelerator.current_accelerator``: ``device(type='cuda')`` (no index),
    or None when there is no accelerator."""
    return _Device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    """Mirrors ``torch.accelerator.device_count``: 0 without an accelerator."""
    return _cuda.device_count()


def current_device_index() -> int:
    """Mirrors ``torch.accelerator.current_device_index``."""
    return _cuda.current_device()


def set_device_index(device: Any) -> None:
    """Mirrors ``torch.accelerator.set_device_index``."""
    _cuda.set_device(device)


current_device_idx = current_device_index  # PyTorch's deprecated aliases
set_device_idx = set_device_index


class device_index(_cuda.device):
    """Mirrors ``torch.accelerator.device_index``: ``with device_index(1): ...``."""


def synchronize(device: Any = None) -> None:
    _cuda.synchronize(device)


def empty_cache() -> None:
    _cuda.empty_cache()


def memory_allocated(device: Any = None) -> int:
    return _cuda.memory_allocated(device)


def max_memory_allocated(device: Any = None) -> int:
    return _cuda.max_memory_allocated(device)


def reset_peak_memory_stats(device: Any = None) -> None:
    _cuda.reset_peak_memory_stats(device)


# --- pinned host memory (Tensor.pin_memory / is_pinned) --------------------------------------

def pin_memory(t):
    """``t`` copied into page-locked host memory (``Tensor.pin_memory``); PyTorch's errors
    without an accelerator and for tensors not on the CPU."""
    from ._tensor import _type_string, wrap
    if t._device.type != "cpu":
        raise RuntimeError(f"cannot pin '{_type_string(t)}' only dense CPU tensors can be "
                           "pinned")
    be = _cuda._backend()
    if be is None or not be.device_count("cuda"):
        raise RuntimeError(_NO_ACCELERATOR)
    host_be = t._device._be
    pinned = be.pin_memory(host_be.to_numpy(t._data))
    return wrap(host_be.from_numpy(pinned, None), t.dtype, t._device)


def is_pinned(t) -> bool:
    """``Tensor.is_pinned``: False without an accelerator or off the CPU."""
    if t._device.type != "cpu":
        return False
    be = _cuda._backend()
    if be is None:
        return False
    return bool(be.is_pinned(t._device._be.to_numpy(t._data)))
