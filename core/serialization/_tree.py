"""Encoding a checkpoint's object tree as JSON (and back), tensors by reference.

What a ``state_dict`` or a training checkpoint holds: tensors, numpy arrays, and nested
dict / OrderedDict / list / tuple of those plus int, float, bool, str, None (and ember
dtypes, devices and Sizes, which optimizer and model code keep around). Anything else is
refused *before* a byte is written, with the path to the offending object.

Node forms: JSON null/bool/int/str as themselves; every other value is a one-key object:
``{"float": x}`` (x a number or "nan"/"inf"/"-inf"), ``{"list": [...]}``, ``{"tuple": [...]}``,
``{"dict": [[k, v], ...]}``, ``{"odict": [...]}``, ``{"tensor": name}``, ``{"ndarray": name}``,
``{"complex": [re, im]}``, ``{"dtype": name}``, ``{"device": str}``, ``{"size": [...]}``.
"""
from __future__ import annotations

import math
from collections import OrderedDict

FORMAT = "ember"
VERSION = 1


class Encoder:
    """Walks an object, returning its JSON node and collecting arrays to store."""

    def __init__(self):
        self.arrays: dict = {}     # name -> numpy array as stored
        self.tensors: dict = {}    # name -> {"dtype", "device", "requires_grad", "kind"}
        self._seen: dict = {}      # id(obj) -> name, so a tensor saved twice loads as one

    def encode(self, obj, path: str = "obj"):
        from .._tensor import Tensor
        from .._dtype import dtype as DType
        from .._device import device as Device
        from .._size import Size
        t = type(obj)
        if obj is None or t is bool or t is int or t is str:
            return obj
        if t is float:
            return {"float": obj if math.isfinite(obj) else repr(obj)}
        if t is complex:
            return {"complex": [self.encode(obj.real), self.encode(obj.imag)]}
        if isinstance(obj, Tensor):
            return {"tensor": self._tensor(obj, path)}
        if isinstance(obj, DType):
            return {"dtype": obj.name}
        if isinstance(obj, Device):
            return {"device": str(obj)}
        if isinstance(obj, Size):
            return {"size": list(obj)}
        if isinstance(obj, OrderedDict):
            return {"odict": [[self.encode(k, f"{path} key"), self.encode(v, f"{path}[{k!r}]")]
                              for k, v in obj.items()]}
        if t is dict:
            return {"dict": [[self.encode(k, f"{path} key"), self.encode(v, f"{path}[{k!r}]")]
                             for k, v in obj.items()]}
        if t is list:
            return {"list": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if t is tuple:
            return {"tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        mod = getattr(t, "__module__", "")
        if mod == "numpy" and t.__name__ == "ndarray":
            return {"ndarray": self._array(obj, path)}
        if mod == "numpy" and hasattr(obj, "item"):  # numpy scalar: keep its value
            return self.encode(obj.item(), path)
        raise TypeError(f"ember.save: cannot save an object of type '{t.__module__}."
                        f"{t.__qualname__}' at {path}: only tensors, numpy arrays, dict/"
                        "OrderedDict/list/tuple, int, float, bool, str and None are saved "
                        "(save a module's state_dict(), not the module)")

    def _array(self, arr, path):
        key = id(arr)
        if key in self._seen:
            return self._seen[key]
        if arr.dtype.kind not in "biufc" and arr.dtype.name != "bfloat16":
            raise TypeError(f"ember.save: cannot save a numpy array of dtype {arr.dtype} at "
                            f"{path}")
        name = f"a{len(self.arrays)}"
        self._store(name, arr)
        self.tensors[name] = {"dtype": arr.dtype.name, "kind": "ndarray"}
        self._seen[key] = name
        return name

    def _tensor(self, t, path):
        key = id(t)
        if key in self._seen:
            return self._seen[key]
        import numpy as np
        arr = np.asarray(t._device._be.to_numpy(t.detach()._data))
        name = f"t{len(self.arrays)}"
        self._store(name, arr)
        kind = "parameter" if type(t).__name__ == "Parameter" else "tensor"
        self.tensors[name] = {"dtype": t.dtype.name, "device": str(t.device),
                              "requires_grad": bool(t.requires_grad), "kind": kind}
        self._seen[key] = name
        return name

    def _store(self, name, arr):
        import numpy as np
        if arr.dtype.name == "complex128":
            # safetensors has no 128-bit complex: store (re, im) pairs as float64 [..., 2]
            arr = np.asarray(arr, order="C").reshape(-1).view(np.float64).reshape(arr.shape + (2,))
        self.arrays[name] = arr

    def header(self, root) -> dict:
        return {"format": FORMAT, "version": VERSION, "root": root, "tensors": self.tensors}


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
