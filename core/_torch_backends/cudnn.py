"""Mirrors ``torch.backends.cudnn``: ``enabled``, ``benchmark``, ``deterministic``,
``allow_tf32``, ``benchmark_limit`` are recorded as set (PyTorch's defaults). ember's CUDA
backend does not call cuDNN, so ``is_available()`` is False and ``version()`` None, as in a
PyTorch build without cuDNN; ``deterministic`` does not change
``ember.are_deterministic_algorithms_enabled()`` (nor does it in PyTorch)."""
from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit",
           "is_available", "version", "flags", "is_acceptable"]

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True
benchmark_limit: int | None = None  # None where cuDNN is absent, as PyTorch


def is_available() -> bool:
    """Mirrors ``torch.backends.cudnn.is_available``: False (ember does not use cuDNN)."""
    return False


def version() -> None:
    """Mirrors ``torch.backends.cudnn.version``: None where cuDNN is not available."""
    return None


def is_acceptable(tensor) -> bool:
    """Mirrors ``torch.backends.cudnn.is_acceptable``: False (no cuDNN)."""
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int | None = 10,
          deterministic: bool = False, allow_tf32: bool = True) -> Iterator[None]:
    """Mirrors ``torch.backends.cudnn.flags``: sets the flags inside the block, restores
    them after."""
    g = globals()
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    saved = {n: g[n] for n in names}
    g.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
             deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(saved)
