"""Padding layers: ``ConstantPad1d/2d/3d``, ``ZeroPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``,
``ReplicationPad1d/2d/3d``, ``CircularPad1d/2d/3d``. Mirror the ``torch.nn`` classes: the
padding is kept as PyTorch's flat (left, right, top, bottom, ...) tuple and handed to
``F.pad``."""
from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


def _flat(padding, nd: int) -> tuple:
    if isinstance(padding, (list, tuple)):
        return tuple(padding)
    return (padding,) * (2 * nd)


class _PadNd(Module):
    _nd = 1
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _flat(padding, self._nd)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Mirrors ``torch.nn.ConstantPad1d(padding, value)``."""
    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Mirrors ``torch.nn.ConstantPad2d(padding, value)``."""
    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Mirrors ``torch.nn.ConstantPad3d(padding, value)``."""
    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Mirrors ``torch.nn.ZeroPad1d(padding)``."""
    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Mirrors ``torch.nn.ZeroPad2d(padding)``."""
    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Mirrors ``torch.nn.ZeroPad3d(padding)``."""
    _nd = 3


class ReflectionPad1d(_PadNd):
    """Mirrors ``torch.nn.ReflectionPad1d(padding)``."""
    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Mirrors ``torch.nn.ReflectionPad2d(padding)``."""
    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Mirrors ``torch.nn.ReflectionPad3d(padding)``."""
    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Mirrors ``torch.nn.ReplicationPad1d(padding)``."""
    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Mirrors ``torch.nn.ReplicationPad2d(padding)``."""
    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Mirrors ``torch.nn.ReplicationPad3d(padding)``."""
    _nd, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (self._nd + 1, self._nd + 2):
            raise ValueError(f"expected {self._nd + 1}D or {self._nd + 2}D input (got "
                             f"{input.dim()}D input)")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Mirrors ``torch.nn.CircularPad1d(padding)``."""
    _nd = 1


class CircularPad2d(_CircularPadNd):
    """Mirrors ``torch.nn.CircularPad2d(padding)``."""
    _nd = 2


class CircularPad3d(_CircularPadNd):
    """Mirrors ``torch.nn.CircularPad3d(padding)``."""
    _nd = 3
