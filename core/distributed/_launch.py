"""``ember run --nproc N``: start N ranks of a script through ``mpirun``, and give each rank
torchrun's environment variables so unmodified torchrun-style scripts find their rank.

``--nproc`` is for one machine (as torchrun's ``--nproc-per-node`` on a single node):
Open MPI is told to use shared memory and the loopback interface only. Across machines,
call ``mpirun`` yourself with a host file: ``mpirun -n 8 --hostfile hosts ember run
script.py`` (each rank then runs ``ember run`` and gets the same variables).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

__all__ = ["mpirun_command", "launch", "export_rank_env"]

_INSTALL = ("`ember run --nproc` starts its ranks with mpirun, which is not on PATH: install "
            "Open MPI (`apt-get install openmpi-bin libopenmpi-dev`, `brew install open-mpi`) "
            "and mpi4py (`pip install 'ember[distributed]'`)")


def export_rank_env() -> None:
    """In a process started by mpirun: set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` from the launcher's variables
    (Open MPI's ``OMPI_COMM_WORLD_*``, MPICH/Hydra's ``PMI_*``) where not set already, and
    Open MPI's libnbc all-reduce algorithm (``_mpi.NBC_ALLREDUCE_VAR``) before the script
    can start MPI."""
    env = os.environ
    pairs = (("RANK", ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")),
             ("WORLD_SIZE", ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")),
             ("LOCAL_RANK", ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")),
             ("LOCAL_WORLD_SIZE", ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")))
    found = False
    for name, sources in pairs:
        for s in sources:
            if s in env:
                env.setdefault(name, env[s])
                found = True
                break
    if found:
        # MPI did the rendezvous; these only satisfy scripts that read them
        env.setdefault("MASTER_ADDR", "127.0.0.1")
        env.setdefault("MASTER_PORT", "29500")
        # every rank with libnbc's fast all-reduce, also where the script imports mpi4py
        # before ember (see ember.distributed._mpi)
        from ._mpi import NBC_ALLREDUCE_VAR
        env.setdefault(NBC_ALLREDUCE_VAR, "3")


def _is_open_mpi(mpirun: str) -> bool:
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out or "OpenRTE" in out


def mpirun_command(nproc: int, rank_argv: list[str], mpirun: str | None = None) -> list[str]:
    """The mpirun line that starts ``nproc`` copies of ``rank_argv`` on this machine."""
    mpirun = mpirun or shutil.which("mpirun") or shutil.which("mpiexec")
    if mpirun is None:
        from .._cli import UsageError
        raise UsageError(_INSTALL)
    cmd = [mpirun, "-n", str(nproc)]
    if _is_open_mpi(mpirun):
        cmd += ["--oversubscribe",  # more ranks than cores is allowed, as torchrun allows
                "--mca", "btl", "self,vader,tcp",
                "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    return cmd + rank_argv


def launch(nproc: int, rank_argv: list[str]) -> int:
    """Run the ranks; mpirun's exit status (it ends every rank when one fails)."""
    cmd = mpirun_command(nproc, rank_argv)
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()  # mpirun forwards it to the ranks
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            return proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def rank_argv(args) -> list[str]:
    """``ember run`` for one rank: the same options minus ``--nproc``."""
    argv = [sys.executable, "-m", "ember", "run"]
    if args.device is not None:
        argv += ["--device", args.device]
    for p in args.provider:
        argv += ["--provider", p]
    return argv + [args.script, *args.args]
