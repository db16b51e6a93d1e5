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

__all__ = ["embedding", "one_hot"]


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

