"""The NCCL engine for ``cuda`` tensors of an ``"nccl"`` process group, through CuPy's
``cupy.cuda.nccl`` (imported here only, on first use).

One communicator per (group, CUDA device); rank 0's unique id reaches the others over the
group's MPI communicator (a world of one needs no MPI traffic). Operations are enqueued on
the tensor's current CuPy stream; waiting polls a CUDA event recorded after them until the
group's deadline, and a communicator that misses it is aborted (``ncclCommAbort``) before
``DistBackendError`` is raised, so no kernel stays blocked on a dead peer.

Not exercised by ember's CI (it has no GPU); the MPI engine carries the test suite.
"""
from __future__ import annotations

import time

import numpy as np

from ._types import DistBackendError, ReduceOp, Work

_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
          "bfloat16": "NCCL_BFLOAT16", "int8": "NCCL_INT8", "uint8": "NCCL_UINT8",
          "int32": "NCCL_INT32", "uint32": "NCCL_UINT32", "int64": "NCCL_INT64",
          "uint64": "NCCL_UINT64", "bool": "NCCL_UINT8"}
_OPS = {ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_SUM", ReduceOp.PRODUCT: "NCCL_PROD",
        ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX"}


class NcclComm:
    def __init__(self, mpi_comm, device_index: int, timeout: float) -> None:
        import cupy
        from cupy.cuda import nccl
        self.cp, self.nccl = cupy, nccl
        self.index, self.timeout = device_index, timeout
        size = 1 if mpi_comm is None else mpi_comm.size
        rank = 0 if mpi_comm is None else mpi_comm.rank
        uid = nccl.get_unique_id() if rank == 0 else None
        if size > 1:
            buf = np.frombuffer(bytes(np.asarray(uid, dtype=np.int8).tobytes()) if rank == 0
                                else bytes(128), dtype=np.uint8).copy()
            mpi_comm.run(mpi_comm.ibcast(buf, 0), "init nccl")
            uid = tuple(buf.view(np.int8).tolist())
        self.size, self.rank = size, rank
        with cupy.cuda.Device(device_index):
            self.comm = nccl.NcclCommunicator(size, uid, rank)

    def destroy(self) -> None:
        if self.comm is not None:
            self.comm.destroy()
            self.comm = None

    # --- plumbing ----------------------------------------------------------------------
    def _dtype(self, t):
        name = _TYPES.get(t.dtype.name)
        if name is None:
            raise RuntimeError(f"ember.distributed: NCCL has no type for {t.dtype}")
        return getattr(self.nccl, name)

    def _op(self, op: ReduceOp):
        name = _OPS.get(op)
        if name is None:
            raise ValueError(f"ember.distributed: NCCL does not support {op}")
        return getattr(self.nccl, name)

    def _buf(self, t):
        """A contiguous cupy array with t's values, and whether it is t's own storage."""
        a = t._data
        if a.flags.c_contiguous:
            return a, True
        return self.cp.ascontiguousarray(a), False

    def _launch(self, run, finish, async_op: bool, what: str):
        cp = self.cp
        with cp.cuda.Device(self.index):
            stream = cp.cuda.get_current_stream()
            run(stream.ptr)
            event = cp.cuda.Event(disable_timing=True)
            event.record(stream)

        def wait(deadline: float) -> None:
            while not event.done:
                if time.monotonic() > deadline:
                    self.comm.abort()
                    self.comm = None
                    raise DistBackendError(f"ember.distributed: NCCL {what} timed out; the "
                                           f"communicator was aborted")
                time.sleep(0.0001)
        w = Work(lambda: event.done, wait, finish, self.timeout)
        if async_op:
            return w
        w.wait()
        return None

    @staticmethod
    def _put_back(t, arr, own: bool):
        def finish():
            if not own:
                t._data[...] = arr
            t._bump()
        return finish

    # --- operations ----------------------------------------------------------------------
    def all_reduce(self, t, op: ReduceOp, async_op: bool):
        a, own = self._buf(t)
        n = a.size
        dt, nop = self._dtype(t), self._op(op)

        def run(stream):
            self.comm.allReduce(a.data.ptr, a.data.ptr, n, dt, nop, stream)
            if op is ReduceOp.AVG:
                a[...] = a / self.size if a.dtype.kind == "f" else a // self.size
        return self._launch(run, self._put_back(t, a, own), async_op, "all_reduce")

    def broadcast(self, t, root: int, async_op: bool):
        a, own = self._buf(t)

        def run(stream):
            self.comm.broadcast(a.data.ptr, a.data.ptr, a.size, self._dtype(t), root, stream)
        return self._launch(run, self._put_back(t, a, own), async_op, "broadcast")

    def all_gather_into_tensor(self, out, t, async_op: bool):
        a, _ = self._buf(t)
        o, own = self._buf(out)

        def run(stream):
            self.comm.allGather(a.data.ptr, o.data.ptr, a.size, self._dtype(t), stream)
        return self._launch(run, self._put_back(out, o, own), async_op, "all_gather")

    def reduce_scatter_tensor(self, out, t, op: ReduceOp, async_op: bool):
        a, _ = self._buf(t)
        o, own = self._buf(out)

        def run(stream):
            self.comm.reduceScatter(a.data.ptr, o.data.ptr, o.size, self._dtype(t),
                                    self._op(op), stream)
            if op is ReduceOp.AVG:
                o[...] = o / self.size if o.dtype.kind == "f" else o // self.size
        return self._launch(run, self._put_back(out, o, own), async_op, "reduce_scatter")
