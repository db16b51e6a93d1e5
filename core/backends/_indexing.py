"""Generic indexing for namespaces that take only the array API standard's keys.

The standard asks every axis to be indexed (a tuple shorter than ``ndim`` needs a trailing
``...``), slice starts within the axis, integer arrays only next to integers and a boolean
mask only alone; numpy (and so the frontend) writes keys without those limits. These are
the defaults behind :meth:`Backend.getitem` / :meth:`Backend.setitem`, reached only when a
namespace refuses a key: a basic key (integers, slices, None, ...) is rewritten into the
standard's form, so the result is still a view; any other key goes through the host.
"""
from __future__ import annotations

from typing import Any

__all__ = ["getitem", "scalar_like", "setitem", "standard_key", "host_key"]

_BASIC = (int, slice, type(None), type(Ellipsis))


def _is_basic(key: tuple) -> bool:
    return all(isinstance(k, _BASIC) and type(k) is not bool for k in key)


def _slice(s: slice, n: int) -> slice:
    start, stop, step = s.indices(n)
    if (stop - start) * step <= 0:  # empty: the standard takes only in-range starts
        return slice(0, 0, 1)
    if step < 0 and stop < 0:  # runs through index 0
        return slice(start, None, step)
    return slice(start, stop, step)


def standard_key(shape: tuple, key: Any) -> tuple | None:
    """``key`` (basic indexing only) in the standard's form for an array of ``shape``, or
    None when the key holds arrays or booleans."""
    key = key if isinstance(key, tuple) else (key,)
    if not _is_basic(key):
        return None
    n_axes = sum(1 for k in key if k is not None and k is not Ellipsis)
    out, axis = [], 0
    for k in key:
        if k is Ellipsis:
            out.append(k)
            axis = len(shape) - (n_axes - axis)
        elif k is None:
            out.append(k)
        else:
            out.append(_slice(k, shape[axis]) if isinstance(k, slice) else k)
            axis += 1
    if Ellipsis not in out:
        out.append(Ellipsis)
    return tuple(out)


def _host(be, x, key):
    import numpy as np
    return np.array(be.to_numpy(x), copy=True), host_key(be, key)


def getitem(be, x: Any, key: Any) -> Any:
    std = standard_key(tuple(x.shape), key)
    if std is not None:
        return x[std]
    import numpy as np
    host, hkey = _host(be, x, key)
    return be.from_numpy(np.array(host[hkey], order="C"), None)


def setitem(be, x: Any, key: Any, value: Any) -> Any:
    std = standard_key(tuple(x.shape), key)
    if std is not None and None not in std:  # the standard takes no None in a write
        x[std] = value
        return x
    host, hkey = _host(be, x, key)
    host[hkey] = be.to_numpy(value) if hasattr(value, "shape") else value
    new = be.from_numpy(host, None)
    if not be.mutable:
        return new
    x[...] = new  # in place, so views and aliases of x see the write
    return x


def scalar_like(be, x: Any, value: Any) -> Any:
    """A Python number as a 0-d array of x's dtype, cast as PyTorch casts (2.7 -> 2 in an
    int tensor, 3 -> True in a bool one, a complex's real part into a real one)."""
    xp = be.xp
    v = xp.asarray(value)
    if xp.isdtype(v.dtype, "complex floating") and not xp.isdtype(x.dtype, "complex floating"):
        v = xp.real(v)
    return xp.astype(v, x.dtype)


def host_key(be, key: Any) -> Any:
    """An index key with device arrays moved to numpy (for host-side generic kernels)."""
    if isinstance(key, tuple):
        return tuple(host_key(be, k) for k in key)
    if key is None or isinstance(key, (int, slice, type(Ellipsis))):
        return key
    return be.to_numpy(key)
