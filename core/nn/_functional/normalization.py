"""Normalisation: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``,
``normalize``. Mirror ``torch.nn.functional`` of the same names.

One fused op standardises over some axes (``(x - mean) / sqrt(var + eps)``, biased
variance) with the closed-form backward; batch_norm and layer_norm fold their affine part
into the same node, whose edges are (input, weight, bias) as PyTorch's
``NativeBatchNormBackward0``/``NativeLayerNormBackward0`` (the others compose it from Tensor
ops). The
backward uses the forward's statistics as constants, except when a graph of the gradient
is being built (``create_graph``), where it recomputes them with Tensor ops so second
derivatives are exact.
"""
from __future__ import annotations

from ...ops._register import takes_out
from ..._tensor import Tensor, wrap
from ...autograd.graph import CONSTANT, record
from ...autograd.grad_mode import STATE as GRAD
from ...autograd.grad_mode import no_grad
from ._util import dot_sum, matvec_sum, sum_keep

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "normalize",
           "rms_norm"]


def _standardize(input: Tensor, axes: tuple, eps: float, name: str):
    """(x̂ as a Tensor in the graph, mean array, biased var array), stats over ``axes``."""
    xp = input._device._be.xp
    x = input._data
    mean = xp.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    invstd = 1.0 / xp.sqrt(var + eps)
    xhat = xc * invstd
    res = wrap(xhat, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        def backward(g):
            if GRAD.enabled:  # building a graph of the gradient: stats as functions of x
                m = input.mean(axes, keepdim=True)
                c = input - m
                inv = ((c * c).mean(axes, keepdim=True) + eps) ** -0.5
                xh = c * inv
            else:
                xh = wrap(xhat, input.dtype, input._device)
                inv = wrap(invstd, input.dtype, input._device)
            return (inv * (g - g.mean(axes, keepdim=True)
                           - xh * (g * xh).mean(axes, keepdim=True)),)
        record(res, name, (input,), backward, saved=(input,))
    return res, mean, var


def _native_norm(input: Tensor, axes: tuple, eps: float, name: str, weight, bias, shape,
                 stats=None):
    """``x̂ · weight + bias`` as one node with edges (input, weight, bias), as PyTorch's
    native batch/layer norm kernels. x̂ is standardised over ``axes`` with the batch's
    statistics, or with fixed ones (``stats``: (mean, var) arrays broadcastable to input,
    eval-mode batch norm). ``shape`` reshapes weight/bias to broadcast (None: as they are).
    Returns (result, mean array, var array)."""
    be = input._device._be
    xp = be.xp
    x = input._data
    if stats is None:
        mean = sum_keep(be, x, axes, mean=True)
        xc = x - mean
        m = 1
        for a in axes:
            m *= x.shape[a]
        var = _sum_sq(be, xc, axes) / m
    else:
        mean, var = stats
        xc = x - mean
    invstd = 1.0 / xp.sqrt(var + eps)
    w = None if weight is None else \
        xp.reshape(weight._data, shape) if shape is not None else weight._data
    b = None if bias is None else \
        xp.reshape(bias._data, shape) if shape is not None else bias._data
    # batch statistics per channel (training batch norm): x - mean is kept instead of x̂
    # and invstd folded into the per-channel factors, here (one pass for y = xc·(w·invstd)
    # instead of two) and in the backward (sums of g·xc)
    centered = stats is None and shape is not None
    if centered:
        xhat = xc
        y = xc * (invstd if w is None else w * invstd)
        if b is not None:
            if be.mutable:
                y += b
            else:
                y = y + b
    elif be.mutable:  # in place on the fresh arrays: no temporaries the input's size
        xc *= invstd
        xhat = y = xc
        if w is not None:
            y = xhat * w
        if b is not None:
            if y is xhat:
                y = xhat + b
            else:
                y += b
    else:
        xhat = y = xc * invstd
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
    res = wrap(y, input.dtype, input._device)
    rx = input._requires_grad
    rw = weight is not None and weight._requires_grad
    rb = bias is not None and bias._requires_grad
    if GRAD.enabled and (rx or rw or rb):
        # weight/bias gradients sum over the axes they are broadcast along
        red = axes if shape is not None else tuple(range(input.ndim - weight.ndim)) \
            if weight is not None else tuple(range(input.ndim - bias.ndim)) \
            if bias is not None else ()

        def backward(g):
            if not GRAD.enabled:
                return _norm_backward(be, g, xhat, invstd, w, axes, red, stats is None,
                                      (rx, rw, rb), input, weight, bias, centered)
            if GRAD.enabled and stats is None:  # a graph of the gradient: stats of x
                m = input.mean(axes, keepdim=True)
                c = input - m
                inv = ((c * c).mean(axes, keepdim=True) + eps) ** -0.5
                xh = c * inv
            else:  # fixed statistics (``centered`` is False)
                xh = wrap(xhat, input.dtype, input._device)
                inv = wrap(invstd, input.dtype, input._device)
            gh = g if weight is None else \
                g * (weight.reshape(shape) if shape is not None else weight)
            gx = gw = gb = None
            if rx:
                gx = gh * inv if stats is not None else \
                    inv * (gh - gh.mean(axes, keepdim=True)
                           - xh * (gh * xh).mean(axes, keepdim=True))
            if rw:
                gw = (g * xh).sum(red).reshape(weight.shape)
            if rb:
                gb = g.sum(red).reshape(bias.shape)
            return gx, gw, gb
        record(res, name, (input, CONSTANT if weight is None else weight,
                           CONSTANT if bias is None else bias), backward, saved=(input,))
    return res, mean, var


def _sum_sq(be, a, axes: tuple, b=None):
    """sum(a · b) (b defaults to a) over ``axes``, keeping them: batched BLAS dots for batch
    norm's axes (:func:`dot_sum`), else one pass without a product array where the
    namespace has ``einsum`` (numpy, CuPy, JAX), else the product summed."""
    if b is None:
        b = a
    r = dot_sum(be, a, b, axes)
    if r is not None:
        return r
    xp = be.xp
    einsum = getattr(xp, "einsum", None)
    if einsum is None or a.ndim > 26:
        return xp.sum(a * b, axis=axes, keepdims=True)
    sub = "".join(chr(97 + i) for i in range(a.ndim))
    kept = "".join(c for i, c in enumerate(sub) if i not in axes)
    res = einsum(f"{sub},{sub}->{kept}", a, b)
    return xp.reshape(res, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _norm_backward(be, g, xhat, invstd, w, axes, red, batch_stats, needs, input, weight,
                   bias, centered=False):
    """:func:`_native_norm`'s backward on the arrays (no graph of the gradient wanted): the
    closed form in a handful of passes, in place where arrays are mutable, instead of a
    dozen Tensor ops. ``red``: the axes weight/bias broadcast along. ``centered``: xhat
    holds x - mean (batch norm's x̂ = xhat · invstd, invstd per channel), so sums of
    g·x̂ are invstd · sums of g·xhat, and ``invstd`` is folded into per-channel factors."""
    xp = be.xp
    rx, rw, rb = needs
    gd = g._data
    dev, dt = input._device, input.dtype
    gx = gw = gb = None
    sg = None
    if rb or (rx and batch_stats and red == axes):
        sg = sum_keep(be, gd, red)  # layer norm's bias gradient by BLAS
    sgx = None
    if rw or (rx and batch_stats and red == axes):
        if centered:
            sgx = _sum_sq(be, gd, red, xhat) * invstd
        else:
            sgx = sum_keep(be, gd * xhat, red)
    if rw:
        gw = wrap(xp.reshape(sgx, weight.shape), dt, dev)
    if rb:
        gb = wrap(xp.reshape(sg, bias.shape), dt, dev)
    if rx:
        scale = invstd if w is None else w * invstd
        if not batch_stats:  # fixed statistics: an affine map of x
            gx = gd * scale
        else:
            # invstd (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)), dx̂ = g w, means over ``axes``
            if red == axes:  # batch norm: those means are the parameter sums (w factored)
                m = 1
                for a in axes:
                    m *= gd.shape[a]
                dxh, s1, s2 = gd, sg * (1.0 / m), sgx * (1.0 / m)
                if centered:  # x̂ · s2 = xhat · (invstd · s2)
                    s2 = s2 * invstd
            else:
                dxh, scale = (gd if w is None else gd * w), invstd
                s1 = matvec_sum(be, dxh, axes, mean=True)  # layer norm: BLAS
                if s1 is None:
                    s1 = xp.mean(dxh, axis=axes, keepdims=True)
                    s2 = xp.mean(dxh * xhat, axis=axes, keepdims=True)
                else:  # one pass, no product array (einsum)
                    m = 1
                    for a in axes:
                        m *= gd.shape[a]
                    s2 = _sum_sq(be, dxh, axes, xhat) / m
            if be.mutable:
                gx = xhat * -s2
                gx += dxh
                gx -= s1
                gx *= scale
            else:
                gx = (dxh - s1 - xhat * s2) * scale
        gx = wrap(gx, dt, dev)
    return gx, gw, gb


def _fixed_standardize(input: Tensor, running_mean: Tensor, running_var: Tensor, eps: float,
                       shape) -> Tensor:
    """x̂ with the running statistics (per channel, broadcast as ``shape``): an affine map
    of x."""
    be = input._device._be
    xp = be.xp
    mean = be.astype(xp.reshape(running_mean._data, shape), input.dtype)
    var = be.astype(xp.reshape(running_var._data, shape), input.dtype)
    invstd = 1.0 / xp.sqrt(var + eps)
    res = wrap((input._data - mean) * invstd, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        inv = wrap(invstd, input.dtype, input._device)
        record(res, "NativeBatchNormBackward0", (input,), lambda g: (g * inv,))
    return res


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None, shape) -> Tensor:
    if weight is not None:
        y = y * (weight.reshape(shape) if shape is not None else weight)
    if bias is not None:
        y = y + (bias.reshape(shape) if shape is not None else bias)
    return y


def _update_running(running: Tensor, batch_value, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * batch (in place, outside autograd)."""
    be = running._device._be
    new = running._data * (1.0 - momentum) + be.astype(batch_value, running.dtype) * momentum
    with no_grad():
        running.copy_(wrap(be.astype(new, running.dtype), running.dtype, running._device))


def _channel_shape(input: Tensor) -> tuple:
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Mirrors ``torch.nn.functional.batch_norm`` over (N, C, *): batch statistics when
    training (updating the running ones, unbiased variance), running ones otherwise."""
    if input.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")
    if training:
        size = input.shape[0]
        for s in input.shape[2:]:
            size *= s
        if size == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {input.size()}")
    shape = _channel_shape(input)
    axes = (0,) + tuple(range(2, input.ndim))
    if training or running_mean is None or running_var is None:
        if not training and (running_mean is None) != (running_var is None):
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode" if running_mean is None else
                               "running_var must be defined in evaluation mode")
        y, mean, var = _native_norm(input, axes, eps, "NativeBatchNormBackward0", weight,
                                    bias, shape)
        if training and running_mean is not None:
            xp = input._device._be.xp
            n = input.numel() // input.shape[1]
            _update_running(running_mean, xp.reshape(mean, (-1,)), momentum)
            _update_running(running_var, xp.reshape(var, (-1,)) * (n / max(n - 1, 1)),
                            momentum)
        return y
    be = input._device._be
    stats = tuple(be.astype(be.xp.reshape(r._data, shape), input.dtype)
                  for r in (running_mean, running_var))
    return _native_norm(input, axes, eps, "NativeBatchNormBackward0", weight, bias, shape,
                        stats)[0]


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Mirrors ``torch.nn.functional.instance_norm``: statistics per sample and channel;
    running statistics are the batch average of those."""
    if use_input_stats:
        size = 1
        for s in input.shape[2:]:
            size *= s
        if size == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {input.size()}")
    shape = _channel_shape(input)
    axes = tuple(range(2, input.ndim))
    if use_input_stats or running_mean is None:
        y, mean, var = _standardize(input, axes, eps, "NativeBatchNormBackward0")
        if use_input_stats and running_mean is not None:
            xp = input._device._be.xp
            n = 1
            for s in input.shape[2:]:
                n *= s
            c = input.shape[1]
            _update_running(running_mean, xp.mean(xp.reshape(mean, (-1, c)), axis=0), momentum)
            unbiased = xp.reshape(var, (-1, c)) * (n / max(n - 1, 1))
            _update_running(running_var, xp.mean(unbiased, axis=0), momentum)
    else:
        y = _fixed_standardize(input, running_mean, running_var, eps, shape)
    return _affine(y, weight, bias, shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Mirrors ``torch.nn.functional.layer_norm`` over the trailing ``normalized_shape``."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != ns or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
                           f"{input.size()}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return _native_norm(input, axes, eps, "NativeLayerNormBackward0", weight, bias, None)[0]


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.rms_norm``: ``x / sqrt(mean(x²) + eps) * weight``."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    if eps is None:
        from ... import _dtype
        eps = _dtype.finfo(input.dtype).eps
    y = input * ((input * input).mean(axes, keepdim=True) + eps) ** -0.5
    return y * weight if weight is not None else y


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Mirrors ``torch.nn.functional.group_norm``: statistics per sample over each group
    of ``C / num_groups`` channels (and all spatial positions)."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    y, _, _ = _standardize(grouped, (2,), eps, "NativeGroupNormBackward0")
    return _affine(y.reshape(input.shape), weight, bias, _channel_shape(input))


@takes_out
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """Mirrors ``torch.nn.functional.normalize``: ``x / max(‖x‖_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom
