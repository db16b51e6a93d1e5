"""Process groups: ``init_process_group``, ``new_group``, ``destroy_process_group`` and the
rank/size queries, as ``torch.distributed.distributed_c10d`` has them.

Every process group holds an MPI communicator (the default group a duplicate of
``MPI_COMM_WORLD``, ``new_group`` a split of it). With the ``"nccl"`` backend a group also
opens, on first use per CUDA device, an NCCL communicator (its unique id travels over the
MPI communicator); ``cuda`` tensors then go through NCCL and everything else through MPI.
Ranks and world size are MPI's; torchrun's variables (``RANK``, ``WORLD_SIZE``) and the
arguments of ``init_process_group`` are checked against them.
"""
from __future__ import annotations

import importlib.util
import os
import warnings
from datetime import timedelta

from . import _mpi
from ._types import Backend, _seconds, default_pg_timeout

__all__ = ["ProcessGroup", "GroupMember", "group", "init_process_group", "is_initialized",
           "is_available", "is_mpi_available", "is_nccl_available", "is_gloo_available",
           "is_torchelastic_launched", "get_rank", "get_world_size", "get_backend",
           "destroy_process_group", "new_group", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "default_group"]

_NOT_INIT = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")
_NO_MPI = ("ember.distributed needs mpi4py and an MPI library for its process groups: "
           "`apt-get install openmpi-bin libopenmpi-dev` (or MPICH), then "
           "`pip install 'ember[distributed]'` (mpi4py)")


class ProcessGroup:
    """Mirrors ``torch.distributed.ProcessGroup``: the ranks of one communicator."""

    def __init__(self, backend: str, ranks: list[int], comm: "_mpi.MpiComm | None",
                 timeout: float, cuda_nccl: bool) -> None:
        self._backend = backend
        self._ranks = ranks          # global ranks, in group-rank order
        self._comm = comm            # None on a rank outside the group
        self._timeout = timeout
        self._cuda_nccl = cuda_nccl  # cuda tensors through NCCL
        self._nccl: dict = {}        # device index -> _nccl.NcclComm

    def rank(self) -> int:
        return self._comm.rank if self._comm is not None else -1

    def size(self) -> int:
        return len(self._ranks)

    def name(self) -> str:
        return self._backend

    def nccl(self, index: int):
        comm = self._nccl.get(index)
        if comm is None:
            from ._nccl import NcclComm
            comm = self._nccl[index] = NcclComm(self._comm, index, self._timeout)
        return comm

    def _free(self) -> None:
        for c in self._nccl.values():
            c.destroy()
        self._nccl.clear()
        if self._comm is not None:
            self._comm.free()
        self._comm = None

    def __repr__(self) -> str:
        return f"<ember.distributed.ProcessGroup {self._backend} ranks={self._ranks}>"


class GroupMember:
    """Mirrors ``torch.distributed.GroupMember``: ``WORLD`` is the default group once
    initialised; ``NON_GROUP_MEMBER`` is what ``new_group`` returns to ranks outside it."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = -100


group = GroupMember  # ``dist.group.WORLD`` as in PyTorch

_GROUPS: list[ProcessGroup] = []
_NOTED = [False]


def is_available() -> bool:
    """Mirrors ``torch.distributed.is_available``: True where mpi4py (or CuPy's NCCL)
    can be imported."""
    return is_mpi_available() or is_nccl_available()


def is_mpi_available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


def is_gloo_available() -> bool:
    """ember has no Gloo; ``"gloo"`` is served by MPI, so this is ``is_mpi_available()``."""
    return is_mpi_available()


def is_nccl_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        from cupy.cuda import nccl  # noqa: F401
    except Exception:  # noqa: BLE001 - cupy without NCCL, or no CUDA driver
        return False
    return True


def is_torchelastic_launched() -> bool:
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def default_group() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(_NOT_INIT)
    return GroupMember.WORLD


def _resolve(g: ProcessGroup | None) -> ProcessGroup:
    return default_group() if g is None or g is GroupMember.WORLD else g


def _split_backend(name: str) -> tuple[str, bool]:
    """(the name reported by get_backend, whether cuda tensors use NCCL)."""
    if ":" in name:
        per = dict(p.split(":", 1) for p in name.split(","))
        return name, per.get("cuda") == "nccl"
    return name, name == "nccl"


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Mirrors ``torch.distributed.init_process_group``.

    The ranks are MPI's (start the script with ``ember run --nproc N`` or ``mpirun``);
    ``world_size``/``rank`` and torchrun's ``WORLD_SIZE``/``RANK``, when given, must agree
    with them. ``init_method`` and ``store`` are accepted and unused: MPI did the
    rendezvous. ``"gloo"`` is served by MPI (noted once)."""
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = str(Backend(backend if backend is not None else "mpi"))
    name, cuda_nccl = _split_backend(name)
    seconds = _seconds(timeout if timeout is not None else default_pg_timeout)
    if not is_mpi_available():
        raise RuntimeError(_NO_MPI)
    wrld = _mpi.world()
    size, me = wrld.Get_size(), wrld.Get_rank()
    if "gloo" in name and not _NOTED[0]:
        _NOTED[0] = True
        if me == 0:  # one line for the job, not one per rank
            warnings.warn("ember.distributed: backend 'gloo' is served by MPI (mpi4py)",
                          UserWarning, stacklevel=2)
    env_ws = os.environ.get("WORLD_SIZE")
    want = world_size if world_size != -1 else int(env_ws) if env_ws else -1
    if want not in (-1, size):
        if size == 1:
            raise RuntimeError(
                f"init_process_group: world_size is {want} but MPI sees one process: "
                f"ember.distributed starts its ranks with MPI; launch the script with "
                f"`ember run --nproc {want} script.py` or `mpirun -n {want} ember run "
                f"script.py` (torchrun cannot start MPI ranks)")
        raise ValueError(f"init_process_group: world_size={want} but mpirun started {size} "
                         f"processes")
    env_rank = os.environ.get("RANK")
    want_rank = rank if rank != -1 else int(env_rank) if env_rank and size > 1 else -1
    if want_rank not in (-1, me):
        raise ValueError(f"init_process_group: rank={want_rank} but this process is MPI "
                         f"rank {me}; ranks are assigned by mpirun")
    wc = _mpi.MpiComm(wrld, seconds)
    _agree_allreduce(wc)
    comm, req = wrld.Idup()
    wc.run(req, "init_process_group")
    mc = _mpi.MpiComm(comm, seconds)
    mc.fast_allreduce = wc.fast_allreduce
    pg = ProcessGroup(name, list(range(size)), mc, seconds, cuda_nccl)
    GroupMember.WORLD = pg
    _GROUPS.append(pg)


def _agree_allreduce(mc: "_mpi.MpiComm") -> None:
    """Set ``mc.fast_allreduce`` where every rank runs libnbc's fast all-reduce (``_mpi``'s
    docstring); raise on every rank where the ranks' algorithms differ: Open MPI agrees on
    a new communicator's id with that all-reduce, so ``Idup`` (even ``Dup``) would hang.
    Compared with an all-gather, whose algorithm does not depend on it."""
    import numpy as np
    mine = np.array([_mpi.nbc_allreduce_code()], dtype=np.int64)
    every = np.empty(mc.size, dtype=np.int64)
    mc.run(mc.comm.Iallgather(mine, every), "init_process_group")
    if (every != every[0]).any():
        seen = ", ".join(f"rank {r}: {int(c)}" for r, c in enumerate(every))
        raise RuntimeError(
            f"init_process_group: the ranks' MPI started with different "
            f"{_mpi.NBC_ALLREDUCE_VAR} ({seen}; 0: unset), so Open MPI cannot create "
            f"communicators across them. Import ember before mpi4py in every rank (ember "
            f"sets it before MPI starts), or export the same value to every rank (`ember "
            f"run` exports 3)")
    mc.fast_allreduce = int(every[0]) in _mpi.NBC_FAST


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Mirrors ``torch.distributed.destroy_process_group``: frees the group's
    communicators (all groups when ``group`` is None). MPI itself stays initialised
    (it cannot be started twice in one process), so ``init_process_group`` may follow."""
    if group is None or group is GroupMember.WORLD:
        default_group()
        for pg in _GROUPS:
            pg._free()
        _GROUPS.clear()
        GroupMember.WORLD = None
        return
    if group in _GROUPS:
        group._free()
        _GROUPS.remove(group)


def new_group(ranks=None, timeout: timedelta | None = None, backend: str | None = None,
              pg_options=None, use_local_synchronization: bool = False,
              group_desc: str | None = None, device_id=None):
    """Mirrors ``torch.distributed.new_group``: every rank of the default group calls it;
    ranks outside ``ranks`` get ``GroupMember.NON_GROUP_MEMBER``."""
    world_pg = default_group()
    size = world_pg.size()
    members = sorted(set(range(size) if ranks is None else (int(r) for r in ranks)))
    for r in members:
        if not 0 <= r < size:
            raise ValueError(f"Invalid rank {r}, must be in [0, {size})")
    seconds = world_pg._timeout if timeout is None else _seconds(timeout)
    name = world_pg._backend if backend is None else str(Backend(backend))
    name, cuda_nccl = _split_backend(name)
    wc = world_pg._comm
    # Split is a blocking collective: a timed barrier first makes a missing rank an error
    wc.run(wc.ibarrier(), "new_group")
    me = wc.rank
    MPI = _mpi.mpi()
    sub = wc.comm.Split(0 if me in members else MPI.UNDEFINED, members.index(me)
                        if me in members else 0)
    if me not in members:
        return GroupMember.NON_GROUP_MEMBER
    mc = _mpi.MpiComm(sub, seconds)
    mc.fast_allreduce = wc.fast_allreduce  # agreed by every rank of the default group
    pg = ProcessGroup(name, members, mc, seconds, cuda_nccl)
    _GROUPS.append(pg)
    return pg


def _member(g) -> bool:
    return g is not GroupMember.NON_GROUP_MEMBER


def get_rank(group: ProcessGroup | None = None) -> int:
    """Mirrors ``torch.distributed.get_rank``: this process's rank in ``group`` (-1 when
    it is not a member)."""
    if not _member(group):
        return -1
    return _resolve(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    if not _member(group):
        return -1
    return _resolve(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend name the group was created with (``"gloo"`` stays ``"gloo"`` so scripts
    that branch on it behave as written)."""
    if not _member(group):
        raise ValueError("Invalid process group specified")
    return _resolve(group)._backend


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    pg = _resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg._ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    pg = _resolve(group)
    if global_rank not in pg._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg._ranks.index(global_rank)


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    return list(_resolve(group)._ranks)
