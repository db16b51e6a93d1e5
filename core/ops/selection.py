"""Selection: where (more: masked_fill, clamp... live beside it)."""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, method, prep2, record, wrap

__all__ = ["where"]


@method("where")
def where(condition: Tensor, input=None, other=None) -> Tensor:
    """Mirrors ``torch.where(condition, input, other)`` (tensors or scalars)."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(input, Tensor):
        if not isinstance(other, Tensor):
            from .._creation import tensor
            dt = _dtype.result_dtype((), (input, other))
            input = tensor(input, dtype=dt, device=condition.device)
        else:
            from .._creation import full
            dt = _dtype.result_dtype((other,), (input,))
            input = full((), input, dtype=dt, device=other.device)
    a, b, dt, dev = prep2(input, other)
    cond = condition._data
    if condition.dtype is not _dtype.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name.capitalize()}")
    res = wrap(dev._be.xp.where(cond, a, b), dt, dev)
    if GRAD.enabled and (input._requires_grad or getattr(other, "_requires_grad", False)):
        zero = 0

        def fn(g):
            ga = where(condition, g, zero) if input._requires_grad else None
            if isinstance(other, Tensor):
                return ga, (where(condition, zero, g) if other._requires_grad else None)
            return (ga,)
        ins = (input, other) if isinstance(other, Tensor) else (input,)
        record(res, "WhereBackward0", ins, fn)
    return res
