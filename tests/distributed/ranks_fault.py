"""Started by test_distributed.py through mpirun: rank 1 dies (``kill``) or hangs
(``hang``) after init, or (``hang_big``) agrees on the shapes of a 1 MiB all_reduce and
then hangs, so rank 0 waits in MPI's blocking all-reduce on the helper thread; the others
run the all_reduce with a 3 s process-group timeout and report how long it took them to
raise."""
import datetime
import os
import signal
import sys
import time

import ember
import ember.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=3))
rank = dist.get_rank()
dist.barrier()
if rank == 1:
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang_big":
        dist.group.WORLD._comm.timeout = 60  # on a loaded machine rank 0 may come late
        dist.group.WORLD._comm.check("all_reduce", None, op=dist.ReduceOp.SUM,
                                     dtype_name="float32", shape=(1 << 18,))
    time.sleep(120)  # hang: never joins; mpirun must end it when rank 0 aborts
t0 = time.monotonic()
try:
    dist.all_reduce(ember.ones(1 << 18 if mode == "hang_big" else 4))
    print(f"NORAISE {rank}", flush=True)
except dist.DistBackendError as e:
    print(f"RAISED {rank} {time.monotonic() - t0:.2f} {type(e).__name__}", flush=True)
    try:
        dist.barrier()
    except dist.DistBackendError:
        print(f"POISONED {rank}", flush=True)
    raise
