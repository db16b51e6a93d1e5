"""PyTorch's ``norm_except_dim`` and ``_weight_norm`` (the formulas behind both forms of
weight normalisation), composed of differentiable ops."""
from __future__ import annotations

from ..._tensor import Tensor


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """Mirrors ``torch.norm_except_dim``: the ``pow``-norm over every dimension but
    ``dim``, keeping ``dim`` (others size 1); ``dim=-1`` means the norm of the whole
    tensor (a 0-d result), as in PyTorch."""
    from ...linalg import vector_norm
    if dim == -1:
        return vector_norm(v, pow)
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return vector_norm(v, pow, dims, keepdim=True)


def weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """Mirrors ``torch._weight_norm(v, g, dim)``: ``v * (g / norm_except_dim(v, 2, dim))``."""
    return v * (g / norm_except_dim(v, 2, dim))
