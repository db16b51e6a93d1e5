"""Pooling: ``max_pool1d/2d`` (``return_indices``), ``avg_pool1d/2d``,
``adaptive_avg_pool1d/2d``, ``adaptive_max_pool1d/2d``, ``lp_pool1d/2d``. Mirror
``torch.nn.functional`` of the same names.

Max and average pooling are backend kernels (``max_pool2d``, ``avg_pool2d`` and their
backwards). Each backward is itself a recorded op whose own backward is the forward's
linear part again (a gather at the saved indices; the average pooling), so gradients of
gradients are exact. Adaptive average pooling is two constant averaging matrices (one per
spatial dim), i.e. matmuls. 1-d forms run the 2-d kernels with a height of 1.
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
           "adaptive_max_pool2d_with_indices", "lp_pool1d", "lp_pool2d"]


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
