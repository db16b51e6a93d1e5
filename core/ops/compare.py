"""Comparisons (eq, lt, ... and ``== < ...``), logical and bitwise ops (``& | ^ ~ << >>``),
floating-point classifiers (isnan, isinf, isfinite, isposinf, isneginf, signbit) and
closeness tests (isclose, allclose, equal).

None of these has a gradient. Comparisons promote both operands first (PyTorch's rules, so
``int_tensor < 2.5`` compares in float) and return bool; bitwise ops keep the promoted
integer/bool dtype and reject floats as PyTorch does.
"""
from __future__ import annotations

import operator

from ._register import takes_out
from .. import _dtype
from ._register import apply2, attach, broadcast_fail, inplace
from ._util import Tensor, method, operand, prep2, wrap
from .elementwise import _tensor_other, lhs_scalar, not_implemented

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
           "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
           "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf", "isfinite",
           "isposinf", "isneginf", "signbit", "isclose", "allclose", "equal"]

# ``_operand``: what an operator accepts on its other side (see ops._util.operand); anything
# else is NotImplemented, so ``t == None`` and ``t == [1, 2]`` are False and ``t < None`` is
# a TypeError, as in PyTorch.
_operand = operand


def _compare(name, pyop, operator_name, aliases):
    @takes_out
    def op(input: Tensor, other) -> Tensor:
        if not isinstance(input, Tensor) or not _operand(other):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({type(input).__name__}, {type(other).__name__})")
        a, b, dt, dev = prep2(input, other)
        if dt.is_complex and pyop is not operator.eq and pyop is not operator.ne:
            raise not_implemented(name, dt, dev)
        try:
            res = wrap(apply2(pyop, a, b), _dtype.bool, dev)
        except TypeError:
            if dt is not _dtype.bool:
                raise
            # the array API standard does not order booleans: compare them as 0/1
            be = dev._be
            res = wrap(pyop(be.astype(a, _dtype.int8), int(b) if not hasattr(b, "shape")
                            else be.astype(b, _dtype.int8)), _dtype.bool, dev)
        return res

    def dunder(self, other):
        if not _operand(other):
            return NotImplemented
        return op(self, other)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}`` (``{operator_name}``): a bool tensor."
    method(name, *aliases)(op)
    attach(f"__{name}__", dunder)
    inplace(op, *(n + "_" for n in (name,) + aliases))
    return op


eq = _compare("eq", operator.eq, "==", ())
ne = not_equal = _compare("ne", operator.ne, "!=", ("not_equal",))
lt = less = _compare("lt", operator.lt, "<", ("less",))
le = less_equal = _compare("le", operator.le, "<=", ("less_equal",))
gt = greater = _compare("gt", operator.gt, ">", ("greater",))
ge = greater_equal = _compare("ge", operator.ge, ">=", ("greater_equal",))


# --- logical ----------------------------------------------------------------------------------
def _truth(a, dt):
    return a if dt is _dtype.bool else a != 0


def _logical(name, kernel):
    @takes_out
    def op(input: Tensor, other: Tensor) -> Tensor:
        _tensor_other(name, other)
        a, b, dt, dev = prep2(input, other)
        xp = dev._be.xp
        res = wrap(apply2(lambda p, q: kernel(xp, p, q), _truth(a, dt), _truth(b, dt)),
                   _dtype.bool, dev)
        return res
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}``: a bool tensor, any input dtype (nonzero is true)."
    method(name)(op)
    inplace(op, name + "_")
    return op


logical_and = _logical("logical_and", lambda xp, a, b: xp.logical_and(a, b))
logical_or = _logical("logical_or", lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _logical("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))


@takes_out
@method("logical_not")
def logical_not(input: Tensor) -> Tensor:
    """Mirrors ``torch.logical_not``: a bool tensor (nonzero is true)."""
    a = input._data
    res = wrap(input._device._be.xp.logical_not(a) if input.dtype is _dtype.bool else a == 0,
               _dtype.bool, input._device)
    return res


inplace(logical_not, "logical_not_")


# --- bitwise ----------------------------------------------------------------------------------
def _bitwise(name, kernel, err_name, ops, bool_ok=True):
    """A bitwise op and its operators: ``ops`` = (operator, reflected, in-place) names."""
    @takes_out
    def op(input, other) -> Tensor:
        if not isinstance(input, Tensor):
            input = lhs_scalar(input, other)
        a, b, dt, dev = prep2(input, other)
        if dt.is_floating_point or dt.is_complex or (dt is _dtype.bool and not bool_ok):
            raise not_implemented(err_name, dt, dev)
        res = wrap(apply2(getattr(dev._be.xp, kernel), a, b), dt, dev)
        return res

    def dunder(self, other):
        return op(self, other) if _operand(other) else NotImplemented

    def reflected(self, other):
        return op(lhs_scalar(other, self), self) if _operand(other) else NotImplemented

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}`` (``{ops[0]}``): bool and integer tensors only."
    method(name)(op)
    attach(ops[0], dunder)
    attach(ops[1], reflected)
    inplace(op, name + "_", ops[2])
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and", "bitwise_and",
                       ("__and__", "__rand__", "__iand__"))
bitwise_or = _bitwise("bitwise_or", "bitwise_or", "bitwise_or",
                      ("__or__", "__ror__", "__ior__"))
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor", "bitwise_xor",
                       ("__xor__", "__rxor__", "__ixor__"))
bitwise_left_shift = _bitwise("bitwise_left_shift", "bitwise_left_shift", "lshift",
                              ("__lshift__", "__rlshift__", "__ilshift__"), bool_ok=False)
bitwise_right_shift = _bitwise("bitwise_right_shift", "bitwise_right_shift", "rshift",
                               ("__rshift__", "__rrshift__", "__irshift__"), bool_ok=False)


@takes_out
@method("bitwise_not")
def bitwise_not(input: Tensor) -> Tensor:
    """Mirrors ``torch.bitwise_not`` (``~``): logical not on bool, two's complement on ints."""
    dt, dev = input.dtype, input._device
    if dt.is_floating_point or dt.is_complex:
        raise not_implemented("bitwise_not", dt, dev)
    xp = dev._be.xp
    a = input._data
    res = wrap(xp.logical_not(a) if dt is _dtype.bool else xp.bitwise_invert(a), dt, dev)
    return res


inplace(bitwise_not, "bitwise_not_")


@method("__invert__")
def _invert(self: Tensor) -> Tensor:
    if self.dtype.is_floating_point or self.dtype.is_complex:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


# --- floating-point classes -------------------------------------------------------------------
def _classifier(name, kernel, constant, complex_error=None):
    """kernel(xp, a) for float (and complex) inputs; bool/int inputs are all ``constant``."""
    def op(input: Tensor) -> Tensor:
        dt, dev = input.dtype, input._device
        be = dev._be
        if dt.is_complex and complex_error:
            raise complex_error
        if dt.is_floating_point or dt.is_complex:
            data = kernel(be.xp, input._data)
        elif name == "signbit" and dt.is_signed:
            data = input._data < 0
        else:
            fill = be.xp.ones_like if constant else be.xp.zeros_like
            data = fill(input._data, dtype=be.native_dtype(_dtype.bool))
        return wrap(data, _dtype.bool, dev)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}``: a bool tensor."
    return method(name)(op)


isnan = _classifier("isnan", lambda xp, a: xp.isnan(a), False)
isinf = _classifier("isinf", lambda xp, a: xp.isinf(a), False)
isfinite = _classifier("isfinite", lambda xp, a: xp.isfinite(a), True)
isposinf = _classifier("isposinf", lambda xp, a: a == float("inf"), False,
                       RuntimeError("isposinf does not support complex inputs."))
isneginf = _classifier("isneginf", lambda xp, a: a == float("-inf"), False,
                       RuntimeError("isneginf does not support complex inputs."))
signbit = _classifier("signbit", lambda xp, a: xp.signbit(a), False,
                      NotImplementedError("signbit is not implemented for complex tensors."))


# --- closeness --------------------------------------------------------------------------------
@method("isclose")
def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Mirrors ``torch.isclose``: ``|input - other| <= atol + rtol * |other|`` (or equal),
    elementwise. Both tensors must have the same dtype, as in PyTorch."""
    _tensor_other("isclose", other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{input.dtype.scalar_name} did not match "
                           f"{other.dtype.scalar_name}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    a, b, dt, dev = prep2(input, other)
    xp = dev._be.xp
    broadcast_fail(a, b)
    close = a == b
    if dt is _dtype.bool or (rtol == 0 and atol == 0):
        return wrap(close, _dtype.bool, dev)
    if equal_nan and (dt.is_floating_point or dt.is_complex):
        close = close | (xp.isnan(a) & xp.isnan(b))
    if not (dt.is_floating_point or dt.is_complex):
        fdt = _dtype.get_default_dtype()
        a, b = dev._be.astype(a, fdt), dev._be.astype(b, fdt)
    err = xp.abs(a - b)
    close = close | (xp.isfinite(err) & (err <= atol + xp.abs(rtol * b)))
    return wrap(close, _dtype.bool, dev)


@method("allclose")
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Mirrors ``torch.allclose``: a Python bool."""
    close = isclose(input, other, rtol, atol, equal_nan)
    return bool(close._device._be.xp.all(close._data))


@method("equal")
def equal(input: Tensor, other: Tensor) -> bool:
    """Mirrors ``torch.equal``: True when the shapes and all values agree (after type
    promotion, as PyTorch)."""
    _tensor_other("equal", other)
    if input.shape != other.shape:
        return False
    a, b, _, dev = prep2(input, other)
    return bool(dev._be.xp.all(a == b))
