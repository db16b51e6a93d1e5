"""Dropout: ``dropout``, ``dropout1d/2d/3d`` (whole channels), ``alpha_dropout``,
``feature_alpha_dropout``. Mirror ``torch.nn.functional`` of the same names.

The kept elements are scaled by 1/(1-p), so the expectation is unchanged. As on PyTorch's CPU
path the noise is ``empty_like(input).bernoulli_(1 - p).div_(1 - p)`` (one per channel for
the feature variants), drawn from the input device's generator (so PyTorch's masks on the
numpy backend), and multiplied in (``MulBackward0``). Outside training (or with p == 0) the
input itself is returned.
"""
from __future__ import annotations

import math
import warnings

from ..._creation import _generator_for
from ..._tensor import Tensor, wrap

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape, p: float):
    """A backend array of input's dtype: ``bernoulli_(1 - p)``, 1 where an element (or
    channel) is kept."""
    dev = input._device
    return dev._be.random_bernoulli(_generator_for(dev, None), tuple(shape), input.dtype,
                                    1.0 - p, dev.index)


def _noise(input: Tensor, shape, p: float) -> Tensor:
    if p == 1:  # PyTorch multiplies by a zero scalar and draws nothing
        return wrap(input._device._be.xp.zeros((), dtype=input._data.dtype), input.dtype,
                    input._device)
    keep = _keep_mask(input, shape, p)
    data = keep / (1.0 - p)  # a weak Python scalar: divided in input's dtype, as div_
    return wrap(data, input.dtype, input._device)


def _apply(input: Tensor, noise: Tensor, inplace: bool) -> Tensor:
    return input.mul_(noise) if inplace else input * noise


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.dropout``."""
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return _apply(input, _noise(input, input.shape, p), inplace)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     batched: bool) -> Tensor:
    if not training or p == 0 or input.numel() == 0:
        return input
    lead = 2 if batched else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _apply(input, _noise(input, shape, p), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.dropout1d``: zero whole channels of (N, C, L) or (C, L)."""
    _check_p(p)
    n = input.dim()
    if n not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {n}D input. "
                           "Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, batched=n == 3)


def _warn_dims(name: str, n: int, spatial: int, ok: tuple) -> None:
    if n not in ok:
        warnings.warn(f"{name}: Received a {n}-D input to {name}, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and "
                      f"silence this warning, please use dropout instead. Note that {name} "
                      f"exists to provide channel-wise dropout on inputs with {spatial} spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{ok[0]}D or {ok[1]}D inputs).", stacklevel=3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.dropout2d``: zero whole channels of (N, C, H, W).
    A 3-D input is read as (N, C, L), with PyTorch's warning."""
    _check_p(p)
    n = input.dim()
    _warn_dims("dropout2d", n, 2, (3, 4))
    if n == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=n >= 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.dropout3d``: zero whole channels of (N, C, D, H, W)."""
    _check_p(p)
    n = input.dim()
    _warn_dims("dropout3d", n, 3, (4, 5))
    return _feature_dropout(input, p, training, inplace, batched=n == 5)


_ALPHA = 1.7580993408473766  # SELU's scale * alpha


def _alpha(input: Tensor, shape, p: float, training: bool, inplace: bool) -> Tensor:
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input.mul_(0) if inplace else input * 0
    # PyTorch's formula: out = x * (a·m) + a·alpha·(m - 1 + p), m the 0/1 keep mask
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    m = _keep_mask(input, shape, p)

    def const(arr):
        return wrap(arr, input.dtype, input._device)
    # PyTorch: b = noise.add(-1).mul_(alpha * a).add_(alpha * a * p); noise.mul_(a)
    add = const((m - 1) * (_ALPHA * a) + _ALPHA * a * p)
    mul = const(m * a)
    if inplace:
        return input.mul_(mul).add_(add)
    return input * mul + add


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.alpha_dropout`` (keeps SELU's mean and variance)."""
    _check_p(p)
    return _alpha(input, input.shape, p, training, inplace)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.feature_alpha_dropout`` (whole channels)."""
    _check_p(p)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha(input, shape, p, training, inplace)
