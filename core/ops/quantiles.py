"""Order statistics composed from ``sort``: ``quantile``, ``nanquantile`` and ``mode``.
Their gradients are those of the sort/gather they are built from (PyTorch's are too: the
quantile's reach the one or two order statistics it interpolates, the mode's its index)."""
from __future__ import annotations

from .. import _dtype, return_types
from ._register import method, takes_out
from ._util import Tensor, wrap_dim

__all__ = ["quantile", "nanquantile", "mode"]

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name: str, input: Tensor, q, dim, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    from .._creation import tensor as _tensor
    if input.dtype not in (_dtype.float32, _dtype.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qt = _tensor([float(q)], dtype=input.dtype, device=input.device)
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qt = q.reshape(-1)
        if qt.numel() and (bool((qt < 0).any()) or bool((qt > 1).any())):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    if input.numel() == 0 and dim is None:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else wrap_dim(dim, max(x.ndim, 1))
    if x.ndim == 0:
        x = x.reshape(1)
    x = x.movedim(d, -1)
    n = x.shape[-1]
    srt = x.sort(-1).values  # NaN last
    nan = srt.isnan()
    valid = (~nan).sum(-1, keepdim=True)  # int64
    if ignore_nan:
        last = (valid - 1).clamp(min=0)
    else:
        last = valid.new_full(tuple(valid.shape), n - 1)
    rank = qt.reshape((-1,) + (1,) * x.ndim) * last.to(input.dtype)  # [nq, ..., 1]
    if not ignore_nan:
        # a slice with a NaN: PyTorch's rank is the last (a NaN), which takes the gradient
        rank = rank.masked_fill((valid < n).unsqueeze(0).expand(rank.shape), n - 1)
    if interpolation == "nearest":
        rank = rank.round()
    lo = rank.floor().long()
    hi = rank.ceil().long()
    shape = (qt.shape[0],) + tuple(srt.shape)
    srt_b = srt.unsqueeze(0).expand(shape)
    v_lo = srt_b.gather(-1, lo.expand(shape[:-1] + (1,)))
    v_hi = srt_b.gather(-1, hi.expand(shape[:-1] + (1,)))
    if interpolation == "lower" or interpolation == "nearest":
        out = v_lo
    elif interpolation == "higher":
        out = v_hi
    elif interpolation == "midpoint":
        out = (v_lo + v_hi) * 0.5
    else:
        out = v_lo.lerp(v_hi, (rank - lo.to(input.dtype)).expand(shape[:-1] + (1,)))
    out = out.squeeze(-1)  # [nq, ...rest]
    if keepdim:
        if dim is None:
            out = out.reshape((qt.shape[0],) + (1,) * input.ndim)
        else:
            out = out.unsqueeze(d + 1) if input.ndim else out
    return out.squeeze(0) if scalar_q else out


@takes_out
@method("quantile")
def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """Mirrors ``torch.quantile``: the q-th quantiles along ``dim`` (all elements when
    None); a slice with a NaN gives NaN. A 1-D ``q`` puts its dim first."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@takes_out
@method("nanquantile")
def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """Mirrors ``torch.nanquantile``: :func:`quantile` ignoring NaNs (NaN for an all-NaN
    slice)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


@takes_out
@method("mode")
def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """Mirrors ``torch.mode``: the most frequent value along ``dim`` (the smallest among
    ties) and the index of its last occurrence, as ``(values, indices)``."""
    from .selection import where
    x = input.reshape(1) if input.ndim == 0 else input
    d = wrap_dim(dim, x.ndim)
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    xl = x.movedim(d, -1).detach()
    counts = (xl.unsqueeze(-1) == xl.unsqueeze(-2)).sum(-1)
    best = counts == counts.amax(-1, keepdim=True)
    if x.dtype is _dtype.bool:
        keyed = xl.long()
        top = 2
    else:
        keyed = xl
        top = float("inf") if x.dtype.is_floating_point else _dtype.iinfo(x.dtype).max
    smallest = where(best, keyed, top).amin(-1, keepdim=True)
    pos = xl.new_zeros(()).long() + _arange_like(xl)
    idx = where(keyed == smallest, pos, -1).amax(-1, keepdim=True)  # last occurrence
    values = x.movedim(d, -1).gather(-1, idx)
    if keepdim:
        values, idx = values.movedim(-1, d), idx.movedim(-1, d)
    else:
        values, idx = values.squeeze(-1), idx.squeeze(-1)
    if input.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return return_types.mode((values, idx))


def _arange_like(x: Tensor) -> Tensor:
    from .._creation import arange
    return arange(x.shape[-1], device=x.device)
