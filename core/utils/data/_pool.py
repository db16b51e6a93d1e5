"""The worker processes behind one multi-process DataLoader iterator, and the pipes to them.

Why the loader cannot hang:
- each worker has its own result pipe, and the loader holds no copy of its write end, so a
  worker that dies mid-message makes the read fail with EOF instead of blocking;
- the loader waits on the result pipes *and* the workers' process sentinels at once
  (``multiprocessing.connection.wait``), so a killed worker is noticed the moment it dies,
  and reported with its id, pid and exit signal (or code);
- shutdown is bounded: ask (None), wait a moment, then SIGTERM, then SIGKILL.
The pool holds no reference to the iterator using it, so a ``weakref.finalize`` on that
iterator can shut the pool down when the iterator is dropped."""
from __future__ import annotations

import os
import signal
import time
import uuid
from multiprocessing import connection as _mpc
from typing import Any

from . import _transport
from ._worker import _worker_loop

#: upper bound on one wait before re-checking worker liveness (sentinels usually wake first)
POLL_INTERVAL = 1.0
#: how long shutdown waits for workers to leave on their own, then after SIGTERM
JOIN_TIMEOUT = 1.0


def _describe_exit(worker_id: int, proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code)
            what = f"{signal.strsignal(sig) or sig.name} ({sig.name})"
        except ValueError:
            what = str(-code)
        return (f"DataLoader worker {worker_id} (pid {proc.pid}) is killed by signal: "
                f"{what}. ")
    return (f"DataLoader worker {worker_id} (pid {proc.pid}) exited unexpectedly with exit "
            f"code {code}. Details are lost due to multiprocessing. Rerunning with "
            "num_workers=0 may give better error trace.")


class WorkerPool:
    """``num_workers`` processes running :func:`_worker_loop`, each with an index pipe (in)
    and a result pipe (out)."""

    def __init__(self, ctx, num_workers: int, worker_args: tuple) -> None:
        self.shm_prefix = f"ember-dl-{os.getpid()}-{uuid.uuid4().hex[:8]}-"
        self.procs: list = []
        self.index_conns: list = []
        self.result_conns: list = []
        self.closed = False
        fork = ctx.get_start_method() == "fork"
        try:
            for wid in range(num_workers):
                # Unix sockets, not pipes: shared-memory segments travel as descriptors
                idx_r, idx_w = ctx.Pipe(duplex=True)
                res_r, res_w = ctx.Pipe(duplex=True)
                inherited = tuple(c.fileno() for c in self.index_conns + self.result_conns) \
                    if fork else ()
                inherited += (idx_w.fileno(), res_r.fileno()) if fork else ()
                p = ctx.Process(target=_worker_loop,
                                args=(*worker_args, wid, num_workers, idx_r, res_w,
                                      self.shm_prefix, inherited),
                                daemon=True, name=f"ember-dataloader-worker-{wid}")
                try:
                    p.start()
                finally:
                    idx_r.close()  # only the worker may hold these ends
                    res_w.close()
                self.procs.append(p)
                self.index_conns.append(idx_w)
                self.result_conns.append(res_r)
        except BaseException:
            self.shutdown()
            raise

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def send(self, worker_id: int, obj: Any) -> None:
        try:
            _transport.send(self.index_conns[worker_id], obj, self.shm_prefix + "m-")
        except OSError:  # the worker is gone; say which and how
            self.raise_if_dead([worker_id])
            raise

    def raise_if_dead(self, worker_ids) -> None:
        for wid in worker_ids:
            p = self.procs[wid]
            if not p.is_alive():
                p.join(0)
                msg = _describe_exit(wid, p)
                self.shutdown()
                raise RuntimeError(msg)

    def recv(self, worker_ids: list[int], timeout: float | None) -> tuple[int, Any] | None:
        """The next message from one of ``worker_ids`` as ``(worker_id, obj)``, or None
        after ``timeout`` seconds (None: wait for ever). Raises RuntimeError as soon as
        one of them dies."""
        deadline = None if timeout is None else time.monotonic() + timeout
        by_conn = {self.result_conns[w]: w for w in worker_ids}
        by_sentinel = {self.procs[w].sentinel: w for w in worker_ids}
        waitables = [*by_conn, *by_sentinel]
        while True:
            left = POLL_INTERVAL if deadline is None else \
                min(POLL_INTERVAL, deadline - time.monotonic())
            ready = _mpc.wait(waitables, max(left, 0.0))
            for r in ready:
                wid = by_conn.get(r)
                if wid is not None:
                    try:
                        return wid, _transport.recv(r)
                    except (EOFError, OSError):  # died mid-message: report how
                        self.procs[wid].join(JOIN_TIMEOUT)
                        self.raise_if_dead([wid])
                        raise
            self.raise_if_dead(worker_ids)
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def shutdown(self) -> None:
        """Stop every worker (politely, then by signal), close the pipes and remove any
        shared-memory file still unread. Idempotent; safe from a finalizer."""
        if self.closed:
            return
        self.closed = True
        try:
            for conn in self.index_conns:
                try:
                    _transport.send(conn, None, None)
                except (OSError, ValueError):
                    pass
            for conn in self.result_conns:  # unblocks a worker stuck sending to us
                conn.close()
            deadline = time.monotonic() + JOIN_TIMEOUT
            for p in self.procs:
                p.join(max(0.0, deadline - time.monotonic()))
            for stop in (lambda p: p.terminate(), lambda p: p.kill()):
                alive = [p for p in self.procs if p.is_alive()]
                for p in alive:
                    stop(p)
                for p in alive:
                    p.join(JOIN_TIMEOUT)
            for conn in self.index_conns:
                conn.close()
        finally:
            _transport.remove_files(self.shm_prefix)
