"""Reading PyTorch's ``torch.save`` zip checkpoints without importing torch.

The pickle inside is read by an unpickler that admits only the globals a ``state_dict`` or
checkpoint needs (tensor rebuild functions, storage types, OrderedDict, dtypes, Size,
device) and maps each to ember's own code; any other global is refused *before* it could
be called, with an error naming it. Nothing from the file is ever executed.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_DTYPE_NAMES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                "uint8", "bool", "complex64", "complex128", "float", "double", "half", "long",
                "int", "short", "cfloat", "cdouble"}


class _StorageType:
    def __init__(self, dtype: str):
        self.dtype = dtype


class _Storage:
    """A storage read from the archive: a flat numpy array and the device it was saved on."""

    def __init__(self, array, location: str):
        self.array, self.location = array, location


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    import numpy as np
    arr = storage.array
    size, stride = tuple(size), tuple(stride)
    n_needed = storage_offset + sum((s - 1) * st for s, st in zip(size, stride)) + 1 \
        if all(size) else storage_offset
    if storage_offset < 0 or any(st < 0 for st in stride) or n_needed > arr.size:
        raise pickle.UnpicklingError("tensor view runs outside its storage: corrupt checkpoint")
    item = arr.itemsize
    view = np.lib.stride_tricks.as_strided(arr[storage_offset:] if arr.size else arr,
                                           shape=size, strides=tuple(s * item for s in stride),
                                           writeable=False)
    from .._creation import from_numpy
    t = from_numpy(np.array(view, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    t.__dict__["_saved_location"] = storage.location
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, *state):
    from ..nn import Parameter
    p = Parameter(data, requires_grad)
    p.__dict__["_saved_location"] = data.__dict__.get("_saved_location", "cpu")
    return p


def _size(*args):
    from .._size import Size
    return Size(*args)


def _device(*args):
    from .._device import device
    return device(*args)


def _allowed(module: str, name: str):
    if module == "collections" and name == "OrderedDict":
        return OrderedDict
    if module == "torch._utils":
        if name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
    if module == "torch":
        if name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if name in _DTYPE_NAMES:
            from .. import _dtype
            return _dtype._BY_NAME[name]
        if name == "Size":
            return _size
        if name == "device":
            return _device
    if module == "builtins" and name in ("set", "frozenset", "slice", "complex"):
        import builtins
        return getattr(builtins, name)
    if module == "_codecs" and name == "encode":  # how protocol 2 spells a bytes object
        import codecs
        return codecs.encode
    return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(data))
        self._zip, self._prefix = archive, prefix
        self._storages: dict = {}

    def find_class(self, module, name):
        got = _allowed(module, name)
        if got is None:
            raise pickle.UnpicklingError(
                f"ember.load: refusing forbidden global '{module}.{name}' in a PyTorch "
                "checkpoint: only tensors and plain containers are loaded, and ember never "
                "executes code from a file")
        return got

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"ember.load: unsupported persistent id {pid!r:.80}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, _StorageType):
            raise pickle.UnpicklingError("ember.load: storage of an unknown type")
        if key not in self._storages:
            import numpy as np
            from ._safetensors import np_dtype
            dt = np_dtype(stype.dtype)
            try:
                raw = self._zip.read(f"{self._prefix}/data/{key}")
            except KeyError:
                raise pickle.UnpicklingError(f"ember.load: storage {key!r} is missing from the "
                                             "archive") from None
            if len(raw) < numel * dt.itemsize:
                raise pickle.UnpicklingError(f"ember.load: storage {key!r} holds {len(raw)} "
                                             f"bytes, fewer than {numel} {stype.dtype} values")
            arr = np.frombuffer(raw, dtype=dt.newbyteorder("<"), count=numel)
            self._storages[key] = _Storage(arr, str(location))
        return self._storages[key]


def load(data: bytes):
    """Objects from a PyTorch zip checkpoint; tensors on CPU, each remembering its saved
    device in ``__dict__['_saved_location']`` for map_location."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkl:
        raise pickle.UnpicklingError("zip archive has no data.pkl: not a PyTorch checkpoint")
    prefix = pkl[0][:-len("/data.pkl")] if "/" in pkl[0] else ""
    try:
        order = archive.read(f"{prefix}/byteorder").decode().strip()
    except KeyError:
        order = "little"
    if order != "little":
        raise pickle.UnpicklingError(f"ember.load: {order}-endian PyTorch checkpoints are not "
                                     "supported")
    return _Unpickler(archive.read(pkl[0]), archive, prefix).load()
