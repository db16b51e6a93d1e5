"""Activation functions. Mirror ``torch.nn.functional`` of the same names.

``relu``, ``sigmoid``, ``tanh``, ``softmax`` and ``log_softmax`` are Tensor ops and are
delegated to. The rest are fused here: the forward runs on backend arrays and one graph
node (named as PyTorch's, e.g. ``LeakyReluBackward0``) carries a backward written with
Tensor ops, so second derivatives work. Piecewise-linear functions use constant masks in
their backward (their second derivative is zero almost everywhere anyway).
"""
from __future__ import annotations

import math
import warnings

from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...autograd.grad_mode import no_grad
from ...ops.inplace import run_inplace
from ...ops.selection import where
from ._util import BOOL

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu",
           "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh",
           "hardtanh", "hardtanh_", "hardswish", "hardsigmoid", "logsigmoid", "softsign",
           "tanhshrink", "threshold", "threshold_", "hardshrink", "softshrink", "softmax",
           "log_softmax", "softmin", "prelu", "rrelu", "rrelu_", "glu"]


def _result(input: Tensor, data, name: str, backward) -> Tensor:
    # Python-scalar operands may have widened the array: back to the input's dtype
    res = wrap(input._device._be.astype(data, input.dtype), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, name, (input,), backward, saved=(input,))
    return res


def _mask(input: Tensor, arr) -> Tensor:
    return wrap(arr, BOOL, input._device)


def _maybe_inplace(fn, input: Tensor, inplace: bool, *args) -> Tensor:
    return run_inplace(input, fn, *args) if inplace else fn(input, *args)


def _sigmoid_data(xp, x):
    e = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


# --- delegated to Tensor ops -----------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.relu``."""
    return input.relu_() if inplace else input.relu()


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """Mirrors ``torch.nn.functional.softmax`` (no ``dim``: PyTorch's legacy choice and
    warning)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    return input.softmax(dim) if dtype is None else input.softmax(dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    return (-input).softmax(dim) if dtype is None else (-input).softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """Mirrors ``torch.nn.functional.log_softmax``."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    return input.log_softmax(dim) if dtype is None else input.log_softmax(dim, dtype=dtype)


# --- piecewise linear ------------------------------------------------------------------------

def _hardtanh(input: Tensor, min_val: float, max_val: float) -> Tensor:
    x = input._data
    data = input._device._be.xp.clip(x, min_val, max_val)
    return _result(input, data, "HardtanhBackward0",
                   lambda g: (where(_mask(input, (x > min_val) & (x < max_val)), g, 0),))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.hardtanh``: clamp to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_hardtanh, input, inplace, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.relu6``: ``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu(input: Tensor, slope: float) -> Tensor:
    x = input._data
    pos = x > 0
    data = input._device._be.xp.where(pos, x, x * slope)
    return _result(input, data, "LeakyReluBackward0",
                   lambda g: (where(_mask(input, pos), g, g * slope),))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.leaky_relu``."""
    return _maybe_inplace(_leaky_relu, input, inplace, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, True)


def _threshold(input: Tensor, th: float, value: float) -> Tensor:
    x = input._data
    keep = x > th
    data = input._device._be.xp.where(keep, x, value)
    return _result(input, data, "ThresholdBackward0",
                   lambda g: (where(_mask(input, keep), g, 0),))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.threshold``: x where x > threshold, else value."""
    return _maybe_inplace(_threshold, input, inplace, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _maybe_inplace(_threshold, input, True, threshold, value)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Mirrors ``torch.nn.functional.hardshrink``."""
    xp = input._device._be.xp
    x = input._data
    keep = (x > lambd) | (x < -lambd)
    data = xp.where(keep, x, 0)
    return _result(input, data, "HardshrinkBackward0",
                   lambda g: (where(_mask(input, keep), g, 0),))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Mirrors ``torch.nn.functional.softshrink``."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    xp = input._device._be.xp
    x = input._data
    hi, lo = x > lambd, x < -lambd
    data = xp.where(hi, x - lambd, xp.where(lo, x + lambd, 0))
    return _result(input, data, "SoftshrinkBackward0",
                   lambda g: (where(_mask(input, hi | lo), g, 0),))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.hardsigmoid``: ``relu6(x + 3) / 6``."""
    def fn(input):
        x = input._data
        data = input._device._be.xp.clip(x + 3, 0, 6) / 6
        inside = (x > -3) & (x < 3)
        return _result(input, data, "HardsigmoidBackward0",
                       lambda g: (where(_mask(input, inside), g / 6, 0),))
    return _maybe_inplace(fn, input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.hardswish``: ``x * relu6(x + 3) / 6``."""
    def fn(input):
        x = input._data
        data = x * input._device._be.xp.clip(x + 3, 0, 6) / 6
        mid, hi = (x >= -3) & (x <= 3), x > 3

        def backward(g):
            return (where(_mask(input, mid), g * (input * 2 + 3) / 6,
                          where(_mask(input, hi), g, 0)),)
        return _result(input, data, "HardswishBackward0", backward)
    return _maybe_inplace(fn, input, inplace)


# --- smooth ----------------------------------------------------------------------------------

def _elu(input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor:
    xp = input._device._be.xp
    x = input._data
    pos = x > 0
    data = xp.where(pos, x * scale, xp.expm1(x * input_scale) * (alpha * scale))

    def backward(g):
        neg = g * (alpha * scale * input_scale) * (input * input_scale).exp()
        return (where(_mask(input, pos), g * scale if scale != 1 else g, neg),)
    return _result(input, data, "EluBackward0", backward)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.elu``."""
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.selu``."""
    return _maybe_inplace(_elu, input, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.celu``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, True)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Mirrors ``torch.nn.functional.softplus``: ``log(1 + exp(beta x)) / beta``, linear
    above ``threshold``."""
    xp = input._device._be.xp
    x = input._data
    bx = x * beta
    linear = bx > threshold
    data = xp.where(linear, x, xp.logaddexp(0, bx) / beta)
    return _result(input, data, "SoftplusBackward0",
                   lambda g: (where(_mask(input, linear), g, g * (input * beta).sigmoid()),))


def logsigmoid(input: Tensor) -> Tensor:
    """Mirrors ``torch.nn.functional.logsigmoid``: ``-softplus(-x)``, stable."""
    x = input._data
    data = -input._device._be.xp.logaddexp(0, -x)
    return _result(input, data, "LogSigmoidBackward0",
                   lambda g: (g * (-input).sigmoid(),))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.silu``: ``x * sigmoid(x)``."""
    def fn(input):
        x = input._data
        data = x * _sigmoid_data(input._device._be.xp, x)

        def backward(g):
            s = input.sigmoid()
            return (g * s * (1 + input * (1 - s)),)
        return _result(input, data, "SiluBackward0", backward)
    return _maybe_inplace(fn, input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.mish``: ``x * tanh(softplus(x))``."""
    def fn(input):
        xp = input._device._be.xp
        x = input._data
        data = x * xp.tanh(xp.logaddexp(0, x))

        def backward(g):
            t = softplus(input).tanh()
            return (g * (t + input * input.sigmoid() * (1 - t * t)),)
        return _result(input, data, "MishBackward0", backward)
    return _maybe_inplace(fn, input, inplace)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Mirrors ``torch.nn.functional.gelu``: ``x Φ(x)`` exactly (``'none'``) or with the
    tanh approximation (``'tanh'``)."""
    if approximate == "tanh":
        xp = input._device._be.xp
        x = input._data
        data = 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))

        def backward(g):
            x2 = input * input
            t = (_SQRT_2_OVER_PI * (input + 0.044715 * x2 * input)).tanh()
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x2)
            return (g * (0.5 * (1 + t) + 0.5 * input * (1 - t * t) * inner),)
        return _result(input, data, "GeluBackward0", backward)
    if approximate != "none":
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not input.dtype.is_floating_point:
        with no_grad():
            data = (input * 0.5 * (1 + (input * math.sqrt(0.5)).erf()))._data
        cdf_kept = None
    else:  # on the arrays, keeping Φ(x) for the backward: one erf per step, not two
        be = input._device._be
        data, cdf_kept = be.gelu(input._data)

    def backward(g):
        if cdf_kept is None or GRAD.enabled:  # create_graph: differentiable Tensor ops
            cdf = 0.5 * (1 + (input * math.sqrt(0.5)).erf())
            pdf = (input * input * -0.5).exp() * _INV_SQRT_2PI
            return (g * (cdf + input * pdf),)
        d = input._device._be.gelu_backward(g._data, input._data, cdf_kept)
        return (wrap(d, g.dtype, g._device),)
    return _result(input, data, "GeluBackward0", backward)


# --- composed --------------------------------------------------------------------------------

def softsign(input: Tensor) -> Tensor:
    """Mirrors ``torch.nn.functional.softsign``: ``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """Mirrors ``torch.nn.functional.tanhshrink``: ``x - tanh(x)``."""
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Mirrors ``torch.nn.functional.prelu``: one learned slope, or one per channel
    (dim 1)."""
    w = weight
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            channels = input.shape[1] if input.ndim >= 2 else 1
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
        w = weight.reshape((1, -1) + (1,) * (input.ndim - 2))
    return where(_mask(input, input._data > 0), input, w * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.rrelu``: leaky ReLU with slope drawn from
    U(lower, upper) per element when training, their mean otherwise."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ..._creation import rand
    slopes = rand(input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower

    def fn(input):
        return where(_mask(input, input._data >= 0), input, input * slopes)
    return _maybe_inplace(fn, input, inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Mirrors ``torch.nn.functional.glu``: ``a * sigmoid(b)`` of the two halves of ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        d = dim if dim >= 0 else dim + input.dim()
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, dim)
    return a * b.sigmoid()
