"""``ember.distributed``: mirrors ``torch.distributed`` -- process groups, collectives,
point-to-point -- over **MPI** (mpi4py; Open MPI or MPICH) for CPU tensors and **NCCL**
(CuPy's ``cupy.cuda.nccl``) for ``cuda`` tensors of an ``"nccl"`` group.

Start the ranks with ``ember run --nproc N script.py`` (or ``mpirun -n N ember run
script.py``; across machines ``mpirun --hostfile``); ``init_process_group`` then takes
ranks and world size from MPI. Backends: ``"mpi"``, ``"nccl"``; ``"gloo"`` is accepted and
served by MPI. Deliberate differences from PyTorch:

- every operation is bounded by the group's ``timeout``: MPI's non-blocking form is polled
  until the deadline, after which the survivors raise ``DistBackendError``; the group is
  then unusable and the process ends the MPI job at exit (``MPI_Abort``) -- see ``_mpi``;
- ranks check that they pass the same shapes/dtypes/roots to a collective (one small
  all-gather first) and all raise the same ``RuntimeError`` if not;
- ``init_method``/``store`` are accepted but unused (MPI did the rendezvous); torchrun
  alone cannot start the ranks.

Nothing here imports mpi4py or CuPy until a process group is created.
"""
from ._collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all_single,
                           barrier, broadcast, gather, monitored_barrier, reduce,
                           reduce_scatter, reduce_scatter_tensor, scatter)
from ._objects import (all_gather_object, broadcast_object_list, gather_object,
                       scatter_object_list)
from ._p2p import P2POp, batch_isend_irecv, irecv, isend, recv, send
from ._state import (GroupMember, ProcessGroup, destroy_process_group, get_backend,
                     get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                     get_world_size, group, init_process_group, is_available,
                     is_gloo_available, is_initialized, is_mpi_available, is_nccl_available,
                     is_torchelastic_launched, new_group)
from ._types import (Backend, DistBackendError, DistError, DistNetworkError, DistStoreError,
                     ReduceOp, Work, default_pg_timeout)

__all__ = ["Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
           "GroupMember", "P2POp", "ProcessGroup", "ReduceOp", "Work", "all_gather",
           "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all_single",
           "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
           "default_pg_timeout", "destroy_process_group", "gather", "gather_object",
           "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks",
           "get_rank", "get_world_size", "group", "init_process_group", "irecv", "is_available",
           "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "is_torchelastic_launched", "isend", "monitored_barrier", "new_group", "recv",
           "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
           "scatter_object_list", "send"]
