"""Mirrors ``torch.backends.mps``: ember has no Metal backend, so both answers are False."""
from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Mirrors ``torch.backends.mps.is_available``: False."""
    return False


def is_built() -> bool:
    """Mirrors ``torch.backends.mps.is_built``: False."""
    return False
