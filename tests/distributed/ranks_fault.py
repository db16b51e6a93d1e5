"""Started by test_distributed.py through mpirun: rank 1 dies (``kill``) or hangs
(``hang``) after init; the others run an all_reduce with a 3 s process-group timeout and
report how long it took them to raise."""
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
    time.sleep(120)  # hang: never joins; mpirun must end it when rank 0 aborts
t0 = time.monotonic()
try:
    dist.all_reduce(ember.ones(4))
    print(f"NORAISE {rank}", flush=True)
except dist.DistBackendError as e:
    print(f"RAISED {rank} {time.monotonic() - t0:.2f} {type(e).__name__}", flush=True)
    try:
        dist.barrier()
    except dist.DistBackendError:
        print(f"POISONED {rank}", flush=True)
    raise
