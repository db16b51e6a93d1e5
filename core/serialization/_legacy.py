"""Reading the checkpoints ember wrote before it wrote PyTorch's format (format "ember",
version 1): a safetensors file whose ``__metadata__["ember"]`` holds the object tree as
JSON, tensors by reference to the file's entries. ``ember.load`` keeps reading them.

Node forms: JSON null/bool/int/str as themselves; every other value is a one-key object:
``{"float": x}`` (x a number or "nan"/"inf"/"-inf"), ``{"list": [...]}``, ``{"tuple": [...]}``,
``{"dict": [[k, v], ...]}``, ``{"odict": [...]}``, ``{"tensor": name}``, ``{"ndarray": name}``,
``{"complex": [re, im]}``, ``{"dtype": name}``, ``{"device": str}``, ``{"size": [...]}``.
"""
from __future__ import annotations

from collections import OrderedDict

FORMAT = "ember"
VERSION = 1


class Decoder:
    """Turns a header's nodes back into objects, making tensors with ``make``."""

    def __init__(self, header: dict, arrays: dict, make):
        self.info = header.get("tensors", {})
        self.arrays = arrays
        self.make = make
        self._made: dict = {}

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"malformed node {str(node)[:80]!r}")
        (kind, val), = node.items()
        if kind == "float":
            return float(val)
        if kind == "list":
            return [self.decode(v) for v in val]
        if kind == "tuple":
            return tuple(self.decode(v) for v in val)
        if kind in ("dict", "odict"):
            pairs = [(self.decode(k), self.decode(v)) for k, v in val]
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        if kind in ("tensor", "ndarray"):
            return self._get(val)
        if kind == "complex":
            return complex(self.decode(val[0]), self.decode(val[1]))
        if kind == "dtype":
            from .._dtype import _BY_NAME
            return _BY_NAME[val]
        if kind == "device":
            from .._device import device
            return device(val)
        if kind == "size":
            from .._size import Size
            return Size(int(v) for v in val)
        raise ValueError(f"unknown node kind {kind!r}")

    def _get(self, name):
        if name in self._made:
            return self._made[name]
        info = self.info.get(name)
        if info is None or name not in self.arrays:
            raise ValueError(f"reference to missing tensor {name!r}")
        arr = self.arrays[name]
        if info.get("dtype") == "complex128":
            import numpy as np
            if arr.dtype != np.float64 or arr.shape[-1:] != (2,):
                raise ValueError(f"tensor {name!r}: bad complex128 encoding")
            arr = np.asarray(arr, order="C").reshape(-1).view(np.complex128).reshape(arr.shape[:-1])
        elif arr.dtype.name != info.get("dtype"):
            raise ValueError(f"tensor {name!r}: stored as {arr.dtype.name}, described as "
                             f"{info.get('dtype')}")
        obj = arr if info.get("kind") == "ndarray" else self.make(arr, info)
        self._made[name] = obj
        return obj
