"""Sliding blocks and channel order: ``unfold`` (im2col), ``fold`` (col2im),
``channel_shuffle``/``native_channel_shuffle``. Mirror ``torch.nn.functional`` of the same
names.

``unfold`` gathers the kernel taps' rows, then their columns, of the zero-padded input
(two ``index_select``), so it runs on every backend and its gradient is an ``index_add``.
``fold`` is its adjoint: the blocks summed back with two ``index_add`` (whose gradient is the
gather again), then the padding cut off.
"""
from __future__ import annotations

from ... import _dtype
from ..._tensor import Tensor, wrap
from ._util import tuple_arg

__all__ = ["unfold", "fold", "channel_shuffle", "native_channel_shuffle"]


def _pairs(kernel_size, dilation, padding, stride):
    return (tuple_arg(kernel_size, 2, "kernel_size"), tuple_arg(dilation, 2, "dilation"),
            tuple_arg(padding, 2, "padding"), tuple_arg(stride, 2, "stride"))


def _check_args(kernel, dilation, padding, stride) -> None:
    """PyTorch's im2col/col2im argument checks, with their messages."""
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kernel[0]} kernel_width: {kernel[1]}")
    if dilation[0] <= 0 or dilation[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dilation[0]} dilation_width: {dilation[1]}")
    if padding[0] < 0 or padding[1] < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")
    if stride[0] <= 0 or stride[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{stride[0]} stride_width: {stride[1]}")


def _blocks(size, kernel, dilation, padding, stride) -> tuple:
    return tuple((n + 2 * p - (d * (k - 1) + 1)) // s + 1
                 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))


def _taps(like: Tensor, n_out: int, k: int, s: int, d: int) -> Tensor:
    """Padded-input positions read by tap a of block i, tap-major: a * d + i * s."""
    xp = like._device._be.xp
    idx = [a * d + i * s for a in range(k) for i in range(n_out)]
    return wrap(xp.asarray(idx, dtype=xp.int64), _dtype.int64, like._device)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Mirrors ``torch.nn.functional.unfold``: (N, C, H, W) -> (N, C·kH·kW, L), each column
    one block of the zero-padded input (channel-major, then kernel row, then column)."""
    kernel, dilation, padding, stride = _pairs(kernel_size, dilation, padding, stride)
    _check_args(kernel, dilation, padding, stride)
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    oh, ow = _blocks((h, w), kernel, dilation, padding, stride)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, calculated shape of the "
                           f"array of sliding blocks as ({oh}, {ow}), but its components must "
                           f"be at least one.")
    if padding != (0, 0):
        from .resample import pad
        x = pad(x, [padding[1], padding[1], padding[0], padding[0]])
    kh, kw = kernel
    x = x.index_select(2, _taps(x, oh, kh, stride[0], dilation[0]))
    x = x.index_select(3, _taps(x, ow, kw, stride[1], dilation[1]))
    out = x.reshape(n, c, kh, oh, kw, ow).permute(0, 1, 2, 4, 3, 5) \
        .reshape(n, c * kh * kw, oh * ow)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Mirrors ``torch.nn.functional.fold``: (N, C·kH·kW, L) -> (N, C, H, W), the blocks
    summed where they overlap (the adjoint of ``unfold``)."""
    size = tuple_arg(output_size, 2, "output_size")
    kernel, dilation, padding, stride = _pairs(kernel_size, dilation, padding, stride)
    _check_args(kernel, dilation, padding, stride)
    if input.ndim not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    kh, kw = kernel
    if x.shape[1] % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={kernel}.")
    oh, ow = _blocks(size, kernel, dilation, padding, stride)
    if x.shape[2] != oh * ow:
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, dilation="
                           f"{dilation}, padding={padding}, stride={stride}, expected size of "
                           f"input's dimension 2 to match the calculated number of sliding "
                           f"blocks {oh} * {ow} = {oh * ow}, but got input.size(2)="
                           f"{x.shape[2]}.")
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, dilation="
                           f"{dilation}, padding={padding}, stride={stride}, calculated shape "
                           f"of the array of sliding blocks as ({oh}, {ow}), which is too small "
                           f"(non-positive)")
    n, c = x.shape[0], x.shape[1] // (kh * kw)
    hp, wp = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    x = x.reshape(n, c, kh, kw, oh, ow).permute(0, 1, 2, 4, 3, 5).reshape(n, c, kh * oh,
                                                                           kw * ow)
    be = x._device._be
    nat = be.native_dtype(x.dtype)
    cols = wrap(be.xp.zeros((n, c, kh * oh, wp), dtype=nat), x.dtype, x._device)
    x = cols.index_add(3, _taps(x, ow, kw, stride[1], dilation[1]), x)
    full = wrap(be.xp.zeros((n, c, hp, wp), dtype=nat), x.dtype, x._device)
    x = full.index_add(2, _taps(x, oh, kh, stride[0], dilation[0]), x)
    if padding != (0, 0):
        x = x[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    return x.squeeze(0) if unbatched else x


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Mirrors ``torch.nn.functional.channel_shuffle``: (N, C, *) seen as (N, g, C/g, *)
    with the two group dims swapped."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Mirrors ``torch.nn.functional.native_channel_shuffle`` (the same shuffle)."""
    return channel_shuffle(input, groups)
