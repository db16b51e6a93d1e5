"""The MPI engine under ``ember.distributed``: one mpi4py communicator per process group,
every operation on contiguous numpy buffers.

Timeouts. mpi4py's blocking calls wait forever when a peer dies or hangs, so every
operation here is MPI's non-blocking form (``Iallreduce``, ``Ibcast``, ``Isend`` ...) and
the caller polls it with ``Request.Testall`` until the process group's deadline (see
Polling), or a blocking call on a helper thread that the caller waits for with the same
deadline (see Big messages). Past the deadline the operation raises ``DistBackendError``
on the ranks still alive. MPI cannot cancel a collective, so the communicator is then
poisoned: later operations raise at once, and at exit the process calls ``MPI_Abort``
instead of ``MPI_Finalize`` (which would wait for the ranks that are gone), so ``mpirun``
ends the whole job and no rank is left behind.

Polling. The caller calls ``Testall`` back to back for :data:`_SPIN_S` plus the time the
message would take at a pessimistic :data:`_SPIN_BYTES_PER_S` (latency matters, and
libnbc, Open MPI's non-blocking collectives, moves data only inside ``Test`` calls: a
sleeping poller stalls it), then sleeps between polls, so a rank waiting for a late peer
does not burn a core for long.

All-reduce. For two or three ranks and for in-place buffers libnbc's ``Iallreduce``
picks a binomial tree, several times slower on big buffers than the blocking all-reduce;
its Rabenseifner (and ring) algorithm matches the blocking one when polled as above
(measured with two ranks, 1-64 MiB). So when it is the first to start MPI, ember sets
:data:`NBC_ALLREDUCE_VAR` to 3 (Rabenseifner; libnbc takes the ring for fewer elements than
ranks) unless the user set it, and ``ember run`` exports it to every rank. Where every rank
of the job runs 1 or 3, ``all_reduce`` uses ``Iallreduce`` polled on the calling thread:
no hand-off to another thread. (DDP's buckets keep the helper thread below: there the
all-reduce must move data while backward computes, not only when polled.) The ranks compare their values at
``init_process_group`` (with an all-gather) and all raise a clear error where they differ:
Open MPI agrees on every new communicator's id with that ``Iallreduce``, so even
``MPI_Comm_dup`` would hang. Only a script that imports mpi4py before ember in some ranks
and not in others gets there; one that imports it first in every rank (or another MPI
library) keeps libnbc's choice and the path below.

Big messages. Otherwise a synchronous collective of at least :data:`BLOCKING_MIN_BYTES`
calls MPI's blocking form on a helper thread (libnbc's ``Ireduce`` and, left to its own
choice, ``Iallreduce`` are several times slower on big buffers) while the caller waits for
it with the same deadline (mpi4py releases the GIL inside MPI; the caller makes no MPI call
meanwhile, so the thread level MPI initialises with, ``MPI_THREAD_MULTIPLE`` by default, is
more than enough). A timed-out call stays blocked on that thread; the process ends the job
at exit.

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

_SPIN_S = 0.005        # busy-poll this long (plus the message's share, below) before sleeping
_SPIN_BYTES_PER_S = 250e6  # a slow all-reduce's rate: big messages spin until they could be done
_SLEEP_MAX_S = 0.0005  # libnbc stalls while this rank sleeps (and so may its peers)
#: Open MPI's variable for libnbc's ``Iallreduce`` algorithm; ember sets it to 3 (see above).
NBC_ALLREDUCE_VAR = "OMPI_MCA_coll_libnbc_iallreduce_algorithm"
NBC_FAST = (1, 3)  # ring, Rabenseifner
#: Synchronous collectives on buffers at least this big use MPI's blocking form (above).
BLOCKING_MIN_BYTES = 64 * 1024
_SIG_LEN = 12
_KINDS = ("all_reduce", "broadcast", "reduce", "all_gather", "gather", "scatter",
          "reduce_scatter", "barrier", "all_to_all", "object")
_DTYPES = ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128")
_FAILED: list = []     # set once an operation timed out or MPI reported an error


_MPI: list = []          # mpi4py.MPI once imported
_NBC_SEEN: list = []     # NBC_ALLREDUCE_VAR as MPI_Init saw it


def mpi():
    """mpi4py's ``MPI`` module, imported on first use (it initialises MPI)."""
    if _MPI:
        return _MPI[0]
    if "mpi4py.MPI" not in sys.modules:  # MPI_Init is still to come: it reads the variable
        os.environ.setdefault(NBC_ALLREDUCE_VAR, "3")
    _NBC_SEEN.append(os.environ.get(NBC_ALLREDUCE_VAR))
    from mpi4py import MPI
    _MPI.append(MPI)
    return MPI


def nbc_allreduce_code() -> int:
    """libnbc's ``Iallreduce`` algorithm in this process as ``MPI_Init`` read it (0:
    libnbc's own choice), -1 under another MPI library. The ranks compare theirs at
    ``init_process_group``."""
    MPI = mpi()
    if not MPI.Get_library_version().startswith("Open MPI"):
        return -1
    v = (_NBC_SEEN[0] or "").strip()
    return int(v) if v.isdigit() else 0


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
            done.release()

    def submit(self, fn) -> tuple:
        """Queue ``fn``; jobs run one at a time in submission order. The handle's lock is
        released when ``fn`` returned (a bare lock: a third of an ``Event``'s hand-off)."""
        box: list = []
        done = threading.Lock()
        done.acquire()
        self.jobs.put((fn, box, done))
        return done, box



_CALLER: list = []


_OPS: dict = {}  # (ReduceOp value, is_bool) -> MPI.Op (values: an Enum hashes in Python)


def _op(MPI, op: ReduceOp, is_bool: bool):
    if not _OPS:
        # PyTorch's bool reductions: sum/max are "any", product/min are "all"
        for r, m in {ReduceOp.SUM: MPI.LOR, ReduceOp.AVG: MPI.LOR, ReduceOp.MAX: MPI.LOR,
                     ReduceOp.BOR: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND,
                     ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                     ReduceOp.BXOR: MPI.LXOR}.items():
            _OPS[r.value, True] = m
        for r, m in {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
                     ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}.items():
            _OPS[r.value, False] = m
    return _OPS[op.value, is_bool]


class MpiComm:
    """An mpi4py intracommunicator with deadline-bounded operations."""

    def __init__(self, comm, timeout: float) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout
        #: every rank's Iallreduce is fast (see the module docstring); set by the process group
        self.fast_allreduce = False
        self._rows: dict = {}  # signature rows by check()'s arguments
        self._table = np.empty((self.size, _SIG_LEN), dtype=np.int64)  # check()'s receive

    # --- waiting -----------------------------------------------------------------------
    def poll(self, reqs) -> bool:
        try:
            return bool(mpi().Request.Testall(reqs))
        except Exception as e:  # mpi4py raises MPI.Exception (errors return, not abort)
            raise _mpi_error(e) from None

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

    def wait(self, reqs, deadline: float, what: str, poll=None, nbytes: int = 0) -> None:
        """Poll until ``reqs`` complete (or ``poll()`` is true); past ``deadline`` raise
        ``DistBackendError`` and poison the process group."""
        if _FAILED:
            raise _poisoned()
        if poll is None:  # the first polls inline: most operations end here
            testall = _MPI[0].Request.Testall
            try:
                for _ in range(64):
                    if testall(reqs):
                        return
            except Exception as e:  # noqa: BLE001 - mpi4py's MPI.Exception
                raise _mpi_error(e) from None
            done = _spinner(reqs)
        elif poll():
            return
        else:
            done = poll
        start = time.monotonic()
        spin = _SPIN_S + nbytes / _SPIN_BYTES_PER_S
        sleep = 0.00005
        while not done():
            now = time.monotonic()
            if now > deadline:
                _FAILED.append(what)
                raise DistBackendError(
                    f"ember.distributed: {what} on rank {world().Get_rank()} timed out after "
                    f"{now - start:.1f} s (the process group's timeout): another rank died, "
                    f"hung, or did not make the same call. The process group cannot be used "
                    f"any more; this process ends the MPI job when it exits.")
            if now - start > spin:
                time.sleep(sleep)
                sleep = min(sleep * 2, _SLEEP_MAX_S)

    def complete(self, req, what: str, detail: str = "", nbytes: int = 0) -> None:
        """Wait for one request: the first polls inline (most small operations end there,
        with none of :meth:`wait`'s set-up), then :meth:`wait` with the deadline."""
        test = req.Test
        try:
            for _ in range(64):
                if test():
                    return
        except Exception as e:  # noqa: BLE001 - mpi4py's MPI.Exception
            raise _mpi_error(e) from None
        self.wait([req], time.monotonic() + self.timeout, what + detail, nbytes=nbytes)

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
            if not done.acquire(True, max(0.0, deadline - time.monotonic())):
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

    def deadline(self) -> float:
        return time.monotonic() + self.timeout

    def run(self, reqs, what: str, nbytes: int = 0) -> None:
        self.wait(reqs if isinstance(reqs, list) else [reqs], self.deadline(), what,
                  nbytes=nbytes)

    # --- agreement ---------------------------------------------------------------------
    def check(self, kind: str, arr: np.ndarray | None, root: int = -1,
              op: ReduceOp | None = None, dtype_name: str = "", shape=None) -> None:
        """Raise the same error on every rank unless all passed the same signature."""
        if self.size == 1:
            return
        shape = tuple(arr.shape if shape is None else shape) if arr is not None or shape \
            else ()
        key = (kind, root, -1 if op is None else op.value, dtype_name, shape)
        row = self._rows.get(key)
        if row is None:  # a training loop repeats a few signatures: build each once
            row = _signature(kind, root, op, dtype_name, shape)
            if len(self._rows) < 256:
                self._rows[key] = row
        table = self._table
        if _FAILED:
            raise _poisoned()
        self.complete(self.comm.Iallgather(row, table), kind, " (agreeing on shapes)")
        if table.tobytes() == row.tobytes() * self.size:
            return
        raise RuntimeError(_mismatch(kind, table.copy(), dtype_name))

    # --- operations on numpy buffers (contiguous) ----------------------------------------
    # blocking forms, for submit()
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
        return self.comm.Iallreduce(MPI.IN_PLACE, buf, _op(MPI, op, buf.dtype.char == "?"))

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


def _signature(kind: str, root: int, op: ReduceOp | None, dtype_name: str,
               shape: tuple) -> np.ndarray:
    """The row the ranks compare: operation, root, reduction, dtype, rank and shape."""
    row = np.zeros(_SIG_LEN, dtype=np.int64)
    row[0] = _KINDS.index(kind)
    row[1] = root
    row[2] = -1 if op is None else op.value
    row[3] = _DTYPES.index(dtype_name) if dtype_name in _DTYPES else \
        len(_DTYPES) + zlib.crc32(dtype_name.encode())
    row[4] = len(shape)
    row[5] = zlib.crc32(repr(shape).encode())
    row[6:6 + min(len(shape), 6)] = shape[:6]
    return row


def _bytes(a: np.ndarray) -> np.ndarray:
    """Data movement is type-blind: every dtype (bfloat16 and bool included) moves as
    bytes, so only reductions need an MPI datatype."""
    return a.reshape(-1).view(np.uint8)


def _spinner(reqs):
    """A poll of ``reqs`` that calls ``Testall`` back to back a few times (libnbc moves
    data only inside ``Test``; the deadline is checked between rounds)."""
    testall = mpi().Request.Testall

    def done() -> bool:
        try:
            for _ in range(32):
                if testall(reqs):
                    return True
        except Exception as e:  # noqa: BLE001 - mpi4py's MPI.Exception
            raise _mpi_error(e) from None
        return False
    return done


def _mpi_error(e) -> DistBackendError:
    _FAILED.append(e)
    return DistBackendError(f"ember.distributed: MPI error on rank {world().Get_rank()}: {e}")


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
