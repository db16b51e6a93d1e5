"""Bounding and blending: clamp/clip (scalar or tensor bounds), maximum/minimum (NaN
propagating), fmax/fmin (NaN ignoring), lerp and nan_to_num, with their in-place forms.

Gradients follow PyTorch's conventions at the kinks: clamp passes the gradient where
``min <= x <= max``; maximum/minimum split it 0.5/0.5 on ties; fmax/fmin give it whole to
the input on ties.
"""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from ._register import apply2, broadcast_fail, inplace
from ._util import GRAD, Tensor, cast, method, prep2, record, same_device, wrap
from .elementwise import _tensor_other
from .selection import where

__all__ = ["clamp", "clip", "clamp_min", "clamp_max", "clamp_", "clip_", "clamp_min_",
           "clamp_max_", "maximum", "minimum", "fmax", "fmin", "lerp", "nan_to_num",
           "nan_to_num_"]

_CLAMP_COMPLEX = "clamp is not supported for complex types"
_REAL = (float, int, type(None))


def _py(v, dt):
    """A Python number in the kind of dtype dt (so the backend keeps dt)."""
    if dt.is_floating_point:
        return float(v)
    return bool(v) if dt is _dtype.bool else int(v)


def _bound(v, dt, dev):
    """A clamp bound as an array or Python number in the result dtype (None stays None)."""
    if v is None:
        return None
    if not isinstance(v, Tensor):
        return _py(v, dt)
    if v._device is not dev:
        v = v.to(dev)
    return cast(v, dt)


@takes_out
@method("clamp", "clip")
def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Mirrors ``torch.clamp`` / ``torch.clip``: bounds are numbers or tensors (either may
    be None, not both); the result dtype promotes over all three, as in PyTorch."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return _clamp(input, min, max, "clamp", ("ClampBackward1", "ClampBackward0"))


clip = clamp


@takes_out
@method("clamp_min")
def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    """Mirrors ``torch.clamp_min``."""
    return _clamp(input, min, None, "clamp_min", ("ClampMinBackward0", "ClampMinBackward1"))


@takes_out
@method("clamp_max")
def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """Mirrors ``torch.clamp_max``."""
    return _clamp(input, None, max, "clamp_max", ("ClampMaxBackward0", "ClampMaxBackward1"))


clamp_ = inplace(clamp, "clamp_")
clip_ = inplace(clamp, "clip_")
clamp_min_ = inplace(clamp_min, "clamp_min_")
clamp_max_ = inplace(clamp_max, "clamp_max_")


def _clamp(input: Tensor, min, max, name: str, nodes: tuple) -> Tensor:  # noqa: A002
    dev = input._device
    dt = input.dtype
    if dt.is_floating_point and type(min) in _REAL and type(max) in _REAL:
        lo = None if min is None else float(min)  # the common case: a float tensor and numbers
        hi = None if max is None else float(max)
        data = input._data
    else:
        if dt.is_complex:
            raise NotImplementedError(_CLAMP_COMPLEX)
        ts = [input]
        scalars = []
        for v in (min, max):
            if isinstance(v, Tensor):
                same_device(input, v)
                ts.append(v)
            elif v is not None:
                scalars.append(v)
        dt = _dtype.result_dtype(ts, scalars)
        data = cast(input, dt)
        lo, hi = _bound(min, dt, dev), _bound(max, dt, dev)
        if len(ts) > 1:
            broadcast_fail(data, lo, hi)
    xp = dev._be.xp
    if lo is not None:
        data = xp.maximum(data, lo)
    if hi is not None:
        data = xp.minimum(data, hi)
    res = wrap(data, dt, dev)
    if GRAD.enabled and (input._requires_grad or getattr(min, "_requires_grad", False) or
                         getattr(max, "_requires_grad", False)):
        tmin, tmax = isinstance(min, Tensor), isinstance(max, Tensor)

        def fn(g):
            # PyTorch's masks: x gets it inside [min, max]; min below that unless
            # min > max, where max wins everywhere
            gx = None
            if input._requires_grad:
                keep = input >= min if min is not None else None
                if max is not None:
                    keep = input <= max if keep is None else keep.logical_and(input <= max)
                gx = where(keep, g, 0.0)
            grads = (gx,)
            if tmin:
                m = input < min
                if max is not None:
                    m = m.logical_and(min <= max)
                grads += (where(m, g, 0.0) if min._requires_grad else None,)
            if tmax:
                m = input > max
                if min is not None:
                    m = m.logical_or(min > max)
                grads += (where(m, g, 0.0) if max._requires_grad else None,)
            return grads
        ins = (input,) + ((min,) if tmin else ()) + ((max,) if tmax else ())
        record(res, nodes[tmin or tmax], ins, fn, saved=ins)
    return res


# --- maximum / minimum ------------------------------------------------------------------------
def _extremum(name, kernel, node, masks):
    """maximum, minimum, fmax, fmin: other must be a tensor; masks(x, y) → (the input's
    share, other's share) of the gradient, as PyTorch defines them."""
    @takes_out
    def op(input: Tensor, other: Tensor) -> Tensor:
        _tensor_other(name, other)
        a, b, dt, dev = prep2(input, other)
        if dt.is_complex:
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        res = wrap(apply2(lambda a, b: kernel(dev._be.xp, a, b), a, b), dt, dev)
        if GRAD.enabled and (input._requires_grad or other._requires_grad):
            def fn(g):
                sx, so = masks(input, other, g)
                return (sx if input._requires_grad else None,
                        so if other._requires_grad else None)
            record(res, node, (input, other), fn, saved=(input, other))
        return res
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}``."
    return method(name)(op)


def _max(xp, a, b):
    if getattr(a, "dtype", None) == xp.bool:  # the standard has no bool maximum
        return xp.logical_or(a, b)
    return xp.maximum(a, b)


def _min(xp, a, b):
    if getattr(a, "dtype", None) == xp.bool:
        return xp.logical_and(a, b)
    return xp.minimum(a, b)


def _fmax(xp, a, b):
    return xp.where(b != b, a, xp.where(a != a, b, xp.maximum(a, b)))


def _fmin(xp, a, b):
    return xp.where(b != b, a, xp.where(a != a, b, xp.minimum(a, b)))


def _split(x_loses, o_loses):
    """Ties share the gradient half and half; NaN gives it to both, as PyTorch's formula."""
    def masks(x, o, g):
        half = where(x == o, g / 2, g)
        return where(x_loses(x, o), 0.0, half), where(o_loses(x, o), 0.0, half)
    return masks


def _whole(x_wins):
    """fmax/fmin: the input takes the gradient where it wins, ties, or the other is NaN."""
    def masks(x, o, g):
        w = x_wins(x, o).logical_or(o != o)
        return where(w, g, 0.0), where(w, 0.0, g)
    return masks


maximum = _extremum("maximum", _max, "MaximumBackward0",
                    _split(lambda x, o: x < o, lambda x, o: x > o))
minimum = _extremum("minimum", _min, "MinimumBackward0",
                    _split(lambda x, o: x > o, lambda x, o: x < o))
fmax = _extremum("fmax", _fmax, "FmaxBackward0", _whole(lambda x, o: x >= o))
fmin = _extremum("fmin", _fmin, "FminBackward0", _whole(lambda x, o: x <= o))


# --- lerp -------------------------------------------------------------------------------------
def _lerp_check(input, t, what):
    if t.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {input.dtype.c_name} for `{what}` but got "
                           f"dtype {t.dtype.c_name}")


@takes_out
@method("lerp")
def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """Mirrors ``torch.lerp``: ``input + weight * (end - input)`` (weight a number or a
    tensor), evaluated from the nearer end as PyTorch does, for exact endpoints."""
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp(): argument 'end' (position 2) must be Tensor, not "
                        f"{type(end).__name__}")
    _lerp_check(input, end, "end")
    tw = isinstance(weight, Tensor)
    if tw and weight.ndim:
        _lerp_check(input, weight, "weight")
    dt = input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise NotImplementedError(f'"lerp_kernel_{"tensor" if tw else "scalar"}" not '
                                  f"implemented for '{dt.scalar_name}'")
    dev = same_device(input, end)
    s, e = input._data, end._data if end._device is dev else end.to(dev)._data
    w = weight
    if tw:
        same_device(input, weight)
        w = cast(weight if weight._device is dev else weight.to(dev), dt)
    if tw:
        xp = dev._be.xp
        data = apply2(lambda s, e, w: xp.where(xp.abs(w) < 0.5, s + w * (e - s),
                                               e - (e - s) * (1 - w)), s, e, w)
    else:
        data = apply2(lambda s, e: s + w * (e - s) if abs(w) < 0.5 else e - (e - s) * (1 - w),
                      s, e)
    res = wrap(data, dt, dev)
    if GRAD.enabled and (input._requires_grad or end._requires_grad or
                         (tw and weight._requires_grad)):
        if tw:
            record(res, "LerpBackward1", (input, end, weight), lambda g: (
                g * (1 - weight) if input._requires_grad else None,
                g * weight if end._requires_grad else None,
                g * (end - input) if weight._requires_grad else None),
                saved=(input, end, weight))
        else:
            record(res, "LerpBackward0", (input, end), lambda g: (
                g * (1 - weight) if input._requires_grad else None,
                g * weight if end._requires_grad else None))
    return res


inplace(lerp, "lerp_")


# --- nan_to_num -------------------------------------------------------------------------------
@takes_out
@method("nan_to_num")
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """Mirrors ``torch.nan_to_num``: NaN → ``nan``, ±inf → ``posinf``/``neginf`` (default:
    the dtype's largest/lowest finite value). Integer tensors come back unchanged (a copy)."""
    dt, dev = input.dtype, input._device
    be = dev._be
    if not dt.is_floating_point:
        if dt.is_complex:
            raise NotImplementedError("ember: nan_to_num of complex tensors is not supported")
        res = wrap(be.copy(input._data), dt, dev)
        return res
    info = _dtype.finfo(dt)
    a = input._data
    xp = be.xp
    data = xp.where(a != a, nan, a)
    data = xp.where(data == float("inf"), info.max if posinf is None else posinf, data)
    data = xp.where(data == float("-inf"), info.min if neginf is None else neginf, data)
    res = wrap(be.astype(data, dt), dt, dev)
    if GRAD.enabled and input._requires_grad:
        record(res, "NanToNumBackward0", (input,), lambda g: (g * input.isfinite(),),
               saved=(input,))
    return res


nan_to_num_ = inplace(nan_to_num, "nan_to_num_")
