"""Convolution and pooling with XLA's own kernels (``lax.conv_general_dilated``,
``lax.reduce_window``), jitted per geometry: the JAX backend's overrides of ember's
im2col defaults (``ember.backends._conv``), same arguments and results.

The adjoints (transposed convolution, the weight gradient, average pooling's backward) are
``jax.linear_transpose`` of the forward map, so XLA derives them instead of this file.
Imported on first use, after the backend has loaded JAX.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ember.backends import pool_divisor, pool_geometry

_DIMS = ("NCHW", "OIHW", "NCHW")


def _conv(x, w, stride, padding, dilation, groups):
    return lax.conv_general_dilated(x, w, stride, [(p, p) for p in padding],
                                    rhs_dilation=dilation, dimension_numbers=_DIMS,
                                    feature_group_count=groups)


conv2d = jax.jit(_conv, static_argnums=(2, 3, 4, 5))


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def conv_transpose2d(x, w, stride, padding, out_hw, dilation, groups):
    spec = jax.ShapeDtypeStruct((x.shape[0], w.shape[1] * groups) + out_hw, x.dtype)
    fwd = partial(_conv, w=w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return jax.linear_transpose(fwd, spec)(x)[0]


@partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def conv2d_weight(x, g, weight_shape, stride, padding, dilation, groups):
    spec = jax.ShapeDtypeStruct(weight_shape, x.dtype)
    fwd = partial(_conv, x, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return jax.linear_transpose(fwd, spec)(g)[0]


def _first_max(a, b):
    """Combine (value, flat index) pairs: the larger value, NaN beating numbers (PyTorch's
    max propagates NaN), and on a tie the smaller index (the first maximum)."""
    (av, ai), (bv, bi) = a, b
    an, bn = av != av, bv != bv
    take = (bn & ~an) | (bv > av) | (((bv == av) | (an & bn)) & (bi < ai))
    return jnp.where(take, bv, av), jnp.where(take, bi, ai)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    h, w = x.shape[2], x.shape[3]
    _, (eh, ew) = pool_geometry((h, w), kernel, stride, padding, dilation, ceil_mode)
    idx = jnp.broadcast_to(jnp.arange(h * w, dtype=jnp.int64).reshape(h, w), x.shape)
    low = -jnp.inf if jnp.issubdtype(x.dtype, jnp.floating) else jnp.iinfo(x.dtype).min
    # padding carries the largest index, so a tie with it keeps the real element
    init = (jnp.asarray(low, x.dtype), jnp.asarray(jnp.iinfo(jnp.int64).max, jnp.int64))
    pads = ((0, 0), (0, 0), (padding[0], padding[0] + eh), (padding[1], padding[1] + ew))
    return lax.reduce_window((x, idx), init, _first_max, (1, 1) + kernel, (1, 1) + stride,
                             pads, window_dilation=(1, 1) + dilation)


def _window_sum(x, kernel, stride, padding, extra):
    pads = ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
            (padding[1], padding[1] + extra[1]))
    # a concrete zero and lax.add: JAX's window-sum primitive, which has a transpose rule
    return lax.reduce_window(x, np.zeros((), x.dtype), lax.add, (1, 1) + kernel,
                             (1, 1) + stride, pads)


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    h, w = x.shape[2], x.shape[3]
    out_hw, extra = pool_geometry((h, w), kernel, stride, padding, (1, 1), ceil_mode)
    div = pool_divisor(_Jnp, (h, w), out_hw, kernel, stride, padding, count_include_pad,
                       divisor_override, x.dtype)
    total = _window_sum(x, kernel, stride, padding, extra)
    if jnp.issubdtype(x.dtype, jnp.integer):  # C division: truncates toward zero
        return (total / div).astype(x.dtype)
    return total / div


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def avg_pool2d_backward(g, in_hw, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    _, extra = pool_geometry(in_hw, kernel, stride, padding, (1, 1), ceil_mode)
    div = pool_divisor(_Jnp, in_hw, g.shape[2:], kernel, stride, padding, count_include_pad,
                       divisor_override, g.dtype)
    spec = jax.ShapeDtypeStruct(g.shape[:2] + in_hw, g.dtype)
    fwd = partial(_window_sum, kernel=kernel, stride=stride, padding=padding, extra=extra)
    return jax.linear_transpose(fwd, spec)(g / div)[0]


class _Jnp:
    """What ``pool_divisor`` reads of a backend: its namespace."""
    xp = jnp
