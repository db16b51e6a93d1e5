"""Joining and splitting: cat (concat, concatenate), stack and its h/v/d/column forms;
split, chunk, unbind, tensor_split and h/v/dsplit. Joins copy and type-promote like PyTorch;
the pieces of a split are views of the input sharing its version counter. A split records
one node for all its pieces: their gradients (zeros where a piece got none) are joined."""
from __future__ import annotations

import itertools

from ._register import takes_out
from .._dtype import result_dtype
from ._util import GRAD, Tensor, cast, method, record, wrap, wrap_dim
from .rearrange import narrow
from ._views import MultiOutput, mark_view, view_of
from .shape import atleast_1d, atleast_2d, atleast_3d, reshape

__all__ = ["cat", "chunk", "column_stack", "concat", "concatenate", "dsplit", "dstack", "hsplit",
           "hstack", "row_stack", "split", "stack", "tensor_split", "unbind", "vsplit", "vstack"]


def _tensor_seq(tensors, fname: str) -> list:
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{fname}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    ts = list(tensors)
    for i, x in enumerate(ts):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(x).__name__}")
    return ts


def _common(ts: list):
    """(result dtype, device) of a join: PyTorch's promotion, one device."""
    first = ts[0]
    dt, dev = first.dtype, first._device
    for x in ts:
        if x._device is not dev and x._device != dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {dev} and {x._device}!")
        if x.dtype is not dt:
            return result_dtype(ts), dev
    return dt, dev


@takes_out
def cat(tensors, dim: int = 0) -> Tensor:
    """Mirrors ``torch.cat``: mixed dtypes promote; 1-D empty tensors are skipped where the
    others have another shape (PyTorch's legacy rule)."""
    ts = _tensor_seq(tensors, "cat")
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ref = None
    for i, x in enumerate(ts):
        shape = x._data.shape
        if not shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
        if ref is None and shape != (0,):
            ref = shape
    dt, dev = _common(ts)
    if ref is None:  # only legacy empties
        wrap_dim(dim, 1)
        ref = (0,)
    n = len(ref)
    d = wrap_dim(dim, n)
    kept = []
    for i, x in enumerate(ts):
        shape = x._data.shape
        if shape == (0,) and n != 1:
            continue
        if len(shape) != n:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {n} and "
                               f"{len(shape)}")
        if shape != ref:
            for j in range(n):
                if j != d and shape[j] != ref[j]:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                       f"Expected size {ref[j]} but got size {shape[j]} for "
                                       f"tensor number {i} in the list.")
        kept.append(x)
    res = wrap(dev._be.xp.concat([cast(x, dt) for x in kept], axis=d), dt, dev)
    if GRAD.enabled and any(x._requires_grad for x in ts):
        spans = []
        off = 0
        for x in ts:
            shape = x._data.shape
            if shape == (0,) and n != 1:
                spans.append((0, 0, x._requires_grad, True))
            else:
                spans.append((off, shape[d], x._requires_grad, False))
                off += shape[d]

        def back(g):
            return tuple((_empty(g) if skipped else narrow(g, d, start, size)) if req else None
                         for start, size, req, skipped in spans)
        record(res, "CatBackward0", ts, back)
    return res


concat = concatenate = cat


def _empty(g: Tensor) -> Tensor:
    """The gradient of a skipped legacy empty input: an empty 1-D tensor."""
    from .._creation import zeros
    return zeros((0,), dtype=g.dtype, device=g._device)


@takes_out
def stack(tensors, dim: int = 0) -> Tensor:
    """Mirrors ``torch.stack``: tensors of one shape joined along a new dim."""
    ts = _tensor_seq(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = ts[0]._data.shape
    for i, x in enumerate(ts):
        if x._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(x._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(ref) + 1)
    dt, dev = _common(ts)
    key = (slice(None),) * d + (None, ...)  # a new axis by indexing: cheaper than xp.stack
    res = wrap(dev._be.xp.concat([cast(x, dt)[key] for x in ts], axis=d), dt, dev)
    if GRAD.enabled and any(x._requires_grad for x in ts):
        need = [x._requires_grad for x in ts]
        record(res, "StackBackward0", ts,
               lambda g: tuple(p if r else None for p, r in zip(unbind(g, d), need)))
    return res


def _nonempty(tensors, fname: str) -> list:
    ts = _tensor_seq(tensors, fname)
    if not ts:
        raise RuntimeError(f"{fname} expects a non-empty TensorList")
    return ts


@takes_out
def hstack(tensors) -> Tensor:
    """Mirrors ``torch.hstack``: along dim 1 (dim 0 for 1-D inputs)."""
    ts = atleast_1d(_nonempty(tensors, "hstack"))
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


@takes_out
def vstack(tensors) -> Tensor:
    """Mirrors ``torch.vstack`` (``row_stack``): 1-D inputs become rows."""
    return cat(atleast_2d(_nonempty(tensors, "vstack")), 0)


row_stack = vstack


@takes_out
def dstack(tensors) -> Tensor:
    """Mirrors ``torch.dstack``: along the third dim."""
    return cat(atleast_3d(_nonempty(tensors, "dstack")), 2)


@takes_out
def column_stack(tensors) -> Tensor:
    """Mirrors ``torch.column_stack``: 0-d and 1-D inputs become columns."""
    ts = _nonempty(tensors, "column_stack")
    cols = [reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in ts]
    return cat(cols, 1)


# --- splitting ----------------------------------------------------------------------------

def _pieces(input: Tensor, sizes, d: int, name: str) -> tuple:
    """Views of consecutive ``sizes``-long runs along ``d``; one node joins their grads."""
    data = input._data
    pre = (slice(None),) * d
    outs = []
    off = 0
    node = name.removesuffix("Backward0")
    for i, s in enumerate(sizes):
        key = pre + (slice(off, off + s),)
        outs.append(view_of(input, data[key + (...,)]))
        mark_view(outs[-1], input, MultiOutput(key, node, i))
        off += s
    outs = tuple(outs)
    if GRAD.enabled and input._requires_grad and outs:
        record(outs, name, (input,), lambda *gs: (cat(gs, d),))
    return outs


def _split_sizes(size: int, split_size: int) -> list:
    """PyTorch's ``split`` rule: equal runs of ``split_size``, the last one shorter."""
    if split_size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got "
                           f"split_size={split_size}")
    if split_size == 0 and size != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                           f"dimension size of {size}")
    n = max((size + split_size - 1) // split_size, 1) if split_size else 1
    return [split_size] * (n - 1) + [size - split_size * (n - 1)]


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Mirrors ``torch.split``: an int gives runs of that size (the last may be shorter), a
    list gives the run sizes, which must add up to the dim's size. The pieces are views."""
    if not tensor.ndim:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor.ndim)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int) or (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim == 0):
        return _pieces(tensor, _split_sizes(size, int(split_size_or_sections)), d,
                       "SplitBackward0")
    return _split_with_sizes(tensor, [int(s) for s in split_size_or_sections], d)


@method("split")
def _split_method(self: Tensor, split_size, dim: int = 0) -> tuple:
    """``Tensor.split(split_size, dim=0)``: PyTorch's method names its argument so."""
    return split(self, split_size, dim)


def _split_with_sizes(tensor: Tensor, sizes: list, d: int) -> tuple:
    size = tensor._data.shape[d]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                           f"entries, but got split_sizes={sizes}")
    total = 0
    for s in sizes:
        total += s
    if total != size:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                           f"(input tensor's size at dimension {d}), but got "
                           f"split_sizes={sizes}")
    return _pieces(tensor, sizes, d, "SplitWithSizesBackward0")


@method("chunk")
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Mirrors ``torch.chunk``: runs of ceil(size / chunks), so there may be fewer than
    ``chunks`` pieces; an empty dim gives ``chunks`` empty pieces."""
    if not input.ndim:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input.ndim)
    size = input._data.shape[d]
    run = (size + chunks - 1) // chunks
    if size == 0:
        return _split_with_sizes(input, [0] * chunks, d)
    return _pieces(input, _split_sizes(size, run), d, "SplitBackward0")


@method("unbind")
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """Mirrors ``torch.unbind``: views of each entry along ``dim``, that dim removed."""
    if not input.ndim:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim)
    data = input._data
    pre = (slice(None),) * d
    outs = tuple(view_of(input, data[pre + (i, ...)]) for i in range(data.shape[d]))
    for i, o in enumerate(outs):
        mark_view(o, input, MultiOutput(pre + (i,), "Unbind", i))
    if GRAD.enabled and input._requires_grad and outs:
        record(outs, "UnbindBackward0", (input,), lambda *gs: (stack(gs, d),))
    return outs


@method("tensor_split")
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Mirrors ``torch.tensor_split``: an int splits into that many nearly equal views (the
    first ones one longer); a list (or 1-D tensor) gives the indices to split at."""
    if not input.ndim:
        raise RuntimeError(f"tensor_split expected at least a 1-dimensional tensor, but got a "
                           f"tensor with {input.ndim} dims")
    d = wrap_dim(dim, input.ndim)
    size = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = int(ios.item()) if ios.ndim == 0 else [int(v) for v in ios.tolist()]
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(size, ios)
        bounds, off = [], 0
        for i in range(ios):
            n = q + (i < r)
            bounds.append((off, n))
            off += n
    else:
        cuts = [0] + [int(v) for v in ios] + [size]
        bounds = []
        for a, b in itertools.pairwise(cuts):
            start, stop, _ = slice(a, b).indices(size)
            bounds.append((start, max(stop - start, 0)))
    return tuple(narrow(input, d, s, n) for s, n in bounds)


def _hvd_split(name: str, input: Tensor, ios, d: int, need: int) -> tuple:
    if input.ndim < need:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {need} dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    if isinstance(ios, int):
        size = input._data.shape[d]
        if ios == 0 or size % ios:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {ios}!")
    return tensor_split(input, ios, d)


@method("hsplit")
def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """Mirrors ``torch.hsplit``: along dim 1 (dim 0 for 1-D)."""
    return _hvd_split("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1, 1)


@method("vsplit")
def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """Mirrors ``torch.vsplit``: along dim 0 of an at least 2-D tensor."""
    return _hvd_split("vsplit", input, indices_or_sections, 0, 2)


@method("dsplit")
def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Mirrors ``torch.dsplit``: along dim 2 of an at least 3-D tensor."""
    return _hvd_split("dsplit", input, indices_or_sections, 2, 3)
