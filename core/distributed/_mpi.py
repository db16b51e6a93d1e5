"""The MPI engine under ``ember.distributed``: one mpi4py communicator per process group,
every operation on contiguous numpy buffers.

Timeouts. mpi4py's blocking calls wait forever when a peer dies or hangs, so every
operation here is MPI's non-blocking form (``Iallreduce``, ``Ibcast``, ``Isend`` ...) and
the caller polls it with ``Request.Testall`` until the process group's deadline: a tight
spin for the first milliseconds (latency matters for small messages; ``MPI_Wait`` would
spin too), then short sleeps so a long wait does not burn a core. Past the deadline the
operation raises ``DistBackendError`` on the ranks still alive. MPI cannot cancel a
collective, so the communicator is then poisoned: later operations raise at once, and at
exit the process calls ``MPI_Abort`` instead of ``MPI_Finalize`` (which would wait for the
ranks that are gone), so ``mpirun`` ends the whole job and no rank is left behind.

Big messages. Open MPI's non-blocking collectives (libnbc) move large buffers several
times slower than its blocking ones (a 16 MiB all-reduce of two ranks: ~30 ms against
~3 ms here), so a synchronous collective of at least :data:`BLOCKING_MIN_BYTES` calls the
blocking form on a helper thread while the caller waits for it with the same deadline
(mpi4py releases the GIL inside MPI; the caller makes no MPI call meanwhile, so the
thread level MPI initialises with, ``MPI_THREAD_MULTIPLE`` by default, is more than
enough). A timed-out call stays blocked on that thread; the process ends the job at exit.

Agreement. Before each collective the ranks exchange a short signature (operation, root,
reduction, dtype, shape) with one small ``Iallgather``; when they differ every rank raises
the same ``RuntimeError`` naming what each rank passed, instead of MPI truncating,
hanging or returning garbage.
"""
from __future__ import annotations

import atexit
import os
import queue
import sys
import threading
import time
import zlib

import numpy as np

from ._types import DistBackendError, ReduceOp

_SPIN_S = 0.005        # busy-poll this long before sleeping between polls
_SLEEP_MAX_S = 0.002
#: Synchronous collectives on buffers at least this big use MPI's blocking form (above).
BLOCKING_MIN_BYTES = 64 * 1024
_SIG_LEN = 12
_KINDS = ("all_reduce", "broadcast", "reduce", "all_gather", "gather", "scatter",
          "reduce_scatter", "barrier", "all_to_all", "object")
_DTYPES = ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128")
_FAILED: list = []     # set once an operation timed out or MPI reported an error


def mpi():
    """mpi4py's ``MPI`` module, imported on first use (it initialises MPI)."""
    from mpi4py import MPI
    return MPI


def world():
    return mpi().COMM_WORLD


def _abort_at_exit() -> None:
    if _FAILED:
        # MPI_Finalize would block on the dead or hung ranks: end the job instead
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:  # noqa: BLE001 - closed streams at exit
                pass
        world().Abort(1)


atexit.register(_abort_at_exit)


class _Caller:
    """One daemon thread that runs blocking MPI calls for the main thread."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="ember-mpi", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, box, done = self.jobs.get()
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
                box.append(e)
            done.set()

    def submit(self, fn) -> tuple[threading.Event, list]:
        """Queue ``fn``; jobs run one at a time in submission order."""
        box: list = []
        done = threading.Event()
        self.jobs.put((fn, box, done))
        return done, box



_CALLER: list = []


def _op(MPI, op: ReduceOp, is_bool: bool):
    if is_bool:  # PyTorch's bool reductions: sum/max are "any", product/min are "all"
        return {ReduceOp.SUM: MPI.LOR, ReduceOp.AVG: MPI.LOR, ReduceOp.MAX: MPI.LOR,
                ReduceOp.BOR: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND,
                ReduceOp.BAND: MPI.LAND, ReduceOp.BXOR: MPI.LXOR}[op]
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


class MpiComm:
    """An mpi4py intracommunicator with deadline-bounded operations."""

    def __init__(self, comm, timeout: float) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout

    # --- waiting -----------------------------------------------------------------------
    def poll(self, reqs) -> bool:
        try:
            return bool(mpi().Request.Testall(reqs))
        except Exception as e:  # mpi4py raises MPI.Exception (errors return, not abort)
            _FAILED.append(e)
            raise DistBackendError(f"ember.distributed: MPI error on rank "
                                   f"{world().Get_rank()}: {e}") from None

    def poll_status(self, req, status) -> bool:
        """One receive's completion, filling ``status`` (its source and size)."""
        try:
            return bool(req.Test(status))
        except Exception as e:  # noqa: BLE001 - truncation: the sender's tensor is bigger
            raise DistBackendError(f"ember.distributed: recv on rank {world().Get_rank()} "
                                   f"failed (was the tensor sent bigger than the receiving "
                                   f"one?): {e}") from None

    def wait_status(self, req, status, deadline: float, what: str) -> None:
        self.wait([req], deadline, what, poll=lambda: self.poll_status(req, status))

    def wait(self, reqs, deadline: float, what: str, poll=None) -> None:
        if _FAILED:
            raise _poisoned()
        start = time.monotonic()
        sleep = 0.00005
        done = poll if poll is not None else (lambda: self.poll(reqs))
        while not done():
            now = time.monotonic()
            if now > deadline:
                _FAILED.append(what)
                raise DistBackendError(
                    f"ember.distributed: {what} on rank {world().Get_rank()} timed out after "
                    f"{now - start:.1f} s (the process group's timeout): another rank died, "
                    f"hung, or did not make the same call. The process group cannot be used "
                    f"any more; this process ends the MPI job when it exits.")
            if now - start > _SPIN_S:
                time.sleep(sleep)
                sleep = min(sleep * 2, _SLEEP_MAX_S)

    def submit(self, fn):
        """Start ``fn()`` (a blocking MPI call) on the helper thread; wait for the handle
        with :meth:`wait_submitted`. Calls run in submission order, so ranks that submit
        the same collectives in the same order match."""
        if _FAILED:
            raise _poisoned()
        if not _CALLER:
            _CALLER.append(_Caller())
        return _CALLER[0].submit(fn)

    def wait_submitted(self, handles, deadline: float, what: str) -> None:
        for done, box in handles:
            if not done.wait(max(0.0, deadline - time.monotonic())):
                _FAILED.append(what)
                raise DistBackendError(
                    f"ember.distributed: {what} on rank {world().Get_rank()} timed out after "
                    f"{self.timeout:.1f} s (the process group's timeout): another rank died, "
                    f"hung, or did not make the same call. The process group cannot be used "
                    f"any more; this process ends the MPI job when it exits.")
            if box:
                _FAILED.append(box[0])
                raise DistBackendError(f"ember.distributed: MPI error on rank "
                                       f"{world().Get_rank()}: {box[0]}") from None

    def call_blocking(self, fn, what: str) -> None:
        """``fn()`` (a blocking MPI call) on the helper thread, bounded by the timeout."""
        self.wait_submitted([self.submit(fn)], self.deadline(), what)

    def deadline(self) -> float:
        return time.monotonic() + self.timeout

    def run(self, reqs, what: str) -> None:
        self.wait(reqs if isinstance(reqs, list) else [reqs], self.deadline(), what)

    # --- agreement ---------------------------------------------------------------------
    def check(self, kind: str, arr: np.ndarray | None, root: int = -1,
              op: ReduceOp | None = None, dtype_name: str = "", shape=None) -> None:
        """Raise the same error on every rank unless all passed the same signature."""
        if self.size == 1:
            return
        shape = tuple(arr.shape if shape is None else shape) if arr is not None or shape \
            else ()
        row = np.zeros(_SIG_LEN, dtype=np.int64)
        row[0] = _KINDS.index(kind)
        row[1] = root
        row[2] = -1 if op is None else op.value
        row[3] = _DTYPES.index(dtype_name) if dtype_name in _DTYPES else \
            len(_DTYPES) + zlib.crc32(dtype_name.encode())
        row[4] = len(shape)
        row[5] = zlib.crc32(repr(shape).encode())
        row[6:6 + min(len(shape), 6)] = shape[:6]
        table = np.empty((self.size, _SIG_LEN), dtype=np.int64)
        self.run(self.comm.Iallgather(row, table), f"{kind} (agreeing on shapes)")
        if (table == row).all():
            return
        raise RuntimeError(_mismatch(kind, table, dtype_name))

    # --- operations on numpy buffers (contiguous) ----------------------------------------
    # blocking forms, for call_blocking
    def allreduce(self, buf: np.ndarray, op: ReduceOp) -> None:
        MPI = mpi()
        self.comm.Allreduce(MPI.IN_PLACE, buf, _op(MPI, op, buf.dtype == np.bool_))

    def reduce_(self, buf: np.ndarray, op: ReduceOp, root: int) -> None:
        MPI = mpi()
        mop = _op(MPI, op, buf.dtype == np.bool_)
        if self.rank == root:
            self.comm.Reduce(MPI.IN_PLACE, buf, mop, root)
        else:
            self.comm.Reduce(buf, None, mop, root)

    def bcast(self, buf: np.ndarray, root: int) -> None:
        self.comm.Bcast(_bytes(buf), root)

    def allgather(self, send: np.ndarray, recv: np.ndarray) -> None:
        self.comm.Allgather(_bytes(send), _bytes(recv))

    def reduce_scatter(self, send: np.ndarray, recv: np.ndarray, op: ReduceOp) -> None:
        MPI = mpi()
        self.comm.Reduce_scatter_block(send, recv, _op(MPI, op, send.dtype == np.bool_))

    # non-blocking forms
    def iallreduce(self, buf: np.ndarray, op: ReduceOp):
        MPI = mpi()
        return self.comm.Iallreduce(MPI.IN_PLACE, buf, _op(MPI, op, buf.dtype == np.bool_))

    def ireduce(self, buf: np.ndarray, op: ReduceOp, root: int):
        MPI = mpi()
        mop = _op(MPI, op, buf.dtype == np.bool_)
        if self.rank == root:
            return self.comm.Ireduce(MPI.IN_PLACE, buf, mop, root)
        return self.comm.Ireduce(buf, None, mop, root)

    def ibcast(self, buf: np.ndarray, root: int):
        return self.comm.Ibcast(_bytes(buf), root)

    def iallgather(self, send: np.ndarray, recv: np.ndarray):
        return self.comm.Iallgather(_bytes(send), _bytes(recv))

    def iallgatherv(self, send: np.ndarray, recv: np.ndarray, counts):
        return self.comm.Iallgatherv(_bytes(send), [_bytes(recv), list(counts)])

    def igather(self, send: np.ndarray, recv: np.ndarray | None, root: int):
        return self.comm.Igather(_bytes(send), None if recv is None else _bytes(recv), root)

    def igatherv(self, send: np.ndarray, recv: np.ndarray | None, counts, root: int):
        spec = None if recv is None else [_bytes(recv), list(counts)]
        return self.comm.Igatherv(_bytes(send), spec, root)

    def iscatter(self, send: np.ndarray | None, recv: np.ndarray, root: int):
        return self.comm.Iscatter(None if send is None else _bytes(send), _bytes(recv), root)

    def ireduce_scatter(self, send: np.ndarray, recv: np.ndarray, op: ReduceOp):
        MPI = mpi()
        return self.comm.Ireduce_scatter_block(send, recv, _op(MPI, op, send.dtype == np.bool_))

    def ialltoall(self, send: np.ndarray, recv: np.ndarray):
        return self.comm.Ialltoall(_bytes(send), _bytes(recv))

    def ibarrier(self):
        return self.comm.Ibarrier()

    def isend(self, buf: np.ndarray, dst: int, tag: int):
        return self.comm.Isend(_bytes(buf), dst, tag)

    def irecv(self, buf: np.ndarray, src: int | None, tag: int):
        MPI = mpi()
        return self.comm.Irecv(_bytes(buf), MPI.ANY_SOURCE if src is None else src, tag)

    def free(self) -> None:
        if self.comm is not None and self.comm != mpi().COMM_WORLD:
            try:
                self.comm.Free()
            except Exception:  # noqa: BLE001 - a poisoned communicator may refuse
                pass
        self.comm = None


def _bytes(a: np.ndarray) -> np.ndarray:
    """Data movement is type-blind: every dtype (bfloat16 and bool included) moves as
    bytes, so only reductions need an MPI datatype."""
    return a.reshape(-1).view(np.uint8)


def _poisoned() -> DistBackendError:
    return DistBackendError("ember.distributed: an earlier operation failed or timed out "
                            f"({_FAILED[0]}); the process group cannot be used any more")


def _mismatch(kind: str, table: np.ndarray, dtype_name: str) -> str:
    def describe(row) -> str:  # "float64 [4, 3] root=0"
        nd = int(row[4])
        dims = [int(d) for d in row[6:6 + min(nd, 6)]] + (["..."] if nd > 6 else [])
        extra = f" root={int(row[1])}" if row[1] >= 0 else ""
        extra += f" op={ReduceOp(int(row[2])).name}" if row[2] >= 0 else ""
        if row[0] != table[0][0]:
            return f"{_KINDS[int(row[0])]}"
        code = int(row[3])
        name = _DTYPES[code] if code < len(_DTYPES) else "other"
        return f"{name} {dims}{extra}"
    dtypes_differ = len(set(table[:, 3].tolist())) > 1
    parts = []
    for r, row in enumerate(table):
        d = describe(row)
        parts.append(f"rank {r}: {d}")
    what = "the dtype" if dtypes_differ else "the arguments"
    if len(set(table[:, 0].tolist())) > 1:
        what = "the operation (ranks called different collectives)"
    return (f"ember.distributed.{kind}: the ranks disagree on {what}; every rank must pass "
            f"tensors of the same shape and dtype (and the same src/dst/op): "
            + "; ".join(parts))


def launched_by_mpirun() -> bool:
    """Whether this process was started by an MPI launcher (Open MPI, MPICH, Slurm PMI)."""
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                         "MPI_LOCALNRANKS"))
