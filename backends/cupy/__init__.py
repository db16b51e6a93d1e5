"""ember_cupy: ember's CUDA backend over CuPy, registered through the ``ember.backends`` entry
point exactly as a third-party backend would be. It serves ``cuda`` and ``cuda:N``.

Without CuPy, or without an NVIDIA driver and device, it stays registered but unavailable:
``ember.cuda.is_available()`` is False and placing a tensor on ``cuda`` raises an error that
says why (CuPy missing, or no CUDA device or driver) and what to install. CuPy is imported
on first use of ``cuda`` (or ``ember.cuda`` queries), never at ``import ember``.
"""
from ember.backends.hookspecs import hookimpl

from .backend import CupyBackend

__all__ = ["CupyBackend"]


@hookimpl
def ember_backends():
    return [CupyBackend()]
