"""``DataParallel``: mirrors ``torch.nn.DataParallel`` on one device (PyTorch itself keeps
it for compatibility and recommends DistributedDataParallel). The module runs as is on
``device_ids[0]``; more than one device id is accepted with a warning and runs on the first
(no replication, no scatter/gather of inputs)."""
from __future__ import annotations

import warnings

from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Mirrors ``torch.nn.DataParallel``: ``module`` attribute, ``module.`` state_dict keys,
    forward calls the wrapped module."""

    def __init__(self, module: Module, device_ids=None, output_device=None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim
        if len(self.device_ids) > 1:
            warnings.warn("ember's DataParallel runs the module on one device "
                          f"({self.device_ids[0]}); use DistributedDataParallel to train on "
                          "several", UserWarning, stacklevel=2)

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
