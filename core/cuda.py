"""``ember.cuda``: mirrors the device-query part of ``torch.cuda``.

Answers come from the backend registry (whichever backend serves ``cuda``, CuPy by default),
so asking costs no import of a GPU library when none is installed and never raises.
"""
from __future__ import annotations

__all__ = ["is_available", "device_count"]


def _backend():
    """The backend serving ``cuda`` if one can, else None."""
    from .backends import registry
    try:
        return registry.resolve("cuda")
    except RuntimeError:
        return None


def is_available() -> bool:
    """Mirrors ``torch.cuda.is_available``: True when some backend can place tensors on
    ``cuda`` (it has its library, a driver and at least one device)."""
    be = _backend()
    return be is not None and be.device_count("cuda") > 0


def device_count() -> int:
    """Mirrors ``torch.cuda.device_count``: 0 where CUDA is not available."""
    be = _backend()
    return 0 if be is None else be.device_count("cuda")
