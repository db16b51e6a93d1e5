"""``pin_memory=True``: mirrors ``torch.utils.data._utils.pin_memory``.

On CPU-only setups pinning is a no-op (with PyTorch's warning). Where an accelerator backend
is available, every tensor in a batch is replaced by ``tensor.pin_memory()`` -- the seam for
the CUDA backend: a backend that can page-lock host memory gives ``Tensor.pin_memory`` a
real implementation, and nothing here changes. Objects of other types that have a
``pin_memory()`` method (custom batch classes) are pinned through it, as in PyTorch."""
from __future__ import annotations

import collections.abc
from typing import Any

from ..._tensor import Tensor
from .collate import _rebuild_mapping, _rebuild_sequence


def accelerator_available() -> bool:
    """True when some backend serving an accelerator device type (``cuda``) is usable."""
    try:
        from ... import accelerator
        return bool(accelerator.is_available())
    except (ImportError, AttributeError):
        pass
    from ...backends import registry
    try:
        return any(be.is_available() for be in registry.providers("cuda"))
    except Exception:  # noqa: BLE001 - a broken plugin must not break data loading
        return False


def pin_memory(data: Any) -> Any:
    """``data`` with its tensors in page-locked host memory (where the backend can)."""
    if isinstance(data, Tensor):
        pin = getattr(data, "pin_memory", None)
        return pin() if pin is not None else data
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: pin_memory(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(pin_memory(s) for s in data))
    if isinstance(data, tuple):
        return [pin_memory(s) for s in data]  # a list, as in PyTorch
    if isinstance(data, collections.abc.Sequence):
        return _rebuild_sequence(data, [pin_memory(s) for s in data])
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    return data
