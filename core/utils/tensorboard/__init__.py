"""``ember.utils.tensorboard``: mirrors ``torch.utils.tensorboard`` (``SummaryWriter``),
writing event files through the ``tensorboard`` package.

Needs ``tensorboard``: ``pip install 'ember[tools]'``.
"""
from __future__ import annotations

try:
    import tensorboard  # noqa: F401
except ImportError as e:
    raise ModuleNotFoundError("ember.utils.tensorboard needs the 'tensorboard' package: "
                              "install it with `pip install 'ember[tools]'` (or `pip install "
                              "tensorboard`)") from e

from .writer import FileWriter, SummaryWriter  # noqa: E402

__all__ = ["FileWriter", "SummaryWriter"]
