"""``ember.nn.init``: in-place initialisers. Mirrors ``torch.nn.init``.

Every function fills its tensor in place without recording a graph and returns it. Values
are drawn from ember's random generators (the default one, or ``generator=``) on the
tensor's own backend, with the same distributions and fan/gain rules as PyTorch.
"""
from __future__ import annotations

import math
import warnings

from .. import _dtype
from .._creation import _generator_for
from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
           "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Mirrors ``torch.nn.init.calculate_gain``."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_dtype(t: Tensor):
    # draw in the tensor's precision where the backend draws it natively; else float32
    return t.dtype if t.dtype in (_dtype.float32, _dtype.float64) else _dtype.float32


def _write(tensor: Tensor, data, dt) -> Tensor:
    """Copy a freshly drawn backend array into ``tensor`` (keeping views aliased)."""
    with no_grad():
        tensor.copy_(wrap(data, dt, tensor._device))
    return tensor


def _uniform(tensor: Tensor, low: float, high: float, generator) -> Tensor:
    dev = tensor._device
    dt = _draw_dtype(tensor)
    data = dev._be.random_uniform(_generator_for(dev, generator), tuple(tensor.shape), dt,
                                  float(low), float(high), dev.index)
    return _write(tensor, data, dt)


def _normal(tensor: Tensor, mean: float, std: float, generator) -> Tensor:
    dev = tensor._device
    dt = _draw_dtype(tensor)
    data = dev._be.random_normal(_generator_for(dev, generator), tuple(tensor.shape), dt,
                                 float(mean), float(std), dev.index)
    return _write(tensor, data, dt)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.uniform_``: U(a, b)."""
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    return _uniform(tensor, a, b, generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.normal_``: N(mean, std²)."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _normal(tensor, mean, std, generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.trunc_normal_``: N(mean, std²) truncated to [a, b].

    Drawn by resampling values outside [a, b] (PyTorch uses the inverse CDF); both give
    the same truncated normal distribution."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    dev = tensor._device
    be, xp = dev._be, dev._be.xp
    dt = _draw_dtype(tensor)
    rng = _generator_for(dev, generator)
    shape = tuple(tensor.shape)
    data = be.random_normal(rng, shape, dt, float(mean), float(std), dev.index)
    for _ in range(1000):
        bad = (data < a) | (data > b)
        if not bool(xp.any(bad)):
            break
        data = xp.where(bad, be.random_normal(rng, shape, dt, float(mean), float(std),
                                              dev.index), data)
    data = xp.clip(data, a, b)
    return _write(tensor, data, dt)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Mirrors ``torch.nn.init.constant_``."""
    with no_grad():
        tensor.copy_(wrap(tensor._device._be.xp.full(tuple(tensor.shape), val,
                                                     dtype=tensor._device._be.native_dtype(
                                                         tensor.dtype)),
                          tensor.dtype, tensor._device))
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Mirrors ``torch.nn.init.eye_``: the identity (2-D tensors)."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    be = tensor._device._be
    data = be.xp.eye(*tensor.shape, dtype=be.native_dtype(tensor.dtype))
    with no_grad():
        tensor.copy_(wrap(data, tensor.dtype, tensor._device))
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Mirrors ``torch.nn.init.dirac_``: identity-preserving conv weights (3-5 dims)."""
    dims = tensor.dim()
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    min_dim = min(per_group, sizes[1])
    be = tensor._device._be
    data = be.xp.zeros(sizes, dtype=be.native_dtype(tensor.dtype))
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            data = be.setitem(data, (g * per_group + d, d) + centre, 1)
    with no_grad():
        tensor.copy_(wrap(data, tensor.dtype, tensor._device))
    return tensor


def _zero_element(tensor: Tensor) -> bool:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.xavier_uniform_``: U(-a, a), a = gain·√(6/(fan_in+fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.xavier_normal_``: N(0, gain²·2/(fan_in+fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.kaiming_uniform_``: U(-b, b), b = gain·√(3/fan)."""
    if _zero_element(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.kaiming_normal_``: N(0, gain²/fan)."""
    if _zero_element(tensor):
        return tensor
    return _normal(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.orthogonal_``: a (semi-)orthogonal matrix from the QR of a
    Gaussian one, signs fixed so the distribution is uniform (Haar)."""
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    dev = tensor._device
    be, xp = dev._be, dev._be.xp
    dt = _draw_dtype(tensor)
    flat = be.random_normal(_generator_for(dev, generator), (rows, cols), dt, 0.0, 1.0,
                            dev.index)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    d = xp.diagonal(r) if hasattr(xp, "diagonal") else xp.linalg.diagonal(r)
    q = q * xp.sign(d)
    if rows < cols:
        q = q.T
    q = xp.reshape(q * gain, tuple(tensor.shape))
    return _write(tensor, q, dt)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Mirrors ``torch.nn.init.sparse_``: N(0, std²) with a fraction ``sparsity`` of each
    column set to zero."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    dev = tensor._device
    be = dev._be
    dt = _draw_dtype(tensor)
    rng = _generator_for(dev, generator)
    data = be.random_normal(rng, (rows, cols), dt, 0.0, float(std), dev.index)
    for col in range(cols):
        perm = be.random_permutation(rng, rows, _dtype.int64, dev.index)
        data = be.setitem(data, (perm[:num_zeros], col), 0)
    return _write(tensor, data, dt)


def _deprecated(new):
    def old(*args, **kwargs):
        warnings.warn(f"`nn.init.{new.__name__[:-1]}` is now deprecated in favor of "
                      f"`nn.init.{new.__name__}`.", FutureWarning, stacklevel=2)
        return new(*args, **kwargs)
    old.__name__ = new.__name__[:-1]
    old.__doc__ = f"Deprecated alias of :func:`{new.__name__}`."
    return old


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
