"""Sorting values into bins: searchsorted, bucketize, histc, histogram, bincount. None of
them is differentiable (PyTorch's are not either); all return new tensors."""
from __future__ import annotations

import math

from ._register import takes_out
from .. import _dtype
from .. import return_types as _rt
from ._util import Tensor, method, wrap

__all__ = ["bincount", "bucketize", "histc", "histogram", "searchsorted"]

_histogram = _rt.make("histogram", ("hist", "bin_edges"))


def _as_tensor(v, like: Tensor) -> Tensor:
    if isinstance(v, Tensor):
        return v
    from .._creation import tensor
    return tensor(v, device=like._device)


def _common(a: Tensor, b: Tensor):
    """Both arrays in their PyTorch result dtype (comparisons need one dtype)."""
    dt = _dtype.result_dtype((a, b))
    be = a._device._be
    return (a._data if a.dtype is dt else be.astype(a._data, dt),
            b._data if b.dtype is dt else be.astype(b._data, dt))


def _sorted_positions(dev, s, v, side: str, sorter=None):
    """searchsorted over the last dim: ``s`` (..., n) sorted rows, ``v`` (..., m) values
    with the same leading dims (or s 1-D). Rows go one at a time to ``xp.searchsorted``
    (the array API's is 1-D only)."""
    xp = dev._be.xp
    if len(s.shape) == 1:
        flat = xp.reshape(v, (-1,))
        res = xp.searchsorted(s, flat, side=side, sorter=sorter)
        return xp.reshape(res, v.shape)
    n, m = s.shape[-1], v.shape[-1]
    s2, v2 = xp.reshape(s, (-1, n)), xp.reshape(v, (-1, m))
    srt = None if sorter is None else xp.reshape(sorter, (-1, n))
    rows = [xp.searchsorted(s2[i, ...], v2[i, ...], side=side,
                            sorter=None if srt is None else srt[i, ...])
            for i in range(s2.shape[0])]
    if not rows:
        return xp.zeros(v.shape, dtype=xp.int64)
    return xp.reshape(xp.stack(rows), v.shape)


def _index_result(dev, pos, out_int32: bool) -> Tensor:
    dt = _dtype.int32 if out_int32 else _dtype.int64
    return wrap(dev._be.astype(pos, dt), dt, dev)


@takes_out
def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None,
                 sorter: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.searchsorted``: where ``input``'s values would go in each row of
    ``sorted_sequence`` (1-D, or the same leading dims as ``input``); ``side="right"``
    (or ``right=True``) puts them after equal entries. NaN values go last."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
    side = side or ("right" if right else "left")
    seq = sorted_sequence
    values = _as_tensor(input, seq)
    if seq.ndim > 1 and (values.ndim != seq.ndim or
                         tuple(values.shape[:-1]) != tuple(seq.shape[:-1])):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(values.shape)}")
    if sorter is not None and (sorter.dtype is not _dtype.int64 or
                               tuple(sorter.shape) != tuple(seq.shape)):
        raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype and "
                           "same shape as boundaries tensor")
    dev = seq._device
    s, v = _common(seq, values)
    if values.ndim == 0 and seq.ndim <= 1:
        v = dev._be.xp.reshape(v, (1,))
    pos = _sorted_positions(dev, s, v, side, None if sorter is None else sorter._data)
    xp = dev._be.xp
    if xp.isdtype(v.dtype, "real floating"):  # NaN values go last on either side (PyTorch)
        pos = xp.where(xp.isnan(v), s.shape[-1], pos)
    if values.ndim == 0:
        pos = dev._be.xp.reshape(pos, ())
    res = _index_result(dev, pos, out_int32)
    return res


@takes_out
def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """Mirrors ``torch.bucketize``: the bucket index of each value against 1-D
    ``boundaries`` (``right=True``: ``boundaries[i-1] <= x < boundaries[i]``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def _counts(dev, idx, weights, nbins: int, dt):
    """Per-bin sums of ``weights`` (ones when None) at int64 ``idx`` (a backend array)."""
    be = dev._be
    xp = be.xp
    zeros = xp.zeros((nbins,), dtype=be.native_dtype(dt))
    vals = xp.ones(idx.shape, dtype=be.native_dtype(dt)) if weights is None else weights
    if idx.shape[0] == 0:
        return zeros
    return be.index_add(zeros, idx, vals)


@takes_out
@method("histc")
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Mirrors ``torch.histc``: ``bins`` equal-width bins over [min, max] (the data's range
    when both are 0; widened by 1 each way when that is a single point); values outside
    are ignored, the maximum goes in the last bin. The result has input's dtype."""
    dt = input.dtype
    if not dt.is_floating_point:
        raise NotImplementedError(f'"histogram_{input._device.type}" not implemented for '
                                  f"'{dt.scalar_name}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
    dev = input._device
    xp = dev._be.xp
    x = xp.reshape(input._data, (-1,))
    lo, hi = float(min), float(max)
    if lo == hi and x.shape[0]:
        lo, hi = float(xp.min(x)), float(xp.max(x))
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{_fmt(lo)}, {_fmt(hi)}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    keep = (x >= lo) & (x <= hi)
    xs = x[keep]
    pos = xp.astype(xp.floor((xs - lo) * bins / (hi - lo)), xp.int64)
    pos = xp.clip(pos, 0, bins - 1)
    return wrap(_counts(dev, pos, None, bins, dt), dt, dev)


def _fmt(v: float) -> str:
    return "-nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:g}"


@takes_out
@method("histogram")
def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,
              density: bool = False):
    """Mirrors ``torch.histogram``: ``(hist, bin_edges)``; ``bins`` a count (equal widths
    over ``range`` or the data's range) or a 1-D tensor of increasing edges. The last bin
    includes its right edge; ``weight`` weighs each value; ``density`` normalises to a
    probability density."""
    dt = input.dtype
    if not dt.is_floating_point:
        raise NotImplementedError(f'"histogram_{input._device.type}" not implemented for '
                                  f"'{dt.scalar_name}'")
    dev = input._device
    be = dev._be
    xp = be.xp
    x = xp.reshape(input._data, (-1,))
    if isinstance(bins, Tensor):
        if bins.ndim != 1:
            raise RuntimeError(f"torch.histogram: bins tensor should have one dimension, but "
                               f"got {bins.ndim} dimensions")
        edges = bins._data if bins.dtype is dt else be.astype(bins._data, dt)
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               "dimension 0")
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        elif x.shape[0]:
            lo, hi = float(xp.min(x)), float(xp.max(x))
        else:
            lo, hi = 0.0, 0.0
        if lo > hi:
            raise RuntimeError(f"torch.histogram(): min should not exceed max, but got min {lo} "
                               f"max {hi}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        from .._creation import linspace
        edges = linspace(lo, hi, bins + 1, dtype=dt, device=dev)._data
    nb = edges.shape[0] - 1
    w = None
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise RuntimeError("torch.histogram(): if weight tensor is provided it should have "
                               "the same shape as the input tensor")
        w = xp.reshape(weight._data if weight.dtype is dt else be.astype(weight._data, dt),
                       (-1,))
    if nb <= 0:
        hist = xp.zeros((0,), dtype=be.native_dtype(dt))
    else:
        keep = (x >= edges[0]) & (x <= edges[-1])
        xs = x[keep]
        pos = xp.searchsorted(edges, xs, side="right") - 1
        pos = xp.clip(xp.astype(pos, xp.int64), 0, nb - 1)  # the right edge is in the last bin
        hist = _counts(dev, pos, None if w is None else w[keep], nb, dt)
        if density:
            widths = edges[1:] - edges[:-1]
            total = xp.sum(hist)
            hist = hist / (total * widths) if float(total) else hist / widths * 0
    return _histogram((wrap(hist, dt, dev), wrap(edges, dt, dev)))


@method("bincount")
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Mirrors ``torch.bincount``: how often each non-negative integer occurs in a 1-D
    tensor (summed ``weights`` instead when given: float32 stays float32, other weights
    give float64, as in PyTorch). Length ``max(input) + 1`` or ``minlength``."""
    dt = input.dtype
    if dt.is_floating_point or dt.is_complex or dt is _dtype.bool:
        raise NotImplementedError(f'"bincount_{input._device.type}" not implemented for '
                                  f"'{dt.scalar_name}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    dev = input._device
    xp = dev._be.xp
    x = input._data
    if input.ndim != 1 or (x.shape[0] and int(xp.min(x)) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != x.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = max(int(xp.max(x)) + 1 if x.shape[0] else 0, minlength)
    idx = xp.astype(x, xp.int64)
    if weights is None:
        return wrap(_counts(dev, idx, None, n, _dtype.int64), _dtype.int64, dev)
    wdt = weights.dtype if weights.dtype in (_dtype.float32, _dtype.float64) else _dtype.float64
    w = weights._data if weights.dtype is wdt else dev._be.astype(weights._data, wdt)
    return wrap(_counts(dev, idx, w, n, wdt), wdt, dev)

