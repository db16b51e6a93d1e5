"""The caller's allow-list for ``weights_only`` loading: mirrors ``torch.serialization``'s
``add_safe_globals``, ``safe_globals``, ``get_safe_globals``, ``clear_safe_globals``.

An entry is a class or function (allowed under its ``__module__.__qualname__``) or a
``(obj, "module.name")`` pair for an object pickled under another name. Entries in the
``sys``/``os``/``posix``/``nt`` modules are never honoured, as in PyTorch.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Union

SafeGlobal = Union[Callable, "tuple[Callable, str]"]

BLOCKED_MODULES = ("sys", "os", "posix", "nt")

_lock = threading.Lock()
_marked: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Mirrors ``torch.serialization.add_safe_globals``: allow these globals in every
    later ``load(..., weights_only=True)``."""
    global _marked
    with _lock:
        _marked = _marked | set(safe_globals)


def get_safe_globals() -> list:
    """Mirrors ``torch.serialization.get_safe_globals``."""
    return list(_marked)


def clear_safe_globals() -> None:
    """Mirrors ``torch.serialization.clear_safe_globals``."""
    global _marked
    with _lock:
        _marked = set()


def _remove_safe_globals(safe_globals: list) -> None:
    global _marked
    with _lock:
        _marked = _marked - set(safe_globals)


class safe_globals:
    """Mirrors ``torch.serialization.safe_globals``: a context manager allowing these
    globals inside the block."""

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _remove_safe_globals(self.safe_globals)


def user_allowed() -> dict[str, Any]:
    """``{"module.name": obj}`` for the entries allowed now (PyTorch's checks and errors)."""
    out: dict[str, Any] = {}
    for f in _marked:
        if isinstance(f, tuple):
            if len(f) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(f)}")
            if type(f[1]) is not str:
                raise TypeError(f"Expected second item in tuple to be str of callable full "
                                f"path, but got: {type(f[1])}")
            out[f[1]] = f[0]
        else:
            out[f"{f.__module__}.{f.__qualname__}"] = f
    return out
