"""``ember.save`` / ``ember.load``: mirror ``torch.save`` / ``torch.load`` and
``torch.serialization``.

``save`` writes PyTorch's zip checkpoint format (what ``torch.save`` writes), so
``torch.load`` opens an ember checkpoint and ``ember.load`` opens PyTorch's. A path is
written atomically (see ``_atomic``). Whole objects (``save(model)``) are pickled as
PyTorch pickles them: classes by reference.

``load`` defaults to ``weights_only=True`` with PyTorch's rules: only tensors, containers,
numbers, strings and PyTorch's allow-list load, plus numeric numpy arrays (PyTorch refuses
those; ember admits them because training scripts keep them in checkpoints) and what the
caller allows with :func:`add_safe_globals` / :class:`safe_globals`. ``weights_only=False``
unpickles fully (only for files you trust). ``load`` also reads plain safetensors files and
the checkpoints ember wrote before (safetensors with an ember header).

Untrusted files cannot run code, change process state, or make ember allocate more than
the file holds: see ``_unpickler`` and ``_zip``. A malformed file raises
:class:`CheckpointError`; a refused global raises ``pickle.UnpicklingError`` with PyTorch's
message.

Deliberate differences from PyTorch: the legacy (pre-1.6, non-zip) format is neither
written (``_use_new_zipfile_serialization=False`` still writes zip) nor read; quantized,
sparse and nested tensors are not loaded; ``pickle_module`` is used for
``weights_only=False`` loading, while saving always uses the standard pickle protocol.
"""
from __future__ import annotations

import io
import os
import pickle
import stat
import struct
from collections import OrderedDict
from typing import Any, BinaryIO, Callable, Union

from . import _atomic, _legacy, _safetensors, _torch_read, _torch_write, _unpickler, _zip
from ._numpy_pickle import Refused as _Refused
from ._safe_globals import (add_safe_globals, clear_safe_globals, get_safe_globals,
                            safe_globals)

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
           "add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals",
           "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
PathOrFile = Union[str, os.PathLike, BinaryIO]
MapLocation = Union[None, str, Any, dict, Callable]


class CheckpointError(RuntimeError):
    """The file is not a checkpoint ember can read (truncated, another format, corrupt,
    or with sizes or values no writer produces)."""


# errors that mean "malformed input" wherever they come from while parsing a file
_MALFORMED = (_torch_read.FormatError, _zip.ZipFormatError, _unpickler.Truncated,
              _safetensors.FormatError, _Refused, ValueError, TypeError, KeyError, IndexError,
              AttributeError, RecursionError, OverflowError, struct.error, UnicodeDecodeError,
              EOFError)


# --- save ------------------------------------------------------------------------------------

def save(obj: Any, f: PathOrFile, pickle_module: Any = None,
         pickle_protocol: int = DEFAULT_PROTOCOL, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Mirrors ``torch.save(obj, f)``: PyTorch's zip format, to a path (atomically) or a
    binary file object."""
    def fill(fh):
        _torch_write.write(obj, fh, pickle_protocol)
    if isinstance(f, (str, os.PathLike)):
        _atomic.write(f, fill)
    else:
        if not hasattr(f, "write"):
            raise AttributeError(f"'{type(f).__name__}' object has no attribute 'write'")
        fill(f)


def save_safetensors(tensors: dict, f: PathOrFile, metadata: dict | None = None) -> None:
    """Write a flat ``{name: tensor}`` dict as a plain safetensors file (what
    ``safetensors.torch.save_file`` writes), atomically when ``f`` is a path."""
    import numpy as np
    from .._tensor import Tensor
    arrays = {}
    for k, t in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"safetensors keys must be str, got {type(k).__name__}")
        if not isinstance(t, Tensor):
            raise TypeError(f"save_safetensors: {k!r} is a {type(t).__name__}, not a Tensor")
        arrays[k] = np.asarray(t._device._be.to_numpy(t.detach()._data))

    def fill(fh):
        _safetensors.write(fh, arrays, metadata)
    if isinstance(f, (str, os.PathLike)):
        _atomic.write(f, fill)
    else:
        fill(f)


# --- opening ---------------------------------------------------------------------------------

class _Source:
    """A checkpoint to read: a seekable binary file, its length, and (``mmap=True``) a
    private copy-on-write map of it."""

    def __init__(self, f: PathOrFile, want_mmap: bool):
        self.own, self.mm = None, None
        if isinstance(f, (str, os.PathLike)):
            self.name = os.fspath(f)
            st = os.stat(self.name)
            _check_kind(st, self.name)
            fh = self.own = open(self.name, "rb")
        else:
            if not hasattr(f, "read"):
                raise TypeError(f"ember.load: expected a path or a binary file object, got "
                                f"{type(f).__name__}")
            self.name = getattr(f, "name", "<file object>")
            fh = f
            st = _fstat(fh)
            if st is not None:
                _check_kind(st, self.name)
        if isinstance(fh.read(0), str):
            raise TypeError("ember.load: the file object was opened in text mode; open it with "
                            "'rb'")
        seekable = st is None or stat.S_ISREG(st.st_mode)
        try:
            seekable = seekable and fh.seekable() and fh.tell() == 0
        except (AttributeError, OSError):
            seekable = False
        if not seekable:  # a pipe or a positioned/unseekable stream: read what it holds
            fh = io.BytesIO(fh.read())
        self.fh = fh
        self.length = fh.seek(0, 2)
        fh.seek(0)
        if want_mmap:
            import mmap
            try:
                fileno = fh.fileno()
            except (AttributeError, OSError, io.UnsupportedOperation):
                raise ValueError("f must be a file path or a real file object in order to use "
                                 "the mmap argument") from None
            if self.length:
                self.mm = mmap.mmap(fileno, 0, access=mmap.ACCESS_COPY)

    def head(self, n: int) -> bytes:
        self.fh.seek(0)
        b = self.fh.read(n)
        self.fh.seek(0)
        return b

    def whole(self):
        """The whole file as a writable buffer (the map with mmap=True)."""
        if self.mm is not None:
            return self.mm
        buf = bytearray(self.length)
        got = _zip._readinto_all(self.fh, memoryview(buf))
        if got != self.length:
            raise CheckpointError(f"ember.load: {self.name} changed while it was read")
        return buf

    def close(self) -> None:
        if self.own is not None:
            self.own.close()


def _fstat(fh):
    try:
        return os.fstat(fh.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return None


def _check_kind(st, name: str) -> None:
    """A regular file, a pipe or a socket are read; a device (``/dev/zero``: endless) or a
    folder is refused before reading a byte."""
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"[Errno 21] Is a directory: '{name}'")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or
            stat.S_ISSOCK(st.st_mode)):
        raise CheckpointError(f"ember.load: {name} is not a regular file (a device?); "
                              "checkpoints are read from files")


# --- load ------------------------------------------------------------------------------------

def load(f: PathOrFile, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Mirrors ``torch.load``: a PyTorch/ember zip checkpoint, a safetensors file, or an
    older ember checkpoint. ``map_location``: None (the saved device), a device string or
    ``ember.device``, a dict remapping device strings, or ``fn(tensor, location)``.
    ``mmap=True`` maps the file (copy-on-write) instead of reading it: storages are views
    of the map, paged in as they are used."""
    if not (map_location is None or callable(map_location) or
            isinstance(map_location, (str, dict)) or type(map_location).__name__ == "device"):
        raise TypeError(f"map_location must be None, a str, an ember.device, a dict or a "
                        f"callable, not {type(map_location).__name__}")
    if weights_only is None:
        weights_only = pickle_module is None
    elif weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                           "specified")
    src = _Source(f, bool(mmap))
    try:
        head = src.head(8)
        if head.startswith(b"PK\x03\x04"):
            return _load_zip(src, map_location, pickle_module, weights_only,
                             pickle_load_args)
        if head[:1] == b"\x80" and len(head) > 2 and head[1] in (2, 3, 4, 5):
            raise CheckpointError(f"ember.load: {src.name} is a legacy (non-zip) PyTorch "
                                  "checkpoint, which ember cannot read safely. Re-save it with "
                                  "a current torch.save (the zip format) and load that.")
        return _load_safetensors(src, map_location)
    finally:
        src.close()


def _load_zip(src: _Source, map_location, pickle_module, weights_only: bool, load_args):
    try:
        ctx = _torch_read.Context(_zip.Reader(src.fh, src.length), map_location, _Placer(),
                                  src.mm)
        data = ctx.pickle_bytes()
    except _MALFORMED as e:
        raise CheckpointError(f"ember.load: {src.name}: corrupt PyTorch zip checkpoint: "
                              f"{e}") from None
    if not weights_only:
        up = _torch_read.full_unpickler((pickle_module or pickle).Unpickler, data, ctx)
        try:
            return up.load()
        except (_torch_read.FormatError, _zip.ZipFormatError) as e:
            raise CheckpointError(f"ember.load: {src.name}: corrupt PyTorch zip checkpoint: "
                                  f"{e}") from None
    up = _unpickler.Unpickler(data, ctx.allowed_globals(), ctx.persistent_load,
                              _torch_read.UNSUPPORTED)
    try:
        return up.load()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(_weights_only_message(str(e))) from None
    except _MALFORMED as e:
        raise CheckpointError(f"ember.load: {src.name}: corrupt PyTorch zip checkpoint: "
                              f"{type(e).__name__}: {str(e)[:300]}") from None


_UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
    "`torch.load` from `False` to `True` (ember.load follows). Re-running `load` with "
    "`weights_only` set to `False` will likely succeed, but it can result in arbitrary code "
    "execution. Do it only if you got the file from a trusted source.")


def _weights_only_message(message: str) -> str:
    """PyTorch's wrapping of a weights-only refusal (``torch.load``'s ``_get_wo_message``)."""
    if "was not an allowed global by default" in message:
        return ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, do those steps only if you trust the source of the checkpoint. "
                f"\n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
                "`weights_only=True` please check the recommended steps in the following error "
                "message.\n\tWeightsUnpickler error: " + message)
    return f"Weights only load failed. {_UNSAFE_MESSAGE}\n\n{message}"


def _load_safetensors(src: _Source, map_location):
    try:
        arrays, meta = _safetensors.read(src.whole())
    except _safetensors.FormatError as e:
        raise CheckpointError(f"ember.load: {src.name} is not an ember, safetensors or PyTorch "
                              f"(zip) checkpoint: {e}") from None
    make = _make_tensor(map_location)
    if "ember" not in meta:  # a plain safetensors file: its flat dict of tensors
        return OrderedDict((k, make(v, {"dtype": v.dtype.name})) for k, v in arrays.items())
    try:
        header = _safetensors.parse_json(meta["ember"].encode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != _legacy.FORMAT or \
                not isinstance(header.get("tensors"), dict):
            raise ValueError("not an ember header")
        version = header.get("version", 0)
        if type(version) is not int or version > _legacy.VERSION:
            raise ValueError(f"written by a newer ember (format version {str(version)[:20]})")
        return _legacy.Decoder(header, arrays, make).decode(header["root"])
    except (_safetensors.FormatError, _torch_read.FormatError, *_MALFORMED) as e:
        raise CheckpointError(f"ember.load: {src.name}: corrupt ember checkpoint header: "
                              f"{str(e)[:300]}") from None


def _make_tensor(map_location):
    def make(arr, info):
        from .. import _dtype
        name = info.get("dtype")
        if not isinstance(name, str) or name not in _torch_read.DTYPES:
            raise ValueError(f"unsupported dtype {str(name)[:40]!r}")
        t = _torch_read._wrap_host(arr)
        if t.dtype.name != name:
            t = t.to(_dtype._BY_NAME[name])
        loc = info.get("device", "cpu")
        if not isinstance(loc, str):
            raise ValueError("device must be a string")
        t = _place(t, loc, map_location)
        rg = info.get("requires_grad") is True and (t.dtype.is_floating_point or
                                                     t.dtype.is_complex)
        if info.get("kind") == "parameter":
            from ..nn import Parameter
            return Parameter(t, requires_grad=rg)
        return t.requires_grad_(True) if rg else t
    return make


# --- map_location ----------------------------------------------------------------------------

class _Placer:
    """Tensors for one load: each saved location is resolved to a device once, and a
    tensor is made on its device directly from the host array (no CPU tensor first)."""

    def __init__(self):
        self._devs: dict = {}

    def __call__(self, t, loc: str, map_location):
        if _callable_location(map_location):
            return _place(t, loc, map_location)
        dev = self._dev(loc, map_location)
        return t if dev is t._device else t.to(dev)

    def make(self, arr, loc: str, map_location):
        if _callable_location(map_location):
            return _place(_torch_read._wrap_host(arr), loc, map_location)
        return _torch_read._wrap_host(arr, self._dev(loc, map_location))

    def _dev(self, loc: str, map_location):
        dev = self._devs.get(loc)
        if dev is None:
            dev = self._devs[loc] = _destination(loc, map_location)
        return dev


def _target(loc: str, map_location):
    """The device a tensor saved on ``loc`` goes to, per PyTorch's map_location rules."""
    if map_location is None:
        return loc
    if isinstance(map_location, dict):
        return map_location.get(loc, loc)
    return map_location  # a str or an ember.device


def _place(t, loc: str, map_location):
    """Move a CPU tensor read from a file to where map_location says."""
    if _callable_location(map_location):
        _check_location(loc)
        got = map_location(t, loc)
        if got is not None:
            return got
        map_location = None
    dev = _destination(loc, map_location)
    return t if dev is t._device else t.to(dev)


def _callable_location(map_location) -> bool:
    from .._device import device
    return callable(map_location) and not isinstance(map_location, (dict, str, device))


def _check_location(loc: str) -> None:
    from .._device import device
    try:
        device(loc)
    except (RuntimeError, ValueError, TypeError) as e:
        raise _torch_read.FormatError(f"unknown device {loc[:40]!r} in checkpoint "
                                      f"({e})") from None


def _destination(loc: str, map_location):
    """The ember device for a tensor saved on ``loc`` (``map_location`` not a callable)."""
    _check_location(loc)
    dest = _target(loc, map_location)
    from .._creation import resolve_device
    try:
        return resolve_device(dest)
    except RuntimeError as e:
        raise RuntimeError(f"Attempting to deserialize object on device '{dest}' but it is not "
                           f"available here ({e}). If you are running on a CPU-only machine, "
                           "please use ember.load with map_location='cpu' to map your storages "
                           "to the CPU.") from None


def load_safetensors(f: PathOrFile, device="cpu") -> "OrderedDict":
    """Read a safetensors file into an OrderedDict of tensors on ``device``."""
    return load(f, map_location=device)


# --- weights-only helpers ----------------------------------------------------------------------

def get_unsafe_globals_in_checkpoint(f: PathOrFile) -> list:
    """Mirrors ``torch.serialization.get_unsafe_globals_in_checkpoint``: the GLOBALs in a
    checkpoint's pickle that ``weights_only`` loading would refuse (read statically)."""
    from ._safe_globals import user_allowed
    src = _Source(f, False)
    try:
        if not src.head(4).startswith(b"PK\x03\x04"):
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        try:
            ctx = _torch_read.Context(_zip.Reader(src.fh, src.length), None, _Placer())
            names = _unpickler.globals_in(ctx.pickle_bytes())
        except _MALFORMED as e:
            raise CheckpointError(f"ember.load: {src.name}: corrupt PyTorch zip checkpoint: "
                                  f"{e}") from None
        safe = set(ctx.allowed_globals()) | set(user_allowed())
        return [n for n in names if n not in safe]
    finally:
        src.close()


def _bytes(obj) -> bytes:
    """The checkpoint bytes for obj (for tests and in-memory use)."""
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()

