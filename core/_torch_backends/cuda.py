"""Mirrors ``torch.backends.cuda``: ``matmul.allow_tf32`` (tied, as in PyTorch, to
``ember.set_float32_matmul_precision``: True is "high", False "highest"), the reduced
precision reduction flags, and the scaled-dot-product-attention switches. All are recorded
only: ember's float32 matmuls run in full float32 and its attention is the math path."""
from __future__ import annotations

import contextlib
from typing import Iterator

__all__ = ["matmul", "is_built", "enable_flash_sdp", "flash_sdp_enabled",
           "enable_mem_efficient_sdp", "mem_efficient_sdp_enabled", "enable_math_sdp",
           "math_sdp_enabled", "enable_cudnn_sdp", "cudnn_sdp_enabled", "sdp_kernel",
           "preferred_linalg_library"]


class cuBLASModule:
    """Mirrors ``torch.backends.cuda.cuBLASModule`` (``torch.backends.cuda.matmul``): only
    its three flags exist; any other name is PyTorch's AttributeError."""

    _FLAGS = ("allow_fp16_reduced_precision_reduction",
              "allow_bf16_reduced_precision_reduction")

    def __init__(self) -> None:
        object.__setattr__(self, "_reduced", {n: True for n in self._FLAGS})

    def __getattr__(self, name: str):
        if name == "allow_tf32":
            from .. import _settings
            return _settings.get_float32_matmul_precision() != "highest"
        if name in self._FLAGS:
            return self._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value) -> None:
        if name == "allow_tf32":
            from .. import _settings
            _settings.set_float32_matmul_precision("high" if value else "highest")
        elif name in self._FLAGS:
            self._reduced[name] = bool(value)
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = cuBLASModule()

_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    """Mirrors ``torch.backends.cuda.is_built``: whether a backend can serve ``cuda``."""
    from .. import cuda
    return cuda.is_available()


def enable_flash_sdp(enabled: bool) -> None:
    _SDP["flash"] = bool(enabled)


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _SDP["mem_efficient"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def enable_math_sdp(enabled: bool) -> None:
    _SDP["math"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _SDP["cudnn"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True
               ) -> Iterator[None]:
    """Mirrors the (deprecated) ``torch.backends.cuda.sdp_kernel`` context manager."""
    saved = dict(_SDP)
    _SDP.update(flash=bool(enable_flash), math=bool(enable_math),
                mem_efficient=bool(enable_mem_efficient), cudnn=bool(enable_cudnn))
    try:
        yield
    finally:
        _SDP.update(saved)


_LINALG = {"value": "default"}


def preferred_linalg_library(backend=None) -> str:
    """Mirrors ``torch.backends.cuda.preferred_linalg_library`` (recorded only)."""
    if backend is not None:
        _LINALG["value"] = str(backend)
    return _LINALG["value"]
