"""Dim-wise index ops: gather, scatter, scatter_add, scatter_reduce, index_select,
index_add, index_fill, take_along_dim (and their in-place forms), with PyTorch's checks and
error messages.

Each builds an open-mesh key (an arange on every dim but ``dim``, the index there) and
hands it to the backend's indexing, ``setitem``, ``index_add`` (duplicates accumulate) or
``index_reduce``. Backwards are the usual pairs (gather <-> scatter_add, index_select <->
index_add) written with these same ops, so they are differentiable again.
"""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from ._register import inplace
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim
from .indexing import _Spec, _bounds, _fill, _index, _numel, _on, _put

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_fill", "take_along_dim"]


def _dim_key(be, index_arr, dim: int) -> tuple:
    """The open-mesh key that addresses ``out[i][index[i][j][k]][k]`` (for dim 1): an arange
    on every dim but ``dim``, the index there."""
    xp = be.xp
    shape = index_arr.shape
    n = len(shape)
    key = []
    for d, s in enumerate(shape):
        if d == dim:
            key.append(index_arr)
        else:
            key.append(xp.reshape(xp.arange(s), (1,) * d + (s,) + (1,) * (n - d - 1)))
    return tuple(key)


def _check_index_dtype(index: Tensor, op: str) -> None:
    if index.dtype is not _dtype.int64 and index.dtype is not _dtype.int32:
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")


def _slice_to(arr, shape):
    if tuple(arr.shape) == tuple(shape):
        return arr
    return arr[tuple(slice(0, s) for s in shape)]


def _as1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


@takes_out
@method("gather")
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """Mirrors ``torch.gather``: ``out[i][j] = input[index[i][j]][j]`` (dim 0)."""
    _check_index_dtype(index, "gather")
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    be = input._device._be
    if index.numel() == 0:
        return wrap(be.xp.zeros(index._data.shape, dtype=be.native_dtype(input.dtype)),
                    input.dtype, input._device)
    if max(index.ndim, 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    x, idx = _as1d(input), _as1d(_on(input, index))
    xs, ish = x._data.shape, idx._data.shape
    for d in range(nd):
        if d != dim and ish[d] > xs[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {dim}")
    _bounds(be, idx._data, xs[dim], dim, 0, RuntimeError)
    data = x._data[_dim_key(be, idx._data, dim)]
    if index.ndim == 0:
        data = be.xp.reshape(data, ())
    res = wrap(data, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        from .._creation import zeros
        shape = input.shape

        def fn(g):
            z = zeros(shape, dtype=g.dtype, device=g.device)
            return (scatter_add(z, dim, index, g),)
        record(res, "GatherBackward0", (input,), fn, saved=(index,))
    return res


def _scatter_checks(input: Tensor, dim: int, index: Tensor, src, op: str) -> int:
    _check_index_dtype(index, op)
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    if isinstance(src, Tensor) and src.dtype is not input.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index.numel() == 0:
        return dim
    if max(index.ndim, 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    ish, xs = _as1d(index)._data.shape, _as1d(input)._data.shape
    if isinstance(src, Tensor):
        ss = _as1d(src)._data.shape
        if len(ss) != nd:
            raise RuntimeError("Index tensor must have the same number of dimensions as src "
                               "tensor")
        if any((d != dim and ish[d] > xs[d]) or ish[d] > ss[d] for d in range(nd)):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(input.shape)} apart from dimension {dim} and to be no "
                               f"larger size than src {list(src.shape)}")
    elif any(d != dim and ish[d] > xs[d] for d in range(nd)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {dim}")
    _bounds(input._device._be, _as1d(_on(input, index))._data, xs[dim], dim, 0, RuntimeError)
    return dim


def _scattered(input: Tensor, dim: int, index: Tensor, src, how: str):
    """input's array with src (sliced to index's shape) or a number written at the index
    positions along dim; ``how``: "set", "add" or a reduction name."""
    be = input._device._be
    x, idx = _as1d(input), _as1d(_on(input, index))
    key = _dim_key(be, idx._data, dim)
    if isinstance(src, Tensor):
        vals = _slice_to(_as1d(_on(input, src))._data, idx._data.shape)
    else:
        vals = src
    if how == "set":
        data = be.setitem(be.copy(x._data), key, vals)
    elif how == "add":
        data = be.index_add(x._data, key, vals)
    else:
        data = be.index_reduce(x._data, key, vals, how)
    return be.xp.reshape(data, input._data.shape) if input.ndim == 0 else data


def _src_grad(g: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """The gradient reaching ``src`` of a scatter: g gathered at the index, zero-padded
    where src is larger than index."""
    out = gather(g, dim, index)
    if out._data.shape != src._data.shape and src.ndim:
        spec = _Spec(tuple(slice(0, s) for s in out._data.shape) + (Ellipsis,),
                     name="SliceBackward0")
        out = _put(out, src._data.shape, spec)
    return out


@method("scatter")
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """Mirrors ``torch.scatter(input, dim, index, src | value, reduce=None)``."""
    if src is None:
        src = value
    if not isinstance(src, Tensor) and hasattr(src, "item"):
        src = src.item()
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    dim = _scatter_checks(input, dim, index, src, "scatter")
    if index.numel() == 0:
        return input.clone()
    how = {None: "set", "add": "add", "multiply": "prod"}[reduce]
    res = wrap(_scattered(input, dim, index, src, how), input.dtype, input._device)
    is_t = isinstance(src, Tensor)
    if GRAD.enabled and (input._requires_grad or (is_t and src._requires_grad)):
        ins = (input, src) if is_t else (input,)
        if reduce is not None:
            def fn(g):
                raise RuntimeError("derivative for aten::scatter is not implemented")
            record(res, "ScatterBackward1", ins, fn)
            return res
        ig = input._requires_grad
        sg = is_t and src._requires_grad

        def fn(g):
            gi = scatter(g, dim, index, 0) if ig else None
            if not is_t:
                return (gi,)
            return gi, (_src_grad(g, dim, index, src) if sg else None)
        record(res, "ScatterBackward0" if is_t else "ScatterBackward1", ins, fn, saved=(index,))
    return res


@method("scatter_add")
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Mirrors ``torch.scatter_add``: duplicates in ``index`` accumulate."""
    dim = _scatter_checks(input, dim, index, src, "scatter")
    if index.numel() == 0:
        return input.clone()
    res = wrap(_scattered(input, dim, index, src, "add"), input.dtype, input._device)
    if GRAD.enabled and (input._requires_grad or src._requires_grad):
        ig, sg = input._requires_grad, src._requires_grad
        record(res, "ScatterAddBackward0", (input, src),
               lambda g: (g if ig else None, _src_grad(g, dim, index, src) if sg else None),
               saved=(index,))
    return res


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


@method("scatter_reduce")
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Mirrors ``torch.scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    dim = _scatter_checks(input, dim, index, src, "scatter")
    if index.numel() == 0:
        return input.clone()
    res = _scatter_reduce_fwd(input, dim, index, src, reduce, include_self)
    if GRAD.enabled and (input._requires_grad or src._requires_grad):
        ig, sg = input._requires_grad, src._requires_grad
        record(res, "ScatterReduceBackward0", (input, src),
               lambda g: _scatter_reduce_bwd(g, input, dim, index, src, reduce, include_self,
                                             res.detach(), ig, sg),
               saved=(input, index, src, res) if reduce != "sum" else (index,))
    return res


def _scatter_reduce_fwd(input, dim, index, src, reduce, include_self) -> Tensor:
    be = input._device._be
    base = input
    if not include_self:  # positions that receive something start from the identity
        base = wrap(_scattered(input, dim, index, _identity(input.dtype, reduce), "set"),
                    input.dtype, input._device)
    how = "sum" if reduce == "mean" else reduce
    data = _scattered(base, dim, index, src, how)
    if reduce == "mean":
        ones = wrap(be.xp.ones(index._data.shape, dtype=be.native_dtype(input.dtype)),
                    input.dtype, input._device)
        start = 1 if include_self else 0
        cnt = _scattered(wrap(be.xp.full(input._data.shape, start,
                                         dtype=be.native_dtype(input.dtype)),
                              input.dtype, input._device), dim, index, ones, "add")
        cnt = be.xp.where(cnt == 0, be.xp.ones_like(cnt), cnt)
        data = data // cnt if not input.dtype.is_floating_point and not input.dtype.is_complex \
            else data / cnt
    return wrap(data, input.dtype, input._device)


def _identity(dt, reduce):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dt.is_floating_point:
        return float("-inf") if reduce == "amax" else float("inf")
    info = _dtype.iinfo(dt) if dt is not _dtype.bool else None
    if info is None:
        return reduce == "amin"
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_bwd(g, input, dim, index, src, reduce, include_self, result, ig, sg):
    """PyTorch's scatter_reduce_backward, written with Tensor ops (the masks and counts
    it builds are constants, computed on arrays)."""
    be = g._device._be
    xp = be.xp
    dt, dev = g.dtype, g._device

    def const(data, to=dt):
        return wrap(be.astype(data, to), to, dev)

    full_src = src
    if src.ndim and src._data.shape != index._data.shape:
        src = src[tuple(slice(0, s) for s in index._data.shape)]
    if reduce == "sum":
        gi = g
        gs = gather(g, dim, index)
    elif reduce == "mean":
        base = wrap(xp.full(input._data.shape, float(include_self), dtype=be.native_dtype(dt)),
                    dt, dev)
        n = _scattered(base, dim, index, 1.0, "add")
        n = wrap(xp.where(n == 0, xp.ones_like(n), n), dt, dev)
        gi = g / n
        gs = gather(gi, dim, index)
    elif reduce in ("amax", "amin"):
        sel_self = const(input._data == result._data)
        sel_src = const(src._data == gather(result, dim, index)._data)
        cnt = scatter_add(sel_self, dim, index, sel_src)
        gi = g * sel_self / cnt
        gs = sel_src * gather(g / cnt, dim, index)
    else:  # prod: the exclusive product, with zeros handled as PyTorch does
        from .selection import where
        masked_self = input.masked_fill(const(input._data == 0, _dtype.bool), 1)
        masked_self_result = scatter_reduce(masked_self, dim, index, src, reduce,
                                            include_self=include_self)
        gi = g * masked_self_result / masked_self
        src_zero = src._data == 0
        nz = _scattered(wrap(xp.zeros(input._data.shape, dtype=be.native_dtype(dt)), dt, dev),
                        dim, index, const(src_zero), "add")
        nz = gather(wrap(nz, dt, dev), dim, index)._data
        single = const(src_zero & (nz == 1), _dtype.bool)
        masked_src_result = scatter_reduce(input, dim, index, src.masked_fill(single, 1), reduce,
                                           include_self=include_self)
        gs = where(single, gather(g * masked_src_result, dim, index),
                   gather(g * result, dim, index)
                   / src.masked_fill(const(src_zero, _dtype.bool), 1))
    if not include_self and gi is not None:
        gi = scatter(gi, dim, index, 0)
    if gs is not None and gs._data.shape != full_src._data.shape:
        spec = _Spec(tuple(slice(0, s) for s in gs._data.shape) + (Ellipsis,),
                     name="SliceBackward0")
        gs = _put(gs, full_src._data.shape, spec)
    return (gi if ig else None), (gs if sg else None)


def _vector_index(index: Tensor, op: str) -> Tensor:
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    return index.reshape(1) if index.ndim == 0 else index


@takes_out
@method("index_select")
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Mirrors ``torch.index_select``: the slices of ``input`` along ``dim`` at ``index``
    (which must be non-negative, as in PyTorch)."""
    if index.dtype is not _dtype.int64 and index.dtype is not _dtype.int32:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    idx = _vector_index(_on(input, index), "index_select")
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    be = input._device._be
    x = _as1d(input)
    size = x._data.shape[dim]
    if _numel(idx._data):
        xp = be.xp
        lo, hi = int(xp.min(idx._data)), int(xp.max(idx._data))
        if lo < 0:
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={lo} axis_dim={size}")
        if hi >= size:
            raise IndexError("index out of range in self")
    data = be.xp.take(x._data, idx._data, axis=dim)
    if input.ndim == 0:
        data = be.xp.reshape(data, ())
    res = wrap(data, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        from .._creation import zeros
        shape = input.shape
        record(res, "IndexSelectBackward0", (input,),
               lambda g: (index_add(zeros(shape, dtype=g.dtype, device=g.device), dim, index,
                                    g),), saved=(index,))
    return res


@takes_out
@method("index_add")
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Mirrors ``torch.index_add``: ``input`` with ``alpha * source`` added along ``dim`` at
    ``index`` (duplicates accumulate)."""
    if index.dtype is not _dtype.int64 and index.dtype is not _dtype.int32:
        raise RuntimeError("index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{index.dtype.scalar_name}")
    if index.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{index.ndim} with type: {index.dtype.scalar_name} and size: "
                         f"{list(index.shape)}")
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    n = index.numel()
    ss = _as1d(source)._data.shape
    if dim >= len(ss) or ss[dim] != n:
        have = ss[dim] if dim < len(ss) else 1
        raise RuntimeError(f"index_add_(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({have}), for dim: {dim}")
    xs = _as1d(input)._data.shape
    if len(ss) != len(xs) or any(a != b for d, (a, b) in enumerate(zip(xs, ss)) if d != dim):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype.scalar_name}) and source "
                           f"({source.dtype.scalar_name}) must have the same scalar type")
    be = input._device._be
    idx = _as1d(_on(input, index))
    _bounds(be, idx._data, xs[dim], dim, 0, RuntimeError)
    src = _on(input, source)
    vals = _as1d(src)._data
    if alpha != 1:
        vals = vals * alpha
    key = (slice(None),) * dim + (idx._data, Ellipsis)
    data = be.index_add(_as1d(input)._data, key, vals)
    if input.ndim == 0:
        data = be.xp.reshape(data, ())
    res = wrap(data, input.dtype, input._device)
    if GRAD.enabled and (input._requires_grad or source._requires_grad):
        ig, sg = input._requires_grad, source._requires_grad

        def fn(g):
            gs = None
            if sg:
                gs = index_select(g, dim, index)
                if alpha != 1:
                    gs = gs * alpha
            return (g if ig else None), gs
        record(res, "IndexAddBackward0", (input, source), fn, saved=(index,))
    return res


@method("index_fill")
def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Mirrors ``torch.index_fill``: the slices along ``dim`` at ``index`` set to ``value``
    (a number or a 0-d tensor)."""
    if index.dtype is not _dtype.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    x = _as1d(input)
    idx = _as1d(_on(input, index))
    size = x._data.shape[dim]
    be = input._device._be
    _bounds(be, idx._data, size, dim, -size, IndexError)
    spec = _Spec((slice(None),) * dim + (idx._data, Ellipsis), True)
    v = value
    if isinstance(value, Tensor):
        v = value.to(input.dtype)._data
    out = _fill(x.detach(), spec, v)._data
    if input.ndim == 0:
        out = be.xp.reshape(out, ())
    res = wrap(out, input.dtype, input._device)
    vt = isinstance(value, Tensor) and value._requires_grad
    if GRAD.enabled and (input._requires_grad or vt):
        ig = input._requires_grad

        def fn(g):
            gi = _fill(_as1d(g), spec).reshape(input.shape) if ig else None
            if not isinstance(value, Tensor):
                return (gi,)
            return gi, (_index(_as1d(g), spec).sum() if vt else None)
        record(res, "IndexFillBackward0" if not isinstance(value, Tensor) else
               "IndexFillBackward1", (input, value) if isinstance(value, Tensor) else (input,),
               fn, saved=(index,))
    return res


@takes_out
@method("take_along_dim")
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Mirrors ``torch.take_along_dim``: gather with ``input`` and ``indices`` broadcast
    against each other outside ``dim`` (flattened when ``dim`` is None)."""
    if indices.dtype is not _dtype.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{indices.dtype.scalar_name}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    from .shape import broadcast_shapes
    nd = max(input.ndim, 1)
    dim = wrap_dim(dim, nd)
    if input.ndim == 0:
        return gather(input, dim, indices)
    sizes = list(input.shape)
    sizes[dim] = indices.shape[dim]
    idx = indices.expand(broadcast_shapes(sizes, indices.shape))
    sizes = list(indices.shape)
    sizes[dim] = input.shape[dim]
    x = input.expand(broadcast_shapes(sizes, input.shape))
    return gather(x, dim, idx)


# --- in-place forms ---------------------------------------------------------------------------

for _n, _f in (("scatter_", scatter), ("scatter_add_", scatter_add),
               ("scatter_reduce_", scatter_reduce), ("index_add_", index_add),
               ("index_fill_", index_fill)):
    inplace(_f, _n)
