"""The global random state as PyTorch exposes it: ``get_rng_state``/``set_rng_state``
(the CPU default generator's state as a uint8 tensor) and ``fork_rng`` (run a block and
put the state back). Device generators are reached through ``ember.cuda`` as in PyTorch."""
from __future__ import annotations

import contextlib

from . import _creation, _dtype
from ._tensor import Tensor

__all__ = ["fork_rng", "get_rng_state", "set_rng_state"]


def get_rng_state() -> Tensor:
    """Mirrors ``torch.get_rng_state``: the default CPU generator's state as a uint8
    tensor (ember's own encoding; feed it back to ``set_rng_state``)."""
    return _creation.default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Mirrors ``torch.set_rng_state``: restore a state from ``get_rng_state``."""
    if not isinstance(new_state, Tensor):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
    if new_state.dtype is not _dtype.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    _creation.default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str | None = None):
    """Mirrors ``torch.random.fork_rng``: the block may draw and reseed freely; the CPU
    generator's state (and each listed device's) is restored on exit."""
    if not enabled:
        yield
        return
    cpu = get_rng_state()
    saved = []
    for dev, g in list(_creation._device_generators.items()):
        if devices is None or dev in devices or getattr(dev, "index", None) in devices:
            saved.append((g, g.get_state()))
    try:
        yield
    finally:
        set_rng_state(cpu)
        for g, st in saved:
            g.set_state(st)
