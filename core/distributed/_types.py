"""The small public types of ``ember.distributed``: ``ReduceOp``, ``Backend``, the error
classes and the ``Work`` handle that ``async_op=True`` returns. No MPI import here."""
from __future__ import annotations

import enum
import time
from datetime import timedelta
from typing import Callable

__all__ = ["ReduceOp", "Backend", "DistError", "DistBackendError", "DistStoreError",
           "DistNetworkError", "Work", "default_pg_timeout"]

#: Mirrors ``torch.distributed.default_pg_timeout`` (30 minutes).
default_pg_timeout = timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """Mirrors ``torch.distributed.ReduceOp`` (values as PyTorch's ``RedOpType``)."""

    SUM = 0
    PRODUCT = 1
    MIN = 2
    MAX = 3
    BAND = 4
    BOR = 5
    BXOR = 6
    AVG = 7
    PREMUL_SUM = 8

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"RedOpType.{self.name}"


class Backend(str):
    """Mirrors ``torch.distributed.Backend``: a lower-cased backend name. ember serves
    ``"mpi"`` (mpi4py) and ``"nccl"`` (CuPy's NCCL); ``"gloo"`` is accepted and served by
    MPI on CPU."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: "
                             f"{type(name)}")
        value = name.lower()
        # "cpu:gloo,cuda:nccl" is PyTorch's per-device form; each part must be known
        parts = [p.split(":", 1)[-1] for p in value.split(",")] if ":" in value else [value]
        for p in parts:
            if p not in cls.backend_list or p == cls.UNDEFINED:
                raise ValueError(f"Invalid backend: '{name}'")
        return super().__new__(cls, value)


class DistError(RuntimeError):
    """Mirrors ``torch.distributed.DistError``."""


class DistBackendError(DistError):
    """Mirrors ``torch.distributed.DistBackendError``: the communication library failed
    (here also: a collective outlived the process group's timeout)."""


class DistStoreError(DistError):
    """Mirrors ``torch.distributed.DistStoreError``."""


class DistNetworkError(DistError):
    """Mirrors ``torch.distributed.DistNetworkError``."""


class Work:
    """Mirrors ``torch.distributed.Work``: the handle of an operation started with
    ``async_op=True``. ``wait()`` blocks until it is done (raising ``DistBackendError``
    past the process group's timeout) and runs what must follow it (averaging, copying
    the result into the tensor)."""

    def __init__(self, poll: Callable[[], bool], wait: Callable[[float], None],
                 finish: Callable[[], object] | None = None, timeout: float = 0.0) -> None:
        self._poll, self._wait, self._finish = poll, wait, finish
        self._timeout = timeout
        self._done = False
        self._result = None

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._result = self._finish()

    def is_completed(self) -> bool:
        if not self._done and self._poll():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        if not self._done:
            t = self._timeout if timeout is None else _seconds(timeout)
            self._wait(time.monotonic() + t)
            self._complete()
        return True

    def result(self):
        self.wait()
        return self._result

    def get_future(self):
        """A ``concurrent.futures.Future`` already resolved with the result (the operation
        is waited for first: ember has no background progress thread)."""
        from concurrent.futures import Future
        fut: Future = Future()
        fut.set_result(self.result())
        return fut


def _seconds(t: timedelta | float | int) -> float:
    return t.total_seconds() if isinstance(t, timedelta) else float(t)


DONE = Work(lambda: True, lambda deadline: None)
