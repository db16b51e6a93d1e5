"""``embedding`` and ``one_hot``. Mirror ``torch.nn.functional`` of the same names.

``embedding`` gathers rows; its backward scatters the incoming gradient back with the
backend's ``index_add`` (duplicates accumulate), skipping ``padding_idx``. That backward is
itself recorded when a graph of the gradient is wanted, so second derivatives work.
"""
from __future__ import annotations

from ... import _dtype
from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...autograd.grad_mode import no_grad
from ...compiler._state import is_compiling

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(input: Tensor) -> None:
    if input.dtype not in (_dtype.int64, _dtype.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{input.type()} instead (while checking arguments for embedding)")


def _renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows that are looked up and longer than
    ``max_norm`` are scaled (in place) to that norm."""
    be = weight._device._be
    xp = be.xp
    rows = xp.unique_values(idx) if hasattr(xp, "unique_values") else xp.unique(idx)
    w = xp.take(weight._data, rows, axis=0)
    if norm_type == float("inf"):
        norms = xp.max(xp.abs(w), axis=1)
    else:
        norms = xp.sum(xp.abs(w) ** norm_type, axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    new = be.setitem(be.copy(weight._data), rows,
                     be.astype(w * scale[:, None], weight.dtype))
    with no_grad():
        weight.copy_(wrap(new, weight.dtype, weight._device))


def _scatter_rows(g: Tensor, idx, num: int, padding_idx: int, counts) -> Tensor:
    """The gradient of the embedding table: rows of ``g`` added at ``idx``."""
    be = g._device._be
    xp = be.xp
    dim = g.shape[-1]
    g2 = xp.reshape(g._data, (-1, dim))
    flat = xp.reshape(idx, (-1,))
    coef = None
    if padding_idx >= 0 or counts is not None:
        coef = xp.ones(flat.shape, dtype=be.native_dtype(g.dtype))
        if padding_idx >= 0:
            coef = xp.where(flat != padding_idx, coef, 0)
        if counts is not None:
            coef = coef / counts[flat]
        g2 = g2 * coef[:, None]
    data = be.index_add(xp.zeros((num, dim), dtype=be.native_dtype(g.dtype)), flat, g2)
    res = wrap(data, g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        def backward(gg):
            rows = _take_rows(gg, idx)
            if coef is not None:
                rows = rows * wrap(xp.reshape(coef, tuple(idx.shape) + (1,)), g.dtype,
                                   g._device)
            return (rows,)
        record(res, "EmbeddingBackwardBackward0", (g,), backward)
    return res


def _take_rows(weight: Tensor, idx) -> Tensor:
    xp = weight._device._be.xp
    flat = xp.reshape(idx, (-1,))
    data = xp.reshape(xp.take(weight._data, flat, axis=0),
                      tuple(idx.shape) + (weight.shape[-1],))
    return wrap(data, weight.dtype, weight._device)


def normalize_padding_idx(padding_idx: int | None, num: int) -> int | None:
    """A negative ``padding_idx`` counted from the end; PyTorch's assertion when outside."""
    if padding_idx is None:
        return None
    if padding_idx >= num or padding_idx < -num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.embedding``: ``weight[input]``; the ``padding_idx``
    row gets no gradient; ``max_norm`` renormalises looked-up rows in place. ``sparse``
    gradients are returned dense (ember has no sparse tensors)."""
    _check_indices(input)
    num = weight.shape[0]
    padding_idx = normalize_padding_idx(padding_idx, num)
    if padding_idx is None:
        padding_idx = -1
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    xp = weight._device._be.xp
    idx = input._data
    # skipped inside a compiled program (no host reads there): XLA clamps a bad index
    if input.numel() and not is_compiling() and bool(xp.any((idx < 0) | (idx >= num))):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    res = _take_rows(weight, idx)
    if GRAD.enabled and weight._requires_grad:
        counts = None
        if scale_grad_by_freq:
            counts = xp.zeros((num,), dtype=weight._device._be.native_dtype(weight.dtype))
            flat = xp.reshape(idx, (-1,))
            counts = weight._device._be.index_add(counts, flat, xp.ones(flat.shape,
                                                                         dtype=counts.dtype))
        record(res, "EmbeddingBackward0", (weight,),
               lambda g: (_scatter_rows(g, idx, num, padding_idx, counts),))
    return res


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Mirrors ``torch.nn.functional.one_hot``: int64, a new last dimension of size
    ``num_classes`` (inferred as max + 1 when -1)."""
    if tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = tensor._device._be.xp
    t = tensor._data
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    else:
        if bool(xp.min(t) < 0):
            raise RuntimeError("Class values must be non-negative.")
        top = int(xp.max(t))
        if num_classes == -1:
            num_classes = top + 1
        elif top >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    be = tensor._device._be
    data = be.astype(xp.expand_dims(t, -1) == xp.arange(num_classes), _dtype.int64)
    return wrap(data, _dtype.int64, tensor._device)



def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.embedding_bag``: per bag (a row of a 2-D ``input``,
    or the slice between consecutive ``offsets`` of a 1-D one) the sum, mean or max of the
    looked-up rows (sum weighted by ``per_sample_weights``); ``padding_idx`` entries are
    left out of their bag; an empty bag gives zeros. Composed of differentiable ops (row
    lookup, then ``index_add`` or ``scatter_reduce`` into the bags), so gradients reach
    ``weight`` and ``per_sample_weights``. ``sparse`` gradients are returned dense."""
    import numpy as np

    from ..._creation import tensor, zeros
    if weight.dtype is _dtype.int64 and input.is_floating_point():
        import warnings
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and tuple(input.shape) != \
            tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {type(offsets)}")
        starts = np.arange(0, input.numel(), input.shape[1], dtype=np.int64)
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = np.asarray(offsets.tolist(), dtype=np.int64)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError("mode has to be one of sum, mean or max")
    _check_indices(input)
    if max_norm is not None:
        _renorm_(weight, input._data, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    n = input.numel()
    if starts.size and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the "
                           "mini-batch has to start from position 0. However, got "
                           f"{int(starts[0])}")
    if starts.size and (np.any(np.diff(starts) < 0) or starts[-1] > n):
        raise RuntimeError("offsets must be non-decreasing and at most the number of indices "
                           f"({n})")
    bags = starts.size - 1 if include_last_offset else starts.size
    idx = np.asarray(input.tolist(), dtype=np.int64).reshape(-1)
    # as PyTorch's CPU kernel, the last bag runs to the end of input even where
    # include_last_offset's final offset stops short of it
    bag_of = np.minimum(np.searchsorted(starts, np.arange(n), side="right") - 1,
                        max(bags - 1, 0))
    keep = np.ones(n, dtype=bool)
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    pad = normalize_padding_idx(padding_idx, num)
    if pad is not None:
        keep &= idx != pad
    pos = tensor(np.nonzero(keep)[0], dtype=_dtype.int64, device=input.device)
    bag = tensor(bag_of[keep], dtype=_dtype.int64, device=input.device)
    rows = embedding(input.index_select(0, pos), weight, None, None, 2.0, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.index_select(0, pos).unsqueeze(1)
    out = zeros(max(bags, 0), weight.shape[1], dtype=weight.dtype, device=weight.device)
    if mode == "max":
        expanded = bag.unsqueeze(1).expand(-1, weight.shape[1])
        return out.scatter_reduce(0, expanded, rows, "amax", include_self=False)
    out = out.index_add(0, bag, rows)
    if mode == "mean":
        counts = np.bincount(bag_of[keep], minlength=max(bags, 0))[:max(bags, 0)]
        div = tensor(np.maximum(counts, 1).astype(np.float64), dtype=weight.dtype,
                     device=weight.device)
        out = out / div.unsqueeze(1)
    return out
