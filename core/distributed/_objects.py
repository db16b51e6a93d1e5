"""Collectives on picklable objects (``broadcast_object_list``, ``all_gather_object``,
``gather_object``, ``scatter_object_list``): objects go through the DataLoader's transport
(``ember.utils.data._transport``: tensors as host arrays, never autograd graphs) and the
bytes through MPI. As in PyTorch they are pickles, for the ranks of one job only: never
feed them from untrusted peers."""
from __future__ import annotations

import numpy as np

from ._collectives import _pg, _root

__all__ = ["broadcast_object_list", "all_gather_object", "gather_object",
           "scatter_object_list"]


def _dump(obj) -> np.ndarray:
    from ..utils.data._transport import dumps
    return np.frombuffer(dumps(obj, None), dtype=np.uint8)


def _load(buf: np.ndarray):
    # peers are ranks of the same job (as PyTorch, objects are pickled): not for untrusted
    from ..utils.data._transport import loads
    return loads(buf.tobytes())


def broadcast_object_list(object_list: list, src: int | None = None, group=None,
                          device=None, group_src: int | None = None) -> None:
    """Mirrors ``torch.distributed.broadcast_object_list``: ``object_list`` on every rank
    becomes ``src``'s (same length everywhere)."""
    pg = _pg(group)
    if pg is None:
        return
    root = _root(pg, src, group_src, "src")
    comm = pg._comm
    n = len(object_list)
    comm.check("object", None, root=root, shape=(n,))
    me_root = comm.rank == root
    frames = [_dump(o) for o in object_list] if me_root else []
    sizes = np.array([f.size for f in frames] if me_root else [0] * n, dtype=np.int64)
    comm.run(comm.ibcast(sizes, root), "broadcast_object_list")
    data = np.concatenate(frames) if me_root and n else np.empty(int(sizes.sum()), np.uint8)
    comm.run(comm.ibcast(data, root), "broadcast_object_list")
    if not me_root:
        off = 0
        for i, k in enumerate(sizes.tolist()):
            object_list[i] = _load(data[off:off + k])
            off += k


def _gather_frames(comm, frame: np.ndarray, root: int | None, what: str):
    """Every rank's frame (all ranks, or only ``root``): a list of byte arrays or None."""
    size = np.array([frame.size], dtype=np.int64)
    sizes = np.empty(comm.size, dtype=np.int64)
    comm.run(comm.iallgather(size, sizes), what)
    counts = sizes.tolist()
    total = int(sizes.sum())
    if root is None:
        data = np.empty(total, dtype=np.uint8)
        comm.run(comm.iallgatherv(frame, data, counts), what)
    else:
        data = np.empty(total, dtype=np.uint8) if comm.rank == root else None
        comm.run(comm.igatherv(frame, data, counts, root), what)
        if data is None:
            return None
    out, off = [], 0
    for k in counts:
        out.append(data[off:off + k])
        off += k
    return out


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Mirrors ``torch.distributed.all_gather_object``: ``object_list[i]`` = rank i's obj."""
    pg = _pg(group)
    if pg is None:
        return
    comm = pg._comm
    comm.check("object", None)
    for i, f in enumerate(_gather_frames(comm, _dump(obj), None, "all_gather_object")):
        object_list[i] = _load(f)


def gather_object(obj, object_gather_list=None, dst: int | None = None, group=None,
                  group_dst: int | None = None) -> None:
    """Mirrors ``torch.distributed.gather_object``."""
    pg = _pg(group)
    if pg is None:
        return
    root = _root(pg, dst, group_dst, "dst")
    comm = pg._comm
    comm.check("object", None, root=root)
    frames = _gather_frames(comm, _dump(obj), root, "gather_object")
    if frames is not None:
        if object_gather_list is None:
            raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                             "rank.")
        for i, f in enumerate(frames):
            object_gather_list[i] = _load(f)


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None,
                        src: int | None = None, group=None,
                        group_src: int | None = None) -> None:
    """Mirrors ``torch.distributed.scatter_object_list``: element 0 of the output list
    becomes ``scatter_object_input_list[rank]`` of ``src``."""
    pg = _pg(group)
    if pg is None:
        return
    root = _root(pg, src, group_src, "src")
    comm = pg._comm
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    comm.check("object", None, root=root)
    if comm.rank == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != pg.size():
            raise ValueError("scatter_object_list: scatter_object_input_list must hold one "
                             "object per rank on the source rank")
        objs = list(scatter_object_input_list)
    else:
        objs = [None] * pg.size()
    broadcast_object_list(objs, group_src=root, group=pg)
    scatter_object_output_list[0] = objs[comm.rank]
