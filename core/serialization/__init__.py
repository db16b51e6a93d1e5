"""``ember.save`` / ``ember.load``: safe, atomic checkpoints (mirror ``torch.save``/``torch.load``).

Format: every ember checkpoint is a valid safetensors file: the tensors as its entries, and
the object tree around them (dicts, lists, numbers, strings) as JSON in its metadata. It is
data only — loading parses JSON and copies bounds-checked buffers, and never runs code.

``load`` also reads plain safetensors files (as a flat OrderedDict of tensors) and PyTorch's
``torch.save`` zip files (through an unpickler that admits only tensor-rebuild and container
globals). Deliberate differences from PyTorch: whole modules or arbitrary objects are not
saved (a TypeError names where the unsupported object sits: save ``state_dict()``);
``weights_only`` is accepted but loading is always weights-only; views are saved as copies.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from collections import OrderedDict
from typing import Any, BinaryIO, Callable, Union

from . import _safetensors, _tree

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError"]

PathOrFile = Union[str, os.PathLike, BinaryIO]
MapLocation = Union[None, str, Any, dict, Callable]


class CheckpointError(RuntimeError):
    """The file is not a checkpoint ember can read (truncated, another format, corrupt)."""


def _atomic_write(path, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it: a failure at
    any point (an exception, a full disk, Ctrl-C) leaves the old file and no temporary."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every filesystem allows opening a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj: Any, f: PathOrFile, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True) -> None:
    """Mirrors ``torch.save(obj, f)``: ``f`` a path (written atomically) or a binary file."""
    enc = _tree.Encoder()
    root = enc.encode(obj)  # refuses unsupported objects before anything is written
    meta = {"ember": json.dumps(enc.header(root), separators=(",", ":"), allow_nan=False)}

    def write(fh):
        _safetensors.write(fh, enc.arrays, meta)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, write)
    else:
        write(f)


def _read_all(f: PathOrFile) -> tuple[bytes, str]:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read(), os.fspath(f)
    if not hasattr(f, "read"):
        raise TypeError(f"ember.load: expected a path or a binary file object, got "
                        f"{type(f).__name__}")
    data = f.read()
    if isinstance(data, str):
        raise TypeError("ember.load: the file object was opened in text mode; open it with 'rb'")
    return data, getattr(f, "name", "<file object>")


def _target(loc: str, map_location):
    """The device a tensor saved on ``loc`` goes to, per PyTorch's map_location rules."""
    from .._device import device
    if map_location is None:
        return loc
    if isinstance(map_location, (str, device)):
        return map_location
    if isinstance(map_location, dict):
        return map_location.get(loc, loc)
    raise TypeError(f"map_location must be None, a str, an ember.device, a dict or a callable, "
                    f"not {type(map_location).__name__}")


def _place(t, loc: str, map_location):
    """Move a CPU tensor read from a file to where map_location says."""
    if callable(map_location) and not isinstance(map_location, (dict, str)):
        got = map_location(t, loc)
        if got is not None:
            return got
        map_location = None
    dest = _target(loc, map_location)
    from .._creation import resolve_device
    try:
        dev = resolve_device(dest)
    except RuntimeError as e:
        raise RuntimeError(f"Attempting to deserialize object on device '{dest}' but it is not "
                           f"available here ({e}). If you are running on a CPU-only machine, "
                           "please use ember.load with map_location='cpu' to map your storages "
                           "to the CPU.") from None
    return t if dev is t._device else t.to(dev)


def _make_tensor(map_location):
    def make(arr, info):
        from .._creation import from_numpy
        from .. import _dtype
        t = from_numpy(arr)
        if t.dtype.name != info["dtype"]:
            t = t.to(_dtype._BY_NAME[info["dtype"]])
        t = _place(t, info.get("device", "cpu"), map_location)
        rg = bool(info.get("requires_grad")) and (t.dtype.is_floating_point or
                                                  t.dtype.is_complex)
        if info.get("kind") == "parameter":
            from ..nn import Parameter
            return Parameter(t, requires_grad=rg)
        return t.requires_grad_(True) if rg else t
    return make


def load(f: PathOrFile, map_location: MapLocation = None, pickle_module=None, *,
         weights_only: bool = True, mmap=None, **pickle_load_args) -> Any:
    """Mirrors ``torch.load``: an ember checkpoint, a safetensors file, or a PyTorch zip
    checkpoint. ``map_location``: None (the saved device), a device string or
    ``ember.device``, a dict remapping device strings, or ``fn(tensor, location)``."""
    if not (map_location is None or callable(map_location) or
            isinstance(map_location, (str, dict)) or type(map_location).__name__ == "device"):
        raise TypeError(f"map_location must be None, a str, an ember.device, a dict or a "
                        f"callable, not {type(map_location).__name__}")
    data, name = _read_all(f)
    head = bytes(data[:4])
    if head.startswith(b"PK\x03\x04"):
        return _load_torch(data, name, map_location)
    if head[:1] == b"\x80" and len(data) > 2 and data[1] in (2, 3, 4, 5):
        raise CheckpointError(f"ember.load: {name} is a legacy (non-zip) PyTorch checkpoint, "
                              "which ember cannot read safely. Re-save it with a current "
                              "torch.save (the zip format) and load that.")
    try:
        arrays, meta = _safetensors.read(data)
    except _safetensors.FormatError as e:
        raise CheckpointError(f"ember.load: {name} is not an ember, safetensors or PyTorch "
                              f"(zip) checkpoint: {e}") from None
    make = _make_tensor(map_location)
    if "ember" not in meta:  # a plain safetensors file: its flat dict of tensors
        return OrderedDict((k, make(v, {"dtype": v.dtype.name})) for k, v in arrays.items())
    try:
        header = json.loads(meta["ember"])
        if header.get("format") != _tree.FORMAT or not isinstance(header.get("tensors"), dict):
            raise ValueError("not an ember header")
        if header.get("version", 0) > _tree.VERSION:
            raise ValueError(f"written by a newer ember (format version {header['version']})")
        return _tree.Decoder(header, arrays, make).decode(header["root"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise CheckpointError(f"ember.load: {name}: corrupt ember checkpoint header: "
                              f"{e}") from None


def _load_torch(data: bytes, name: str, map_location):
    import pickle
    import zipfile
    from . import _torch_zip
    try:
        obj = _torch_zip.load(data)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(f"{e} (file: {name})") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        raise CheckpointError(f"ember.load: {name}: corrupt PyTorch zip checkpoint: "
                              f"{e}") from None
    return _map_tensors(obj, lambda t: _place(t, t.__dict__.pop("_saved_location", "cpu"),
                                              map_location), {})


def _map_tensors(obj, fn, memo):
    from .._tensor import Tensor
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, Tensor):
        out = fn(obj)
        if type(obj).__name__ == "Parameter" and type(out).__name__ != "Parameter":
            from ..nn import Parameter
            out = Parameter(out, obj.requires_grad)
    elif isinstance(obj, dict):
        out = type(obj)((k, _map_tensors(v, fn, memo)) for k, v in obj.items())
    elif isinstance(obj, list):
        out = [_map_tensors(v, fn, memo) for v in obj]
    elif isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        out = type(obj)(_map_tensors(v, fn, memo) for v in obj)
    else:
        out = obj
    memo[key] = out
    return out


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

    def write(fh):
        _safetensors.write(fh, arrays, metadata)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, write)
    else:
        write(f)


def load_safetensors(f: PathOrFile, device="cpu") -> "OrderedDict":
    """Read a safetensors file into an OrderedDict of tensors on ``device``."""
    return load(f, map_location=device)


def _bytes(obj) -> bytes:
    """The checkpoint bytes for obj (for tests and in-memory use)."""
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()
