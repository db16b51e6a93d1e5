"""``ember.amp``: automatic mixed precision. Mirrors ``torch.amp``: ``autocast`` (op lists
in :mod:`ember.amp._lists`), ``GradScaler``, ``custom_fwd``/``custom_bwd``."""
from __future__ import annotations

from .autocast_mode import (autocast, custom_bwd, custom_fwd, get_autocast_dtype,  # noqa: F401
                            is_autocast_available, is_autocast_enabled)
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler", "is_autocast_available"]
