"""PyTorch's legacy tensor types (``torch.FloatTensor``, ``torch.cuda.LongTensor``, ...) and
``torch.set_default_tensor_type``.

Each type is a class whose metaclass (PyTorch's ``torch.tensortype``) makes
``isinstance(t, ember.FloatTensor)`` true exactly when ``t`` is a Tensor of that dtype on that
device type, and whose call is the legacy constructor: ``FloatTensor()`` (empty),
``FloatTensor(2, 3)`` / ``FloatTensor(Size)`` (uninitialised, of that size),
``FloatTensor([1, 2])`` (from data), ``FloatTensor(t)`` (``t`` itself, when its dtype and
device type match). The names come from ``dtype.legacy_name``. As PyTorch 2.x, complex types
have no legacy name in ``torch``; ember adds ``ComplexFloatTensor``/``ComplexDoubleTensor``
(the names older PyTorch releases had) and nothing else differs.
"""
from __future__ import annotations

import warnings

from . import _dtype
from ._size import Size
from ._tensor import Tensor

__all__ = ["set_default_tensor_type"]


class tensortype(type):
    """Metaclass of the legacy types; mirrors ``torch.tensortype``."""

    dtype: _dtype.dtype
    _device_type: str

    def __instancecheck__(cls, obj) -> bool:
        return (isinstance(obj, Tensor) and obj.dtype is cls.dtype
                and obj.device.type == cls._device_type)

    def __call__(cls, *args, device=None, **kwargs):
        return _construct(cls, args, device, kwargs)

    @property
    def is_cuda(cls) -> bool:
        return cls._device_type == "cuda"

    @property
    def is_sparse(cls) -> bool:
        return False


def _type_name(cls) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _options(dt: _dtype.dtype, device_type: str) -> str:
    """PyTorch's printout of TensorOptions, as its legacy constructor's type error shows."""
    return (f"TensorOptions(dtype={dt.c_name}, device={device_type}, layout=Strided, "
            f"requires_grad=false (default), pinned_memory=false (default), "
            f"memory_format=(nullopt))")


def _construct(cls, args: tuple, device, kwargs: dict) -> Tensor:
    from . import _creation
    if kwargs:
        got = ", ".join([type(a).__name__ for a in args] +
                        [f"{k}=torch.dtype" if isinstance(v, _dtype.dtype)
                         else f"{k}={type(v).__name__}"
                         for k, v in kwargs.items()])
        raise TypeError(f"new() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of:\n * (*, torch.device device = None)\n"
                        f" * (torch.Storage storage)\n * (Tensor other)\n"
                        f" * (tuple of ints size, *, torch.device device = None)\n"
                        f" * (object data, *, torch.device device = None)\n")
    if cls._device_type == "cuda":
        from . import cuda
        if not cuda.is_available():
            raise TypeError(f"type {_type_name(cls)} not available. Torch not compiled with "
                            f"CUDA enabled.")
    dev = cls._device_type if device is None else device
    from ._device import device as _Device
    if _Device(dev).type != cls._device_type:
        raise RuntimeError(f"legacy constructor expects device type: {cls._device_type} but "
                           f"device type: {_Device(dev).type} was passed")
    dt = cls.dtype
    if not args:
        return _creation.empty(0, dtype=dt, device=dev)
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        if first.dtype is not dt or first.device.type != cls._device_type:
            raise TypeError(f"expected {_options(dt, cls._device_type)} (got "
                            f"{_options(first.dtype, first.device.type)})")
        return first
    if len(args) == 1 and isinstance(first, Size):
        return _creation.empty(*first, dtype=dt, device=dev)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return _creation.empty(*args, dtype=dt, device=dev)
    if len(args) == 1:
        if isinstance(first, str):
            raise TypeError("new(): invalid data type 'str'")
        if isinstance(first, (int, float, complex, bool)):
            raise TypeError(f"new(): data must be a sequence (got {type(first).__name__})")
        return _creation.tensor(first, dtype=dt, device=dev)
    raise TypeError(f"new() received an invalid combination of arguments - got "
                    f"({', '.join(type(a).__name__ for a in args)})")


def _make(dt: _dtype.dtype, device_type: str, module: str) -> type:
    cls = tensortype(dt.legacy_name, (), {
        "__doc__": f"Mirrors ``{module}.{dt.legacy_name}``: the legacy type of "
                   f"{dt} tensors on {device_type}.",
        "__module__": module, "dtype": dt, "_device_type": device_type})
    return cls


#: legacy types by device type, then name: {"cpu": {"FloatTensor": cls, ...}, "cuda": ...}
TYPES: dict = {dev: {d.legacy_name: _make(d, dev, mod) for d in _dtype.ALL}
               for dev, mod in (("cpu", "torch"), ("cuda", "torch.cuda"))}
NAMES: tuple = tuple(TYPES["cpu"])


def lookup(spec) -> "tensortype | None":
    """The legacy type a ``Tensor.type``/``set_default_tensor_type`` argument names (a class
    or a string "torch.FloatTensor"/"torch.cuda.FloatTensor"), else None."""
    if isinstance(spec, tensortype):
        return spec
    if isinstance(spec, str):
        module, _, name = spec.rpartition(".")
        dev = {"torch": "cpu", "torch.cuda": "cuda"}.get(module)
        if dev is not None:
            return TYPES[dev].get(name)
    return None


def set_default_tensor_type(t) -> None:
    """Mirrors ``torch.set_default_tensor_type`` (deprecated in PyTorch 2.1, with its
    warning): sets the default float dtype, and for a ``cuda`` type the default device (a CPU
    type moves the default device back from cuda)."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please "
                  "use torch.set_default_dtype() and torch.set_default_device() as "
                  "alternatives.", UserWarning, stacklevel=2)
    cls = lookup(t)
    if cls is None:
        if isinstance(t, str):
            module, _, name = t.rpartition(".")
            if module not in ("torch", "torch.cuda"):
                raise ModuleNotFoundError(f"No module named '{module or t}'")
            raise AttributeError(f"module '{module}' has no attribute '{name}'")
        raise TypeError("invalid type object: only floating-point types are supported as "
                        "the default type")
    if not cls.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    if cls._device_type == "cuda":
        from . import cuda
        if not cuda.is_available():
            raise TypeError(f"type {_type_name(cls)} not available. Torch not compiled with "
                            f"CUDA enabled.")
    from ._creation import get_default_device, set_default_device
    _dtype.set_default_dtype(cls.dtype)
    if cls._device_type == "cuda":
        set_default_device("cuda")
    elif get_default_device().type == "cuda":
        set_default_device(None)
