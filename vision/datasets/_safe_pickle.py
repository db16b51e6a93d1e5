"""A restricted unpickler for the CIFAR "python version" batches.

Those files are Python pickles of a dict of numpy arrays and lists. ``pickle.load`` on a
downloaded file would run whatever callable the file names, so here only the few globals
that numpy's own array pickles use are resolved (each to a checking stand-in), and the
loaded object must be a dict whose keys are known CIFAR keys and whose values are numeric
arrays, numbers, strings/bytes or lists of those. Anything else raises
``pickle.UnpicklingError`` before, not after, it could run."""
from __future__ import annotations

import codecs
import io
import pickle

import numpy as np

__all__ = ["load_cifar_pickle", "CIFAR_KEYS"]

CIFAR_KEYS = frozenset({
    "data", "labels", "fine_labels", "coarse_labels", "filenames", "batch_label",
    "label_names", "fine_label_names", "coarse_label_names", "num_cases_per_batch",
    "num_vis",
})
_NUMERIC_KINDS = frozenset("biuf")


def _checked_dtype(*args):
    d = np.dtype(*args)
    if d.hasobject:
        raise pickle.UnpicklingError("refusing an object dtype in a CIFAR file")
    return d


def _reconstruct(cls, shape, typecode):
    # numpy's ``multiarray._reconstruct``: an empty array whose state (shape, dtype, raw
    # bytes) comes from the following BUILD opcode
    if cls is not np.ndarray:
        raise pickle.UnpicklingError("refusing an ndarray subclass in a CIFAR file")
    return np.ndarray.__new__(np.ndarray, shape, np.uint8)


def _frombuffer(buf, dtype, shape, order):
    # numpy's pickle protocol 5 path (``numeric._frombuffer``)
    dtype = _checked_dtype(dtype)
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def _encode(obj, encoding="latin1"):
    # protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1")
    if not isinstance(obj, str) or not isinstance(encoding, str):
        raise pickle.UnpicklingError("bad _codecs.encode call in a CIFAR file")
    return codecs.encode(obj, encoding)


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _checked_dtype,
    ("_codecs", "encode"): _encode,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name} from a CIFAR file (only numpy "
                f"arrays, numbers, strings and lists are allowed)") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed in a CIFAR file")


def _check_value(key: str, v, depth: int = 0) -> None:
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in _NUMERIC_KINDS:
            raise pickle.UnpicklingError(f"{key!r}: array of dtype {v.dtype} is not numeric")
    elif isinstance(v, (list, tuple)) and depth == 0:
        for item in v:
            _check_value(key, item, depth + 1)
    elif not isinstance(v, (bool, int, float, str, bytes)):
        raise pickle.UnpicklingError(f"{key!r}: unexpected {type(v).__name__} in a CIFAR file")


def load_cifar_pickle(path: str) -> dict:
    """Read a CIFAR batch/meta pickle (Python 2 or 3 written) as torchvision does with
    ``pickle.load(f, encoding="latin1")``, but safely; keys come back as ``str``."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        obj = _Unpickler(io.BytesIO(raw), encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(f"{path}: {e}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError) as e:
        raise pickle.UnpicklingError(f"{path}: not a valid CIFAR pickle ({e})") from None
    if not isinstance(obj, dict):
        raise pickle.UnpicklingError(f"{path}: a CIFAR file holds a dict, got "
                                     f"{type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        key = k.decode("latin1") if isinstance(k, bytes) else k
        if key not in CIFAR_KEYS:
            raise pickle.UnpicklingError(f"{path}: unknown key {key!r} in a CIFAR file")
        try:
            _check_value(key, v)
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(f"{path}: {e}") from None
        out[key] = v
    return out
