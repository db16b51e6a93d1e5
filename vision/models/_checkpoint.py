"""``densenet(memory_efficient=True)`` checkpoints its bottlenecks with
``torch.utils.checkpoint``; ember has no activation checkpointing yet, so the function simply
runs (same values and gradients, without the memory saving)."""
from __future__ import annotations


class checkpoint_module:  # noqa: N801 - stands in for the module ``torch.utils.checkpoint``
    @staticmethod
    def checkpoint(function, *args, use_reentrant: bool | None = None, **kwargs):
        return function(*args, **kwargs)
