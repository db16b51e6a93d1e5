"""Started by test_distributed.py through mpirun with 2 ranks.

``slow``: every rank leaves libnbc's all-reduce algorithm to libnbc (variable set to 0), so
ember keeps its helper-thread path for big all-reduces (DDP always uses it): they must reduce
right. ``mixed``: rank 1 imports mpi4py before ember with no variable set, so its MPI runs
another algorithm than rank 0's; init_process_group must raise the same clear error on
both (Open MPI could not even create a communicator across them)."""
import os
import sys

from ember.distributed._mpi import NBC_ALLREDUCE_VAR

mode = sys.argv[1]
rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
if mode == "slow":
    os.environ[NBC_ALLREDUCE_VAR] = "0"
elif rank == 1:
    os.environ.pop(NBC_ALLREDUCE_VAR, None)
    from mpi4py import MPI  # noqa: F401 - MPI starts before ember can set the variable

import ember  # noqa: E402
import ember.distributed as dist  # noqa: E402

try:
    dist.init_process_group("mpi")
except RuntimeError as e:
    print(f"MISMATCH {rank} {e}", flush=True)
    sys.exit(0)
n = dist.get_world_size()
print(f"FAST {rank} {dist.group.WORLD._comm.fast_allreduce}", flush=True)
for count in (3, 300_001):  # Iallreduce (libnbc's choice), then the helper thread's Allreduce
    x = ember.full((count,), float(rank + 1))
    dist.all_reduce(x)
    assert x.min().item() == x.max().item() == n * (n + 1) / 2, count
    x = ember.full((count,), float(rank + 1))
    w = dist.all_reduce(x, op=dist.ReduceOp.AVG, async_op=True)
    w.wait()
    assert x.min().item() == x.max().item() == (n + 1) / 2, count
ddp = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(600, 600))  # 1.4 MiB: two buckets
assert len(ddp._buckets) == 2
ddp(ember.full((2, 600), float(rank))).sum().backward()
g = ddp.module.bias.grad
assert g.min().item() == g.max().item() == 2.0, g  # each rank's bias gradient is 2 (rows)
print(f"DONE {rank}", flush=True)
