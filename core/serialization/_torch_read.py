"""Reading PyTorch's zip checkpoints (``torch.save``'s format, and so ``ember.save``'s).

A :class:`Context` holds one load: the archive, the storages read so far (each a flat numpy
array read straight into its own buffer, or mapped from the file with ``mmap=True``), and
``map_location``. Tensors are strided views of their storage, so views saved together stay
views of one buffer after loading (as in PyTorch; on backends that cannot alias, each view
becomes its own array).

Every size from the file is checked before anything is allocated: records against the
file's real length (see ``_zip``), storages against their records, views against their
storages, and the pickle is read by an unpickler that never preallocates a declared length.
"""
from __future__ import annotations

import pickle
from collections import Counter, OrderedDict

from . import _zip
from ._safetensors import np_dtype
from ._torch_write import STORAGE_TYPES

MAX_DIMS = 64
# caffe2/serialize/versions.h: the archive versions PyTorch reads
_MIN_VERSION, _MAX_VERSION = 1, 10

_LEGACY_STORAGES = {name: dt for dt, name in STORAGE_TYPES.items()}  # FloatStorage: float32
DTYPES = tuple(STORAGE_TYPES)  # the dtypes ember and PyTorch checkpoints share


class FormatError(ValueError):
    """Malformed content (the caller raises it as a CheckpointError)."""


class StorageType:
    """``torch.FloatStorage`` & co. as found in a pickle: only their dtype matters."""

    __slots__ = ("dtype", "name")

    def __init__(self, dtype: str, name: str):
        self.dtype, self.name = dtype, name

    def __repr__(self) -> str:
        return f"StorageType(dtype={self.dtype})"


class _Storage:
    """A storage read from the archive: a flat numpy array and the device it was saved on."""

    __slots__ = ("array", "location")

    def __init__(self, array, location: str):
        self.array, self.location = array, location


def _np_dtype(name: str):
    return np_dtype(name).newbyteorder("<")


def _int(v, what: str) -> int:
    if type(v) is not int and type(v) is not bool:
        raise FormatError(f"{what} must be an int, not {type(v).__name__}")
    return int(v)


def _ints(v, what: str) -> tuple:
    if type(v) is tuple and len(v) <= MAX_DIMS:  # the common case, checked quickly
        for x in v:
            if type(x) is not int:
                break
        else:
            return v
    if not isinstance(v, tuple) and type(v) is not list:
        raise FormatError(f"{what} must be a tuple of ints, not {type(v).__name__}")
    if len(v) > MAX_DIMS:
        raise FormatError(f"{what} has {len(v)} dimensions (at most {MAX_DIMS})")
    return tuple(_int(x, what) for x in v)


class Context:
    """One load of a PyTorch zip archive."""

    def __init__(self, reader: _zip.Reader, map_location, place, mm=None):
        self.reader, self.map_location, self._place, self.mm = reader, map_location, place, mm
        names = reader.names()
        pkl = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if not pkl:
            raise FormatError("zip archive has no data.pkl: not a PyTorch checkpoint")
        self.pkl_name = pkl[0]
        self.prefix = pkl[0][:-len("data.pkl")]  # "archive/" or ""
        self._check_records()
        self._raw: dict = {}

    def _check_records(self) -> None:
        r, p = self.reader, self.prefix
        if p + "byteorder" in r.infos:
            order = r.read(p + "byteorder", limit=16).decode("ascii", "replace").strip()
            if order != "little":
                raise FormatError(f"{order!r}-endian checkpoints are not supported")
        if p + "version" in r.infos:
            text = r.read(p + "version", limit=32).decode("ascii", "replace").strip()
            if not (text.isdigit() and _MIN_VERSION <= int(text) <= _MAX_VERSION):
                raise FormatError(f"archive version {text[:20]!r} is not one PyTorch writes "
                                  f"(supported: {_MIN_VERSION} to {_MAX_VERSION})")

    def pickle_bytes(self) -> bytes:
        return self.reader.read(self.pkl_name)

    # --- storages -----------------------------------------------------------------------
    def persistent_load(self, pid):
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"Only persistent_load of storage is allowed, but "
                                         f"got {str(pid)[:80]}")
        _, stype, key, location, numel = pid
        if not isinstance(stype, StorageType):
            raise FormatError(f"storage of an unknown type {str(stype)[:80]}")
        if type(key) is not str or type(location) is not str:
            raise FormatError("storage key and location must be strings")
        numel = _int(numel, "storage size")
        raw = self._record(key)
        dt = _np_dtype(stype.dtype)
        if numel < 0 or numel * dt.itemsize > raw.size:
            raise FormatError(f"storage {key!r} declares {numel} {stype.dtype} values but its "
                              f"record holds {raw.size} bytes")
        arr = raw[:numel * dt.itemsize].view(dt)
        return _Storage(arr, location)

    def _record(self, key: str):
        """The bytes of ``data/<key>`` as a uint8 array, read (or mapped) once."""
        import numpy as np
        got = self._raw.get(key)
        if got is not None:
            return got
        name = f"{self.prefix}data/{key}"
        if name not in self.reader.infos:
            raise FormatError(f"storage {key!r} is missing from the archive")
        size = self.reader.size(name)  # checked against the file before allocating
        if self.mm is not None and self.reader.info(name).compress_type == 0:  # stored
            start = self.reader.data_offset(name)
            arr = np.frombuffer(self.mm, np.uint8, count=size, offset=start)
        else:
            arr = np.empty(size, np.uint8)
            self.reader.readinto(name, memoryview(arr))
        self._raw[key] = arr
        return arr

    # --- rebuilding tensors (PyTorch's torch._utils functions, over ember) ------------------
    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        return self._tensor(storage, storage_offset, size, stride, requires_grad, None)

    def rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._tensor(storage, storage_offset, size, stride, False, None)

    def rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad,
                          backward_hooks, dtype, metadata=None):
        return self._tensor(storage, storage_offset, size, stride, requires_grad, dtype)

    def _tensor(self, storage, offset, size, stride, requires_grad, dtype):
        import numpy as np
        if not isinstance(storage, _Storage):
            raise FormatError("a tensor's storage is not a storage")
        offset = _int(offset, "storage offset")
        size, stride = _ints(size, "size"), _ints(stride, "stride")
        arr = storage.array
        if dtype is not None:  # v3: an untyped (byte) storage viewed as dtype
            from .._dtype import dtype as DType
            if not isinstance(dtype, DType) or dtype.name not in DTYPES:
                raise FormatError(f"unsupported tensor dtype {str(dtype)[:40]}")
            dt = _np_dtype(dtype.name)
            arr = arr.view(np.uint8)
            arr = arr[:arr.size - arr.size % dt.itemsize].view(dt)
        if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or \
                any(s < 0 for s in stride):
            raise FormatError(f"invalid tensor geometry: size {size}, stride {stride}, "
                              f"offset {offset}")
        if all(size):
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= arr.size:
                raise FormatError(f"tensor view (size {size}, stride {stride}, offset "
                                  f"{offset}) runs outside its storage of {arr.size} elements")
            view = np.lib.stride_tricks.as_strided(
                arr[offset:], shape=size, strides=tuple(s * arr.itemsize for s in stride),
                writeable=arr.flags.writeable)
        else:
            view = np.empty(size, arr.dtype)
        t = self._place.make(view, storage.location, self.map_location)
        if _bool(requires_grad):
            t.requires_grad_(True)
        return t

    def rebuild_parameter(self, data, requires_grad, backward_hooks=None):
        from .._tensor import Tensor
        from ..nn import Parameter
        if not isinstance(data, Tensor):
            raise FormatError("a Parameter's data is not a tensor")
        return Parameter(data, _bool(requires_grad))

    def rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return _set_state(self.rebuild_parameter(data, requires_grad), state)

    def rebuild_from_type_v2(self, func, new_type, args, state):
        from .._tensor import Tensor
        from ..nn import Parameter
        if func not in self.rebuilders or new_type not in (Tensor, Parameter):
            raise FormatError("unsupported tensor subclass rebuild")
        if type(args) is not tuple:
            raise FormatError("rebuild arguments must be a tuple")
        ret = func(*args)
        if new_type is Parameter and type(ret) is not Parameter:
            ret = Parameter(ret, ret.requires_grad)
        return _set_state(ret, state)

    def rebuild_device_tensor_from_cpu_tensor(self, data, dtype, device, requires_grad):
        from .._tensor import Tensor
        if not isinstance(data, Tensor):
            raise FormatError("expected a tensor")
        t = data.to(dtype=dtype, device=self._place(data, str(device), self.map_location).device)
        return t.requires_grad_(_bool(requires_grad)) if t.is_floating_point() else t

    @property
    def rebuilders(self) -> tuple:
        return (self.rebuild_tensor_v2, self.rebuild_tensor, self.rebuild_tensor_v3)

    # --- names -------------------------------------------------------------------------
    def allowed_globals(self) -> dict:
        """PyTorch's default weights-only allow-list, as ember objects, plus numeric numpy
        arrays and scalars. Keys are the names the pickle uses."""
        from .. import _dtype
        from .._tensor import Tensor
        from ..nn import Parameter
        from . import _numpy_pickle
        rc = {
            "collections.OrderedDict": OrderedDict,
            "collections.Counter": Counter,
            "torch.nn.parameter.Parameter": Parameter,
            "torch.Size": _checked_size,
            "torch.Tensor": Tensor,
            "torch.device": _checked_device,
            "_codecs.encode": _latin1_encode,
            "builtins.bytearray": _checked_bytearray,
            "builtins.set": set,
            "builtins.complex": complex,
            "torch._utils._rebuild_tensor": self.rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": self.rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter_with_state,
            "torch._utils._rebuild_device_tensor_from_cpu_tensor":
                self.rebuild_device_tensor_from_cpu_tensor,
            "torch._tensor._rebuild_from_type_v2": self.rebuild_from_type_v2,
            "torch.storage.UntypedStorage": StorageType("uint8", "UntypedStorage"),
        }
        for name in DTYPES:
            rc[f"torch.{name}"] = _dtype._BY_NAME[name]
        for sname, dt in _LEGACY_STORAGES.items():
            rc[f"torch.{sname}"] = StorageType(dt, sname)
            rc[f"torch.cuda.{sname}"] = StorageType(dt, sname)
        rc.update(_numpy_pickle.ALLOWED)
        return rc


# torch's allow-list entries ember has no counterpart for: refused with a clear reason
UNSUPPORTED = {
    "torch._utils._rebuild_qtensor": "quantized tensors",
    "torch._utils._rebuild_sparse_tensor": "sparse tensors",
    "torch._utils._rebuild_nested_tensor": "nested tensors",
    "torch._utils._rebuild_meta_tensor_no_storage": "meta tensors",
    "torch._utils._rebuild_wrapper_subclass": "tensor subclasses",
    "torch._utils._rebuild_device_tensor_from_numpy": "device tensors pickled via numpy",
    **{f"torch.{n}": f"tensors of dtype torch.{n} (ember has no such dtype)" for n in (
        "uint16", "uint32", "uint64", "complex32", "float8_e4m3fn", "float8_e5m2",
        "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "quint8", "qint8", "qint32",
        "quint4x2", "quint2x4")},
}


def _bool(v) -> bool:
    if type(v) is not bool and type(v) is not int:
        raise FormatError(f"expected a bool, got {type(v).__name__}")
    return bool(v)


def _set_state(t, state):
    """Python attributes saved with a tensor (torch's ``_set_obj_state``): plain names only
    (ember keeps its own bookkeeping in ``_``-prefixed ones)."""
    if state is None:
        return t
    if isinstance(state, tuple) and len(state) == 2:
        state = {**(state[0] or {}), **(state[1] or {})}
    if not isinstance(state, dict):
        raise FormatError("tensor state must be a dict")
    for k, v in state.items():
        if type(k) is not str or k.startswith("_"):
            raise FormatError(f"refusing to set attribute {str(k)[:40]!r} on a tensor")
        t.__dict__[k] = v
    return t


def _wrap_host(view, dev=None):
    """A tensor on ``dev`` (default the CPU) over the numpy array ``view``: sharing its
    memory where the backend can."""
    from .._from_data import from_ndarray
    from .._tensor import wrap
    if dev is None:
        from .._creation import resolve_device
        dev = resolve_device("cpu")
    arr, dt = from_ndarray(view)
    if not dev._be.supports_dtype(dt):  # a valid file this device cannot hold: not corrupt
        raise RuntimeError(f"ember.load: the {dev._be.name} backend serving '{dev}' has no "
                           f"{dt.name}; load the checkpoint with map_location to a device "
                           "that has it")
    return wrap(dev._be.from_numpy(arr, dev.index), dt, dev)


def _checked_bytearray(*args):
    """``bytearray(...)`` as protocol 2 writes one (from its latin1 string or bytes), never
    ``bytearray(n)``: a file must not size an allocation."""
    if not args:
        return bytearray()
    if type(args[0]) is str and len(args) == 2 and args[1] in ("latin-1", "latin1"):
        return bytearray(args[0], "latin-1")
    if type(args[0]) is bytes and len(args) == 1:
        return bytearray(args[0])
    raise FormatError("bytearray is loaded only from its bytes")


def _checked_size(*args):
    """``torch.Size(ints)`` from a file."""
    from .._size import Size
    if len(args) > 1:
        raise FormatError("torch.Size takes one sequence")
    return Size(_ints(args[0], "torch.Size") if args else ())


def _checked_device(*args):
    """``torch.device(...)`` from a file: a string PyTorch could have written, else a
    CheckpointError-worthy FormatError."""
    from .._device import device
    if not (1 <= len(args) <= 2 and type(args[0]) is str and len(args[0]) < 64 and
            (len(args) == 1 or args[1] is None or type(args[1]) is int)):
        raise FormatError(f"invalid device arguments {str(args)[:80]}")
    try:
        return device(*args)
    except (RuntimeError, ValueError, TypeError) as e:
        raise FormatError(f"invalid device {str(args)[:80]}: {e}") from None


def _latin1_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles use it (a str to bytes via latin1); other
    codecs are not looked up from a file."""
    if type(obj) is not str or encoding not in ("latin1", "latin-1", "utf-8", "utf8") or \
            errors != "strict":
        raise FormatError("_codecs.encode is allowed only to turn a str into bytes")
    return obj.encode(encoding)


def full_unpickler(base, data: bytes, ctx: Context):
    """For ``weights_only=False``: the caller trusts the file; any global is imported, with
    torch's tensor machinery mapped to ember's and ``torch.x`` names to ``ember.x``."""
    import io
    allowed = ctx.allowed_globals()

    class Unpickler(base):
        def find_class(self, module, name):
            got = allowed.get(f"{module}.{name}")
            if got is not None:
                return got
            if module == "torch" or module.startswith("torch."):  # ember's, even beside torch
                module = "ember" + module[len("torch"):]
            return super().find_class(module, name)

        def persistent_load(self, pid):
            return ctx.persistent_load(pid)

    return Unpickler(io.BytesIO(data))
