"""The tensor collectives, with ``torch.distributed``'s signatures.

Each one checks its arguments, has the ranks agree on shapes (see ``_mpi``), starts MPI's
non-blocking form on host buffers, and returns a :class:`Work` (``async_op=True``) or waits
for it. ``src``/``dst`` are global ranks as in PyTorch (``group_src``/``group_dst`` are
ranks within ``group``). A rank outside ``group`` returns at once, as in PyTorch.
CUDA tensors of an ``"nccl"`` group go through NCCL (``_nccl``); all others through MPI.
"""
from __future__ import annotations

import numpy as np

from . import _mpi, _state
from ._host import Host, check_list, check_tensor, finish_reduce, reduce_buffer
from ._types import ReduceOp, Work

__all__ = ["all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "gather", "scatter", "all_to_all_single",
           "barrier", "monitored_barrier"]


def _pg(group):
    if group is _state.GroupMember.NON_GROUP_MEMBER:
        return None
    pg = _state._resolve(group)
    return pg if pg._comm is not None else None


def _root(pg, rank, group_rank, name: str) -> int:
    """A group rank from PyTorch's global ``src``/``dst`` or ``group_src``/``group_dst``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"Can not specify both {name} and group_{name}")
        r = int(group_rank)
    else:
        r = pg._ranks.index(int(rank or 0)) if int(rank or 0) in pg._ranks else -1
    if not 0 <= r < pg.size():
        raise ValueError(f"Invalid {name} rank {rank if group_rank is None else group_rank}: "
                         f"not part of the group (ranks {pg._ranks})")
    return r


def _work(comm, start, finish, async_op: bool, what: str, blocking=None, nbytes: int = 0):
    """Run an operation: ``start()`` begins MPI's non-blocking form (its requests); a
    synchronous call on a big buffer runs ``blocking()`` on the helper thread instead
    (see ``_mpi``)."""
    if not async_op and blocking is not None and nbytes >= _mpi.BLOCKING_MIN_BYTES:
        comm.wait_submitted([comm.submit(blocking)], comm.deadline(), what)
        if finish is not None:
            finish()
        return None
    reqs = start()
    reqs = reqs if isinstance(reqs, list) else [reqs]
    if not async_op:
        comm.wait(reqs, comm.deadline(), what, nbytes=nbytes)
        if finish is not None:
            finish()
        return None
    return Work(lambda: comm.poll(reqs), lambda dl: comm.wait(reqs, dl, what, nbytes=nbytes),
                finish, comm.timeout)


def _nccl_for(pg, t):
    if pg._cuda_nccl and t.device.type == "cuda":
        return pg.nccl(t.device.index or 0)
    return None


def _sig(t) -> tuple:
    return tuple(t.shape), t.dtype.name


# --- collectives ----------------------------------------------------------------------

def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Mirrors ``torch.distributed.all_reduce`` (in place; AVG divides the sum)."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    comm.check("all_reduce", None, op=op, dtype_name=tensor.dtype.name, shape=tensor.shape)
    nc = _nccl_for(pg, tensor)
    if nc is not None:
        return nc.all_reduce(tensor, op, async_op)
    h = Host(tensor)
    work = reduce_buffer(h.arr, op, tensor.dtype.name)
    n = pg.size()
    if n == 1:  # the reduction of one rank's values is those values: no MPI call
        return Work(lambda: True, lambda deadline: None) if async_op else None
    if comm.fast_allreduce and not async_op:  # the common call, without _work's closures
        if _mpi._FAILED:
            raise _mpi._poisoned()
        comm.complete(comm.iallreduce(work, op), "all_reduce", nbytes=work.nbytes)
        if op is not ReduceOp.SUM or work is not h.arr:
            finish_reduce(h.arr, work, op, n)
        h.store()
        return None

    def finish():
        finish_reduce(h.arr, work, op, pg.size())
        h.store()
    # Iallreduce polled here where every rank's is fast, else big ones on the helper thread
    blocking = None if comm.fast_allreduce else lambda: comm.allreduce(work, op)
    return _work(comm, lambda: comm.iallreduce(work, op), finish, async_op, "all_reduce",
                 blocking, work.nbytes)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Mirrors ``torch.distributed.broadcast``."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "src")
    comm = pg._comm
    comm.check("broadcast", None, root=root, dtype_name=tensor.dtype.name, shape=tensor.shape)
    nc = _nccl_for(pg, tensor)
    if nc is not None:
        return nc.broadcast(tensor, root, async_op)
    h = Host(tensor)
    return _work(comm, lambda: comm.ibcast(h.arr, root),
                 None if comm.rank == root else h.store, async_op, "broadcast",
                 lambda: comm.bcast(h.arr, root), h.arr.nbytes)


def reduce(tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Mirrors ``torch.distributed.reduce``: the result lands on ``dst`` only."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "dst")
    comm = pg._comm
    comm.check("reduce", None, root=root, op=op, dtype_name=tensor.dtype.name,
               shape=tensor.shape)
    h = Host(tensor)
    work = reduce_buffer(h.arr, op, tensor.dtype.name)
    if comm.rank != root and work is h.arr:
        work = work.copy()  # MPI reads it; this rank's tensor keeps its values

    def finish():
        if comm.rank == root:
            finish_reduce(h.arr, work, op, pg.size())
            h.store()
    return _work(comm, lambda: comm.ireduce(work, op, root), finish, async_op, "reduce",
                 lambda: comm.reduce_(work, op, root), work.nbytes)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Mirrors ``torch.distributed.all_gather``: ``tensor_list[i]`` gets rank i's tensor."""
    check_list(tensor_list, "tensor_list")
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the group "
                         f"has {pg.size()} ranks")
    for t in tensor_list:
        if _sig(t) != _sig(tensor):
            raise RuntimeError(f"all_gather: every tensor in tensor_list must have the input's "
                               f"shape and dtype ({list(tensor.shape)}, {tensor.dtype}), got "
                               f"{list(t.shape)}, {t.dtype}")
    comm.check("all_gather", None, dtype_name=tensor.dtype.name, shape=tensor.shape)
    send = Host(tensor).arr
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)

    def finish():
        for i, t in enumerate(tensor_list):
            Host(t).store(recv[i])
    return _work(comm, lambda: comm.iallgather(send, recv), finish, async_op, "all_gather",
                 lambda: comm.allgather(send, recv), recv.nbytes)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Mirrors ``torch.distributed.all_gather_into_tensor``: ranks' inputs concatenated
    (or stacked) into ``output_tensor``."""
    check_tensor(output_tensor, "output_tensor")
    check_tensor(input_tensor, "input_tensor")
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    if output_tensor.numel() != pg.size() * input_tensor.numel():
        raise ValueError("output tensor size must be equal to world_size times input tensor "
                         "size")
    if output_tensor.dtype is not input_tensor.dtype:
        raise ValueError("output tensor must have the same type as input tensor")
    comm.check("all_gather", None, dtype_name=input_tensor.dtype.name,
               shape=input_tensor.shape)
    nc = _nccl_for(pg, input_tensor)
    if nc is not None:
        return nc.all_gather_into_tensor(output_tensor, input_tensor, async_op)
    send = Host(input_tensor).arr
    out = Host(output_tensor)
    return _work(comm, lambda: comm.iallgather(send, out.arr), out.store, async_op,
                 "all_gather_into_tensor", lambda: comm.allgather(send, out.arr),
                 out.arr.nbytes)


def reduce_scatter(output, input_list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Mirrors ``torch.distributed.reduce_scatter``: rank i gets the reduction of every
    rank's ``input_list[i]``."""
    check_tensor(output, "output")
    check_list(input_list, "input_list")
    pg = _pg(group)
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors, the group "
                         f"has {pg.size()} ranks")
    for t in input_list:
        if _sig(t) != _sig(output):
            raise RuntimeError("reduce_scatter: every tensor in input_list must have the "
                               "output's shape and dtype")
    send = np.stack([Host(t).arr for t in input_list]) if input_list else None
    return _reduce_scatter(pg, output, send, op, async_op)


def reduce_scatter_tensor(output, input, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Mirrors ``torch.distributed.reduce_scatter_tensor``: ``input`` is the ranks' chunks
    concatenated."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    pg = _pg(group)
    if pg is None:
        return None
    if input.numel() != pg.size() * output.numel():
        raise ValueError("input tensor must be the same size as output size times world size")
    nc = _nccl_for(pg, input)
    if nc is not None:
        pg._comm.check("reduce_scatter", None, op=op, dtype_name=output.dtype.name,
                       shape=output.shape)
        return nc.reduce_scatter_tensor(output, input, op, async_op)
    return _reduce_scatter(pg, output, Host(input).arr, op, async_op)


def _reduce_scatter(pg, output, send, op, async_op):
    comm = pg._comm
    comm.check("reduce_scatter", None, op=op, dtype_name=output.dtype.name, shape=output.shape)
    out = Host(output)
    send = reduce_buffer(np.ascontiguousarray(send).reshape(-1), op, output.dtype.name)
    recv = reduce_buffer(out.arr, op, output.dtype.name)
    if recv is out.arr:
        recv = recv.reshape(-1)

    def finish():
        finish_reduce(out.arr.reshape(-1), recv, op, pg.size())
        out.store()
    return _work(comm, lambda: comm.ireduce_scatter(send, recv, op), finish, async_op,
                 "reduce_scatter", lambda: comm.reduce_scatter(send, recv, op), send.nbytes)


def gather(tensor, gather_list=None, dst: int | None = None, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Mirrors ``torch.distributed.gather``: ``gather_list`` (on ``dst`` only) gets each
    rank's tensor."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "dst")
    comm = pg._comm
    me_root = comm.rank == root
    if me_root:
        if gather_list is None or len(gather_list) != pg.size():
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        check_list(gather_list, "gather_list")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    comm.check("gather", None, root=root, dtype_name=tensor.dtype.name, shape=tensor.shape)
    send = Host(tensor).arr
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype) if me_root else None

    def finish():
        if me_root:
            for i, t in enumerate(gather_list):
                Host(t).store(recv[i])
    return _work(comm, lambda: comm.igather(send, recv, root), finish, async_op, "gather")


def scatter(tensor, scatter_list=None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None):
    """Mirrors ``torch.distributed.scatter``: rank i's ``tensor`` gets ``scatter_list[i]``
    of ``src``."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "src")
    comm = pg._comm
    me_root = comm.rank == root
    if me_root:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        check_list(scatter_list, "scatter_list")
        for t in scatter_list:
            if _sig(t) != _sig(tensor):
                raise RuntimeError("scatter: every tensor in scatter_list must have the "
                                   "output tensor's shape and dtype")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    comm.check("scatter", None, root=root, dtype_name=tensor.dtype.name, shape=tensor.shape)
    out = Host(tensor)
    send = np.stack([Host(t).arr for t in scatter_list]) if me_root else None
    return _work(comm, lambda: comm.iscatter(send, out.arr, root), out.store, async_op,
                 "scatter")


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op: bool = False):
    """Mirrors ``torch.distributed.all_to_all_single`` for even splits (split sizes
    other than None are refused)."""
    check_tensor(output, "output")
    check_tensor(input, "input")
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError("ember.distributed.all_to_all_single: uneven splits are not "
                                  "supported")
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    if input.numel() != output.numel() or input.shape[0] % pg.size():
        raise ValueError("all_to_all_single: input and output must have the same size, its "
                         "first dimension divisible by the world size")
    comm.check("all_to_all", None, dtype_name=input.dtype.name, shape=input.shape)
    out = Host(output)
    src = Host(input).arr
    return _work(comm, lambda: comm.ialltoall(src, out.arr), out.store, async_op,
                 "all_to_all_single")


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Mirrors ``torch.distributed.barrier``."""
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    return _work(comm, comm.ibarrier, None, async_op, "barrier")


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False):
    """Mirrors ``torch.distributed.monitored_barrier``: a barrier with its own timeout."""
    from ._types import _seconds
    pg = _pg(group)
    if pg is None:
        return None
    import time
    comm = pg._comm
    t = comm.timeout if timeout is None else _seconds(timeout)
    comm.wait([comm.ibarrier()], time.monotonic() + t, "monitored_barrier")
    return None
