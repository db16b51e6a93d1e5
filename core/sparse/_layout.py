"""``torch.layout`` and its values ``torch.strided`` / ``torch.sparse_coo``: how a tensor's
elements are stored. Mirrors ``torch.layout``: singletons compared by identity, printed as
``torch.strided``."""
from __future__ import annotations

__all__ = ["layout", "strided", "sparse_coo"]


class layout:  # noqa: N801 - PyTorch's name
    """Mirrors ``torch.layout``."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level singleton


strided = layout("strided")
sparse_coo = layout("sparse_coo")
