"""Small ops PyTorch has as their own names, composed of ops ember already has (so their
gradients are those ops'): ``diagflat``, ``block_diag``, ``renorm``, ``addr``,
``split_with_sizes``, ``narrow_copy``, the ``unsafe_*`` splits, the in-place
``addmm_``/``addmv_``/``addbmm_``/``baddbmm_``/``addr_``, ``hardshrink``/``prelu`` as
Tensor methods, and the signal windows (``hann_window``, ``hamming_window``,
``blackman_window``, ``bartlett_window``, ``kaiser_window``)."""
from __future__ import annotations

import math

from .. import _dtype
from ._register import inplace, method, takes_out
from ._util import Tensor, wrap_dim

__all__ = ["diagflat", "block_diag", "renorm", "addr", "split_with_sizes",
           "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "narrow_copy",
           "addmv_", "hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]



@takes_out
@method("diagflat")
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """Mirrors ``torch.diagflat``: the flattened input on a diagonal of a square matrix."""
    return input.reshape(-1).diag(offset)


def block_diag(*tensors: Tensor) -> Tensor:
    """Mirrors ``torch.block_diag``: the tensors (0-d, 1-D as one row, 2-D) on the diagonal
    of one matrix, in their promoted dtype."""
    from .._creation import zeros
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    dt = _dtype.result_dtype(tuple(tensors)) if tensors else _dtype.get_default_dtype()
    rows = sum(m.shape[0] for m in mats)
    cols = sum(m.shape[1] for m in mats)
    dev = tensors[0].device if tensors else None
    out = zeros(rows, cols, dtype=dt, device=dev)
    r = c = 0
    for m in mats:
        h, w = m.shape
        if h and w:
            out[r:r + h, c:c + w] = m.to(dt)
        r, c = r + h, c + w
    return out


@takes_out
@method("renorm")
def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Mirrors ``torch.renorm``: each slice along ``dim`` whose p-norm exceeds ``maxnorm``
    scaled down to it (PyTorch's ``maxnorm / (norm + 1e-7)``)."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           "dimensions")
    from .selection import where
    d = wrap_dim(dim, input.ndim)
    others = [k for k in range(input.ndim) if k != d]
    a = input.abs() if input.dtype.is_complex else input  # a complex slice's norm is real
    norm = a.abs().pow(p).sum(others, keepdim=True).pow(1.0 / p) if p != 2 else \
        (a * a).sum(others, keepdim=True).sqrt()
    factor = where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return input * factor


@takes_out
@method("addr")
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Mirrors ``torch.addr``: ``beta * input + alpha * outer(vec1, vec2)`` (``beta=0``
    ignores the input, NaN included)."""
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D"
                           if vec1.ndim != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    prod = vec1.outer(vec2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return (input * beta if beta != 1 else input) + prod


@method("split_with_sizes", "unsafe_split_with_sizes")
def split_with_sizes(input: Tensor, split_sizes, dim: int = 0):
    """Mirrors ``torch.split_with_sizes``: pieces of the given sizes along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    if sum(split_sizes) != input.shape[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[d]} (input tensor's size at dimension {d}), but got "
                           f"split_sizes={list(split_sizes)}")
    return input.split(list(split_sizes), d)


unsafe_split_with_sizes = split_with_sizes


@method("unsafe_split")
def unsafe_split(input: Tensor, split_size, dim: int = 0):
    """Mirrors ``torch.unsafe_split``: ``split`` (ember's pieces are safe to write)."""
    return input.split(split_size, dim)


@method("unsafe_chunk")
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0):
    """Mirrors ``torch.unsafe_chunk``: ``chunk`` (ember's pieces are safe to write)."""
    return input.chunk(chunks, dim)


@method("narrow_copy")
def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Mirrors ``torch.narrow_copy``: ``narrow`` copied out."""
    return input.narrow(dim, start, length).clone()


for _n in ("addmm", "addmv", "addbmm", "baddbmm", "addr"):
    inplace(getattr(Tensor, _n), _n + "_")
addmv_ = Tensor.addmv_  # torch.addmv_ exists too


@method("hardshrink")
def _hardshrink(self: Tensor, lambd: float = 0.5) -> Tensor:
    """Mirrors ``Tensor.hardshrink`` (``nn.functional.hardshrink``)."""
    from ..nn.functional import hardshrink
    return hardshrink(self, lambd)


@method("prelu")
def _prelu(self: Tensor, weight: Tensor) -> Tensor:
    """Mirrors ``Tensor.prelu`` (``nn.functional.prelu``)."""
    from ..nn.functional import prelu
    return prelu(self, weight)


# --- signal windows ----------------------------------------------------------------------------
def _window(name: str, window_length: int, periodic: bool, dtype, device, requires_grad,
            fn) -> Tensor:
    from .._creation import arange, ones, zeros
    dt = dtype or _dtype.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: "
                           f"{dt.scalar_name}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    if window_length == 0:
        return zeros(0, dtype=dt, device=device, requires_grad=requires_grad)
    if window_length == 1:
        return ones(1, dtype=dt, device=device, requires_grad=requires_grad)
    n = window_length + 1 if periodic else window_length
    k = arange(n, dtype=_dtype.float64, device=device)
    w = fn(k, n)
    if periodic:
        w = w[:-1]
    out = w.to(dt)
    return out.requires_grad_() if requires_grad else out


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.hann_window``."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: 0.5 - 0.5 * (k * (2 * math.pi / (n - 1))).cos())


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.hamming_window``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: alpha - beta * (k * (2 * math.pi / (n - 1))).cos())


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False,
                    requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.blackman_window``."""
    def fn(k, n):
        a = k * (2 * math.pi / (n - 1))
        return 0.42 - 0.5 * a.cos() + 0.08 * (2 * a).cos()
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   fn)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, pin_memory: bool = False,
                    requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.bartlett_window``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: 1 - (k * (2.0 / (n - 1)) - 1).abs())


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.kaiser_window``: ``i0(beta * sqrt(1 - ((k - a) / a)^2)) / i0(beta)``
    with ``a = (n - 1) / 2``."""
    def fn(k, n):
        a = (n - 1) / 2.0
        return (beta * (1 - ((k - a) / a) ** 2).clamp(min=0).sqrt()).i0() / \
            k.new_full((), float(beta)).i0()
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, fn)
