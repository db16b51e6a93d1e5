"""``ember.multiprocessing``: mirrors ``torch.multiprocessing`` -- Python's
``multiprocessing`` (every name of it: ``Process``, ``Queue``, ``Pipe``, ``get_context``,
``set_start_method`` ...) with ember tensors travelling through shared memory, plus
``spawn``/``start_processes``.

As in PyTorch, importing it teaches multiprocessing's pickler (``ForkingPickler``) to send
tensors through the DataLoader's transport (``ember.utils.data._transport``): a tensor's
buffer of 256 KiB or more goes into one ``/dev/shm`` file that the receiver maps without
copying, so any ``Queue``/``Pipe``/``Process`` argument carries tensors that way, under any
start method. Deliberate difference: the receiver gets a snapshot taken when the tensor
was sent, not a view of the sender's storage (PyTorch's ``share_memory_`` semantics);
in-place changes on either side are not seen by the other. A file that is sent but never
received is removed when the process tree's first process (the one that imported this
first) exits.
"""
from multiprocessing import *  # noqa: F401,F403
from multiprocessing import __all__ as _mp_all

from ._reductions import init_reductions
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException,
                    SpawnContext, spawn, start_processes)

init_reductions()

_STRATEGIES = {"file_system"}
_strategy = ["file_system"]


def get_all_sharing_strategies() -> set:
    """Mirrors ``torch.multiprocessing.get_all_sharing_strategies``: ember shares through
    ``/dev/shm`` files ("file_system")."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    return _strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    if new_strategy not in _STRATEGIES:
        raise ValueError(f"sharing strategy {new_strategy!r} is not supported (ember shares "
                         f"tensors through /dev/shm files: 'file_system')")
    _strategy[0] = new_strategy


__all__ = list(_mp_all) + ["spawn", "start_processes", "ProcessContext", "SpawnContext",
                           "ProcessRaisedException", "ProcessExitedException",
                           "get_all_sharing_strategies", "get_sharing_strategy",
                           "set_sharing_strategy"]
