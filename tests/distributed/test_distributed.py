"""ember.distributed across real processes: ranks started by ``ember run --nproc`` (2 and 4)
and by ``mpirun`` directly, on loopback. Each launch runs many checks (MPI start-up is the
slow part); the references are computed in the ranks from every rank's inputs."""
from __future__ import annotations

import re
import sys
import uuid

import pytest

from _dist_helpers import MPIRUN, launch, need_mpi, survivors

need_mpi()

_CHECKS = ["before_init", "env", "all_reduce", "broadcast_reduce", "all_gather",
           "reduce_scatter", "gather_scatter", "p2p", "objects", "new_group", "mismatch",
           "ddp_mlp_20_steps", "ddp_no_sync", "ddp_find_unused", "ddp_buffers_and_errors",
           "sampler"]


@pytest.mark.parametrize("nproc", [2, 4])
def test_collectives_ddp_sampler_under_ember_run(nproc):
    marker = uuid.uuid4().hex
    rc, out, _ = launch([sys.executable, "-m", "ember", "run", "--nproc", str(nproc),
                         "ranks_main.py", marker], timeout=150)
    results = re.findall(r"CHECK (\d+) (\w+) (OK|FAIL)", out)
    failed = [r for r in results if r[2] != "OK"]
    assert not failed, out
    for rank in range(nproc):
        assert sorted(name for r, name, _ in results if int(r) == rank) == sorted(_CHECKS), out
        assert f"DONE {rank}" in out, out
    assert rc == 0, out
    assert not survivors(marker)


def test_killed_rank_makes_survivors_raise_within_the_timeout():
    # --enable-recovery: mpirun lets the job go on when a rank dies, so what the survivors
    # do is ember's doing (by default mpirun ends the whole job at once: tested below)
    marker = uuid.uuid4().hex
    rc, out, secs = launch(MPIRUN + ["--enable-recovery", "-n", "2", sys.executable,
                                     "ranks_fault.py", "kill", marker], timeout=60)
    m = re.search(r"RAISED 0 ([\d.]+) DistBackendError", out)
    assert m, out
    assert 2.5 < float(m.group(1)) < 8, out  # the 3 s timeout, not a hang
    assert "POISONED 0" in out and "NORAISE" not in out, out
    assert "timed out" in out, out
    assert not survivors(marker)


@pytest.mark.parametrize("mode", ["hang", "hang_big", "hang_big_thread", "hang_ddp"])
def test_hung_rank_survivor_raises_and_the_job_ends(mode):
    # rank 1 sleeps 120 s; rank 0 raises after 3 s and aborts the job at exit, so mpirun
    # ends rank 1 too: the whole launch is far shorter than the hang
    marker = uuid.uuid4().hex
    rc, out, secs = launch(MPIRUN + ["-n", "2", sys.executable, "ranks_fault.py", mode,
                                     marker], timeout=90)
    # the path under test: libnbc's fast Iallreduce unless the job's is left slow
    assert f"FAST 0 {mode != 'hang_big_thread'}" in out, out
    m = re.search(r"RAISED 0 ([\d.]+) DistBackendError", out)
    assert m and 2.5 < float(m.group(1)) < 30, out
    assert "POISONED 0" in out and "NORAISE" not in out, out
    assert rc != 0
    assert secs < 60, (secs, out)
    assert not survivors(marker)


def test_helper_thread_all_reduce_where_libnbc_is_left_slow():
    # every rank's variable 0: big all-reduces on the helper thread, as DDP's buckets
    marker = uuid.uuid4().hex
    rc, out, _ = launch(MPIRUN + ["-n", "2", sys.executable, "ranks_paths.py", "slow",
                                  marker], timeout=90)
    assert "FAST 0 False" in out and "FAST 1 False" in out, out
    assert "DONE 0" in out and "DONE 1" in out and rc == 0, out
    assert not survivors(marker)


def test_ranks_with_different_libnbc_all_reduce_raise_at_init():
    # rank 1's MPI started before ember could set the variable, rank 0's after: the same
    # error on both, instead of a hang in the communicator's creation
    marker = uuid.uuid4().hex
    rc, out, _ = launch(MPIRUN + ["-n", "2", sys.executable, "ranks_paths.py", "mixed",
                                  marker], timeout=90)
    for r in (0, 1):
        assert re.search(rf"MISMATCH {r} .*rank 0: 3, rank 1: 0.*Import ember before mpi4py",
                         out), out
    assert not survivors(marker)


def test_killed_rank_default_mpirun_ends_the_job():
    marker = uuid.uuid4().hex
    rc, out, secs = launch(MPIRUN + ["-n", "2", sys.executable, "ranks_fault.py", "kill",
                                     marker], timeout=90)
    assert rc != 0 and secs < 60, out
    assert not survivors(marker)
