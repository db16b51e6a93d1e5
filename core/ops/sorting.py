"""Sorting and order statistics: sort, argsort, msort, topk, kthvalue, median, nanmedian.

Sorting is stable everywhere (PyTorch's CPU sort is too), so ties keep their original
order; NaN sorts as the largest value, as in PyTorch. The values an op picks are a gather
along ``dim``; their gradient is the matching scatter (:func:`take_along` /
:func:`put_along`, each the other's backward, so higher-order gradients work).
"""
from __future__ import annotations

from .. import _dtype, return_types
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim
from .reduction import count_true, record_shared
from .shape import reshape

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian"]


# --- gather / scatter along a dim, on backend index arrays ----------------------------------

def _along_key(xp, idx, dim: int) -> tuple:
    """The advanced-index key that addresses ``out[..., idx, ...]`` slice by slice."""
    n = idx.ndim
    key = []
    for ax, size in enumerate(idx.shape):
        if ax == dim:
            key.append(idx)
        else:
            shape = [1] * n
            shape[ax] = size
            key.append(xp.reshape(xp.arange(size), tuple(shape)))
    return tuple(key)


def gather(xp, data, idx, axis: int):
    """``take_along_axis`` as one advanced index (numpy's own is slow Python for small
    arrays)."""
    return data[_along_key(xp, idx, axis)]


def flipped(data, axis: int):
    """``data`` reversed along ``axis``: a strided view, unlike numpy's ``flip`` call."""
    return data[(slice(None),) * axis + (slice(None, None, -1), ...)]


def take_along(input: Tensor, idx, dim: int, name: str = "GatherBackward0",
               unique: bool = False) -> Tensor:
    """``input``'s values at backend index array ``idx`` along ``dim`` (torch.gather's
    maths); the gradient scatters back (repeated indices add up unless ``unique``
    promises there are none)."""
    res = wrap(gather(input._device._be.xp, input._data, idx, dim), input.dtype,
               input._device)
    if GRAD.enabled and input._requires_grad:
        shape = input._data.shape
        record(res, name, (input,), lambda g: (put_along(g, idx, dim, shape, unique),))
    return res


def put_along(g: Tensor, idx, dim: int, shape, unique: bool = False) -> Tensor:
    """A zero tensor of ``shape`` with ``g`` added at ``idx`` along ``dim`` (the adjoint of
    :func:`take_along`). ``unique`` promises no index repeats: a plain assignment then."""
    from .._creation import zeros
    be = g._device._be
    base = zeros(shape, dtype=g.dtype, device=g._device)._data
    key = _along_key(be.xp, idx, dim)
    data = be.setitem(base, key, g._data) if unique else be.index_add(base, key, g._data)
    res = wrap(data, g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        record(res, "ScatterAddBackward0", (g,), lambda gg: (take_along(gg, idx, dim),))
    return res


def record_pick(values: Tensor, input: Tensor, idx, dim: int, keepdim: bool, name: str) -> None:
    """Give ``values`` (input's entries at ``idx`` along ``dim``, the dim kept or dropped)
    the gradient that routes to those entries."""
    shape = input._data.shape
    kshape = idx.shape

    def fn(g):
        if not keepdim:
                    g = reshape(g, kshape)
        return (put_along(g, idx, dim, shape, unique=True),)
    record(values, name, (input,), fn)


# --- sorting ----------------------------------------------------------------------------------

def argsort_array(be, data, axis: int, descending: bool):
    """Stable argsort on the backend, as int64. Descending keeps ties in original order and
    NaN first (a stable ascending sort of the reversed array, reversed back)."""
    xp = be.xp
    if data.dtype == xp.bool:  # the array API sorts numbers only
        data = xp.astype(data, xp.uint8)
    if descending:
        n = data.shape[axis]
        idx = (n - 1) - flipped(xp.argsort(flipped(data, axis), axis=axis, stable=True), axis)
    else:
        idx = xp.argsort(data, axis=axis, stable=True)
    return be.astype(idx, _dtype.int64)


def _as_1d(input: Tensor, dim) -> tuple:
    """(tensor with ≥1 dims, wrapped dim, whether it was 0-d): 0-d tensors act as [x]."""
    if input.ndim:
        return input, wrap_dim(dim, input.ndim), False
    wrap_dim(dim, 0)
    return reshape(input, (1,)), 0, True


def _squeeze0(t: Tensor) -> Tensor:
    return reshape(t, ())


@method("sort")
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Mirrors ``torch.sort``: ``(values, indices)``. Always stable (``stable`` is
    accepted for PyTorch's signature)."""
    x, d, scalar = _as_1d(input, dim)
    be = x._device._be
    idx = argsort_array(be, x._data, d, descending)
    values = take_along(x, idx, d, "SortBackward0", unique=True)
    indices = wrap(idx, _dtype.int64, x._device)
    if scalar:
        values, indices = _squeeze0(values), _squeeze0(indices)
    return return_types.sort((values, indices))


@method("argsort")
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """Mirrors ``torch.argsort`` (stable, like ``sort``)."""
    x, d, scalar = _as_1d(input, dim)
    idx = wrap(argsort_array(x._device._be, x._data, d, descending), _dtype.int64, x._device)
    return _squeeze0(idx) if scalar else idx


@method("msort")
def msort(input: Tensor) -> Tensor:
    """Mirrors ``torch.msort``: sorted along dim 0."""
    return sort(input, 0)[0]


def _first(axis: int, stop: int) -> tuple:
    """The index taking the first ``stop`` entries along ``axis``."""
    return (slice(None),) * axis + (slice(0, stop), ...)


@method("topk")
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """Mirrors ``torch.topk``: the ``k`` largest (or smallest) along ``dim`` as
    ``(values, indices)``, always sorted. Ties go to the lower index."""
    x, d, scalar = _as_1d(input, dim)
    n = x._data.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    be = x._device._be
    idx = argsort_array(be, x._data, d, largest)[_first(d, k)]
    values = take_along(x, idx, d, "TopkBackward0", unique=True)
    indices = wrap(idx, _dtype.int64, x._device)
    if scalar and k:
        values, indices = _squeeze0(values), _squeeze0(indices)
    return return_types.topk((values, indices))


def check_axes(name: str, shape, axes, sep: str = "():") -> None:
    """PyTorch's error for reducing over an empty dim with no identity."""
    for ax in axes:
        if shape[ax] == 0:
            raise IndexError(f"{name}{sep} Expected reduction dim {ax} to have non-zero size.")


def picked(name: str, x: Tensor, idx, d: int, keepdim: bool, scalar: bool, node: str,
           values=None):
    """The ``return_types.<name>`` ``(values, indices)`` for the entries of ``x`` at
    ``idx`` (a backend int64 array, ``d`` kept at size 1; ``values`` when already known);
    ``scalar``: x stood for a 0-d input, whose results are 0-d."""
    xp = x._device._be.xp
    if values is None:
        values = gather(xp, x._data, idx, d)
    kept = keepdim or scalar
    out_idx = idx
    if not kept:
        values, out_idx = xp.squeeze(values, axis=d), xp.squeeze(idx, axis=d)
    vt = wrap(values, x.dtype, x._device)
    if GRAD.enabled and x._requires_grad:
        record_pick(vt, x, idx, d, kept, node)
    it = wrap(out_idx, _dtype.int64, x._device)
    if scalar:
        vt, it = _squeeze0(vt), _squeeze0(it)
    return getattr(return_types, name)((vt, it))


def _pick_sorted(name, x: Tensor, d: int, keepdim: bool, scalar: bool, pos, node: str):
    """``picked`` for the sorted slice entries at positions ``pos`` (a backend array shaped
    like the result with the dim kept)."""
    be = x._device._be
    order = argsort_array(be, x._data, d, False)
    idx = gather(be.xp, order, be.astype(pos, _dtype.int64), d)
    return picked(name, x, idx, d, keepdim, scalar, node)


def _kept_shape(shape, d):
    return tuple(1 if i == d else s for i, s in enumerate(shape))


@method("kthvalue")
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """Mirrors ``torch.kthvalue``: the k-th smallest (1-based) along ``dim``. Among equal
    values the one first in the original order is reported."""
    x, d, scalar = _as_1d(input, dim)
    check_axes("kthvalue", x._data.shape, (d,))
    n = x._data.shape[d]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    xp = x._device._be.xp
    pos = xp.full(_kept_shape(x._data.shape, d), k - 1)
    return _pick_sorted("kthvalue", x, d, keepdim, scalar, pos, "KthvalueBackward0")


def _median_pos(xp, data, d, ignore_nan: bool, floating: bool):
    """Sorted position of the (lower) median per slice. NaN sorts last: ``median`` reports
    the first NaN of a slice that has one, ``nanmedian`` the median of the rest."""
    n = data.shape[d]
    if not floating:
        return xp.full(_kept_shape(data.shape, d), (n - 1) // 2)
    nans = count_true(xp, xp.isnan(data), d, True)
    if ignore_nan:
        return xp.maximum((n - nans - 1) // 2, 0)
    return xp.where(nans > 0, n - nans, (n - 1) // 2)


def _median(name: str, input: Tensor, dim, keepdim: bool):
    if dim is None:
        return _median_all(name, input)
    x, d, scalar = _as_1d(input, dim)
    check_axes(name, x._data.shape, (d,))
    pos = _median_pos(x._device._be.xp, x._data, d, name == "nanmedian",
                      x.dtype.is_floating_point)
    node = "MedianBackward1" if name == "median" else "NanmedianBackward1"
    return _pick_sorted(name, x, d, keepdim, scalar, pos, node)


def _median_all(name: str, input: Tensor) -> Tensor:
    """The median of all elements (values only); the gradient is shared among the elements
    equal to it, as PyTorch's ``MedianBackward0``."""
    be = input._device._be
    xp = be.xp
    flat = xp.reshape(input._data, (-1,))
    if flat.shape[0] == 0:
        # NaN cast by the backend's rules for ints (PyTorch's: the int's minimum)
        out = be.astype(xp.full((), float("nan"), dtype=be.native_dtype(_dtype.float64)),
                        input.dtype)
    else:
        pos = _median_pos(xp, flat, 0, name == "nanmedian", input.dtype.is_floating_point)
        idx = gather(xp, argsort_array(be, flat, 0, False), be.astype(pos, _dtype.int64), 0)
        out = xp.reshape(gather(xp, flat, idx, 0), ())
    res = wrap(out, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record_shared(res, input, tuple(range(input.ndim)), False,
                      "MedianBackward0" if name == "median" else "NanmedianBackward0")
    return res


@method("median")
def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Mirrors ``torch.median``: the lower median of all elements (a tensor), or along
    ``dim`` as ``(values, indices)``. NaN propagates."""
    return _median("median", input, dim, keepdim)


@method("nanmedian")
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Mirrors ``torch.nanmedian``: ``median`` ignoring NaN."""
    return _median("nanmedian", input, dim, keepdim)
