"""``Parameter`` and ``Buffer``: the tensors a Module registers when they are assigned to it.

Mirrors ``torch.nn.parameter``. A Parameter is a leaf Tensor subclass sharing its array
(and version counter) with the tensor it was made from, as ``Tensor._make_subclass`` does.
Ops on a Parameter return plain Tensors.
"""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Parameter", "Buffer", "is_lazy"]

_new = object.__new__


def _share(cls, data: Tensor, requires_grad: bool) -> Tensor:
    """An instance of ``cls`` holding data's array: a new leaf, outside any graph."""
    t = _new(cls)
    t._data = data._data
    t.dtype = data.dtype
    t._device = data._device
    t._grad_fn = None
    t._requires_grad = False
    t.grad = None
    if data._vc is None:
        data._vc = [0]
    t._vc = data._vc
    t._out_nr = 0
    t._accum = None
    t._base = None
    t._view_src = None
    if not data._device._be.mutable:  # no shared buffer (JAX): writes pass between the two
        from ..ops._views import ALIAS, register_view
        t._view_src = (data, ALIAS)
        register_view(data if data._base is None else data._base, t)
    if requires_grad:
        t.requires_grad_(True)
    return t


class Parameter(Tensor):
    """Mirrors ``torch.nn.Parameter(data=None, requires_grad=True)``: a tensor that a
    Module lists among its parameters when assigned as an attribute."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from .._creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        return _share(cls, data, requires_grad)

    @classmethod
    def _from_tensor(cls, t: Tensor, requires_grad: bool) -> "Parameter":
        """Rebuild after pickling (``ember._tensor._rebuild`` calls this)."""
        return cls(t, requires_grad)

    def __deepcopy__(self, memo):
        got = memo.get(id(self))
        if got is not None:
            return got
        out = type(self)(self.detach().clone(), self._requires_grad)
        memo[id(self)] = out
        return out

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer:
    """Mirrors ``torch.nn.Buffer(data, persistent=True)``: assigning one to a Module
    registers it as a buffer. Like PyTorch, the object made is a plain (detached) Tensor
    carrying a marker."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            from .._creation import empty
            data = empty(0)
        t = data.detach()
        t._base = None
        t.__dict__["_is_buffer"] = True
        t.__dict__["persistent"] = persistent
        return t


def is_lazy(param) -> bool:
    """Mirrors ``torch.nn.parameter.is_lazy``: ember has no lazy modules, so False."""
    return False
