"""Switching numpy's BLAS to one thread for the length of a call, cheaply.

The convolution kernels split a batch across the backend's own threads at 2+ threads
(whole samples per thread, as PyTorch's oneDNN splits whole convolutions), each running
single-threaded BLAS: OpenBLAS otherwise splits every thin per-sample product across its
threads, whose hand-offs cost more than they gain. ``threadpoolctl`` finds the library
but re-scans the loaded libraries on every use (~1 ms); here its ``set_num_threads``
symbol is looked up once and called through ctypes (~1 us). OpenBLAS's count is
process-wide, so it is set around the whole split, never inside a worker. Where no
OpenBLAS is found (another BLAS, no threadpoolctl) :func:`single` does nothing and
:func:`available` is False: the kernels then keep BLAS's own threading."""
from __future__ import annotations

import contextlib
import ctypes

__all__ = ["available", "single"]

_FN: dict = {}


def _find():
    if "set" in _FN:
        return _FN["set"], _FN["get"]
    _FN["set"] = _FN["get"] = None
    try:
        import numpy  # noqa: F401  (loads numpy's BLAS)
        from threadpoolctl import threadpool_info
        infos = [i for i in threadpool_info() if i.get("internal_api") == "openblas"
                 and i.get("threading_layer") == "pthreads"]
        # numpy's own (its wheel's numpy.libs) where scipy brought another; else the one
        own = [i for i in infos if "numpy" in i["filepath"]]
        infos = own or infos
        if len(infos) == 1:
            lib = ctypes.CDLL(infos[0]["filepath"])
            for prefix in ("scipy_", ""):
                for suffix in ("64_", "_64", ""):
                    s = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                    g = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                    if s is not None and g is not None:
                        s.argtypes, s.restype, g.restype = [ctypes.c_int], None, ctypes.c_int
                        _FN["set"], _FN["get"] = s, g
                        return s, g
    except (ImportError, OSError):  # pragma: no cover - no threadpoolctl / odd BLAS
        pass
    return None, None


def available() -> bool:
    """Whether numpy's BLAS thread count can be switched per call."""
    return _find()[0] is not None


@contextlib.contextmanager
def single():
    """numpy's BLAS at one thread inside the block, its count restored after."""
    s, g = _find()
    if s is None:
        yield
        return
    old = g()
    if old == 1:
        yield
        return
    s(1)
    try:
        yield
    finally:
        s(old)
