"""Distances: ``cosine_similarity``, ``pairwise_distance``, ``pdist``. Mirror
``torch.nn.functional`` of the same names (composed of Tensor ops)."""
from __future__ import annotations

from ..._tensor import Tensor, wrap

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _clamp_min_const(t: Tensor, eps: float) -> Tensor:
    """max(t, eps) with the gradient of t passing unchanged (PyTorch clamps in place under
    no_grad): a constant offset is added where t < eps."""
    xp = t._device._be.xp
    return t + wrap(xp.maximum(eps - t._data, 0), t.dtype, t._device)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Mirrors ``torch.nn.functional.cosine_similarity``: each input divided by its norm
    (clamped below by ``eps`` without affecting the gradient, as in PyTorch), then the dot product."""
    if x1.shape != x2.shape:
        from ...ops.shape import broadcast_shapes
        shape = broadcast_shapes(x1.shape, x2.shape)
        x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = _clamp_min_const(x1.norm(2, dim, keepdim=True), eps)
    n2 = _clamp_min_const(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.pairwise_distance``: ``‖x1 - x2 + eps‖_p`` over the
    last dimension."""
    dim = -1 if max(x1.ndim, x2.ndim) > 0 else 0
    return (x1 - x2 + eps).norm(p, dim, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """Mirrors ``torch.nn.functional.pdist``: distances between all row pairs i < j."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    n = input.shape[0]
    if n < 2:
        from ..._creation import zeros
        return zeros(0, dtype=input.dtype, device=input.device)
    from ..._creation import triu_indices
    i, j = triu_indices(n, n, 1, device=input.device)
    return (input[i] - input[j]).norm(p, -1)
