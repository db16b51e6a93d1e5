"""What the functional files share: constant masks from backend arrays, reductions of
per-element losses, and argument checks worded as PyTorch words them."""
from __future__ import annotations

from ... import _dtype
from ..._tensor import Tensor, wrap

__all__ = ["const", "reduce_loss", "check_reduction", "legacy_reduction", "dtype_name",
           "tuple_arg"]


def dtype_name(dt) -> str:
    """PyTorch's scalar type name ("Float", "Long") used in its error messages."""
    return dt.scalar_name


def const(arr, dt, like: Tensor) -> Tensor:
    """A constant (non-differentiable) tensor on ``like``'s device from a backend array:
    masks and coefficients that backward formulas multiply by."""
    return wrap(arr, dt, like._device)


def check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` ('none' | 'mean' | 'sum') to per-element losses."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average, reduce, default: str = "mean") -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair mapped to a reduction string."""
    if size_average is None and reduce is None:
        return default
    import warnings
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='{}' instead.".format(_legacy(size_average, reduce)),
                  stacklevel=3)
    return _legacy(size_average, reduce)


def _legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    if reduce:
        return "sum"
    return "none"


def is_float(t: Tensor) -> bool:
    return t.dtype.is_floating_point


BOOL = _dtype.bool


def tuple_arg(v, n: int, name: str) -> tuple:
    """An int or a length-1/``n`` sequence as an ``n``-tuple (PyTorch's
    ``expand_param_if_needed``)."""
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got {name}="
                           f"{list(v)}")
    return v
