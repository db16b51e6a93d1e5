"""Mirrors ``torch.backends.opt_einsum``: ``enabled`` and ``strategy`` are recorded;
``is_available()`` says whether the ``opt_einsum`` package is installed (ember's einsum
leaves contraction order to the array library)."""
from __future__ import annotations

import importlib.util

__all__ = ["enabled", "strategy", "is_available", "get_opt_einsum"]

def is_available() -> bool:
    """Mirrors ``torch.backends.opt_einsum.is_available``."""
    return importlib.util.find_spec("opt_einsum") is not None


# as torch's: on with strategy "auto" where the package is installed, else off and None
enabled: bool = is_available()
strategy: str | None = "auto" if enabled else None


def get_opt_einsum():
    """Mirrors ``torch.backends.opt_einsum.get_opt_einsum``: the package, or None."""
    if not is_available():
        return None
    import opt_einsum
    return opt_einsum
