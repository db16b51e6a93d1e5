"""Starting ranks: ``launch`` runs a command under its own process group with a timeout
and kills the whole group when it runs over, so no rank outlives a test."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def need_mpi() -> None:
    """Skip the calling test module unless mpi4py and mpirun are both here."""
    pytest.importorskip("mpi4py", reason="ember.distributed's tests need mpi4py")
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not on PATH (install Open MPI: .ci/install-mpi.sh)",
                    allow_module_level=True)

# loopback only, root allowed (CI containers), more ranks than cores
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--mca", "btl", "self,vader,tcp",
          "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p and os.path.isdir(p)])
    e["OMPI_ALLOW_RUN_AS_ROOT"] = e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    e.setdefault("OMP_NUM_THREADS", "1")
    return e


def launch(cmd: list[str], timeout: float) -> tuple[int, str, float]:
    """(exit status, stdout + stderr, seconds); the process group is killed on timeout."""
    import time
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env(), start_new_session=True, cwd=HERE)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail(f"{cmd} ran over {timeout} s:\n{out}")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
    return p.returncode, out, time.monotonic() - t0


def survivors(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (orphaned ranks)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd}")
    return found
