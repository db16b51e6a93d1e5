"""Arithmetic: add, sub, mul, div, neg, pow and their operators / in-place forms.

Each op: forward on backend arrays, backward beside it written with Tensor ops (so
gradients are differentiable again). Broadcast inputs need no care here: the engine sums
gradients back to each input's shape.
"""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from ._register import attach, broadcast_fail, inplace
from ..autograd.graph import CONSTANT
from ._util import (GRAD, Tensor, float_dtype_for, method, prep2, record,
                    reflected, wrap)

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg",
           "negative", "pow", "rsub"]


def _grad_pair(x, y):
    """Which of the two operands want a gradient (scalars never do)."""
    return x._requires_grad, isinstance(y, Tensor) and y._requires_grad


def _inputs(x, y):
    return (x, y) if isinstance(y, Tensor) else (x,)


@takes_out
@method("add", "__add__")
def add(input: Tensor, other, *, alpha=1) -> Tensor:
    """Mirrors ``torch.add``: ``input + alpha * other``."""
    if not isinstance(input, Tensor):
        input, other = other, input  # scalar + tensor (reflected)
    a, b, dt, dev = prep2(input, other)
    if alpha != 1:
        b = b * alpha
    try:
        res = wrap(a + b, dt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        if dt is not _dtype.bool:
            raise
        res = wrap(dev._be.xp.logical_or(a, b), dt, dev)  # the standard has no bool +
    if (input._requires_grad or getattr(other, "_requires_grad", False)) and GRAD.enabled:
        if isinstance(other, Tensor):
            record(res, "AddBackward0", (input, other),
                   _two if alpha == 1 else (lambda g: (g, g * alpha)))
        else:
            record(res, "AddBackward0", (input, CONSTANT), _one_none)
    return res


def _one(g):
    return (g,)


def _two(g):
    return (g, g)


def _one_none(g):  # a scalar operand: PyTorch's node has a None edge for it
    return (g, None)


def _no_bool_sub(x, y) -> None:
    """PyTorch refuses ``-`` when either operand is bool (a different hint for two)."""
    xb = x.dtype is _dtype.bool if isinstance(x, Tensor) else type(x) is bool
    yb = y.dtype is _dtype.bool if isinstance(y, Tensor) else type(y) is bool
    if xb and yb:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if xb or yb:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")


@takes_out
@method("sub", "subtract", "__sub__")
def sub(input: Tensor, other, *, alpha=1) -> Tensor:
    """Mirrors ``torch.sub``: ``input - alpha * other``."""
    if not isinstance(input, Tensor):
        return rsub(other, input, alpha=alpha)
    _no_bool_sub(input, other)
    a, b, dt, dev = prep2(input, other)
    if alpha != 1:
        b = b * alpha
    try:
        res = wrap(a - b, dt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        raise
    if (input._requires_grad or getattr(other, "_requires_grad", False)) and GRAD.enabled:
        if isinstance(other, Tensor):
            record(res, "SubBackward0", (input, other), lambda g: (g, -g if alpha == 1
                                                                   else g * -alpha))
        else:
            record(res, "SubBackward0", (input, CONSTANT), _one_none)
    return res


subtract = sub


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """Mirrors ``torch.rsub``: ``other - alpha * input``."""
    _no_bool_sub(other, input)
    a, b, dt, dev = prep2(input, other)
    try:
        res = wrap(b - (a * alpha if alpha != 1 else a), dt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(b, a)
        raise
    if (input._requires_grad or getattr(other, "_requires_grad", False)) and GRAD.enabled:
        if isinstance(other, Tensor):
            record(res, "RsubBackward0", (input, other), lambda g: (g * -alpha, g))
        else:
            record(res, "RsubBackward1", (input,), lambda g: (g * -alpha,))
    return res


@takes_out
@method("mul", "multiply", "__mul__")
def mul(input: Tensor, other) -> Tensor:
    """Mirrors ``torch.mul``."""
    if not isinstance(input, Tensor):
        input, other = other, input
    a, b, dt, dev = prep2(input, other)
    try:
        res = wrap(a * b, dt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        if dt is not _dtype.bool:
            raise
        res = wrap(dev._be.xp.logical_and(a, b), dt, dev)  # the standard has no bool *
    if GRAD.enabled:
        ra, rb = _grad_pair(input, other)
        if ra or rb:
            if isinstance(other, Tensor):
                record(res, "MulBackward0", (input, other),
                       lambda g: (g * other if ra else None, g * input if rb else None),
                       saved=(input, other))
            else:
                record(res, "MulBackward0", (input, CONSTANT), lambda g: (g * other, None))
    return res


multiply = mul


@takes_out
@method("div", "divide", "true_divide", "__truediv__")
def div(input: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    """Mirrors ``torch.div``; ``rounding_mode`` None (true division), "trunc" or "floor"."""
    if not isinstance(input, Tensor):
        from .._creation import tensor
        input = tensor(input, device=other.device) if isinstance(other, Tensor) else input
    a, b, dt, dev = prep2(input, other)
    if rounding_mode is not None:
        return _rounding_div(input, other, a, b, dt, dev, rounding_mode)
    fdt = float_dtype_for(dt)
    if fdt is not dt:
        be = dev._be
        a = be.astype(a, fdt)
        b = be.astype(b, fdt) if isinstance(other, Tensor) else float(b)
    try:
        res = wrap(a / b, fdt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        raise
    if GRAD.enabled:
        ra, rb = _grad_pair(input, other)
        if ra or rb:
            if isinstance(other, Tensor):
                record(res, "DivBackward0", (input, other),
                       lambda g: (g / other if ra else None,
                                  -g * input / (other * other) if rb else None),
                       saved=(input, other))
            else:
                record(res, "DivBackward0", (input, CONSTANT), lambda g: (g / other, None))
    return res


divide = true_divide = div


def _rounding_div(input, other, a, b, dt, dev, mode):
    xp = dev._be.xp
    if mode == "trunc":
        if dt.is_floating_point:
            data = xp.trunc(a / b)
        else:
            # integer division truncating toward zero: |a| // |b| with the sign put back
            neg = (a < 0) != (b < 0)
            q = xp.abs(a) // (xp.abs(b) if isinstance(other, Tensor) else abs(b))
            data = xp.where(neg, -q, q)
    elif mode == "floor":
        if not dt.is_floating_point and _any_zero(b, xp):
            raise RuntimeError("ZeroDivisionError")
        data = a // b
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{mode}'")
    res = wrap(data, dt, dev)
    if GRAD.enabled and dt.is_floating_point and (input._requires_grad or
                                                  getattr(other, "_requires_grad", False)):
        # piecewise constant: zero gradient almost everywhere (as PyTorch)
        record(res, "DivBackward0", _inputs(input, other),
               lambda g: tuple(g * 0 for _ in _inputs(input, other)))
    return res


def _any_zero(b, xp):
    return bool(xp.any(b == 0)) if hasattr(b, "shape") else b == 0


def _rtruediv(input: Tensor, other) -> Tensor:
    """``number / tensor``: as PyTorch, ``tensor.reciprocal() * number`` (so the number is a
    weak scalar: ``2.5 / half_tensor`` stays half; the node is MulBackward0)."""
    if isinstance(other, Tensor):
        return div(other, input)
    from .elementwise import reciprocal
    return mul(reciprocal(input), other)


@takes_out
@method("neg", "negative", "__neg__")
def neg(input: Tensor) -> Tensor:
    """Mirrors ``torch.neg``."""
    if input.dtype is _dtype.bool:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    res = wrap(-input._data, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "NegBackward0", (input,), lambda g: (-g,))
    return res


negative = neg


@method("__pos__")
def _pos(input: Tensor) -> Tensor:
    return input


@takes_out
@method("pow", "__pow__")
def pow(input, exponent) -> Tensor:  # noqa: A001
    """Mirrors ``torch.pow`` (tensor or scalar base and exponent)."""
    if not isinstance(input, Tensor):
        return _rpow(exponent, input)
    a, b, dt, dev = prep2(input, exponent)
    if dt is _dtype.bool and isinstance(exponent, Tensor):
        raise NotImplementedError('"pow" not implemented for \'Bool\'')
    integral = not dt.is_floating_point and not dt.is_complex
    if not isinstance(exponent, Tensor) and integral and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    try:
        if integral and isinstance(exponent, Tensor):
            data = _int_pow(dev._be.xp, a, b)
        elif dt.is_floating_point and not isinstance(exponent, Tensor) and (
                b == 0.5 or b == -0.5):
            # PyTorch's kernel takes sqrt/rsqrt here: (-0) ** -0.5 is -inf, (-inf) ** 0.5 nan
            r = dev._be.xp.sqrt(a)
            data = r if b > 0 else 1 / r
        else:
            data = a ** b
        res = wrap(data, dt, dev)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b)
        raise
    if GRAD.enabled:
        ra, rb = _grad_pair(input, exponent)
        if ra or rb:
            if isinstance(exponent, Tensor):
                def fn(g):
                    return (_pow_grad_base(g, input, exponent) if ra else None,
                            _pow_grad_exponent(g, input, exponent, res) if rb else None)
                record(res, "PowBackward1", (input, exponent), fn,
                       saved=(input, exponent) + ((res,) if rb else ()))
            else:
                e = exponent
                if e == 0:
                    record(res, "PowBackward0", (input,), lambda g: (g * 0,), saved=(input,))
                else:
                    record(res, "PowBackward0", (input,),
                           lambda g: (g * (e * _pow_scalar(input, e - 1)),), saved=(input,))
    return res


def _int_pow(xp, a, b):
    """Integer ``a ** b`` with a tensor exponent, as PyTorch's kernel: a negative exponent
    gives 1 for a base of 1, ±1 for -1 (by parity), 0 otherwise (0 ** -1 included) instead
    of numpy's error."""
    if not hasattr(b, "shape"):
        return a ** b
    neg = b < 0
    r = a ** xp.where(neg, xp.zeros_like(b), b)
    odd = (b % 2) != 0
    small = xp.where(a == 1, xp.ones_like(r),
                     xp.where(a + 1 == 0, xp.where(odd, -xp.ones_like(r), xp.ones_like(r)),
                              xp.zeros_like(r)))
    return xp.where(neg, small, r)


def _pow_scalar(x, e):
    """``x ** e`` for a Python exponent as PyTorch computes it: ±0.5 are sqrt/rsqrt (so
    (-0) ** -0.5 is -inf and (-inf) ** -0.5 nan, as torch's pow_backward gives)."""
    if e == -0.5:
        return x.rsqrt()
    if e == 0.5:
        return x.sqrt()
    return x ** e


def _pow_grad_base(g, x, e):
    # PyTorch's pow_backward_self: 0 where the exponent is 0 (not 0 * x ** -1 = nan at x = 0)
    from .selection import where
    return where(e == 0, 0.0, g * (e * x ** (e - 1)))


def _pow_grad_exponent(g, x, e, res):
    # PyTorch's pow_backward_exponent: 0 where x == 0 and e >= 0, else res * log(x) (so
    # 0 ** -1 gives -inf, not nan)
    from .elementwise import log
    from .selection import where
    zero = (x == 0).logical_and((e.real if e.dtype.is_complex else e) >= 0)
    return g * where(zero, 0.0, res * log(where(zero, 1.0, x)))


def _rpow(input: Tensor, base) -> Tensor:
    """``base ** input`` for a number ``base``: PyTorch's pow(Scalar, Tensor), recorded as
    PowBackward2 with only the exponent in the graph."""
    from .._creation import full
    b = full((), base, dtype=_dtype.result_dtype((input,), (base,)), device=input.device)
    if not (GRAD.enabled and input._requires_grad):
        return pow(b, input)
    GRAD.enabled = False
    try:
        res = pow(b, input)
    finally:
        GRAD.enabled = True
    record(res, "PowBackward2", (input,), lambda g: (_pow_grad_exponent(g, b, input, res),),
           saved=(input, res))
    return res


for _n, _f in (("add_", add), ("__iadd__", add), ("sub_", sub), ("subtract_", sub),
               ("__isub__", sub), ("mul_", mul), ("multiply_", mul), ("__imul__", mul),
               ("div_", div), ("divide_", div), ("true_divide_", div), ("__itruediv__", div),
               ("pow_", pow), ("__ipow__", pow)):
    inplace(_f, _n)


inplace(neg, "neg_", "negative_")


# reflected operators: a Python sequence on the left keeps its own meaning ([1, 2] * t)
attach("__radd__", reflected(add))
attach("__rmul__", reflected(mul))
attach("__rsub__", reflected(rsub))
attach("__rtruediv__", reflected(_rtruediv))
attach("__rpow__", reflected(_rpow))
