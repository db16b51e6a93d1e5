"""``ember.fft``: mirrors ``torch.fft``.

Every transform is one of three differentiable primitives (``_core``: complex-to-complex,
real-to-complex, complex-to-real), run by the backend's ``fft`` kernel, after the input is
cut or zero-padded to the requested signal sizes, exactly as PyTorch composes them, so
values, dtypes and gradients (conjugate Wirtinger convention) match PyTorch's. Integer and
bool inputs are promoted to the default float dtype first, as in PyTorch.
"""
from __future__ import annotations

from .. import _dtype
from .._creation import _arange_resized
from .._tensor import Tensor
from ..ops._register import finalize as _finalize, takes_out as _takes_out
from . import _core

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]


# --- argument handling (PyTorch's canonicalize_fft_shape_and_dim_args) ----------------------
def _float_input(x: Tensor, want_complex: bool | None, name: str = "") -> Tensor:
    """Promote ints/bools to the default float dtype; make complex when ``want_complex``;
    PyTorch's error for a complex input to a real-input transform (``want_complex`` False)."""
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        x = x.to(_dtype.get_default_dtype())
    if x.dtype in (_dtype.float16, _dtype.bfloat16):
        raise RuntimeError(f"Unsupported dtype {x.dtype.scalar_name}")
    if want_complex:
        return _core.to_complex(x)
    if want_complex is False and x.dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got "
                           f"{x.dtype.scalar_name}")
    return x


def _wrap(d: int, ndim: int) -> int:
    if ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    if not -ndim <= d < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {d})")
    return d % ndim


def _shape_and_dims(x: Tensor, s, dim) -> tuple[list, tuple]:
    if dim is not None:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = [_wrap(d, x.ndim) for d in dims]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = [s] if isinstance(s, int) else list(s)
        if dim is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if dim is None:
            if len(s) > x.ndim:
                raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                                   f"{x.ndim} dimensions.")
            dims = list(range(x.ndim - len(s), x.ndim))
        s = [x.shape[d] if n == -1 else int(n) for n, d in zip(s, dims)]
        for n in s:
            if n <= 0:
                raise RuntimeError(f"Invalid number of data points ({n}) specified")
    else:
        if dim is None:
            dims = list(range(x.ndim))
        s = [x.shape[d] for d in dims]
    return s, tuple(dims)


def _resize(x: Tensor, dims, sizes) -> Tensor:
    """x cut (a slice) or zero-padded at the end to ``sizes`` along ``dims``."""
    for d, n in zip(dims, sizes):
        cur = x.shape[d]
        if n < cur:
            x = x.narrow(d, 0, n)
        elif n > cur:
            from .._creation import zeros
            from ..ops.joining import cat
            pad = list(x.shape)
            pad[d] = n - cur
            x = cat([x, zeros(pad, dtype=x.dtype, device=x.device)], d)
    return x


def _one(n, dim, x):
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    d = _wrap(dim, x.ndim)
    return [x.shape[d] if n is None else n], (d,)


# --- the transforms --------------------------------------------------------------------------
def _c2c(x: Tensor, s, dims, norm, forward: bool) -> Tensor:
    x = _resize(_float_input(x, True), dims, s)
    return _core.c2c(x, dims, _core.user_scale(norm, forward), forward)


def _r2c(name: str, x: Tensor, s, dims, norm, forward: bool) -> Tensor:
    x = _resize(_float_input(x, False, name), dims, s)
    res = _core.r2c(x, dims, _core.user_scale(norm, forward), True)
    return res if forward else _core.conj(res)  # ihfft: the inverse direction


def _c2r(x: Tensor, s, dims, norm, forward: bool, last_given: bool) -> Tensor:
    x = _float_input(x, True)
    if not last_given:
        s = s[:-1] + [2 * (x.shape[dims[-1]] - 1)]
    last = s[-1]
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    x = _resize(x, dims, s[:-1] + [last // 2 + 1])
    if forward:  # hfft: the forward transform of a Hermitian signal
        x = _core.conj(x)
    return _core.c2r(x, dims, _core.user_scale(norm, forward), last)


@_takes_out
def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.fft``: the 1-d discrete Fourier transform."""
    s, dims = _one(n, dim, input)
    return _c2c(input, s, dims, norm, True)


@_takes_out
def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ifft``."""
    s, dims = _one(n, dim, input)
    return _c2c(input, s, dims, norm, False)


@_takes_out
def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.rfft``: the one-sided transform of a real signal."""
    s, dims = _one(n, dim, input)
    return _r2c("rfft", input, s, dims, norm, True)


@_takes_out
def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.irfft``: n defaults to ``2 * (input.size(dim) - 1)``."""
    s, dims = _one(n, dim, input)
    return _c2r(input, s, dims, norm, False, n is not None)


@_takes_out
def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.hfft``: the transform of a Hermitian signal given by its half."""
    s, dims = _one(n, dim, input)
    return _c2r(input, s, dims, norm, True, n is not None)


@_takes_out
def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ihfft``: the inverse of :func:`hfft` for a real signal."""
    s, dims = _one(n, dim, input)
    return _r2c("ihfft", input, s, dims, norm, False)


@_takes_out
def fftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.fftn``."""
    s, dims = _shape_and_dims(input, s, dim)
    return _c2c(input, s, dims, norm, True)


@_takes_out
def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ifftn``."""
    s, dims = _shape_and_dims(input, s, dim)
    return _c2c(input, s, dims, norm, False)


@_takes_out
def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.rfftn``: one-sided over the last transformed dim."""
    s, dims = _shape_and_dims(input, s, dim)
    return _r2c("rfftn", input, s, dims, norm, True)


@_takes_out
def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ihfftn``."""
    s, dims = _shape_and_dims(input, s, dim)
    return _r2c("ihfftn", input, s, dims, norm, False)


def _c2r_n(input: Tensor, s, dim, norm, forward: bool) -> Tensor:
    given = s is not None and (s if isinstance(s, int) else list(s)[-1]) != -1
    shape, dims = _shape_and_dims(input, s, dim)
    return _c2r(input, shape, dims, norm, forward, given)


@_takes_out
def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.irfftn``: the last signal size defaults to
    ``2 * (input.size(dim[-1]) - 1)``."""
    return _c2r_n(input, s, dim, norm, False)


@_takes_out
def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.hfftn``."""
    return _c2r_n(input, s, dim, norm, True)


@_takes_out
def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.fft2``."""
    return fftn(input, s, dim, norm)


@_takes_out
def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ifft2``."""
    return ifftn(input, s, dim, norm)


@_takes_out
def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.rfft2``."""
    return rfftn(input, s, dim, norm)


@_takes_out
def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.irfft2``."""
    return irfftn(input, s, dim, norm)


@_takes_out
def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.hfft2``."""
    return hfftn(input, s, dim, norm)


@_takes_out
def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None) -> Tensor:
    """Mirrors ``torch.fft.ihfft2``."""
    return ihfftn(input, s, dim, norm)


# --- frequencies and shifts -------------------------------------------------------------------
# torch computes the frequencies with arange into ``out``: its resize warning is arange's
@_takes_out(resize=_arange_resized)
def fftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.fft.fftfreq``: ``[0, 1, ..., ceil(n/2)-1, -floor(n/2), ..., -1] / (d*n)``."""
    from .._creation import arange
    k = arange(n, dtype=dtype, device=device)
    res = (k - n * (k >= (n + 1) // 2).to(k.dtype)) / (d * n)
    return res.requires_grad_(requires_grad)


@_takes_out(resize=_arange_resized)
def rfftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """Mirrors ``torch.fft.rfftfreq``: ``[0, 1, ..., n // 2] / (d*n)``."""
    from .._creation import arange
    res = arange(n // 2 + 1, dtype=dtype, device=device) / (d * n)
    return res.requires_grad_(requires_grad)


def _shift(input: Tensor, dim, inverse: bool) -> Tensor:
    dims = list(range(input.ndim)) if dim is None else \
        [_wrap(d, input.ndim) for d in ([dim] if isinstance(dim, int) else dim)]
    if not dims:
        return input.clone()
    shifts = [(input.shape[d] + 1) // 2 if inverse else input.shape[d] // 2 for d in dims]
    return input.roll(shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Mirrors ``torch.fft.fftshift``: the zero frequency moved to the centre."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Mirrors ``torch.fft.ifftshift``: the inverse of :func:`fftshift`."""
    return _shift(input, dim, True)


_finalize(globals())
