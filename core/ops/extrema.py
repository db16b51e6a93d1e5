"""Extremes: max, min (all elements, along a dim, or elementwise against another tensor),
amax, amin, aminmax, argmax, argmin.

Gradients follow PyTorch: ``max(dim)`` sends the gradient to the index it reports; the
full ``max()``, ``amax``/``amin`` and ``aminmax`` share it evenly among tied extremes.
"""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype, return_types
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim
from .reduction import _restore, _share, np_alias, record_shared, red_axes
from .sorting import _as_1d, check_axes, picked

__all__ = ["max", "min", "amax", "amin", "aminmax", "argmax", "argmin"]

_SPECIFY = ("{}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            "reduction dim with the 'dim' argument.")


def extreme(xp, name: str, data, **kw):
    """``xp.max`` / ``xp.min`` (or ``argmax`` / ``argmin``) with bools allowed: the array
    API reduces and compares numbers only."""
    if data.dtype == xp.bool:
        if name in ("max", "min"):
            return (xp.any if name == "max" else xp.all)(data, **kw)
        data = xp.astype(data, xp.uint8)
    return getattr(xp, name)(data, **kw)


def _no_complex(kernel: str, input: Tensor) -> None:
    if input.dtype.is_complex:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype.scalar_name}\'')


def _all(name: str, input: Tensor) -> Tensor:
    _no_complex(f"{name}_all", input)
    if input.numel() == 0:
        raise RuntimeError(_SPECIFY.format(name))
    xp = input._device._be.xp
    res = wrap(extreme(xp, name, input._data), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record_shared(res, input, tuple(range(input.ndim)), False,
                      "MaxBackward1" if name == "max" else "MinBackward1", nan_equal=True)
    return res


def _along(name: str, input: Tensor, dim: int, keepdim: bool):
    _no_complex(name, input)
    x, d, scalar = _as_1d(input, dim)
    check_axes(name, x._data.shape, (d,))
    be = x._device._be
    xp = be.xp
    idx = be.astype(extreme(xp, "arg" + name, x._data, axis=d, keepdims=True), _dtype.int64)
    return picked(name, x, idx, d, keepdim, scalar,
                  "MaxBackward0" if name == "max" else "MinBackward0",
                  extreme(xp, name, x._data, axis=d, keepdims=True))


def _dispatch(name: str, input: Tensor, dim, keepdim: bool, other):
    if isinstance(dim, Tensor) or other is not None:
        # the binary form: torch.max(a, b) is torch.maximum(a, b)
        return getattr(input, "maximum" if name == "max" else "minimum")(
            dim if other is None else other)
    if dim is None:
        return _all(name, input)
    return _along(name, input, dim, keepdim)


@takes_out
@method("max")
def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None,  # noqa: A001
        **np_kw):
    """Mirrors ``torch.max``: ``max(x)`` the largest element; ``max(x, dim, keepdim)`` the
    ``(values, indices)`` along ``dim`` (first index among ties); ``max(x, other)`` the
    elementwise ``maximum``. NaN propagates."""
    if np_kw:
        dim, keepdim = np_alias("max", np_kw, dim, keepdim)
    return _dispatch("max", input, dim, keepdim, other)


@takes_out
@method("min")
def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None,  # noqa: A001
        **np_kw):
    """Mirrors ``torch.min`` (see ``max``)."""
    if np_kw:
        dim, keepdim = np_alias("min", np_kw, dim, keepdim)
    return _dispatch("min", input, dim, keepdim, other)


def _a(name: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    _no_complex(name, input)
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    whole = dim is None or (not isinstance(dim, int) and not len(dim))
    if whole and input.numel() == 0:
        raise RuntimeError(_SPECIFY.format(name))
    check_axes(name, shape, axes)
    xp = input._device._be.xp
    res = wrap(extreme(xp, name[1:], input._data, axis=axes, keepdims=keepdim), input.dtype,
               input._device)
    if GRAD.enabled and input._requires_grad:
        record_shared(res, input, axes, keepdim, "AmaxBackward0" if name == "amax"
                      else "AminBackward0", nan_equal=False)
    return res


@method("amax")
def amax(input: Tensor, dim=(), keepdim: bool = False, **np_kw) -> Tensor:
    """Mirrors ``torch.amax``: the maximum over ``dim`` (an int or tuple; all by default),
    the gradient shared among ties."""
    if np_kw:
        dim, keepdim = np_alias("amax", np_kw, dim, keepdim)
    return _a("amax", input, dim, keepdim)


@method("amin")
def amin(input: Tensor, dim=(), keepdim: bool = False, **np_kw) -> Tensor:
    """Mirrors ``torch.amin`` (see ``amax``)."""
    if np_kw:
        dim, keepdim = np_alias("amin", np_kw, dim, keepdim)
    return _a("amin", input, dim, keepdim)


@method("aminmax")
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """Mirrors ``torch.aminmax``: ``(min, max)`` over all elements or one ``dim``."""
    _no_complex("aminmax", input)
    shape = input._data.shape
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        axes = tuple(range(len(shape)))
    else:
        d = wrap_dim(dim, len(shape))
        axes = (d,) if shape else ()
        check_axes("aminmax", shape, axes, sep=":")
    xp = input._device._be.xp
    dev = input._device
    lo = wrap(extreme(xp, "min", input._data, axis=axes, keepdims=keepdim), input.dtype, dev)
    hi = wrap(extreme(xp, "max", input._data, axis=axes, keepdims=keepdim), input.dtype, dev)
    if GRAD.enabled and input._requires_grad:
        def fn(g_lo, g_hi):
            return (_restore(g_lo, shape, axes, keepdim) * _share(input, lo, axes, False)
                    + _restore(g_hi, shape, axes, keepdim) * _share(input, hi, axes, False),)
        record((lo, hi), "AminmaxBackward0", (input,), fn, saved=(input, lo, hi))
    return return_types.aminmax((lo, hi))


def _arg(name: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    if input.dtype is _dtype.bool:
        raise RuntimeError(f"{name}(): does not support bool input")
    _no_complex(name, input)
    be = input._device._be
    xp = be.xp
    shape = input._data.shape
    if dim is None:
        if input.numel() == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        out = getattr(xp, name)(xp.reshape(input._data, (-1,)))
        if keepdim:
            out = xp.reshape(out, (1,) * len(shape))
    else:
        d = wrap_dim(dim, len(shape))
        if not shape:
            out = xp.zeros((), dtype=be.native_dtype(_dtype.int64))
        else:
            check_axes(name, shape, (d,))
            out = getattr(xp, name)(input._data, axis=d, keepdims=keepdim)
    return wrap(be.astype(out, _dtype.int64), _dtype.int64, input._device)


@method("argmax")
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, **np_kw) -> Tensor:
    """Mirrors ``torch.argmax``: the flat index with ``dim=None``, else along ``dim``; the
    first index among ties (a NaN counts as the maximum)."""
    if np_kw:
        dim, keepdim = np_alias("argmax", np_kw, dim, keepdim)
    return _arg("argmax", input, dim, keepdim)


@method("argmin")
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, **np_kw) -> Tensor:
    """Mirrors ``torch.argmin`` (see ``argmax``)."""
    if np_kw:
        dim, keepdim = np_alias("argmin", np_kw, dim, keepdim)
    return _arg("argmin", input, dim, keepdim)
