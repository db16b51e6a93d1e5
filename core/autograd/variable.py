"""``ember.autograd.Variable``: mirrors ``torch.autograd.Variable``, the pre-0.4 wrapper that
PyTorch keeps for old scripts. Calling it gives a plain Tensor (``data`` detached, with
``requires_grad`` as asked); every Tensor is an instance of it; ``volatile`` is ignored with
PyTorch's warning."""
from __future__ import annotations

import warnings


def _tensor_cls():
    # ember._tensor imports ember.autograd: the Tensor class is looked up at call time
    from .._tensor import Tensor
    return Tensor

__all__ = ["Variable"]


class VariableMeta(type):
    """Mirrors ``torch.autograd.variable.VariableMeta``."""

    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, _tensor_cls())

    def __call__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            from .._creation import empty
            out = empty(0)
        elif not isinstance(data, _tensor_cls()):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(data).__name__}")
        else:
            out = data.detach()
        return out.requires_grad_(requires_grad)


class Variable(metaclass=VariableMeta):
    """Mirrors ``torch.autograd.Variable(data, requires_grad=False, volatile=False)``."""
