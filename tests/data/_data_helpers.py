"""Datasets and hooks for the DataLoader tests. They live in a module of their own (which
imports ember and numpy only) so ``spawn`` workers can unpickle them quickly."""
from __future__ import annotations

import math
import os
import random
import time

import numpy as np

import ember
from ember.utils.data import Dataset, IterableDataset, get_worker_info


class Squares(Dataset):
    """Sample i is ``(tensor([i, i*i], float32), i)``."""

    def __init__(self, n: int = 20) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return ember.tensor([float(i), float(i * i)]), i


class WhoLoads(Dataset):
    """Sample i records which process loaded it and what its RNGs said."""

    def __init__(self, n: int = 8) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        return {"index": i, "pid": os.getpid(),
                "worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "py": random.random(), "np": float(np.random.rand()),
                "ember": ember.rand(()).item()}


class FailsAt(Dataset):
    """Raises ValueError for one index."""

    def __init__(self, bad: int, n: int = 16) -> None:
        self.bad, self.n = bad, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"bad sample {i}")
        return i


class Slow(Dataset):
    """Every sample takes ``delay`` seconds."""

    def __init__(self, delay: float, n: int = 8) -> None:
        self.delay, self.n = delay, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i


class KillsItself(Dataset):
    """The worker that loads index ``bad`` ends its own process: SIGKILL, or
    ``os._exit(code)`` when ``exit_code`` is given."""

    def __init__(self, bad: int, n: int = 16, exit_code: int | None = None) -> None:
        self.bad, self.n, self.exit_code = bad, n, exit_code

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad and get_worker_info() is not None:
            if self.exit_code is not None:
                os._exit(self.exit_code)
            import signal
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Range(IterableDataset):
    """``range(start, end)``, split between workers as PyTorch's docs show."""

    def __init__(self, start: int, end: int, shard: bool = True) -> None:
        self.start, self.end, self.shard = start, end, shard

    def __len__(self) -> int:
        return self.end - self.start

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.start, self.end))
        per = int(math.ceil((self.end - self.start) / info.num_workers))
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


class BigArrays(Dataset):
    """Samples of ``size`` float32s: batches large enough for shared memory."""

    def __init__(self, n: int = 8, size: int = 100_000) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return ember.full((self.size,), float(i))


def record_init(worker_id: int) -> None:
    """A worker_init_fn: leaves a mark the dataset's copy can show."""
    info = get_worker_info()
    info.dataset.init_by = worker_id


class InitMarked(Dataset):
    init_by = None

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        return self.init_by


def failing_init(worker_id: int) -> None:
    raise RuntimeError(f"init failed in {worker_id}")


class Unpicklable(Dataset):
    """Samples that cannot cross a process boundary (a lambda), or that must not (a
    non-leaf tensor that requires grad)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        if self.kind == "lambda":
            return lambda: i
        w = ember.ones(2, requires_grad=True)
        return w * 2


class MissingKey(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        return {}["no-such-key"]
