"""Selection by condition: where, masked_fill, masked_select, masked_scatter, nonzero,
argwhere. Masks are bool tensors broadcast against the input, as in PyTorch."""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from ._register import apply2
from ._util import GRAD, Tensor, method, prep2, record, same_device, wrap
from .indexing import _Spec, _fill, _index, _put

__all__ = ["where", "masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere"]


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Mirrors ``torch.where(condition, input, other)`` (tensors or scalars)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, Tensor):
        if not isinstance(other, Tensor):
            from .._creation import tensor
            dt = _dtype.result_dtype((), (input, other))
            input = tensor(input, dtype=dt, device=condition.device)
        else:
            from .._creation import full
            dt = _dtype.result_dtype((other,), (input,))
            input = full((), input, dtype=dt, device=other.device)
    a, b, dt, dev = prep2(input, other)
    if condition._device is not dev and condition._device != dev:
        # a 0-dim CPU condition meets any device, as a scalar (PyTorch's error otherwise)
        same_device(condition, input if input._device == dev else other)
        condition = condition.to(dev)
    cond = condition._data
    if condition.dtype is not _dtype.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name.capitalize()}")
    res = wrap(apply2(dev._be.xp.where, cond, a, b), dt, dev)
    if GRAD.enabled and (input._requires_grad or getattr(other, "_requires_grad", False)):
        zero = 0

        def fn(g):
            ga = where(condition, g, zero) if input._requires_grad else None
            if isinstance(other, Tensor):
                return ga, (where(condition, zero, g) if other._requires_grad else None)
            return (ga,)
        ins = (input, other) if isinstance(other, Tensor) else (input,)
        record(res, "WhereBackward0", ins, fn)
    return res


def _mask_of(mask: Tensor, input: Tensor, op: str, name: str) -> Tensor:
    if mask.dtype is not _dtype.bool:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype {name}")
    if mask._device is not input._device:
        same_device(input, mask)
        mask = mask.to(input._device)
    return mask


def _expand_pair(input: Tensor, mask: Tensor):
    """input and mask expanded to their broadcast shape (PyTorch's error names the mask
    first)."""
    from .shape import broadcast_shapes, expand
    shape = tuple(broadcast_shapes(mask._data.shape, input._data.shape))
    return (input if input._data.shape == shape else expand(input, shape),
            mask if mask._data.shape == shape else expand(mask, shape))


@method("masked_fill")
def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """Mirrors ``torch.masked_fill``: ``value`` (a number or a 0-d tensor, cast to input's
    dtype) where ``mask`` is True."""
    mask = _mask_of(mask, input, "masked_fill_", mask.dtype.c_name)
    vt = isinstance(value, Tensor)
    if vt:
        if value.ndim:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        v = value.to(device=input.device, dtype=input.dtype)._data
    elif input.dtype is _dtype.bool:
        v = bool(value)
    elif not (input.dtype.is_floating_point or input.dtype.is_complex):
        v = int(value)
    else:
        v = value
    x, m = _expand_pair(input, mask)
    be = input._device._be
    xp = be.xp
    res = wrap(be.masked_fill(x._data, m._data, xp.asarray(v, dtype=be.native_dtype(
        input.dtype)) if vt else v), input.dtype, input._device)
    if res._data.dtype != x._data.dtype:
        res._data = be.astype(res._data, input.dtype)
    vg = vt and value._requires_grad
    if GRAD.enabled and (input._requires_grad or vg):
        ig = input._requires_grad

        def fn(g):
            gi = g.masked_fill(m, 0) if ig else None
            return (gi,) if not vt else (gi, where(m, g, 0).sum() if vg else None)
        record(res, "MaskedFillBackward0" if not vt else "MaskedFillBackward1",
               (input, value) if vt else (input,), fn)
    return res


@method("masked_fill_")
def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """In-place ``masked_fill`` (``Tensor.masked_fill_``)."""
    from .inplace import run_inplace
    return run_inplace(self, masked_fill, mask, value)


@takes_out
@method("masked_select")
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """Mirrors ``torch.masked_select``: the 1-D tensor of input's values where ``mask``
    (broadcast against it) is True."""
    if mask.dtype is not _dtype.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    mask = _mask_of(mask, input, "masked_select", "")
    x, m = _expand_pair(input, mask)
    return _index(x, _Spec((m._data,), True, name="MaskedSelectBackward0", ndim=1))


@method("masked_scatter")
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """Mirrors ``torch.masked_scatter``: where ``mask`` is True, the next values of
    ``source`` (read in order) replace input's."""
    mask = _mask_of(mask, input, "masked_scatter_", mask.dtype.scalar_name)
    if source.dtype is not input.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but got"
                           f"{input.dtype.scalar_name} and {source.dtype.scalar_name}")
    x, m = _expand_pair(input, mask)
    be = input._device._be
    spec = _Spec((m._data,), True, ndim=1)
    count = int(be.xp.count_nonzero(m._data))
    n = source.numel()
    if count > n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    src = source if source._device is input._device else source.to(input._device)
    head = _Spec((slice(0, count),), name="SliceBackward0", ndim=1)
    vals = be.xp.reshape(src._data, (n,))[:count]
    res = wrap(be.setitem(be.copy(x._data), spec.key, vals), input.dtype, input._device)
    if GRAD.enabled and (input._requires_grad or source._requires_grad):
        ig, sg = input._requires_grad, source._requires_grad
        shape = source.shape

        def fn(g):
            gi = _fill(g, spec) if ig else None
            gs = _put(_index(g, spec), (n,), head).reshape(shape) if sg else None
            return gi, gs
        record(res, "MaskedScatterBackward0", (x, source), fn)
    return res


@method("masked_scatter_")
def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place ``masked_scatter`` (``Tensor.masked_scatter_``)."""
    from .inplace import run_inplace
    return run_inplace(self, masked_scatter, mask, source)


@takes_out
@method("nonzero")
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Mirrors ``torch.nonzero``: an int64 ``[n, ndim]`` tensor of the indices of non-zero
    elements, or (``as_tuple=True``) one 1-D tensor per dimension."""
    be = input._device._be
    xp = be.xp
    data = input._data
    if input.ndim == 0:  # PyTorch reads a 0-d tensor as one element
        idx = xp.nonzero(xp.reshape(data, (1,)))
        if as_tuple:
            return (wrap(be.astype(idx[0], _dtype.int64), _dtype.int64, input._device),)
        n = idx[0].shape[0]
        return wrap(xp.zeros((n, 0), dtype=be.native_dtype(_dtype.int64)), _dtype.int64,
                    input._device)
    idx = tuple(be.astype(i, _dtype.int64) for i in xp.nonzero(data))
    if as_tuple:
        return tuple(wrap(i, _dtype.int64, input._device) for i in idx)
    return wrap(xp.stack(idx, axis=1), _dtype.int64, input._device)


@method("argwhere")
def argwhere(input: Tensor) -> Tensor:
    """Mirrors ``torch.argwhere``: ``nonzero(input)``."""
    return nonzero(input)


@method("where")
def _where_method(self: Tensor, condition: Tensor, y) -> Tensor:
    """``Tensor.where(condition, y)``: PyTorch's ``torch.where(condition, self, y)``."""
    return where(condition, self, y)
