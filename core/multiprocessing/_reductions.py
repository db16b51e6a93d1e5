"""Tensors through multiprocessing's pickler, over the DataLoader's shared-memory transport.

Files carry a prefix shared by the whole process tree (``EMBER_MP_SHM_PREFIX``, set by the
first process to import this and inherited by its children); that first process removes
any file left with it at exit: one sent but never received.
"""
from __future__ import annotations

import atexit
import os
import uuid
from multiprocessing.reduction import ForkingPickler

from ..utils.data import _transport

_ENV = "EMBER_MP_SHM_PREFIX"
_done = [False]


def _prefix() -> str:
    return os.environ[_ENV] + f"{os.getpid()}-"


def _rebuild(frame: bytes):
    return _transport.loads(frame)


def _reduce(t):
    return (_rebuild, (_transport.dumps(t, _prefix()),))


def init_reductions() -> None:
    """Register the tensor reduction with ``ForkingPickler`` (once per process)."""
    if _done[0]:
        return
    _done[0] = True
    if _ENV not in os.environ:
        family = f"ember-mp-{uuid.uuid4().hex[:12]}-"
        os.environ[_ENV] = family
        atexit.register(_transport.remove_files, family)
    from .._tensor import Tensor
    from ..nn.parameter import Parameter
    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, _reduce)
