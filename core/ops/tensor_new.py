"""Tensor methods that make or rewrite tensors like ``self``: the ``new_*`` factories (same
dtype and device unless told otherwise), the legacy ``Tensor.new``, the element-by-element
Python callbacks ``apply_``/``map_``, and the shared-memory queries."""
from __future__ import annotations

import warnings

from .. import _creation
from .._from_data import host_cast
from .._size import Size
from ._util import Tensor, method, wrap

__all__: list = []  # methods only


def _dd(self: Tensor, dtype, device):
    return (self.dtype if dtype is None else dtype), (self._device if device is None
                                                      else device)


def _new_sized(self, fn: str, fill, size, size_kw, dtype, device, requires_grad) -> Tensor:
    shape = _creation._sized(size, fn, size_kw)
    dt, dev = _dd(self, dtype, device)
    return _creation.full(shape, fill, dtype=dt, device=dev, requires_grad=requires_grad)


@method("new_zeros")
def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False, **kw) -> Tensor:
    """Mirrors ``Tensor.new_zeros``: zeros of ``size`` with self's dtype and device."""
    return _new_sized(self, "new_zeros", 0, size, kw.pop("size", None), dtype, device,
                      requires_grad)


@method("new_ones")
def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False, **kw) -> Tensor:
    """Mirrors ``Tensor.new_ones``."""
    return _new_sized(self, "new_ones", 1, size, kw.pop("size", None), dtype, device,
                      requires_grad)


@method("new_empty")
def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False, **kw) -> Tensor:
    """Mirrors ``Tensor.new_empty`` (zero-filled, as ``ember.empty`` is)."""
    return _new_sized(self, "new_empty", 0, size, kw.pop("size", None), dtype, device,
                      requires_grad)


@method("new_empty_strided")
def new_empty_strided(self: Tensor, size, stride, *, dtype=None, device=None,
                      requires_grad: bool = False, layout=None,
                      pin_memory: bool = False) -> Tensor:
    """Mirrors ``Tensor.new_empty_strided`` (strides are not modelled: contiguous)."""
    dt, dev = _dd(self, dtype, device)
    return _creation.empty_strided(size, stride, dtype=dt, device=dev,
                                   requires_grad=requires_grad)


@method("new_full")
def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """Mirrors ``Tensor.new_full``: ``size`` a tuple or list, self's dtype unless given."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    dt, dev = _dd(self, dtype, device)
    return _creation.full(size, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


@method("new_tensor")
def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, pin_memory: bool = False) -> Tensor:
    """Mirrors ``Tensor.new_tensor``: a copy of ``data`` with self's dtype and device unless
    given (a Tensor gets PyTorch's advice to use ``detach().clone()``)."""
    dt, dev = _dd(self, dtype, device)
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
        res = data.detach().to(device=dev, dtype=dt, copy=True)
        return res.requires_grad_(True) if requires_grad else res
    return _creation.tensor(data, dtype=dt, device=dev, requires_grad=requires_grad)


@method("new")
def new(self: Tensor, *args, device=None) -> Tensor:
    """Mirrors the legacy ``Tensor.new``: no arguments an empty tensor, sizes an
    (zero-filled) tensor of that shape, a sequence a tensor of that data; self's dtype."""
    dev = self._device if device is None else device
    if not args:
        return _creation.empty(0, dtype=self.dtype, device=dev)
    data = args[0]
    if len(args) == 1 and not isinstance(data, (int, Size)) and (
            isinstance(data, (list, tuple, Tensor)) or hasattr(data, "__array__")):
        return _creation.tensor(args[0], dtype=self.dtype, device=dev)
    return _creation.empty(*args, dtype=self.dtype, device=dev)


# --- Python callbacks ------------------------------------------------------------------------

def _callback_guard(self: Tensor, name: str) -> None:
    if self._device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if self._requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                           f"var.detach().{name}() instead.")


def _write_back(self: Tensor, values: list) -> Tensor:
    import numpy as np
    be = self._device._be
    arr = np.asarray(values) if values else np.zeros(0)
    arr = host_cast(arr.reshape(tuple(self.shape)), self.dtype)
    new = be.from_numpy(np.ascontiguousarray(arr), self._device.index)
    from .inplace import commit  # writes reach the tensor's bases when it is a view
    return commit(self, wrap(new, self.dtype, self._device))


@method("apply_")
def apply_(self: Tensor, callable) -> Tensor:
    """Mirrors ``Tensor.apply_``: ``self[i] = callable(self[i])`` for every element, in
    place, with Python numbers (CPU only and slow, as in PyTorch)."""
    _callback_guard(self, "apply_")
    return _write_back(self, [callable(v) for v in self.detach().reshape(-1).tolist()])


@method("map_")
def map_(self: Tensor, tensor: Tensor, callable) -> Tensor:
    """Mirrors ``Tensor.map_``: ``self[i] = callable(self[i], tensor[i])`` (``tensor``
    broadcast to self's shape), in place."""
    _callback_guard(self, "map_")
    other = tensor.detach().expand(tuple(self.shape)).reshape(-1).tolist()
    mine = self.detach().reshape(-1).tolist()
    return _write_back(self, [callable(a, b) for a, b in zip(mine, other)])


# --- shared memory -----------------------------------------------------------------------------

@method("share_memory_")
def share_memory_(self: Tensor) -> Tensor:
    """Mirrors ``Tensor.share_memory_``. ember tensors live in the backend's own memory and
    DataLoader workers send batches back by pickling, so there is nothing to move: the
    tensor is only marked (``is_shared()`` then says True, as in PyTorch)."""
    self.__dict__["_ember_shared"] = True
    return self


@method("is_shared")
def is_shared(self: Tensor) -> bool:
    """Mirrors ``Tensor.is_shared``: True after ``share_memory_()`` (CUDA tensors always)."""
    return self._device.type == "cuda" or bool(self.__dict__.get("_ember_shared", False))

