"""Backend protocol, plugin discovery and device resolution (public API for backend authors).

``Backend`` is the base class to subclass; ``hookimpl`` (from ``ember.backends.hookspecs``)
marks a plugin's ``ember_backends()`` hook. ``register`` adds a backend at run time;
``set_provider`` chooses which backend serves a device type (also ``EMBER_PROVIDERS``).
``pool_geometry`` and ``pool_divisor`` are the pooling arithmetic the generic kernels use,
for backends that override pooling natively.
"""
from .base import Backend
from .registry import (backends, get_backend, known_types, providers, register, set_provider,
                       info, serving)

__all__ = ["Backend", "backends", "get_backend", "known_types", "providers", "register",
           "set_provider", "info", "serving", "hookimpl", "pool_geometry", "pool_divisor"]


def __getattr__(name):
    # pluggy is imported only when a plugin needs the marker, not at ``import ember``
    if name in ("hookimpl", "hookspec"):
        from . import hookspecs
        return getattr(hookspecs, name)
    if name in ("cudnn", "cuda", "mps", "opt_einsum"):
        # torch.backends' flag namespaces (``torch.backends.cudnn.benchmark = True`` on
        # ``import ember as torch``): they live in ember._torch_backends, not in this API
        import importlib
        return importlib.import_module(f"ember._torch_backends.{name}")
    if name in ("pool_geometry", "pool_divisor"):
        from . import _conv
        return getattr(_conv, name)
    raise AttributeError(f"module 'ember.backends' has no attribute {name!r}")
