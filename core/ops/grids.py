"""Grids and combinations of 1-D tensors: meshgrid, cartesian_prod, combinations. Built
from expand, stack and index_select, so they are differentiable through those."""
from __future__ import annotations

import itertools
import warnings

from .. import _dtype
from ._util import Tensor

__all__ = ["cartesian_prod", "combinations", "meshgrid"]


def _tensor_list(tensors) -> list:
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Mirrors ``torch.meshgrid``: N 0-D/1-D tensors of one dtype give N tensors of shape
    (len_1, ..., len_N) (``indexing="xy"`` swaps the first two). Without ``indexing`` it is
    "ij", with PyTorch's warning. The results are expanded views of the inputs."""
    ts = _tensor_list(tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
                           f"{indexing}")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    for t in ts[1:]:
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t._device != ts[0]._device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    n = len(ts)
    out = []
    for i, t in enumerate(ts):
        view = (1,) * i + (shape[i],) + (1,) * (n - i - 1)
        out.append(t.reshape(view).expand(shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors) -> Tensor:
    """Mirrors ``torch.cartesian_prod``: every combination of one element from each 1-D
    tensor, as rows (a single tensor comes back as it is)."""
    ts = _tensor_list(tensors)
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    from .._creation import arange
    from .joining import stack
    for t in ts[1:]:
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [t.shape[0] for t in ts]
    total = 1
    for s in sizes:
        total *= s
    # row r takes element (r // stride_j) % n_j of tensor j (the last varies fastest)
    rows = arange(total, device=ts[0]._device)
    cols, stride = [], total
    for t, n in zip(ts, sizes):
        stride = stride // n if n else 0
        cols.append(t.index_select(0, (rows // max(stride, 1)) % max(n, 1)))
    return stack(cols, dim=1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Mirrors ``torch.combinations`` (``itertools.combinations`` /
    ``combinations_with_replacement`` of a 1-D tensor's elements): a (count, r) tensor, in
    lexicographic order of positions; ``r = 0`` gives an empty 1-D tensor."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty(0)
    from .._creation import tensor
    gen = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    from .joining import stack
    combos = list(gen(range(input.shape[0]), r))
    cols = [tensor([c[j] for c in combos], dtype=_dtype.int64, device=input._device)
            for j in range(r)]
    return stack([input.index_select(0, c) for c in cols], dim=1)
