"""numpy arrays and scalars inside a checkpoint, loaded under ``weights_only=True``.

A pickled array is ``_reconstruct(ndarray, (0,), b"b")`` then ``BUILD`` with
``(version, shape, dtype, fortran, bytes)``, its dtype ``numpy.dtype("f8", False, True)``
then ``BUILD`` with the byte order. numpy's own ``__setstate__`` would change the object it
is given, and ``np.dtype("f8")`` is numpy's shared float64 dtype: so nothing from the file
reaches numpy's setters. The unpickler gets placeholders (:class:`PendingArray`,
:class:`PendingDtype`) and ``build`` makes a fresh array from checked bytes. Only numeric
dtypes (bool, ints, floats, complex) pass; object, string, void and datetime dtypes do not.
"""
from __future__ import annotations

NUMERIC_KINDS = "biufc"


class Refused(ValueError):
    """The pickle asks for a numpy object this loader does not make."""


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` as ``_reconstruct``'s first argument."""


NDARRAY = _NdarrayToken()


class PendingDtype:
    """``numpy.dtype(spec, align, copy)`` before its BUILD: a checked numeric spec."""

    def __init__(self, spec, align=False, copy=False):
        import numpy as np
        if type(spec) is not str or len(spec) > 8:
            raise Refused("numpy.dtype: only a short type code (like 'f8') is loaded")
        try:
            dt = np.dtype(spec)
        except TypeError:
            raise Refused(f"numpy.dtype({spec!r}) is not a numpy dtype") from None
        if dt.kind not in NUMERIC_KINDS or dt.fields is not None or dt.subdtype is not None:
            raise Refused(f"numpy arrays of dtype {spec!r} are not loaded with weights_only "
                          "(only numeric dtypes are)")
        self.dtype = dt

    def build(self, state):
        if not (isinstance(state, tuple) and len(state) == 8 and state[2:5] == (None,) * 3 and
                state[1] in ("<", ">", "|", "=")):
            raise Refused("numpy dtype state is not that of a plain numeric dtype")
        order = state[1]
        return self.dtype if order in "|=" else self.dtype.newbyteorder(order)


def resolve(dt):
    import numpy as np
    if isinstance(dt, PendingDtype):
        return dt.dtype
    if isinstance(dt, np.dtype) and dt.kind in NUMERIC_KINDS and dt.fields is None:
        return dt
    raise Refused("numpy array without a numeric dtype")


class PendingArray:
    """``_reconstruct(ndarray, (0,), b"b")`` before its BUILD."""

    def build(self, state):
        import numpy as np
        if not (isinstance(state, tuple) and len(state) == 5):
            raise Refused("numpy array state must be (version, shape, dtype, fortran, data)")
        _, shape, dt, fortran, raw = state
        dt = resolve(dt)
        if not (isinstance(shape, tuple) and len(shape) <= 64 and
                all(type(n) is int and n >= 0 for n in shape)):
            raise Refused(f"invalid numpy array shape {str(shape)[:80]}")
        if type(raw) is str:  # protocol 2 with latin1 strings
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise Refused("numpy array data must be bytes")
        n = 1
        for s in shape:
            n *= s
        if n * dt.itemsize != len(raw):
            raise Refused(f"numpy array of shape {shape} and dtype {dt} cannot hold "
                          f"{len(raw)} bytes")
        arr = np.frombuffer(raw, dt, count=n).copy()
        return arr.reshape(shape, order="F" if fortran else "C")


def reconstruct(cls, shape, typecode):
    if cls is not NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise Refused("numpy _reconstruct is only loaded for plain ndarrays")
    return PendingArray()


def scalar(dt, raw=None):
    import numpy as np
    dt = resolve(dt)
    if type(raw) is str:
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes) or len(raw) != dt.itemsize:
        raise Refused("numpy scalar data does not match its dtype")
    return np.frombuffer(raw, dt, count=1)[0]


def empty_bytes(*args):
    """``bytes()``: how protocol 2 writes ``b""`` (the data of an empty array)."""
    if args:
        raise Refused("builtins.bytes is loaded only as the empty bytes object")
    return b""


ALLOWED = {
    "builtins.bytes": empty_bytes,
    "numpy.core.multiarray._reconstruct": reconstruct,
    "numpy._core.multiarray._reconstruct": reconstruct,
    "numpy.ndarray": NDARRAY,
    "numpy.dtype": PendingDtype,
    "numpy.core.multiarray.scalar": scalar,
    "numpy._core.multiarray.scalar": scalar,
}
PLACEHOLDERS = (PendingArray, PendingDtype)
