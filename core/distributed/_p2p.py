"""Point-to-point operations with ``torch.distributed``'s signatures: ``send``/``recv``,
``isend``/``irecv`` (a Work whose ``result()`` is the sender), ``batch_isend_irecv``.
Ranks are global, as in PyTorch (``group_src``/``group_dst``: ranks within ``group``)."""
from __future__ import annotations

from ._collectives import _pg, _root, _work
from ._host import Host, check_tensor
from ._types import Work

__all__ = ["send", "recv", "isend", "irecv", "P2POp", "batch_isend_irecv"]


def _peer(pg, rank, group_rank, name):
    r = _root(pg, rank, group_rank, name)
    if r == pg._comm.rank:
        raise ValueError("Invalid destination rank: should not be the same as the rank of "
                         "the current process." if name == "dst" else
                         "Invalid source rank: should not be the same as the rank of the "
                         "current process.")
    return r


def isend(tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None):
    """Mirrors ``torch.distributed.isend``."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    r = _peer(pg, dst, group_dst, "dst")
    buf = Host(tensor).arr.copy()  # the caller may change the tensor before it is sent
    return _work(comm, lambda: comm.isend(buf, r, tag), None, True, "send")


def send(tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    w = isend(tensor, dst, group, tag, group_dst)
    if w is not None:
        w.wait()


def irecv(tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None):
    """Mirrors ``torch.distributed.irecv`` (``src=None``: any rank). Its Work's
    ``result()`` is the sender's global rank."""
    check_tensor(tensor)
    pg = _pg(group)
    if pg is None:
        return None
    comm = pg._comm
    r = None if src is None and group_src is None else _peer(pg, src, group_src, "src")
    out = Host(tensor)
    from . import _mpi
    status = _mpi.mpi().Status()
    req = comm.irecv(out.arr, r, tag)
    nbytes = out.arr.nbytes

    def poll():
        return comm.poll_status(req, status)

    def wait(deadline):
        comm.wait_status(req, status, deadline, "recv")

    def finish():
        got = status.Get_count(_mpi.mpi().BYTE)
        if got != nbytes:
            raise RuntimeError(f"recv: the tensor sent has {got} bytes, the receiving tensor "
                               f"{nbytes} ({list(tensor.shape)}, {tensor.dtype})")
        out.store()
        return pg._ranks[status.Get_source()]
    return Work(poll, wait, finish, comm.timeout)


def recv(tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Mirrors ``torch.distributed.recv``: returns the sender's rank."""
    w = irecv(tensor, src, group, tag, group_src)
    return -1 if w is None else w.result()


class P2POp:
    """Mirrors ``torch.distributed.P2POp`` for :func:`batch_isend_irecv`."""

    def __init__(self, op, tensor, peer: int | None = None, group=None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed"
                             ".isend`` or ``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Mirrors ``torch.distributed.batch_isend_irecv``: starts them all, returns Works."""
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    return [p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer) for p in p2p_op_list]
