"""Set operations on values: unique, unique_consecutive, isin. Written with array-API
sorts, cumulative sums and boolean masks; results are new, non-differentiable tensors
(as in PyTorch). NaNs are never equal to each other: each is its own unique value."""
from __future__ import annotations

from .. import _dtype
from ._util import Tensor, method, wrap, wrap_dim

__all__ = ["isin", "unique", "unique_consecutive"]


def _sortable(be, x, dt):
    """bool arrays sort as uint8 (the array API sorts numbers only)."""
    return be.astype(x, _dtype.uint8) if dt is _dtype.bool else x


def _starts(xp, rows_differ, n: int):
    """Mask of group starts: the first element, then every element unlike its predecessor."""
    first = xp.ones((1,), dtype=xp.bool)
    return xp.concat([first, rows_differ]) if n else xp.zeros((0,), dtype=xp.bool)


def _group_outputs(dev, new, n: int, perm=None):
    """(inverse, counts) int64 arrays from the group-start mask over sorted positions;
    ``perm`` maps sorted positions back to the input order."""
    be = dev._be
    xp = be.xp
    i64 = be.native_dtype(_dtype.int64)
    if not n:
        empty = xp.zeros((0,), dtype=i64)
        return empty, empty
    group = xp.cumulative_sum(xp.astype(new, i64)) - 1
    starts = xp.nonzero(new)[0]
    ends = xp.concat([starts[1:], xp.asarray([n], dtype=starts.dtype)])
    counts = xp.astype(ends - starts, i64)
    if perm is not None:
        group = xp.take(group, xp.argsort(perm, stable=True))
    return group, counts


def _lexsort_rows(xp, rows):
    """A stable permutation sorting 2-D ``rows`` lexicographically (column 0 first)."""
    n, k = rows.shape
    perm = xp.arange(n)
    for c in range(k - 1, -1, -1):
        col = xp.take(rows[:, c], perm)
        perm = xp.take(perm, xp.argsort(col, stable=True))
    return perm


def _rows_of(input: Tensor, dim: int):
    """input with ``dim`` moved first and the rest flattened (n, k), plus the moved shape."""
    be = input._device._be
    xp = be.xp
    d = wrap_dim(dim, input.ndim)
    moved = xp.permute_dims(input._data, (d,) + tuple(i for i in range(input.ndim) if i != d))
    shape = tuple(moved.shape)
    n = shape[0]
    k = 1
    for s in shape[1:]:
        k *= s
    return xp.reshape(_sortable(be, moved, input.dtype), (n, k)), shape, d


def _back_from_rows(input: Tensor, rows, shape, d):
    be = input._device._be
    xp = be.xp
    vals = xp.reshape(rows, (rows.shape[0],) + shape[1:])
    order = list(range(1, len(shape)))
    order.insert(d, 0)
    vals = xp.permute_dims(vals, tuple(order))
    if input.dtype is _dtype.bool:
        vals = be.astype(vals, _dtype.bool)
    return wrap(vals, input.dtype, input._device)


def _results(values: Tensor, inverse, counts, dev, return_inverse, return_counts, inv_shape):
    i64 = _dtype.int64
    out = [values]
    if return_inverse:
        out.append(wrap(dev._be.xp.reshape(inverse, inv_shape), i64, dev))
    if return_counts:
        out.append(wrap(counts, i64, dev))
    return out[0] if len(out) == 1 else tuple(out)


def _unique(input: Tensor, dim, sort: bool, return_inverse: bool, return_counts: bool):
    """unique (``sort``: equal values anywhere) or unique_consecutive (equal neighbours)."""
    dev = input._device
    be = dev._be
    xp = be.xp
    if dim is not None:
        rows, shape, d = _rows_of(input, dim)
        n = rows.shape[0]
        perm = _lexsort_rows(xp, rows) if sort else None
        srt = xp.take(rows, perm, axis=0) if sort else rows
        differ = xp.any(srt[1:, ...] != srt[:-1, ...], axis=1) if rows.shape[1] and n else \
            xp.zeros((max(n - 1, 0),), dtype=xp.bool)
        new = _starts(xp, differ, n)
        inverse, counts = _group_outputs(dev, new, n, perm)
        values = _back_from_rows(input, xp.take(srt, xp.nonzero(new)[0], axis=0), shape, d)
        return _results(values, inverse, counts, dev, return_inverse, return_counts, (n,))
    flat = _sortable(be, xp.reshape(input._data, (-1,)), input.dtype)
    n = flat.shape[0]
    perm = xp.argsort(flat, stable=True) if sort else None
    srt = xp.take(flat, perm) if sort else flat
    new = _starts(xp, srt[1:] != srt[:-1] if n else None, n)
    inverse, counts = _group_outputs(dev, new, n, perm)
    vals = srt[new]
    if input.dtype is _dtype.bool:
        vals = be.astype(vals, _dtype.bool)
    return _results(wrap(vals, input.dtype, dev), inverse, counts, dev, return_inverse,
                    return_counts, tuple(input.shape))


@method("unique")
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """Mirrors ``torch.unique``: the distinct values (sorted; ``sorted=False`` is accepted
    and also sorts, which PyTorch allows), or distinct slices along ``dim``; optionally the
    index of each input element's value (``return_inverse``) and each value's count."""
    return _unique(input, dim, True, return_inverse, return_counts)


@method("unique_consecutive")
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Mirrors ``torch.unique_consecutive``: collapses runs of equal values (or equal slices
    along ``dim``), keeping their order."""
    return _unique(input, dim, False, return_inverse, return_counts)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Mirrors ``torch.isin``: for each of ``elements``, whether it occurs in
    ``test_elements`` (either may be a scalar); compared in their promoted dtype."""
    from .._creation import tensor
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    ref = elements if isinstance(elements, Tensor) else test_elements
    e = elements if isinstance(elements, Tensor) else tensor(elements, device=ref._device)
    t = test_elements if isinstance(test_elements, Tensor) else tensor(
        test_elements, device=ref._device)
    for x in (e, t):
        if x.dtype is _dtype.bool or x.dtype.is_complex:
            raise RuntimeError(f"Unsupported input type encountered for isin(): "
                               f"{x.dtype.scalar_name}")
    dev = ref._device
    be = dev._be
    xp = be.xp
    dt = _dtype.result_dtype((e, t))
    ea = e._data if e.dtype is dt else be.astype(e._data, dt)
    ta = t._data if t.dtype is dt else be.astype(t._data, dt)
    flat = xp.reshape(ea, (-1,))
    s = xp.sort(xp.reshape(ta, (-1,)))
    if s.shape[0] == 0:
        found = xp.zeros(flat.shape, dtype=xp.bool)
    else:
        pos = xp.clip(xp.searchsorted(s, flat), 0, s.shape[0] - 1)
        found = xp.take(s, pos) == flat
    if invert:
        found = ~found
    return wrap(xp.reshape(found, ea.shape), _dtype.bool, dev)
