"""Started by test_distributed.py through mpirun: rank 1 dies (``kill``) or hangs
(``hang``) after init, or (``hang_big``) agrees on the shapes of a 1 MiB all_reduce and
then hangs, so rank 0 polls libnbc's Iallreduce (``hang_big_thread``: MPI's blocking
all-reduce on the helper thread, the job's Iallreduce left slow), or (``hang_ddp``) builds
the DDP model and hangs, so rank 0 waits for its gradient buckets in backward; the others
run the all_reduce (or the backward) with a 3 s process-group timeout and report how long
it took them to raise."""
import datetime
import os
import signal
import sys
import time

import ember
import ember.distributed as dist
from ember.distributed._mpi import NBC_ALLREDUCE_VAR

mode = sys.argv[1]
if mode == "hang_big_thread":
    os.environ[NBC_ALLREDUCE_VAR] = "0"  # libnbc's own choice: ember keeps the helper thread
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3))
rank = dist.get_rank()
print(f"FAST {rank} {dist.group.WORLD._comm.fast_allreduce}", flush=True)
dist.barrier()
big = mode.startswith("hang_big")
if mode == "hang_ddp":
    ddp = ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(512, 512))
if rank == 1:
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if big:
        dist.group.WORLD._comm.timeout = 60  # on a loaded machine rank 0 may come late
        dist.group.WORLD._comm.check("all_reduce", None, op=dist.ReduceOp.SUM,
                                     dtype_name="float32", shape=(1 << 18,))
    time.sleep(120)  # hang: never joins; mpirun must end it when rank 0 aborts
t0 = time.monotonic()
try:
    if mode == "hang_ddp":
        ddp(ember.ones(8, 512)).sum().backward()
    else:
        dist.all_reduce(ember.ones(1 << 18 if big else 4))
    print(f"NORAISE {rank}", flush=True)
except dist.DistBackendError as e:
    print(f"RAISED {rank} {time.monotonic() - t0:.2f} {type(e).__name__}", flush=True)
    try:
        dist.barrier()
    except dist.DistBackendError:
        print(f"POISONED {rank}", flush=True)
    raise
