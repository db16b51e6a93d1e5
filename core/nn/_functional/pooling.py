"""Pooling: ``max_pool1d/2d/3d`` (``return_indices``), ``avg_pool1d/2d/3d``,
``adaptive_avg_pool1d/2d/3d``, ``adaptive_max_pool1d/2d/3d``, ``lp_pool1d/2d/3d``,
``max_unpool1d/2d/3d``. Mirror ``torch.nn.functional`` of the same names.

Max and average pooling are backend kernels (``max_pool2d``, ``avg_pool2d`` and their
backwards). Each backward is itself a recorded op whose own backward is the forward's
linear part again (a gather at the saved indices; the average pooling), so gradients of
gradients are exact. Adaptive average pooling is two constant averaging matrices (one per
spatial dim), i.e. matmuls. 1-d forms run the 2-d kernels with a height of 1.

3-d pooling is separable, so it runs the same 2-d kernels twice: over (H, W) with the depths
folded into the channels, then over the depth with it moved last (a height of 1). For max
pooling the first maximum in (d, h, w) order is the first depth's first (h, w) maximum, as
PyTorch's kernel scans; the flat index ``d * H * W + (h * W + w)`` is the depth pass's index
combined with the (h, w) pass's index gathered at it. An average's divisor is a product of
per-dim counts (of the window, clipped to the padded input, or of its non-padding part), so
averaging along each dim in turn divides by exactly PyTorch's divisor. Gradients come from
the two recorded passes. ``max_unpool`` scatters into zeros (its gradient gathers).
"""
from __future__ import annotations

from ... import _dtype
from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ._util import tuple_arg

__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "lp_pool1d", "lp_pool2d", "max_pool3d",
           "max_pool3d_with_indices", "avg_pool3d", "adaptive_avg_pool3d",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "lp_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d"]


# --- differentiable kernels over (N, C, H, W) ---------------------------------------------

def _scatter_grad(g: Tensor, idx: Tensor, in_shape) -> Tensor:
    """g added into zeros of ``in_shape`` at the flat indices; its backward gathers."""
    be = g._device._be
    res = wrap(be.max_pool2d_backward(g._data, idx._data, tuple(in_shape)), g.dtype,
               g._device)
    if GRAD.enabled and g._requires_grad:
        n, c = in_shape[0], in_shape[1]
        shape = g.shape
        record(res, "MaxPool2DWithIndicesBackwardBackward0", (g,),
               lambda h: (h.reshape(n, c, -1).gather(2, idx.reshape(n, c, -1)).reshape(shape),),
               saved=(idx,))
    return res


def _max_pool(x: Tensor, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    be = x._device._be
    out, idx = be.max_pool2d(x._data, kernel, stride, padding, dilation, ceil_mode)
    res = wrap(out, x.dtype, x._device)
    ind = wrap(idx, _dtype.int64, x._device)
    if GRAD.enabled and x._requires_grad:
        shape = x.shape
        record(res, "MaxPool2DWithIndicesBackward0", (x,),
               lambda g: (_scatter_grad(g, ind, shape),), saved=(x,))
    return res, ind


def _avg_pool(x: Tensor, kernel, stride, padding, ceil_mode, include_pad, divisor) -> Tensor:
    be = x._device._be
    res = wrap(be.avg_pool2d(x._data, kernel, stride, padding, ceil_mode, include_pad,
                             divisor), x.dtype, x._device)
    if GRAD.enabled and x._requires_grad:
        hw = tuple(x.shape[2:])
        record(res, "AvgPool2DBackward0", (x,),
               lambda g: (_avg_pool_grad(g, hw, kernel, stride, padding, ceil_mode,
                                         include_pad, divisor),))
    return res


def _avg_pool_grad(g: Tensor, hw, kernel, stride, padding, ceil_mode, include_pad,
                   divisor) -> Tensor:
    be = g._device._be
    res = wrap(be.avg_pool2d_backward(g._data, hw, kernel, stride, padding, ceil_mode,
                                      include_pad, divisor), g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        record(res, "AvgPool2DBackwardBackward0", (g,),
               lambda h: (_avg_pool(h, kernel, stride, padding, ceil_mode, include_pad,
                                    divisor),))
    return res


# --- argument handling ------------------------------------------------------------------

def _args(kernel_size, stride, padding, dilation, nd: int):
    kernel = tuple_arg(kernel_size, nd, "kernel_size")
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    else:
        stride = tuple_arg(stride, nd, "stride")
    return kernel, stride, tuple_arg(padding, nd, "padding"), tuple_arg(dilation, nd,
                                                                        "dilation")


def _check_2d(input: Tensor, kernel, stride, padding, dilation, ceil_mode) -> None:
    """PyTorch's pool2d_shape_check, with its messages."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: "
                           f"{kw}")
    if sh == 0 or sw == 0:
        raise RuntimeError("stride should not be zero")
    if sh < 0 or sw < 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dh} "
                           f"dilationW: {dw}")
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    for p, k, d in zip(padding, kernel, dilation):
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    from ...backends._conv import out_size
    c, h, w = input.shape[-3:]
    oh = out_size(h, kh, sh, padding[0], dh, ceil_mode)
    ow = out_size(w, kw, sw, padding[1], dw, ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small")


def _batched(input: Tensor, nd: int) -> tuple[Tensor, bool]:
    """(a 4-d view of the input, whether it was unbatched): 1-d ops gain a height of 1."""
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    return (x.unsqueeze(2) if nd == 1 else x), unbatched


def _restore(t: Tensor, nd: int, unbatched: bool) -> Tensor:
    if nd == 1:
        t = t.squeeze(2)
    return t.squeeze(0) if unbatched else t


def _lift(nd: int, kernel, stride, padding, dilation):
    if nd == 2:
        return kernel, stride, padding, dilation
    return (1,) + kernel, (1,) + stride, (0,) + padding, (1,) + dilation


# --- max pooling ------------------------------------------------------------------------

def _check_1d(input: Tensor, kernel, stride, padding, dilation, ceil_mode, op) -> None:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(input.shape)}")
    if kernel[0] <= 0:
        raise RuntimeError(f"{op}() kernel_size must be greater than zero, but got "
                           f"{kernel[0]}")
    if stride[0] <= 0:
        raise RuntimeError(f"{op}() stride must be greater than zero, but got {stride[0]}")
    if padding[0] < 0:
        raise RuntimeError(f"{op}() padding must be non-negative, but got {padding[0]}")
    if padding[0] > kernel[0] // 2:
        raise RuntimeError(f"{op}() padding should be at most half of kernel size, but got "
                           f"padding={padding[0]} and kernel_size={kernel[0]}")
    if dilation[0] <= 0:
        raise RuntimeError(f"{op}() dilation must be greater than zero, but got "
                           f"{dilation[0]}")
    from ...backends._conv import out_size
    o = out_size(input.shape[-1], kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    if o <= 0:
        raise RuntimeError(f"{op}() Invalid computed output size: {o}")


def _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, nd: int):
    kernel, stride, padding, dilation = _args(kernel_size, stride, padding, dilation, nd)
    if nd == 1:
        _check_1d(input, kernel, stride, padding, dilation, ceil_mode, "max_pool1d")
    else:
        _check_2d(input, kernel, stride, padding, dilation, ceil_mode)
    x, unbatched = _batched(input, nd)
    out, idx = _max_pool(x, *_lift(nd, kernel, stride, padding, dilation), ceil_mode)
    return _restore(out, nd, unbatched), _restore(idx, nd, unbatched)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool2d_with_indices``: (maxima, flat indices
    ``h * W + w`` into each input plane)."""
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, 2)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool2d`` over (N, C, H, W) or (C, H, W); stride
    defaults to the kernel size."""
    out, idx = _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, 2)
    return (out, idx) if return_indices else out


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool1d_with_indices``."""
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, 1)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool1d`` over (N, C, L) or (C, L)."""
    out, idx = _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, 1)
    return (out, idx) if return_indices else out


# --- average pooling --------------------------------------------------------------------

def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.avg_pool2d``: window sums over the window size
    (padding counted unless ``count_include_pad=False``) or ``divisor_override``."""
    kernel, stride, padding, _ = _args(kernel_size, stride, padding, 1, 2)
    _check_2d(input, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, unbatched = _batched(input, 2)
    out = _avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _restore(out, 2, unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mirrors ``torch.nn.functional.avg_pool1d`` over (N, C, L) or (C, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for "
                           f"avg_pool1d)")
    kernel, stride, padding, _ = _args(kernel_size, stride, padding, 1, 1)
    x, unbatched = _batched(input, 1)
    k2, s2, p2, _ = _lift(1, kernel, stride, padding, (1,))
    _check_2d(x, k2, s2, p2, (1, 1), ceil_mode)
    out = _avg_pool(x, k2, s2, p2, ceil_mode, count_include_pad, None)
    return _restore(out, 1, unbatched)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.lp_pool2d``: (sum over the window of x^p)^(1/p)."""
    kh, kw = tuple_arg(kernel_size, 2, "kernel_size")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.lp_pool1d``."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kernel_size).pow(1.0 / norm_type)


# --- adaptive pooling -------------------------------------------------------------------

def _adaptive_sizes(input: Tensor, output_size, nd: int, op: str) -> tuple:
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    out = (output_size,) * nd if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(out) != nd:
        raise RuntimeError(f"{op}: internal error: output_size.size() must be {nd}")
    return tuple(input.shape[input.ndim - nd + i] if o is None else int(o)
                 for i, o in enumerate(out))


def _bounds(xp, n: int, o: int):
    """Window starts and ends along one dim: [floor(i n / o), ceil((i + 1) n / o))."""
    i = xp.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _avg_matrix(be, n: int, o: int, dt):
    xp = be.xp
    start, end = _bounds(xp, n, o)
    j = xp.reshape(xp.arange(n), (1, n))
    inside = (j >= xp.reshape(start, (-1, 1))) & (j < xp.reshape(end, (-1, 1)))
    m = xp.where(inside, 1.0 / xp.astype(xp.reshape(end - start, (-1, 1)), xp.float64), 0.0)
    return be.astype(m, dt)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mirrors ``torch.nn.functional.adaptive_avg_pool2d``: output cell i averages input
    rows [floor(iH/OH), ceil((i+1)H/OH)) (likewise columns); ``None`` keeps a size."""
    oh, ow = _adaptive_sizes(input, output_size, 2, "adaptive_avg_pool2d")
    if not input.dtype.is_floating_point:
        from ._util import dtype_name
        raise NotImplementedError(f'"adaptive_avg_pool2d" not implemented for '
                                  f"'{dtype_name(input.dtype)}'")
    h, w = input.shape[-2], input.shape[-1]
    if oh and ow and h % oh == 0 and w % ow == 0:  # equal windows: plain average pooling
        x, unbatched = _batched(input, 2)
        k = (h // oh, w // ow)
        return _restore(_avg_pool(x, k, k, (0, 0), False, True, None), 2, unbatched)
    be = input._device._be
    dt = input.dtype
    x = input
    if oh != h:
        x = wrap(_avg_matrix(be, h, oh, dt), dt, input._device) @ x
    if ow != w:
        x = x @ wrap(_avg_matrix(be, w, ow, dt), dt, input._device).mT
    return x


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mirrors ``torch.nn.functional.adaptive_avg_pool1d`` over (N, C, L) or (C, L)."""
    (o,) = _adaptive_sizes(input, output_size, 1, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


def _adaptive_max(x: Tensor, oh: int, ow: int) -> tuple:
    """Adaptive max pooling of (N, C, H, W): every window padded to the longest by
    repeating its last element (which never changes the first maximum)."""
    be = x._device._be
    xp = be.xp
    h, w = x.shape[2], x.shape[3]

    def taps(n, o):
        start, end = _bounds(xp, n, o)
        k = int(xp.max(end - start))
        return xp.minimum(xp.reshape(start, (-1, 1)) + xp.reshape(xp.arange(k), (1, k)),
                          xp.reshape(end - 1, (-1, 1))), k

    rows, kh = taps(h, oh)
    cols, kw = taps(w, ow)
    n, c = x.shape[0], x.shape[1]
    # two 1-d takes (the array API has no mixed slice/array indexing)
    win = xp.take(xp.take(x._data, xp.reshape(rows, (-1,)), axis=2), xp.reshape(cols, (-1,)),
                  axis=3)
    win = xp.reshape(win, (n, c, oh, kh, ow, kw))
    win = xp.reshape(xp.permute_dims(win, (0, 1, 2, 4, 3, 5)), (n, c, oh, ow, kh * kw))
    a = xp.argmax(win, axis=-1)
    out = xp.max(win, axis=-1)
    # the chosen tap's row and column: 1-d takes from the flattened tap tables
    r = xp.take(xp.reshape(rows, (-1,)),
                xp.reshape(xp.reshape(xp.arange(oh), (oh, 1)) * kh + a // kw, (-1,)))
    q = xp.take(xp.reshape(cols, (-1,)),
                xp.reshape(xp.reshape(xp.arange(ow), (1, ow)) * kw + a % kw, (-1,)))
    r, q = xp.reshape(r, a.shape), xp.reshape(q, a.shape)
    res = wrap(out, x.dtype, x._device)
    ind = wrap(xp.astype(r * w + q, xp.int64), _dtype.int64, x._device)
    if GRAD.enabled and x._requires_grad:
        shape = x.shape
        record(res, "AdaptiveMaxPool2DBackward0", (x,),
               lambda g: (_scatter_grad(g, ind, shape),), saved=(x,))
    return res, ind


def adaptive_max_pool2d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool2d_with_indices``."""
    oh, ow = _adaptive_sizes(input, output_size, 2, "adaptive_max_pool2d")
    x, unbatched = _batched(input, 2)
    out, idx = _adaptive_max(x, oh, ow)
    return _restore(out, 2, unbatched), _restore(idx, 2, unbatched)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool2d``."""
    out, idx = adaptive_max_pool2d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


def adaptive_max_pool1d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool1d_with_indices``."""
    (o,) = _adaptive_sizes(input, output_size, 1, "adaptive_max_pool1d")
    x, unbatched = _batched(input, 1)
    out, idx = _adaptive_max(x, 1, o)
    return _restore(out, 1, unbatched), _restore(idx, 1, unbatched)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool1d``."""
    out, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


# --- 3-d pooling: the 2-d kernels over (H, W), then over D ---------------------------------

def _check_3d(input: Tensor, kernel, stride, padding, dilation, ceil_mode,
              avg: bool = False) -> None:
    """PyTorch's pool3d_shape_check, with its messages."""
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got kT: {} kH: {} "
                           "kW: {}".format(*kernel))
    if any(s < 0 for s in stride):
        raise RuntimeError("stride should be greater than zero, but got dT: {} dH: {} dW: {}"
                           .format(*stride))
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero, but got dilationT: {} "
                           "dilationH: {} dilationW: {}".format(*dilation))
    if input.ndim not in (4, 5) or any(s == 0 for s in input.shape[-4:]):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    c, d, h, w = input.shape[-4:]
    if avg and any(n < k for n, k in zip((d, h, w), kernel)):
        raise RuntimeError(f"input image (T: {d} H: {h} W: {w}) smaller than kernel size "
                           "(kT: {} kH: {} kW: {})".format(*kernel))
    for p, k, dl in zip(padding, kernel, dilation):
        if p > ((k - 1) * dl + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={dl}")
    from ...backends._conv import out_size
    o = [out_size(n, k, s_, p, dl, ceil_mode) for n, k, s_, p, dl in
         zip((d, h, w), kernel, stride, padding, dilation)]
    if any(v < 1 for v in o):
        raise RuntimeError(f"Given input size: ({c}x{d}x{h}x{w}). Calculated output size: "
                           f"({c}x{o[0]}x{o[1]}x{o[2]}). Output size is too small")


def _depth_last(y: Tensor, lead: int, d: int) -> Tensor:
    """(B, d, oh, ow) -> (B, oh * ow, 1, d): the depth as the width of a 2-d plane."""
    return y.reshape(lead, d, y.shape[2] * y.shape[3]).permute(0, 2, 1).unsqueeze(2)


def _depth_back(z: Tensor, lead: int, oh: int, ow: int) -> Tensor:
    """(B, oh * ow, 1, od) -> (B, od, oh, ow)."""
    return z.squeeze(2).permute(0, 2, 1).reshape(lead, z.shape[3], oh, ow)


def _count(lead) -> int:
    n = 1
    for v in lead:
        n *= v
    return n


def _join_indices(i2: Tensor, idep: Tensor, hw: int) -> Tensor:
    """Flat (d, h, w) indices: the depth pass's depth with the plane index at that depth."""
    return idep * hw + i2.gather(1, idep)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool3d_with_indices``: (maxima, flat indices
    ``d * H * W + h * W + w`` into each input volume)."""
    kernel, stride, padding, dilation = _args(kernel_size, stride, padding, dilation, 3)
    _check_3d(input, kernel, stride, padding, dilation, ceil_mode)
    lead = input.shape[:-3]
    d, h, w = input.shape[-3:]
    b = input.reshape(_count(lead), d, h, w)
    y, i2 = _max_pool(b, kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode)
    oh, ow = y.shape[2], y.shape[3]
    z, iz = _max_pool(_depth_last(y, b.shape[0], d), (1, kernel[0]), (1, stride[0]),
                      (0, padding[0]), (1, dilation[0]), ceil_mode)
    out = _depth_back(z, b.shape[0], oh, ow)
    idep = _depth_back(iz, b.shape[0], oh, ow)
    idx = _join_indices(i2, idep, h * w)
    od = out.shape[1]
    return out.reshape(*lead, od, oh, ow), idx.reshape(*lead, od, oh, ow)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.max_pool3d`` over (N, C, D, H, W) or (C, D, H, W)."""
    out, idx = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation,
                                       ceil_mode)
    return (out, idx) if return_indices else out


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.avg_pool3d``."""
    kernel, stride, padding, _ = _args(kernel_size, stride, padding, 1, 3)
    _check_3d(input, kernel, stride, padding, (1, 1, 1), ceil_mode, avg=True)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    lead = input.shape[:-3]
    d, h, w = input.shape[-3:]
    b = input.reshape(_count(lead), d, h, w)
    # with a divisor override: window sums over (H, W), then the sum over D / the divisor
    y = _avg_pool(b, kernel[1:], stride[1:], padding[1:], ceil_mode, count_include_pad,
                  None if divisor_override is None else 1)
    oh, ow = y.shape[2], y.shape[3]
    z = _avg_pool(_depth_last(y, b.shape[0], d), (1, kernel[0]), (1, stride[0]),
                  (0, padding[0]), ceil_mode, count_include_pad, divisor_override)
    out = _depth_back(z, b.shape[0], oh, ow)
    return out.reshape(*lead, out.shape[1], oh, ow)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.lp_pool3d``: (sum over the window of x^p)^(1/p)."""
    kd, kh, kw = tuple_arg(kernel_size, 3, "kernel_size")
    if norm_type == float("inf"):
        return max_pool3d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool3d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kd * kh * kw).pow(1.0 / norm_type)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mirrors ``torch.nn.functional.adaptive_avg_pool3d``: adaptive average pooling over
    (H, W), then a constant averaging matrix along D."""
    if isinstance(output_size, (list, tuple)) and len(output_size) != 3:
        raise RuntimeError("adaptive_avg_pool3d: output_size must be 3")
    od, oh, ow = _adaptive_sizes(input, output_size, 3, "adaptive_avg_pool3d")
    if not input.dtype.is_floating_point:
        from ._util import dtype_name
        raise NotImplementedError(f'"adaptive_avg_pool3d_cpu" not implemented for '
                                  f"'{dtype_name(input.dtype)}'")
    lead = input.shape[:-3]
    d, h, w = input.shape[-3:]
    y = adaptive_avg_pool2d(input.reshape(_count(lead), d, h, w), (oh, ow))
    if od != d:
        be = input._device._be
        m = wrap(_avg_matrix(be, d, od, input.dtype), input.dtype, input._device)
        y = (m @ y.reshape(y.shape[0], d, oh * ow)).reshape(y.shape[0], od, oh, ow)
    return y.reshape(*lead, od, oh, ow)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool3d_with_indices``."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: "
                           f"{list(input.shape)}")
    if isinstance(output_size, (list, tuple)) and len(output_size) != 3:
        raise RuntimeError("adaptive_max_pool3d(): internal error: output_size.size() must "
                           "be 3")
    od, oh, ow = _adaptive_sizes(input, output_size, 3, "adaptive_max_pool3d")
    lead = input.shape[:-3]
    d, h, w = input.shape[-3:]
    b = input.reshape(_count(lead), d, h, w)
    y, i2 = _adaptive_max(b, oh, ow)
    z, iz = _adaptive_max(_depth_last(y, b.shape[0], d), 1, od)
    out = _depth_back(z, b.shape[0], oh, ow)
    idx = _join_indices(i2, _depth_back(iz, b.shape[0], oh, ow), h * w)
    return out.reshape(*lead, od, oh, ow), idx.reshape(*lead, od, oh, ow)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Mirrors ``torch.nn.functional.adaptive_max_pool3d``."""
    out, idx = adaptive_max_pool3d_with_indices(input, output_size)
    return (out, idx) if return_indices else out


# --- max unpooling ----------------------------------------------------------------------

def _unpool_size(input: Tensor, kernel, stride, padding, output_size) -> list:
    """PyTorch's ``_unpool_output_size``."""
    k = len(kernel)
    default = [(input.shape[input.ndim - k + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(k)]
    if output_size is None:
        ret = default
    else:
        output_size = list(output_size)
        if len(output_size) == k + 2:
            output_size = output_size[2:]
        if len(output_size) != k:
            raise ValueError(f"output_size should be a sequence containing {k} or {k + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        for d in range(k):
            lo, hi = default[d] - stride[d], default[d] + stride[d]
            if not lo < output_size[d] < hi:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be '
                                 f"between {lo} and {hi})")
        ret = output_size
    for d in range(k):
        if ret[d] < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={ret[d]}")
    return [int(v) for v in ret]


def _max_unpool(input: Tensor, indices: Tensor, kernel_size, stride, padding, output_size,
                nd: int) -> Tensor:
    kernel = tuple_arg(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None else tuple_arg(stride, nd, "stride")
    padding = tuple_arg(padding, nd, "padding")
    size = _unpool_size(input, kernel, stride, padding, output_size)
    if indices.dtype is not _dtype.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{_scalar(indices)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input "
                           f"tensor ({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    k = max(nd, 2)  # 1-d unpooling is PyTorch's 2-d kernel over (L, 1)
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{k}d should be a {k + 1}d or {k + 2}d "
                           f"Tensor, but got a tensor with {input.ndim + (nd == 1)} "
                           f"dimensions.")
    lead = tuple(input.shape[:input.ndim - nd])
    plane = 1
    for v in size:
        plane *= v
    flat_idx = indices.reshape(*lead, _count(indices.shape[len(lead):]))
    if flat_idx.numel():
        bad = flat_idx[(flat_idx < 0) | (flat_idx >= plane)]
        if bad.numel():
            shown = size + [1] if nd == 1 else size
            raise RuntimeError(f"Found an invalid max index: {int(bad[0])} (output volumes "
                               f"are of size {'x'.join(map(str, shown))})")
    be = input._device._be
    zeros = wrap(be.xp.zeros(lead + (plane,), dtype=be.native_dtype(input.dtype)),
                 input.dtype, input._device)
    out = zeros.scatter(len(lead), flat_idx, input.reshape(*lead, flat_idx.shape[-1]))
    return out.reshape(*lead, *size)


def _scalar(t: Tensor) -> str:
    from ._util import dtype_name
    return dtype_name(t.dtype)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Mirrors ``torch.nn.functional.max_unpool1d``: ``input`` written at ``indices`` (as
    ``max_pool1d(..., return_indices=True)`` gives them) into zeros."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Mirrors ``torch.nn.functional.max_unpool2d``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Mirrors ``torch.nn.functional.max_unpool3d``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)
