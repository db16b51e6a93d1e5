"""Moving and casting: ``to``, ``clone``, ``contiguous``, ``cpu``/``cuda``, ``float()``...
Transfers between backends go through DLPack where both ends speak it, else the host."""
from __future__ import annotations

from .. import _dtype
from .._device import device as _Device
from ._register import attach
from ._util import GRAD, Tensor, method, record, wrap
from ._views import check_write, propagate

__all__ = ["to", "clone", "transfer"]


def transfer(data, src, dst):
    """Move a backend array from canonical device ``src`` to ``dst``."""
    sbe, dbe = src._be, dst._be
    if sbe is dbe and src.index == dst.index:
        return data
    got = dbe.from_backend(data, sbe, dst.index)
    if got is not None:
        return got
    return dbe.from_numpy(sbe.to_numpy(data), dst.index)


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, _dtype.dtype):
            dt = a
        elif isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, (str, _Device, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            pass  # non_blocking / copy given positionally
        elif a is None:
            pass
        else:
            raise TypeError(f"to() received an invalid combination of arguments - got "
                            f"({type(a).__name__})")
    return dev, dt, copy


@method("to")
def to(self: Tensor, *args, **kwargs) -> Tensor:
    """Mirrors ``Tensor.to(device | dtype | tensor, copy=False)``: self when nothing changes."""
    dev, dt, copy = _parse_to(args, dict(kwargs))
    src = self._device
    if dev is not None:
        from .._creation import resolve_device
        dst = resolve_device(dev)
    else:
        dst = src
    dt = dt or self.dtype
    if dst is src and dt is self.dtype and not copy:
        return self
    data = transfer(self._data, src, dst) if dst is not src else self._data
    if dt is not self.dtype:
        if self.dtype.is_complex and not dt.is_complex and dt is not _dtype.bool:
            import warnings
            warnings.warn("Casting complex values to real discards the imaginary part",
                          UserWarning, stacklevel=2)  # PyTorch's warning
            data = dst._be.xp.real(data)  # (JAX deprecates astype from complex to real)
        data = dst._be.astype(data, dt)
    elif copy and data is self._data:
        data = dst._be.copy(data)
    res = wrap(data, dt, dst)
    if GRAD.enabled and self._requires_grad and (dt.is_floating_point or dt.is_complex):
        sdt = self.dtype
        record(res, "ToCopyBackward0", (self,), lambda g: (g.to(device=src, dtype=sdt),))
    return res


def _cast(name, dt):
    def m(self, memory_format=None):
        return to(self, dt)
    m.__name__ = name
    m.__doc__ = f"Mirrors ``Tensor.{name}()``: ``self.to({dt!r})``."
    attach(name, m)


for _name, _dt in (("float", _dtype.float32), ("double", _dtype.float64),
                   ("half", _dtype.float16), ("bfloat16", _dtype.bfloat16),
                   ("int", _dtype.int32), ("long", _dtype.int64), ("short", _dtype.int16),
                   ("char", _dtype.int8), ("byte", _dtype.uint8), ("bool", _dtype.bool),
                   ("cfloat", _dtype.complex64), ("cdouble", _dtype.complex128)):
    _cast(_name, _dt)


@method("cpu")
def cpu(self: Tensor, memory_format=None) -> Tensor:
    """Mirrors ``Tensor.cpu``: self when already on the CPU, else a copy there."""
    return to(self, "cpu")


@method("cuda")
def cuda(self: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """Mirrors ``Tensor.cuda``: to ``cuda`` (or ``cuda:N``)."""
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, device)


@method("type")
def type_(self: Tensor, dtype=None, non_blocking: bool = False):
    """Mirrors ``Tensor.type``: the legacy type name ("torch.FloatTensor",
    "torch.cuda.LongTensor"), or a cast to a dtype (same device) or to a legacy type given as
    a class (``ember.DoubleTensor``) or its name (onto that type's device); self when
    nothing changes."""
    from .._tensor import _type_string
    if dtype is None:
        return _type_string(self)
    if isinstance(dtype, _dtype.dtype):
        return to(self, dtype)
    from .._legacy import lookup
    cls = lookup(dtype)
    if cls is None:
        raise ValueError(f"invalid type: {dtype!r}")
    if self.device.type == cls._device_type:
        return to(self, cls.dtype)
    # cast where the tensor is, then move: the target device may lack the source dtype
    return to(to(self, cls.dtype), cls._device_type)


@method("type_as")
def type_as(self: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``Tensor.type_as``: self cast to other's dtype."""
    return to(self, other.dtype)


@method("clone")
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """Mirrors ``torch.clone``: a copy that stays in the graph."""
    res = wrap(input._device._be.copy(input._data), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "CloneBackward0", (input,), lambda g: (g,))
    return res


@method("contiguous")
def contiguous(self: Tensor, memory_format=None) -> Tensor:
    """Mirrors ``Tensor.contiguous``: self when already contiguous, else a copy."""
    if self.is_contiguous():
        return self
    be = self._device._be
    res = wrap(be.xp.ascontiguousarray(self._data) if hasattr(be.xp, "ascontiguousarray")
               else be.copy(self._data), self.dtype, self._device)
    if GRAD.enabled and self._requires_grad:
        record(res, "CloneBackward0", (self,), lambda g: (g,))
    return res


@method("copy_")
def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Mirrors ``Tensor.copy_``: src's values (broadcast, cast, moved) into self."""
    from .inplace import run_inplace

    if not isinstance(src, Tensor):
        from .._creation import tensor
        src = tensor(src, dtype=self.dtype, device=self.device)
    if GRAD.enabled and (self._requires_grad or src._requires_grad):
        return run_inplace(self, lambda s, o: _copy_fn(s, o), src)
    from .inplace import check_inplace
    check_inplace(self, self.dtype)
    if self._view_src is not None:
        check_write(self, False)
    data = transfer(src._data, src._device, self._device) if src._device is not self._device \
        else src._data
    be = self._device._be
    if src.dtype is not self.dtype:
        data = be.astype(data, self.dtype)
    if be.mutable and hasattr(self._data, "__setitem__"):
        self._data[...] = data
    else:
        self._data = be.xp.broadcast_to(data, self._data.shape) \
            if data.shape != self._data.shape else data
        propagate(self, False)  # immutable: the bases take the new values too
    self._bump()
    return self


def _copy_fn(s: Tensor, o: Tensor) -> Tensor:
    """s replaced by o, differentiably: grad flows to o (broadcast) and not to s."""
    from .shape import expand
    o = o.to(device=s.device, dtype=s.dtype)
    res = wrap(s._device._be.copy(expand(o, s.shape)._data), s.dtype, s._device)
    if GRAD.enabled and (o._requires_grad or s._requires_grad):
        record(res, "CopyBackwards", (s, o), lambda g: (g * 0, g))
    return res
