"""What runs inside a DataLoader worker process. Mirrors ``torch.utils.data._utils.worker``:
``WorkerInfo``/``get_worker_info``, per-worker seeding (ember's default generator and
Python's ``random`` get ``base_seed + worker_id``; numpy's global RNG gets PyTorch's
``_generate_state`` mix of the two), and the loop that fetches and collates batches.

The loop talks to the loader over two pipes of its own (indices in, frames out; see
``_transport``), polls for work with a short timeout and leaves as soon as its parent
process is gone, so an orphaned worker never lingers."""
from __future__ import annotations

import os
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from ... import _settings
from . import _transport
from ._fetch import ITERABLE, create_fetcher

__all__ = ["WorkerInfo", "get_worker_info"]

#: seconds a worker waits for an index before checking that its parent is still alive
POLL_INTERVAL = 0.5

_worker_info: "WorkerInfo | None" = None


@dataclass(frozen=True)
class WorkerInfo:
    """Mirrors ``torch.utils.data.WorkerInfo``: ``id``, ``num_workers``, ``seed`` and the
    worker's own copy of ``dataset``."""
    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """Mirrors ``torch.utils.data.get_worker_info``: this worker's :class:`WorkerInfo`, or
    None in the main process."""
    return _worker_info


class KeyErrorMessage(str):
    """A str whose repr is itself, so ``KeyError(msg)`` prints the traceback readably."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """Mirrors ``torch._utils.ExceptionWrapper``: an exception's type and formatted
    traceback, carried to the main process and re-raised there."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - a type that takes other arguments
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's IterableDataset copy is exhausted."""
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Start a new epoch (persistent workers): rebuild the fetcher, then acknowledge."""


def _generate_state(base_seed: int, worker_id: int) -> list[int]:
    """PyTorch's seed for numpy's global RNG in a worker: numpy's SeedSequence pool
    mixing of ``(worker_id, base_seed)``, so nearby base seeds give unrelated streams."""
    INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
    INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
    MIX_MULT_L, MIX_MULT_R = 0xCA01F9DD, 0x4973F715
    XSHIFT, MASK32 = 16, 0xFFFFFFFF
    entropy = [worker_id, base_seed & MASK32, base_seed >> 32, 0]
    hash_const_a = INIT_A

    def hash_(value):
        nonlocal hash_const_a
        value = (value ^ hash_const_a) & MASK32
        hash_const_a = (hash_const_a * MULT_A) & MASK32
        value = (value * hash_const_a) & MASK32
        return (value ^ (value >> XSHIFT)) & MASK32

    def mix(x, y):
        r = ((MIX_MULT_L * x) & MASK32) - ((MIX_MULT_R * y) & MASK32)
        r &= MASK32
        return (r ^ (r >> XSHIFT)) & MASK32

    pool = [hash_(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hash_(pool[i_src]))
    hash_const_b = INIT_B
    state = []
    for v in pool:
        v = (v ^ hash_const_b) & MASK32
        hash_const_b = (hash_const_b * MULT_B) & MASK32
        v = (v * hash_const_b) & MASK32
        state.append((v ^ (v >> XSHIFT)) & MASK32)
    return state


def _seed_worker(base_seed: int, worker_id: int) -> int:
    import numpy as np
    from ... import _creation
    seed = base_seed + worker_id
    random.seed(seed)
    _creation.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    return seed


def _send_result(conn, idx, data, prefix: str, where: str) -> None:
    """Send one result; a batch that cannot be pickled turns into the error saying why."""
    try:
        _transport.send(conn, (idx, data), prefix)
    except OSError:
        raise
    except Exception:  # noqa: BLE001 - pickling a user's batch can fail any way
        if isinstance(data, ExceptionWrapper):  # its exception type itself won't pickle
            data.exc_type = RuntimeError
        else:
            data = ExceptionWrapper(where=where)
        _transport.send(conn, (idx, data), prefix)


def _worker_loop(dataset_kind: int, dataset, auto_collation: bool, collate_fn,
                 drop_last: bool, base_seed: int, init_fn, worker_id: int, num_workers: int,
                 index_conn, result_conn, shm_prefix: str, inherited_fds: tuple) -> None:
    """A worker's life: seed, run ``init_fn``, then answer ``(idx, index)`` messages with
    ``(idx, batch)`` until told to stop (None), the pipe closes or the parent dies."""
    global _worker_info
    for fd in inherited_fds:  # fork copies the loader's ends of other workers' pipes
        try:
            os.close(fd)
        except OSError:
            pass
    parent = os.getppid()
    prefix = f"{shm_prefix}{worker_id}-"
    where = f"in DataLoader worker process {worker_id}"
    try:
        _settings._worker_threads()  # 1, as PyTorch's workers: the processes are the parallelism
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_exception = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(dataset_kind, dataset, auto_collation, collate_fn,
                                     drop_last)
        except Exception:  # noqa: BLE001 - reported with the first batch, as PyTorch does
            init_exception = ExceptionWrapper(where=where)
        iteration_end = False
        while True:
            if not index_conn.poll(POLL_INTERVAL):
                if os.getppid() != parent:
                    break
                continue
            r = _transport.recv(index_conn)
            if r is None:
                break
            if isinstance(r, _ResumeIteration):
                iteration_end = False
                try:
                    fetcher = create_fetcher(dataset_kind, dataset, auto_collation,
                                             collate_fn, drop_last)
                except Exception:  # noqa: BLE001 - reported with the next batch
                    init_exception = ExceptionWrapper(where=where)
                _send_result(result_conn, r, None, prefix, where)
                continue
            if iteration_end:
                continue
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if dataset_kind != ITERABLE:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:  # noqa: BLE001 - the main process re-raises it
                    data = ExceptionWrapper(where=where)
            _send_result(result_conn, idx, data, prefix, where)
            del data, idx, index, r
    except KeyboardInterrupt:  # the main process handles ^C and shuts us down
        pass
    except (EOFError, OSError):  # the loader closed our pipes: it is gone or done
        pass
    finally:
        if os.getppid() != parent:  # orphaned: nobody will read what we wrote
            _transport.remove_files(prefix)
