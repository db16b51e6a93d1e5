"""Writing PyTorch's checkpoint format (what ``torch.save`` writes), without torch.

``archive/data.pkl`` is a pickle in which every tensor is
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``
(a Parameter wraps one in ``torch._utils._rebuild_parameter``), each storage a persistent id
``("storage", torch.FloatStorage, key, location, numel)`` whose bytes are the record
``archive/data/<key>``. ember's dtypes, ``Size`` and ``device`` are written under their torch
names. Tensors that view one buffer (numpy backend) share one storage, written once; on
backends without aliasing each tensor gets its own storage.

Everything else (modules, a script's own classes, functions) is pickled by reference as
``pickle`` does, so ``ember.save(model)`` works as ``torch.save(model)`` does.
"""
from __future__ import annotations

import pickle
import secrets
import struct
from collections import OrderedDict
from typing import BinaryIO

from . import _zip
from .. import _strides

STORAGE_TYPES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}


class _Global:
    """A name to write as a pickle GLOBAL (``torch.FloatStorage``, the rebuild functions)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires a reduce function to be callable
        raise TypeError(f"{self.module}.{self.name} is only a name to write")


_REBUILD_V2 = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAM = _Global("torch._utils", "_rebuild_parameter")
_STORAGE_GLOBALS = {dt: _Global("torch", n) for dt, n in STORAGE_TYPES.items()}


class _StorageRef:
    """One storage: the flat little-endian array whose bytes become ``data/<key>``."""

    __slots__ = ("key", "array", "dtype", "location")

    def __init__(self, key: str, array, dtype: str, location: str):
        self.key, self.array, self.dtype, self.location = key, array, dtype, location


class _TensorArgs:
    """A tensor as its rebuild call (the data tensor inside a Parameter's rebuild)."""

    __slots__ = ("args",)

    def __init__(self, args: tuple):
        self.args = args


class _Pickler(pickle._Pickler):
    """The pure-Python pickler (it lets ``save_global`` write torch's names for ember's
    objects) with tensors reduced as ``torch.save`` reduces them."""

    def __init__(self, f, protocol: int):
        super().__init__(f, protocol)
        self.storages: list = []
        self._by_buffer: dict = {}
        self._keep: list = []
        from .. import _dtype, _device, _size, _tensor
        from ..nn.parameter import Parameter
        self._Tensor, self._Parameter = _tensor.Tensor, Parameter
        self._dtype_cls, self._Size, self._device_cls = _dtype.dtype, _size.Size, _device.device
        self._names = {id(_size.Size): ("torch", "Size"), id(_device.device): ("torch", "device")}

    # --- globals under torch's names ----------------------------------------------------
    def save_global(self, obj, name=None):
        if isinstance(obj, _Global):
            mod, nm = obj.module, obj.name
        elif isinstance(obj, self._dtype_cls):
            mod, nm = "torch", obj.name
        else:
            got = self._names.get(id(obj))
            if got is None:
                return super().save_global(obj, name)
            mod, nm = got
        self.write(pickle.GLOBAL + mod.encode("utf-8") + b"\n" + nm.encode("utf-8") + b"\n")
        self.memoize(obj)

    def reducer_override(self, obj):
        t = type(obj)
        if t is self._Tensor or t is self._Parameter or isinstance(obj, self._Tensor):
            return self._reduce_tensor(obj)
        if t is _TensorArgs:
            return (_REBUILD_V2, obj.args)
        if t is _Global or t is self._dtype_cls:
            return "global"  # a string: pickle calls save_global(obj)
        if t is self._Size:
            return (self._Size, (tuple(obj),))
        if t is self._device_cls:
            return (self._device_cls, (str(obj),))
        return NotImplemented

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return ("storage", _STORAGE_GLOBALS[obj.dtype], obj.key, obj.location,
                    obj.array.size)
        return None

    # --- tensors ------------------------------------------------------------------------
    def save(self, obj, save_persistent_id=True):
        t = type(obj)
        if t is self._Tensor or t is self._Parameter:  # the common case, written directly
            got = self.memo.get(id(obj))
            if got is not None:
                self.write(self.get(got[0]))
            else:
                self._write_tensor(obj, t is self._Parameter)
            return
        super().save(obj, save_persistent_id)

    def _write_tensor(self, t, param: bool) -> None:
        """The opcodes ``save_reduce`` would write for ``_reduce_tensor(t)``, without the
        generic machinery (a state_dict is mostly this)."""
        P, w = pickle, self.write
        storage, offset, stride = self._storage(t)
        rg = bool(t.requires_grad)
        if param:
            self._global(_REBUILD_PARAM)
            w(P.MARK)
        self._global(_REBUILD_V2)
        w(P.MARK + P.MARK)
        self._str("storage")
        self._global(_STORAGE_GLOBALS[storage.dtype])
        self._str(storage.key)
        self._str(storage.location)
        self._int(storage.array.size)
        w(P.TUPLE + P.BINPERSID)
        self._int(offset)
        for dims in (t.shape, stride):
            w(P.MARK)
            for n in dims:
                self._int(n)
            w(P.TUPLE)
        w(P.NEWTRUE if rg and not param else P.NEWFALSE)
        self._global(OrderedDict)
        w(P.EMPTY_TUPLE + P.REDUCE + P.TUPLE + P.REDUCE)
        if param:
            w(P.NEWTRUE if rg else P.NEWFALSE)
            self._global(OrderedDict)
            w(P.EMPTY_TUPLE + P.REDUCE + P.TUPLE + P.REDUCE)
        self.memoize(t)

    def _global(self, obj) -> None:
        got = self.memo.get(id(obj))
        if got is not None:
            self.write(self.get(got[0]))
        else:
            self.save_global(obj)

    def _str(self, s: str) -> None:
        raw = s.encode("utf-8")
        self.write(pickle.BINUNICODE + struct.pack("<I", len(raw)) + raw)

    def _int(self, n: int) -> None:
        if 0 <= n < 256:
            self.write(pickle.BININT1 + bytes((n,)))
        elif -0x80000000 <= n < 0x80000000:
            self.write(pickle.BININT + struct.pack("<i", n))
        else:
            self.save_long(n)

    def _reduce_tensor(self, t):
        storage, offset, stride = self._storage(t)
        args = (storage, offset, tuple(t.shape), stride)
        if isinstance(t, self._Parameter):
            data = _TensorArgs(args + (False, OrderedDict()))
            return (_REBUILD_PARAM, (data, bool(t.requires_grad), OrderedDict()))
        return (_REBUILD_V2, args + (bool(t.requires_grad), OrderedDict()))

    def _storage(self, t):
        """(storage, offset, stride in elements) for ``t``. Views of one buffer share one
        storage, written once, as in PyTorch: on numpy/CuPy found through the arrays' own
        ``.base`` and addresses, on backends whose arrays do not alias (JAX) through the
        chain of views that made ``t`` (``_strides.logical_layout``). Anything else gets a
        C-contiguous copy of its own."""
        import numpy as np
        dt = t.dtype.name
        if dt not in STORAGE_TYPES:
            raise pickle.PicklingError(f"ember.save: cannot save a tensor of dtype {dt}")
        loc = str(t.device)
        data = t._data
        if getattr(data, "strides", None) is not None:
            got = _strides.buffer_layout(data)
            if got is not None and (not isinstance(data, np.ndarray) or
                                    data.dtype.byteorder in "=|<"):
                root, offset, stride = got
                return self._shared(root, root, t, dt, loc, data.dtype), offset, stride
        else:
            got = _strides.logical_layout(t)
            if got is not None and got[0].dtype == t.dtype:
                root, offset, stride = got
                return self._shared(root, root._data, t, dt, loc), offset, stride
        arr = self._host(t, data)
        ref = self._new_storage(arr.reshape(-1), dt, loc)
        return ref, 0, _contiguous_strides(arr.shape)

    def _shared(self, owner, root, t, dt: str, loc: str, as_dtype=None) -> _StorageRef:
        """The one storage of the buffer ``root`` (owned by ``owner``, kept alive so its id
        stays unique until the storages are written), its elements as they lie in memory
        (a C- or Fortran-ordered buffer, read as ``as_dtype``; a stride-less backend's array
        in C order)."""
        key = (id(owner), dt)
        ref = self._by_buffer.get(key)
        if ref is None:
            if as_dtype is not None:  # the buffer's bytes as t's dtype (a dtype view)
                root = root.reshape(-1, order="A").view("u1").view(as_dtype)
            ref = self._by_buffer[key] = self._new_storage(
                self._host(t, root).reshape(-1), dt, loc)
            self._keep.append(owner)
        return ref

    @staticmethod
    def _host(t, data):
        """``data`` (an array of t's backend) as a C-contiguous little-endian numpy array
        (the array itself where it already is one)."""
        import numpy as np
        if not isinstance(data, np.ndarray):
            data = t._device._be.to_numpy(data)
        arr = np.asarray(data)
        # (np.asarray, not ascontiguousarray: that makes a 0-d array 1-d)
        return np.asarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False), order="C")

    def _new_storage(self, flat, dt: str, loc: str) -> _StorageRef:
        ref = _StorageRef(str(len(self.storages)), flat, dt, loc)
        self.storages.append(ref)
        return ref


def _contiguous_strides(shape) -> tuple:
    acc, rev = 1, []
    for n in reversed(shape):
        rev.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(rev))


def write(obj, f: BinaryIO, protocol: int = 2) -> None:
    """``obj`` as a PyTorch zip checkpoint onto the open binary stream ``f``."""
    import io
    buf = io.BytesIO()
    p = _Pickler(buf, protocol)
    p.dump(obj)  # raises before anything reaches f if obj cannot be pickled
    w = _zip.Writer(f)
    w.record("archive/data.pkl", buf.getbuffer())
    w.record("archive/.format_version", b"1")
    w.record("archive/.storage_alignment", str(_zip.ALIGNMENT).encode())
    w.record("archive/byteorder", b"little")
    w.records((f"archive/data/{ref.key}", ref.array.view("u1") if ref.array.size else b"")
              for ref in p.storages)
    w.record("archive/version", b"3\n")
    w.record("archive/.data/serialization_id", _serialization_id())
    w.finish()


def _serialization_id() -> bytes:
    # torch writes a 40-digit decimal id unique to each save
    return str(secrets.randbits(128)).zfill(40)[-40:].encode()
