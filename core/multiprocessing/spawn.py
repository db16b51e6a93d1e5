"""``spawn``/``start_processes``: mirrors ``torch.multiprocessing.spawn``. Runs
``fn(i, *args)`` in ``nprocs`` new processes; when one fails the others are terminated and
the parent raises ``ProcessRaisedException`` (with the child's traceback) or
``ProcessExitedException`` (a signal or an exit code)."""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import traceback
from typing import Any, Callable

__all__ = ["ProcessContext", "SpawnContext", "ProcessException", "ProcessRaisedException",
           "ProcessExitedException", "spawn", "start_processes"]


class ProcessException(Exception):
    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A process ended by an exception; ``msg`` holds its traceback."""


class ProcessExitedException(ProcessException):
    """A process ended by a signal or a non-zero exit code."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return (type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                             self.signal_name))


def _wrap(fn: Callable, i: int, args: tuple, error_file: str) -> None:
    from . import init_reductions
    init_reductions()
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass
    except Exception:  # noqa: BLE001 - reported to the parent with its traceback
        with open(error_file, "w") as f:
            f.write(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """Mirrors ``torch.multiprocessing.ProcessContext``."""

    def __init__(self, processes: list, error_files: list[str]) -> None:
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """True when every process ended cleanly; False while some still run (after
        ``timeout``); raises when one failed (the others are terminated first)."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(self.sentinels.keys(), timeout=timeout)
        error_index = None
        for s in ready:
            i = self.sentinels.pop(s)
            p = self.processes[i]
            p.join()
            if p.exitcode != 0 and error_index is None:
                error_index = i
        if error_index is None:
            return not self.sentinels
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join(grace_period if grace_period is not None else 30)
            if p.is_alive():
                p.kill()
                p.join()
        code = self.processes[error_index].exitcode
        pid = self.processes[error_index].pid
        path = self.error_files[error_index]
        if code < 0:
            name = signal.Signals(-code).name
            raise ProcessExitedException(f"process {error_index} terminated with signal "
                                         f"{name}", error_index, pid, code, name)
        if not os.path.exists(path) or not os.path.getsize(path):
            raise ProcessExitedException(f"process {error_index} terminated with exit code "
                                         f"{code}", error_index, pid, code)
        with open(path) as f:
            original = f.read()
        msg = (f"\n\n-- Process {error_index} terminated with the following error:\n"
               + original)
        raise ProcessRaisedException(msg, error_index, pid)

    def __del__(self) -> None:
        for path in getattr(self, "error_files", ()):
            try:
                os.unlink(path)
            except OSError:
                pass


class SpawnContext(ProcessContext):
    pass


def start_processes(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn") -> Any:
    """Mirrors ``torch.multiprocessing.start_processes``."""
    ctx = multiprocessing.get_context(start_method)
    procs, files = [], []
    for i in range(nprocs):
        fd, path = tempfile.mkstemp(prefix="ember-spawn-")
        os.close(fd)
        os.unlink(path)  # the child creates it only to report an error
        p = ctx.Process(target=_wrap, args=(fn, i, args, path), daemon=daemon)
        p.start()
        procs.append(p)
        files.append(path)
    context = ProcessContext(procs, files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
          daemon: bool = False, start_method: str = "spawn") -> Any:
    """Mirrors ``torch.multiprocessing.spawn``: ``fn(i, *args)`` for i in range(nprocs)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
