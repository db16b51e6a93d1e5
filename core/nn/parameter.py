"""``Parameter`` and ``Buffer``: the tensors a Module registers when they are assigned to it.

Mirrors ``torch.nn.parameter``. A Parameter is a leaf Tensor subclass sharing its array
(and version counter) with the tensor it was made from, as ``Tensor._make_subclass`` does.
Ops on a Parameter return plain Tensors.
"""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedTensorMixin", "UninitializedParameter",
           "UninitializedBuffer", "is_lazy"]

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
    from ..ops._views import alias
    alias(t, data)  # no shared buffer (JAX): writes pass between the two
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


# what an uninitialized tensor still allows (PyTorch's ``_allowed_methods`` plus what
# ember itself calls on a parameter while building one or moving a module)
_ALLOWED = frozenset({"data", "materialize", "cls_to_become", "size", "copy_", "is_complex",
                      "is_floating_point", "half", "float", "double", "char", "short", "int",
                      "long", "cuda", "cpu", "to", "get_device", "requires_grad_", "dtype",
                      "device", "requires_grad", "grad", "is_leaf", "grad_fn", "shape",
                      "share_memory_"})


class UninitializedTensorMixin:
    """Mirrors ``torch.nn.parameter.UninitializedTensorMixin``: a placeholder whose shape is
    not known yet; ``materialize(shape)`` gives it data and turns it, the same object, into
    ``cls_to_become``. Until then its shape and its Tensor methods raise PyTorch's errors.

    Deliberate difference: only methods called on the object raise; functions given one
    (``ember.add(p, 1)``) see an empty tensor (ember has no ``__torch_function__``)."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def __getattribute__(self, name: str):
        if name[0] == "_" or name in _ALLOWED:
            return object.__getattribute__(self, name)
        attr = object.__getattribute__(self, name)
        if callable(attr) and callable(getattr(Tensor, name, None)):
            kind = "parameter" if isinstance(self, Parameter) else "buffer"
            cls = type(self).__name__
            raise ValueError(
                f"Attempted to use an uninitialized {kind} in <method '{name}' of "
                f"'torch._C.TensorBase' objects>. This error happens when you are using a "
                f"`LazyModule` or explicitly manipulating `torch.nn.parameter.{cls}` objects. "
                "When using LazyModules Call `forward` with a dummy batch to initialize the "
                "parameters before calling torch functions")
        return attr

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Mirrors ``materialize``: new (uninitialized) data of ``shape``; the object becomes
        a ``cls_to_become`` (Parameter or Tensor)."""
        from .._creation import empty
        data = object.__getattribute__(self, "data")
        device = data.device if device is None else device
        dtype = data.dtype if dtype is None else dtype
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.data = empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def data(self) -> Tensor:
        return _share(Tensor, self, False)

    @data.setter
    def data(self, value: Tensor) -> None:
        Tensor.data.fset(self, value)

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))

    def __deepcopy__(self, memo):
        got = memo.get(id(self))
        if got is None:
            data = object.__getattribute__(self, "data")
            got = memo[id(self)] = type(self)(self.requires_grad, data.device, data.dtype)
        return got


def _uninitialized(cls, requires_grad: bool, device, dtype):
    from .._creation import empty
    return _share(cls, empty(0, device=device, dtype=dtype), requires_grad)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """Mirrors ``torch.nn.parameter.UninitializedParameter(requires_grad=True, device=None,
    dtype=None)``: a lazy module's parameter before its first forward; ``materialize``
    turns this same object into a ``Parameter`` (so optimizers built before keep it)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _uninitialized(cls, requires_grad, device, dtype)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """Mirrors ``torch.nn.parameter.UninitializedBuffer(requires_grad=False, device=None,
    dtype=None)``: becomes a plain Tensor when materialized."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        return _uninitialized(cls, requires_grad, device, dtype)


def is_lazy(param) -> bool:
    """Mirrors ``torch.nn.parameter.is_lazy``: whether ``param`` is still uninitialized."""
    return isinstance(param, UninitializedTensorMixin)
