"""Convolutions: ``conv1d``, ``conv2d``, ``conv3d``, ``conv_transpose1d``,
``conv_transpose2d``, ``conv_transpose3d``. Mirror ``torch.nn.functional`` of the same names.

Three differentiable 2-d ops do all the work, each a backend kernel (``conv2d``,
``conv_transpose2d``, ``conv2d_weight``) plus a backward written with the other two: the
input gradient of a convolution is a transposed convolution and vice versa, and the weight
gradient is bilinear in (input, output gradient), so double backward is exact. 1-d forms
run the 2-d ops with a height of 1. The bias is added into the fresh kernel result.

3-d forms are composed over the same 2-d ops, so every backend has them without kernels of
its own: ``conv3d`` gathers, for each output depth, the kD input planes its taps read and
stacks them as channels (an im2col over depth), then runs one grouped ``conv2d`` with the
depth taps folded into the weight's input channels and the output depths folded into the
batch. ``conv_transpose3d`` is its adjoint: one ``conv_transpose2d`` with the depth taps
folded into the output channels, then an ``index_add`` that sums each tap's planes into the
output depth it reaches. Their gradients (of any order) come from those parts.
"""
from __future__ import annotations

from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ... import _dtype
from ...ops._util import same_device
from ._util import tuple_arg
from .resample import pad

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half",
         "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int"}


def _fit(t: Tensor, hw) -> Tensor:
    """t cut to spatial size ``hw``: an adjoint can reach past the rows a strided window
    never touched (output_padding >= stride)."""
    if tuple(t.shape[2:]) == tuple(hw):
        return t
    return t[:, :, :hw[0], :hw[1]]


def _add_bias(data, bias: Tensor | None, be):
    if bias is None:
        return data
    b = be.xp.reshape(bias._data, (1, -1, 1, 1))
    if be.mutable:
        data += b  # into the fresh kernel result: no extra array
        return data
    return data + b


def _record(res: Tensor, x: Tensor, w: Tensor, b: Tensor | None, grad_x, grad_w) -> Tensor:
    """Attach ConvolutionBackward0: ``grad_x(g)`` / ``grad_w(g)`` give the input and weight
    gradients (each only when needed); the bias gradient sums g over batch and space."""
    if GRAD.enabled:
        rx, rw, rb = x._requires_grad, w._requires_grad, b is not None and b._requires_grad
        if rx or rw or rb:
            def backward(g):
                gx = grad_x(g) if rx else None
                gw = grad_w(g) if rw else None
                if b is None:
                    return gx, gw
                return gx, gw, (g.sum((0, 2, 3)) if rb else None)
            record(res, "ConvolutionBackward0", (x, w) if b is None else (x, w, b), backward,
                   saved=(x, w))
    return res


def _conv(x: Tensor, w: Tensor, b: Tensor | None, stride, padding, dilation,
          groups: int) -> Tensor:
    be = x._device._be
    saved = None
    if GRAD.enabled and w._requires_grad:  # the weight gradient may reuse the im2col
        data, saved = be.conv2d_save(x._data, w._data, stride, padding, dilation, groups)
    else:
        data = be.conv2d(x._data, w._data, stride, padding, dilation, groups)
    hw = tuple(x.shape[2:])
    return _record(
        wrap(_add_bias(data, b, be), x.dtype, x._device), x, w, b,
        lambda g: _fit(_conv_t(g, w, None, stride, padding, hw, dilation, groups), hw),
        lambda g: _conv_w(x, g, w.shape, stride, padding, dilation, groups, saved))


def _conv_t(x: Tensor, w: Tensor, b: Tensor | None, stride, padding, out_hw, dilation,
            groups: int) -> Tensor:
    be = x._device._be
    data = be.conv_transpose2d(x._data, w._data, stride, padding, tuple(out_hw), dilation,
                               groups)
    hw = tuple(x.shape[2:])
    return _record(
        wrap(_add_bias(data, b, be), x.dtype, x._device), x, w, b,
        lambda g: _fit(_conv(g, w, None, stride, padding, dilation, groups), hw),
        lambda g: _conv_w(g, x, w.shape, stride, padding, dilation, groups))


def _conv_w(x: Tensor, g: Tensor, weight_shape, stride, padding, dilation,
            groups: int, saved=None) -> Tensor:
    """The weight gradient of ``conv(x, w)`` for output gradient g: bilinear in (x, g);
    ``saved`` is what the backend kept of x in the forward."""
    be = x._device._be
    data = be.conv2d_weight(x._data, g._data, tuple(weight_shape), stride, padding, dilation,
                            groups, saved)
    res = wrap(data, x.dtype, x._device)
    if GRAD.enabled:
        rx, rg = x._requires_grad, g._requires_grad
        if rx or rg:
            hw, ghw = tuple(x.shape[2:]), tuple(g.shape[2:])

            def backward(h):
                gx = _fit(_conv_t(g, h, None, stride, padding, hw, dilation, groups), hw) \
                    if rx else None
                gg = _fit(_conv(x, h, None, stride, padding, dilation, groups), ghw) \
                    if rg else None
                return gx, gg
            record(res, "ConvolutionBackwardBackward0", (x, g), backward, saved=(x, g))
    return res


# --- argument checks ------------------------------------------------------------------

def _check_common(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
                  dilation, groups: int, nd: int, op: str) -> bool:
    """PyTorch's checks and messages; returns True when the input is unbatched."""
    same_device(input, weight)
    if weight.ndim < nd + 2:  # PyTorch's messages for either mismatch, as its checks meet it
        raise RuntimeError(f"expected stride to be a single integer value or a list of "
                           f"{max(weight.ndim - 2, 0)} values to match the convolution "
                           f"dimensions, but got stride={list(stride)}")
    if weight.ndim > nd + 2:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got {input.ndim}-"
                           f"dimensional input of size {list(input.shape)} instead")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{op}, but got input of size: {list(input.shape)}")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {_cap(input)} but found {_cap(weight)}")
    if bias is not None:
        same_device(input, bias)
        if bias.dtype is not input.dtype:
            raise RuntimeError(f"Input type ({_TYPE.get(input.dtype.name, input.dtype.name)}) "
                               f"and bias type ({_TYPE.get(bias.dtype.name, bias.dtype.name)})"
                               " should be the same")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size "
                           f"[{list(weight.shape)}] instead")
    return input.ndim == nd + 1


def _cap(t: Tensor) -> str:
    from ._util import dtype_name
    return dtype_name(t.dtype)


def _check_bias(weight: Tensor, bias: Tensor | None, channels: int) -> None:
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != channels):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {channels} elements, but got bias of size "
                           f"{list(bias.shape)} instead")


def _check_sizes(x_shape, kernel, padding, dilation) -> None:
    padded = [n + 2 * p for n, p in zip(x_shape, padding)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")


def _same_padding(input: Tensor, kernel, stride, dilation, nd: int):
    """(input padded on the right where the total is odd, symmetric padding), as PyTorch
    resolves ``padding='same'``."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads, extra = [], []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append(total // 2)
        extra.append(total - 2 * (total // 2))
    if any(extra):
        spec = []
        for e in reversed(extra):
            spec += [0, e]
        input = pad(input, spec)
    return input, tuple(pads)


def _padding_arg(padding, nd: int):
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd
        if padding == "same":
            return "same"
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return tuple_arg(padding, nd, "padding")


def _to2d(t: Tensor) -> Tensor:
    return t.unsqueeze(-2)


def _convnd(input, weight, bias, stride, padding, dilation, groups, nd: int, op: str):
    stride = tuple_arg(stride, nd, "stride")
    dilation = tuple_arg(dilation, nd, "dilation")
    pad = _padding_arg(padding, nd)
    unbatched = _check_common(input, weight, bias, stride, pad if pad != "same" else (0,),
                              dilation, groups, nd, op)
    x = input.unsqueeze(0) if unbatched else input
    kernel = tuple(weight.shape[2:])
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[1] * groups} "
                           f"channels, but got {x.shape[1]} channels instead")
    _check_bias(weight, bias, weight.shape[0])
    if pad == "same":
        x, pad = _same_padding(x, kernel, stride, dilation, nd)
    _check_sizes(tuple(x.shape[2:]), kernel, pad, dilation)
    w = weight
    if nd == 3:
        out = _conv3d(x, w, bias, stride, pad, dilation, groups)
        return out.squeeze(0) if unbatched else out
    if nd == 1:
        x, w = _to2d(x), _to2d(w)
        stride, pad, dilation = (1,) + stride, (0,) + pad, (1,) + dilation
    out = _conv(x, w, bias, stride, pad, dilation, groups)
    if nd == 1:
        out = out.squeeze(-2)
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv2d``: 2-d cross-correlation of (N, C, H, W) (or
    unbatched (C, H, W)) with weight (O, C/groups, kH, kW); ``padding`` an int, a pair,
    ``'valid'`` or ``'same'`` (stride 1)."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv1d`` over (N, C, L) or (C, L)."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                      dilation, nd: int, op: str):
    stride = tuple_arg(stride, nd, "stride")
    padding = tuple_arg(padding, nd, "padding")
    dilation = tuple_arg(dilation, nd, "dilation")
    output_padding = tuple_arg(output_padding, nd, "output_padding")
    unbatched = _check_common(input, weight, bias, stride, padding, dilation, groups, nd, op)
    x = input.unsqueeze(0) if unbatched else input
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[0]} "
                           f"channels, but got {x.shape[1]} channels instead")
    _check_bias(weight, bias, weight.shape[1] * groups)
    if any(op_ >= max(s, d) for op_, s, d in zip(output_padding, stride, dilation)):
        names = {1: ("",), 2: ("height", "width"), 3: ("depth", "height", "width")}[nd]
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)] + \
            [f"stride_{n}: {v}" for n, v in zip(names, stride)] + \
            [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           f"but got {' '.join(parts)}")
    kernel = tuple(weight.shape[2:])
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
                   zip(x.shape[2:], stride, padding, dilation, kernel, output_padding))
    if any(o <= 0 for o in out_hw):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}"
                           f"). Calculated output size per channel: "
                           f"({' x '.join(map(str, out_hw))}). Output size is too small")
    w = weight
    if nd == 3:
        out = _conv_transpose3d(x, w, bias, stride, padding, out_hw, dilation, groups)
        return out.squeeze(0) if unbatched else out
    if nd == 1:
        x, w = _to2d(x), _to2d(w)
        stride, padding, dilation = (1,) + stride, (0,) + padding, (1,) + dilation
        out_hw = (1,) + out_hw
    out = _conv_t(x, w, bias, stride, padding, out_hw, dilation, groups)
    if nd == 1:
        out = out.squeeze(-2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv_transpose2d`` (weight (C_in, C_out/groups, kH,
    kW); the adjoint of ``conv2d`` in its input, ``output_padding`` rows added at the end)."""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2, "conv_transpose2d")


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv_transpose1d``."""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1, "conv_transpose1d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv3d`` over (N, C, D, H, W) or (C, D, H, W) with
    weight (O, C/groups, kD, kH, kW); ``padding`` an int, a triple, ``'valid'`` or
    ``'same'``."""
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Mirrors ``torch.nn.functional.conv_transpose3d`` (weight (C_in, C_out/groups, kD, kH,
    kW))."""
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 3, "conv_transpose3d")


# --- 3-d over the 2-d ops ----------------------------------------------------------------

def _index(like: Tensor, values) -> Tensor:
    xp = like._device._be.xp
    return wrap(xp.asarray(values, dtype=xp.int64), _dtype.int64, like._device)


def _conv3d(x: Tensor, w: Tensor, bias: Tensor | None, stride, padding, dilation,
            groups: int) -> Tensor:
    """(N, C, D, H, W) * (O, C/g, kD, kH, kW): the kD planes each output depth reads become
    channels (group-major, then tap, then channel, as the grouped 2-d weight reads them)."""
    n, c, d, h, wd = x.shape
    o, cg, kd, kh, kw = w.shape
    sd, pd, dd = stride[0], padding[0], dilation[0]
    od = (d + 2 * pd - dd * (kd - 1) - 1) // sd + 1
    if pd:
        x = pad(x, [0, 0, 0, 0, pd, pd])
    if not (kd == 1 and sd == 1 and od == x.shape[2]):
        x = x.index_select(2, _index(x, [i * sd + k * dd for i in range(od)
                                         for k in range(kd)]))
    cols = x.reshape(n, groups, cg, od, kd, h, wd).permute(0, 3, 1, 4, 2, 5, 6) \
        .reshape(n * od, groups * kd * cg, h, wd)
    w2 = w.permute(0, 2, 1, 3, 4).reshape(o, kd * cg, kh, kw)
    y = _conv(cols, w2, bias, stride[1:], padding[1:], dilation[1:], groups)
    return y.reshape(n, od, o, *y.shape[2:]).permute(0, 2, 1, 3, 4)


def _conv_transpose3d(x: Tensor, w: Tensor, bias: Tensor | None, stride, padding, out_size,
                      dilation, groups: int) -> Tensor:
    """The adjoint of ``_conv3d``: each input plane through every depth tap of a 2-d
    transposed convolution (taps as output channels), summed into the depths they reach."""
    n, c, d, h, wd = x.shape
    cog, kd, kh, kw = w.shape[1:]
    sd, pd, dd = stride[0], padding[0], dilation[0]
    w2 = w.permute(0, 2, 1, 3, 4).reshape(c, kd * cog, kh, kw)
    y = _conv_t(x.permute(0, 2, 1, 3, 4).reshape(n * d, c, h, wd), w2, None, stride[1:],
                padding[1:], out_size[1:], dilation[1:], groups)
    ho, wo = y.shape[2], y.shape[3]
    y = y.reshape(n, d, groups, kd, cog, ho, wo).permute(0, 1, 3, 2, 4, 5, 6) \
        .reshape(n, d * kd, groups * cog, ho, wo)
    reach = [i * sd + k * dd - pd for i in range(d) for k in range(kd)]
    keep = [j for j, t in enumerate(reach) if 0 <= t < out_size[0]]
    if len(keep) != len(reach):
        y = y.index_select(1, _index(y, keep))
    be = x._device._be
    zeros = wrap(be.xp.zeros((n, out_size[0], groups * cog, ho, wo),
                             dtype=be.native_dtype(x.dtype)), x.dtype, x._device)
    out = zeros.index_add(1, _index(y, [reach[j] for j in keep]), y).permute(0, 2, 1, 3, 4)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out
