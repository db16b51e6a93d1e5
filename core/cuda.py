"""``ember.cuda``: mirrors the device-query part of ``torch.cuda``.

Answers come from the backend registry (whichever backend serves ``cuda``, CuPy by default),
so asking costs no import of a GPU library when none is installed and never raises, except
where PyTorch's would: ``current_device``, ``set_device``, ``synchronize`` and
``get_device_name`` raise the "not available" error (it names what to install) when no
backend can serve ``cuda``. Memory queries then answer 0, and seeding is a no-op, as in a
CPU-only PyTorch.
"""
from __future__ import annotations

from typing import Any

from ._device import device as _Device
from ._legacy import TYPES as _TYPES

# PyTorch's legacy CUDA tensor types: ember.cuda.FloatTensor, ...
globals().update(_TYPES["cuda"])

__all__ = ["is_available", "device_count", "current_device", "set_device", "device",
           "synchronize", "manual_seed", "manual_seed_all", "memory_allocated",
           "max_memory_allocated", "reset_peak_memory_stats", "empty_cache",
           "get_device_name"]


def _backend():
    """The backend serving ``cuda`` if one can, else None."""
    from .backends import registry
    try:
        return registry.resolve("cuda")
    except RuntimeError:
        return None


def _require():
    """The backend serving ``cuda``, or the registry's "not available" RuntimeError."""
    from .backends import registry
    return registry.resolve("cuda")


def _index(dev: Any, be) -> int:
    """The device index ``dev`` (None, int, "cuda:1", ember.device) names."""
    if dev is None:
        return be.current_index("cuda")
    if isinstance(dev, int) and not isinstance(dev, bool):
        return dev
    d = _Device(dev) if isinstance(dev, str) else dev
    if not isinstance(d, _Device) or d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return be.current_index("cuda") if d.index is None else d.index


def is_available() -> bool:
    """Mirrors ``torch.cuda.is_available``: True when some backend can place tensors on
    ``cuda`` (it has its library, a driver and at least one device)."""
    be = _backend()
    return be is not None and be.device_count("cuda") > 0


def device_count() -> int:
    """Mirrors ``torch.cuda.device_count``: 0 where CUDA is not available."""
    be = _backend()
    return 0 if be is None else be.device_count("cuda")


def current_device() -> int:
    """Mirrors ``torch.cuda.current_device``: the index ``"cuda"`` means now."""
    be = _require()
    return be.current_index("cuda")


def set_device(device: Any) -> None:
    """Mirrors ``torch.cuda.set_device``: makes ``device`` current (a negative index is a
    no-op, as in PyTorch). Later ``"cuda"`` tensors go there."""
    be = _require()
    i = _index(device, be)
    if i < 0:
        return
    count = be.device_count("cuda")
    if i >= count:
        raise RuntimeError(f"CUDA error: invalid device ordinal (cuda:{i}; this machine has "
                           f"{count} CUDA device{'s' if count != 1 else ''})")
    be.set_current_index("cuda", i)
    from .backends import registry
    registry._invalidate()  # "cuda" without an index now means the new device


class device:
    """Mirrors ``torch.cuda.device``: a context manager that makes a device current and
    restores the previous one on exit."""

    def __init__(self, device: Any):
        self.device, self._prev = device, -1

    def __enter__(self):
        if self.device is None or (isinstance(self.device, int) and self.device < 0):
            return self
        self._prev = current_device()
        set_device(self.device)
        return self

    def __exit__(self, *exc) -> None:
        if self._prev >= 0:
            set_device(self._prev)


def synchronize(device: Any = None) -> None:
    """Mirrors ``torch.cuda.synchronize``: waits for the device's queued work."""
    be = _require()
    be.synchronize(_index(device, be))


def get_device_name(device: Any = None) -> str:
    """Mirrors ``torch.cuda.get_device_name`` (e.g. "NVIDIA H100 80GB HBM3")."""
    be = _require()
    return be.device_name("cuda", _index(device, be))


def _seed(seed: int, indices) -> None:
    from . import _creation
    from .backends import registry
    for i in indices:
        dev = registry.canonical(_Device("cuda", i))
        g = _creation._device_generators.get(dev)
        if g is None:
            g = _creation._device_generators[dev] = _creation.Generator(dev)
        g.manual_seed(seed)


def manual_seed(seed: int) -> None:
    """Mirrors ``torch.cuda.manual_seed``: seeds the current device's generator (a no-op
    without CUDA, as in PyTorch). ``ember.manual_seed`` seeds every device."""
    be = _backend()
    if be is not None and be.device_count("cuda"):
        _seed(seed, [be.current_index("cuda")])


def manual_seed_all(seed: int) -> None:
    """Mirrors ``torch.cuda.manual_seed_all``: seeds every CUDA device's generator."""
    be = _backend()
    if be is not None:
        _seed(seed, range(be.device_count("cuda")))


def memory_allocated(device: Any = None) -> int:
    """Mirrors ``torch.cuda.memory_allocated``: bytes held by tensors on the device (0
    without CUDA)."""
    be = _backend()
    return 0 if be is None else be.memory_allocated(_index(device, be))


def max_memory_allocated(device: Any = None) -> int:
    """Mirrors ``torch.cuda.max_memory_allocated``: the peak since the backend loaded or
    :func:`reset_peak_memory_stats`."""
    be = _backend()
    return 0 if be is None else be.max_memory_allocated(_index(device, be))


def reset_peak_memory_stats(device: Any = None) -> None:
    be = _backend()
    if be is not None:
        be.reset_peak_memory_stats(_index(device, be))


def empty_cache() -> None:
    """Mirrors ``torch.cuda.empty_cache``: frees cached blocks held by the memory pool."""
    be = _backend()
    if be is not None:
        be.empty_cache()


# ``torch.cuda.amp``: PyTorch's deprecated aliases of ``torch.amp`` for cuda
import sys as _sys  # noqa: E402

from .amp._device_amp import module as _amp_module  # noqa: E402

amp = _sys.modules[__name__ + ".amp"] = _amp_module("cuda")
# a package path (empty: amp is already in sys.modules), so ``import torch.cuda.amp``
# under ``ember run`` reaches the alias finder instead of "not a package"
__path__: list = []
