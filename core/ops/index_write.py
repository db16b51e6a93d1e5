"""Ops that write a source into positions of a copy of their input: ``index_copy``,
``index_reduce``, ``put``, ``select_scatter``, ``slice_scatter``, ``diagonal_scatter`` (and
the in-place ``index_copy_``, ``index_reduce_``, ``put_``).

Each is a composition of ops that already carry their gradients (scatter, scatter_reduce,
indexed assignment into a clone, which autograd records as PyTorch's CopySlices), so the
gradients are PyTorch's without a backward of their own.
"""
from __future__ import annotations

from .. import _dtype
from ._register import inplace, method, takes_out
from ._util import Tensor, wrap_dim

__all__ = ["index_copy", "index_reduce", "put", "select_scatter", "slice_scatter",
           "diagonal_scatter"]


def _expanded_index(name: str, input: Tensor, dim: int, index: Tensor, source: Tensor):
    """(dim, index shaped as source) for scattering ``source`` along ``dim`` at the vector
    ``index``, with PyTorch's checks."""
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got "
                           f"{index.dtype.scalar_name}")
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index should have dimension 1 or 0 (got {index.ndim})")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): self and source expected to have the same dtype, but "
                           f"got (self) {input.dtype.scalar_name} and (source) "
                           f"{source.dtype.scalar_name}")
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    src_shape = tuple(source.shape) if source.ndim else (1,)
    n = index.numel()
    if len(src_shape) != nd or (src_shape[dim] != n):
        raise IndexError(f"{name}(): Number of indices ({n}) should be equal to "
                         f"source.size(dim) ({src_shape[dim] if dim < len(src_shape) else 1})")
    shape = [1] * nd
    shape[dim] = n
    return dim, index.reshape(shape).expand(src_shape)


def _as1(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


@takes_out
@method("index_copy")
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Mirrors ``torch.index_copy``: ``input`` with the slices along ``dim`` at ``index``
    replaced by those of ``source``."""
    d, idx = _expanded_index("index_copy_", input, dim, index, source)
    out = _as1(input).scatter(d, idx, _as1(source))
    return out.reshape(()) if input.ndim == 0 else out


_REDUCTIONS = ("prod", "mean", "amax", "amin")


@takes_out
@method("index_reduce")
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Mirrors ``torch.index_reduce``: the slices of ``source`` reduced ("prod", "mean",
    "amax", "amin") into ``input`` along ``dim`` at ``index``."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    d, idx = _expanded_index("index_reduce_", input, dim, index, source)
    out = _as1(input).scatter_reduce(d, idx, _as1(source), reduce, include_self=include_self)
    return out.reshape(()) if input.ndim == 0 else out


@method("put")
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Mirrors ``torch.put``: ``source`` written (or added, with ``accumulate``) at the
    positions ``index`` of the flattened ``input`` (negative indices count from the end)."""
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{index.dtype.scalar_name}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got"
                           f" self.dtype = {input.dtype.scalar_name} and source.dtype = "
                           f"{source.dtype.scalar_name}")
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel()}, "
                           f"index.numel() = {index.numel()}")
    n = input.numel()
    flat = index.reshape(-1)
    if flat.numel() and (bool((flat >= n).any()) or bool((flat < -n).any())):
        bad = int(flat[(flat >= n).logical_or(flat < -n)][0])
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    flat = flat.where(flat >= 0, flat + n)
    x = input.reshape(-1)
    src = source.reshape(-1)
    out = x.scatter_add(0, flat, src) if accumulate else x.scatter(0, flat, src)
    return out.reshape(input.shape)


def _written(input: Tensor, src: Tensor, where) -> Tensor:
    """A clone of ``input`` with ``src`` copied into the view ``where(clone)``."""
    out = input.clone()
    view = where(out)
    if tuple(view.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size "
                           f"= {list(src.shape)}, slice size = {list(view.shape)}")
    view.copy_(src)
    return out


@takes_out
@method("select_scatter")
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """Mirrors ``torch.select_scatter``: ``input`` with ``input.select(dim, index)`` replaced
    by ``src``."""
    return _written(input, src, lambda t: t.select(dim, index))


@takes_out
@method("slice_scatter")
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """Mirrors ``torch.slice_scatter``: ``input`` with the slice ``start:end:step`` along
    ``dim`` replaced by ``src``."""
    d = wrap_dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    return _written(input, src, lambda t: t[key])


@takes_out
@method("diagonal_scatter")
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """Mirrors ``torch.diagonal_scatter``: ``input`` with its diagonal (as ``diagonal(offset,
    dim1, dim2)``) replaced by ``src``."""
    return _written(input, src, lambda t: t.diagonal(offset, dim1, dim2))


inplace(index_copy, "index_copy_")
inplace(index_reduce, "index_reduce_")
inplace(put, "put_")
