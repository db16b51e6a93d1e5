"""Reductions: sum, mean, nansum, nanmean, prod, var/std (and their ``_mean`` pairs), norm,
all/any, count_nonzero, plus ``sum_to_size`` (the engine uses it to undo broadcasting).

Max/min-style reductions live in ``extrema.py``, cumulative ones in ``cumulative.py``,
softmax and logsumexp in ``softmax.py``.
"""
from __future__ import annotations

import math
import warnings

from ._register import takes_out
from .. import _dtype
from ._util import GRAD, Tensor, dims, method, record, wrap
from .shape import expand, reshape

__all__ = ["sum", "mean", "nansum", "nanmean", "prod", "var", "std", "var_mean", "std_mean",
           "norm", "all", "any", "count_nonzero", "sum_to_size"]


def _sum_dtype(dt):
    # PyTorch sums and multiplies bools and integers in int64
    return _dtype.int64 if not (dt.is_floating_point or dt.is_complex) else dt


def np_alias(name: str, kw: dict, dim, keepdim=False):
    """numpy's ``axis=`` / ``keepdims=``, which PyTorch accepts for ``dim`` / ``keepdim``."""
    if "axis" in kw:
        dim = kw.pop("axis")
    if "keepdims" in kw:
        keepdim = kw.pop("keepdims")
    if kw:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kw))}'")
    return dim, keepdim


def red_axes(dim, ndim: int) -> tuple:
    """``dim=`` of a reduction as sorted axes. None, ``[]`` and ``()`` mean every axis (as in
    PyTorch); a 0-d tensor accepts dim 0/-1 and has no axis to reduce."""
    if dim is None or (type(dim) is not int and not isinstance(dim, Tensor) and not len(dim)):
        return tuple(range(ndim))
    axes = dims(dim, ndim)
    return axes if ndim else ()


def count_true(xp, mask, axis, keepdims: bool = False):
    """How many entries of a bool array are True over ``axis``, as int64 (the array API
    sums numbers, not bools)."""
    return xp.sum(xp.astype(mask, xp.int64), axis=axis, keepdims=keepdims)


def tie_share(xp, hit, axes, dtype):
    """``1 / count`` at the True entries of ``hit`` (count per slice over ``axes``), 0
    elsewhere, in the native float ``dtype``: how tied extremes split a gradient."""
    h = xp.astype(hit, dtype)
    return h / xp.sum(h, axis=axes, keepdims=True)


def record_shared(res: Tensor, input: Tensor, axes: tuple, keepdim: bool, name: str,
                  nan_equal: bool = True) -> None:
    """Give ``res`` (an extreme of ``input`` over ``axes``: max, amax, median ...) PyTorch's
    gradient for it: shared evenly among the elements equal to it. A NaN counts as equal to
    a NaN result for the full max()/min()/median() (PyTorch's evenly_distribute_backward);
    amax/amin/aminmax pass ``nan_equal=False``: PyTorch compares with ``==`` there, so a
    slice whose extreme is NaN gets 0/0 = NaN everywhere."""
    shape = input._data.shape

    def fn(g):
        return (_restore(g, shape, axes, keepdim) * _share(input, res, axes, nan_equal),)
    record(res, name, (input,), fn, saved=(input, res))


def _share(input: Tensor, res: Tensor, axes: tuple, nan_equal: bool = True) -> Tensor:
    xp = input._device._be.xp
    x = input._data
    v = res._data
    if not axes:
        v = xp.reshape(v, x.shape)
    else:
        v = xp.reshape(v, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    hit = x == v
    if nan_equal and input.dtype.is_floating_point:
        hit = hit | (xp.isnan(x) & xp.isnan(v))
    return wrap(tie_share(xp, hit, axes, x.dtype), input.dtype, input._device)


def _count(shape, axes) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def _out_shape(shape, axes, keepdim) -> tuple:
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _restore(g: Tensor, shape, axes, keepdim) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim and axes and g._data.shape:  # (a 0-d gradient expands as it is)
        kept = list(shape)
        for ax in axes:
            kept[ax] = 1
        g = reshape(g, kept)
    return expand(g, shape)


def _cast_in(input: Tensor, dt):
    return input._data if dt is input.dtype else input._device._be.astype(input._data, dt)


@method("sum")
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,  # noqa: A001
        **np_kw) -> Tensor:
    """Mirrors ``torch.sum`` (``dim`` an int or tuple; ints and bools sum in int64)."""
    if np_kw:
        dim, keepdim = np_alias("sum", np_kw, dim, keepdim)
    shape = input._data.shape
    dt = dtype or _sum_dtype(input.dtype)
    xp = input._device._be.xp
    if dim is None and not keepdim:  # x.sum(): numpy's sum is quickest without keywords
        res = wrap(xp.sum(_cast_in(input, dt)), dt, input._device)
        axes = None
    else:
        axes = red_axes(dim, len(shape))
        res = wrap(xp.sum(_cast_in(input, dt), axis=axes, keepdims=keepdim), dt, input._device)
    if input._requires_grad and GRAD.enabled:  # (axes None: g is 0-d, _restore expands it)
        record(res, "SumBackward1" if dim is not None else "SumBackward0", (input,),
               lambda g: (_restore(g, shape, axes, keepdim),))
    return res


def _nan_array(xp, like_shape, dt, be):
    return xp.full(like_shape, math.nan, dtype=be.native_dtype(dt))


@method("mean")
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, **np_kw) -> Tensor:
    """Mirrors ``torch.mean``: floating and complex inputs only, as in PyTorch. The mean
    over nothing is nan (without numpy's warning)."""
    if np_kw:
        dim, keepdim = np_alias("mean", np_kw, dim, keepdim)
    dt = dtype or input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dt.scalar_name}")
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    be = input._device._be
    xp = be.xp
    n = _count(shape, axes)
    data = _cast_in(input, dt)
    if n and dt.itemsize < 4:  # numpy's mean accumulates half precision in float32
        out = xp.mean(data, axis=axes, keepdims=keepdim)
    elif n:
        out = xp.sum(data, axis=axes, keepdims=keepdim) / n
    else:
        out = _nan_array(xp, _out_shape(shape, axes, keepdim), dt, be)
    res = wrap(out, dt, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "MeanBackward1" if dim is not None else "MeanBackward0", (input,),
               lambda g: (_restore(g, shape, axes, keepdim) / n,))
    return res


@method("nansum")
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, **np_kw) -> Tensor:
    """Mirrors ``torch.nansum``: the sum treating NaN as zero."""
    if np_kw:
        dim, keepdim = np_alias("nansum", np_kw, dim, keepdim)
    if input.dtype.is_complex:
        raise RuntimeError("nansum does not support complex inputs")
    if not input.dtype.is_floating_point:
        return sum(input, dim, keepdim, dtype=dtype)
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    dt = dtype or input.dtype
    be = input._device._be
    xp = be.xp
    data = _cast_in(input, dt)
    nan = xp.isnan(data)
    data = xp.where(nan, xp.zeros((), dtype=data.dtype), data)
    res = wrap(xp.sum(data, axis=axes, keepdims=keepdim), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        keep = wrap(xp.logical_not(nan), _dtype.bool, input._device)
        record(res, "NansumBackward0", (input,),
               lambda g: (_restore(g, shape, axes, keepdim) * keep,))
    return res


@method("nanmean")
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
            **np_kw) -> Tensor:
    """Mirrors ``torch.nanmean``: the mean of the non-NaN values (a composite, like
    PyTorch's, so its grad_fn is ``DivBackward0``)."""
    if np_kw:
        dim, keepdim = np_alias("nanmean", np_kw, dim, keepdim)
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {input.dtype.scalar_name}")
    xp = input._device._be.xp
    axes = red_axes(dim, input.ndim)
    cnt = count_true(xp, xp.logical_not(xp.isnan(input._data)), axes, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / wrap(cnt, _dtype.int64, input._device)


# --- prod ---------------------------------------------------------------------------------

@method("prod")
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype=None, **np_kw) -> Tensor:
    """Mirrors ``torch.prod`` (all elements, or one ``dim``). The gradient is right where
    inputs are zero (one zero: the product of the others; several: zero)."""
    if np_kw:
        dim, keepdim = np_alias("prod", np_kw, dim, keepdim)
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    return _prod(input, axes, keepdim, dtype or _sum_dtype(input.dtype),
                 "ProdBackward0" if dim is None else "ProdBackward1")


def _prod(input: Tensor, axes: tuple, keepdim: bool, dt, name: str) -> Tensor:
    shape = input._data.shape
    if input.dtype is not dt and GRAD.enabled and input._requires_grad:
        input = input.to(dt)  # the gradient is the product's in dtype, cast back (PyTorch)
    xp = input._device._be.xp
    res = wrap(xp.prod(_cast_in(input, dt), axis=axes, keepdims=keepdim), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        def fn(g):
            g = _restore(g, shape, axes, keepdim)
            z = input._data == 0
            if not xp.any(z):
                return (g * _restore(res, shape, axes, keepdim) / input,)
            return (g * _prod_others(input, z, axes),)
        record(res, name, (input,), fn, saved=(input, res))
    return res


def _prod_others(x: Tensor, z, axes) -> Tensor:
    """For each element, the product of the other elements of its slice, where some are 0:
    written with differentiable ops so second derivatives hold where a slice has one zero."""
    from .selection import where
    xp = x._device._be.xp
    zt = wrap(z, _dtype.bool, x._device)
    several = wrap(count_true(xp, z, axes, True) > 1, _dtype.bool, x._device)
    x1 = where(zt, 1.0, x)
    nonzero_prod = _prod(x1, axes, True, x.dtype, "ProdBackward1")
    lone_zero = _prod(where(zt, x, 1.0), axes, True, x.dtype, "ProdBackward1")
    return where(several, 0.0, nonzero_prod / x1 * where(zt, 1.0, lone_zero))


# --- var / std ----------------------------------------------------------------------------

def _var_args(name, input, dim, unbiased, keepdim, correction):
    """PyTorch's overloads: ``var(dim, unbiased, keepdim)``, ``var(unbiased)`` and
    ``var(dim, *, correction, keepdim)``; the correction defaults to 1."""
    if isinstance(dim, bool):
        if unbiased is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments")
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            "both unbiased and correction")
        correction = 1 if unbiased else 0
    elif correction is None:
        correction = 1
    dt = input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return red_axes(dim, input.ndim), correction


def _var_arrays(name, input, axes, keepdim, correction):
    """(variance array, mean array kept at full rank, divisor) computed on the backend."""
    be = input._device._be
    xp = be.xp
    data = input._data
    shape = data.shape
    n = _count(shape, axes)
    denom = n - correction
    if denom <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      "less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=4)
    if not n:
        return (_nan_array(xp, _out_shape(shape, axes, keepdim), _real(input.dtype), be),
                _nan_array(xp, _out_shape(shape, axes, True), input.dtype, be), denom)
    m = xp.sum(data, axis=axes, keepdims=True) / n
    d = data - m
    sq = d * xp.conj(d) if input.dtype.is_complex else d * d
    sq = xp.sum(sq, axis=axes, keepdims=keepdim)
    if input.dtype.is_complex:
        sq = xp.real(sq)
    if denom > 0:
        v = sq / denom
    else:  # x/0 without numpy's warning: inf, or nan for 0/0
        v = xp.where(sq > 0, xp.asarray(math.inf, dtype=sq.dtype),
                     xp.asarray(math.nan, dtype=sq.dtype))
    return v, m, denom


def _real(dt):
    return {"complex64": _dtype.float32, "complex128": _dtype.float64}.get(dt.name, dt)


def _var_grad(input, g, shape, axes, keepdim, denom):
    """d var / d input, times g: ``2 (x - mean) / (N - correction)``."""
    centred = input - mean(input, axes, keepdim=True)
    return _restore(g, shape, axes, keepdim) * centred * (2.0 / denom if denom > 0 else math.inf)


def _var_std(name, input, dim, unbiased, keepdim, correction, with_mean):
    axes, correction = _var_args(name, input, dim, unbiased, keepdim, correction)
    v, m, denom = _var_arrays(name, input, axes, keepdim, correction)
    xp = input._device._be.xp
    if name == "std":
        v = xp.sqrt(v)
    dev = input._device
    res = wrap(v, _real(input.dtype), dev)
    shape = input._data.shape
    if with_mean:
        mres = wrap(m if keepdim else xp.reshape(m, v.shape), input.dtype, dev)
        out = (res, mres)
    else:
        out = res
    if GRAD.enabled and input._requires_grad:
        def fn(g, gm=None):
            gv = g if name == "var" else g / (2.0 * res)
            gi = _var_grad(input, gv, shape, axes, keepdim, denom)
            if gm is not None:
                gi = gi + _restore(gm, shape, axes, keepdim) / _count(shape, axes)
            return (gi,)
        node = ("VarBackward0", "StdBackward0", "VarMeanBackward0", "StdMeanBackward0")
        nm = node[(name == "std") + 2 * with_mean]
        # complex input: _var_grad is PyTorch's formula already (and the mean's is real)
        record(out, nm, (input,), fn, saved=(input, res), holomorphic=False)
    return out


@method("var")
def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None, **np_kw) -> Tensor:
    """Mirrors ``torch.var`` (``correction=`` or legacy ``unbiased``; default correction 1)."""
    if np_kw:
        dim, keepdim = np_alias("var", np_kw, dim, keepdim)
    return _var_std("var", input, dim, unbiased, keepdim, correction, False)


@method("std")
def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None, **np_kw) -> Tensor:
    """Mirrors ``torch.std``: the square root of ``var``."""
    if np_kw:
        dim, keepdim = np_alias("std", np_kw, dim, keepdim)
    return _var_std("std", input, dim, unbiased, keepdim, correction, False)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """Mirrors ``torch.var_mean``: the tuple ``(var, mean)``."""
    return _var_std("var", input, dim, unbiased, keepdim, correction, True)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """Mirrors ``torch.std_mean``: the tuple ``(std, mean)``."""
    return _var_std("std", input, dim, unbiased, keepdim, correction, True)


# --- norm ---------------------------------------------------------------------------------

@takes_out
@method("norm")
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False,
         dtype=None) -> Tensor:
    """Mirrors ``torch.norm``: the vector p-norm over ``dim`` (all elements by default);
    ``p`` a number, ``inf``, ``-inf`` or ``"fro"`` (= 2). ``"nuc"`` goes to
    ``ember.linalg.matrix_norm``."""
    if isinstance(p, str):
        if p == "nuc":
            from .. import linalg
            return linalg.matrix_norm(input, "nuc", dim if dim is not None else (-2, -1),
                                      keepdim)
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if dim is not None and not isinstance(dim, int) and len(dim) > 2:
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got "
                               + " ".join(str(d) for d in dim))
        p = 2
    if p is None:
        p = 2
    if dtype is not None:
        input = input.to(dtype)
    dt = input.dtype
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dt.scalar_name}")
    p = float(p)
    shape = input._data.shape
    axes = red_axes(dim, len(shape))
    xp = input._device._be.xp
    a = xp.abs(input._data)
    if math.isinf(p):
        for ax in axes:
            if shape[ax] == 0:
                place = ("on an empty tensor because" if dim is None
                         else f"on the dimension {ax}because this dimension is empty and")
                raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm {place} "
                                   "the operation does not have an identity")
        v = (xp.max if p > 0 else xp.min)(a, axis=axes, keepdims=keepdim)
    elif p == 0:
        v = xp.astype(count_true(xp, a != 0, axes, keepdim), a.dtype)
    elif p == 1:
        v = xp.sum(a, axis=axes, keepdims=keepdim)
    elif p == 2:
        v = xp.sqrt(xp.sum(a * a, axis=axes, keepdims=keepdim))
    else:
        v = xp.sum(a ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
    res = wrap(v, _real(dt), input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "LinalgVectorNormBackward0", (input,),
               lambda g: (_norm_grad(input, res, g, p, shape, axes, keepdim),),
               saved=(input, res))
    return res


def _norm_grad(x: Tensor, res: Tensor, g: Tensor, p: float, shape, axes, keepdim) -> Tensor:
    """PyTorch's ``norm_backward`` for real inputs: ``g sgn(x) |x|^(p-1) / norm^(p-1)``,
    zero where the norm is zero; inf-norms share the gradient among tied maxima."""
    from .selection import where
    xp = x._device._be.xp
    dev = x._device
    g = _restore(g, shape, axes, keepdim)
    if p == 0:
        return g * 0
    xa = x._data
    sgn = wrap(xp.sign(xa), x.dtype, dev)
    if p == 1:
        return g * sgn
    n = _restore(res, shape, axes, keepdim)
    if math.isinf(p):
        share = tie_share(xp, xp.abs(xa) == n._data, axes, xa.dtype)
        return g * sgn * wrap(share, x.dtype, dev)
    nz = wrap(n._data == 0, _dtype.bool, dev)
    n_safe = where(nz, 1.0, n)
    if p == 2:
        return where(nz, 0.0, g * x / n_safe)
    ax = x * (sgn.conj() if x.dtype.is_complex else sgn)  # |x| (sgn is x/|x| for complex)
    if p < 1:
        xz = wrap(xa == 0, _dtype.bool, dev)
        scaled = where(xz, 0.0, sgn * where(xz, 1.0, ax) ** (p - 1))
    else:
        scaled = sgn * ax ** (p - 1)
    return where(nz, 0.0, g * scaled / n_safe ** (p - 1))


# --- logical ------------------------------------------------------------------------------

def _logical(name, input, dim, keepdim):
    xp = input._device._be.xp
    axes = red_axes(dim, input.ndim)
    out = getattr(xp, name)(input._data, axis=axes, keepdims=keepdim)
    if input.dtype is _dtype.uint8:  # PyTorch keeps uint8 for uint8 inputs
        return wrap(xp.astype(out, input._data.dtype), _dtype.uint8, input._device)
    return wrap(out, _dtype.bool, input._device)


@method("all")
def all(input: Tensor, dim=None, keepdim: bool = False, **np_kw) -> Tensor:  # noqa: A001
    """Mirrors ``torch.all`` (``dim`` an int or tuple)."""
    if np_kw:
        dim, keepdim = np_alias("all", np_kw, dim, keepdim)
    return _logical("all", input, dim, keepdim)


@method("any")
def any(input: Tensor, dim=None, keepdim: bool = False, **np_kw) -> Tensor:  # noqa: A001
    """Mirrors ``torch.any`` (``dim`` an int or tuple)."""
    if np_kw:
        dim, keepdim = np_alias("any", np_kw, dim, keepdim)
    return _logical("any", input, dim, keepdim)


@method("count_nonzero")
def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Mirrors ``torch.count_nonzero`` (int64 counts; ``dim`` an int or tuple)."""
    xp = input._device._be.xp
    axes = red_axes(dim, input.ndim)
    data = input._data
    out = count_true(xp, data if input.dtype is _dtype.bool else data != 0, axes)
    return wrap(out, _dtype.int64, input._device)


# --- the engine's helper ------------------------------------------------------------------

@method("sum_to_size")
def sum_to_size(input: Tensor, *size) -> Tensor:
    """Mirrors ``Tensor.sum_to_size``: sum broadcast dims away to reach ``size``."""
    from .._creation import _shape
    target = _shape(size)
    shape = input._data.shape
    lead = len(shape) - len(target)
    if lead < 0:
        raise RuntimeError(f"size {{{list(target)}}} is not expandable to size "
                           f"{{{list(shape)}}}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(target)
                                      if s == 1 and shape[lead + i] != 1)
    if not axes:
        return input
    out = sum(input, axes, keepdim=True)
    if lead:
        from .shape import reshape
        out = reshape(out, target)
    return out
