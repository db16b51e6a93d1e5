"""Data-parallel scaling on this machine, ember vs PyTorch vs raw mpi4py (issue 19).

Starts itself with ``mpirun`` (loopback, shared memory) for 1 and 2 ranks. In each job,
every rank runs, taking turns so all see the same load:

- an MLP (256-512-512-10, float32, batch ``--batch`` per rank) trained with SGD under
  ``DistributedDataParallel``: ember (MPI) and PyTorch (gloo, same processes): samples/s
  over all ranks;
- all-reduce of float32 buffers of 1-64 MiB: ``ember.distributed.all_reduce`` vs
  ``comm.Allreduce`` of mpi4py on a numpy array (the same memory) vs PyTorch gloo,
  taking turns: bus
  bandwidth (2 (n-1)/n x bytes / time; algorithm bandwidth bytes / time with one rank),
  the best of several runs (the one least disturbed by other work on the machine), and
  the median over the turns of mpi4py's time / ember's (steadier on a busy machine).

ember is imported and its process group made before mpi4py, as a script run by ``ember
run`` would: ember then picks Open MPI's fast non-blocking all-reduce (``fast path`` in the
output; see ``ember.distributed._mpi``).

    python benchmarks/ddp_scaling.py [--steps 30] [--batch 64] [--ranks 1 2] [--no-torch]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES_MIB = (1, 4, 16, 64)


def _mlp_ember(args, ember):
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel as DDP
    nn = ember.nn
    ember.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10)))
    opt = ember.optim.SGD(model.parameters(), lr=0.01)
    x, y = ember.randn(args.batch, 256), ember.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step, dist.barrier


def _mlp_torch(args, torch):
    import torch.distributed as tdist
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(
        nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                      nn.Linear(512, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(args.batch, 256), torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step, tdist.barrier


def _time_steps(step, barrier, steps: int) -> float:
    for _ in range(3):
        step()
    barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    barrier()
    return time.perf_counter() - t0


def rank_job(args) -> None:
    import numpy as np

    import ember
    import ember.distributed as dist
    dist.init_process_group("mpi")  # before mpi4py's import starts MPI (see the docstring)
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    n, rank = comm.Get_size(), comm.Get_rank()
    torch = None
    if not args.no_torch:
        try:
            import torch
            import torch.distributed as tdist
            torch.set_num_threads(1)
            os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(args.port),
                              RANK=str(rank), WORLD_SIZE=str(n))
            tdist.init_process_group("gloo")
        except ImportError:
            torch = None
    out = {"ranks": n, "mlp": {}, "allreduce": {}, "ratio": {},
           "fast": dist.group.WORLD._comm.fast_allreduce}
    runs = {"ember": _mlp_ember(args, ember)}
    if torch is not None:
        runs["torch"] = _mlp_torch(args, torch)
    for _ in range(args.repeat):  # take turns, keep the best
        for name, (step, barrier) in runs.items():
            sec = _time_steps(step, barrier, args.steps)
            best = out["mlp"].get(name, 0.0)
            out["mlp"][name] = max(best, n * args.batch * args.steps / sec)
    for mib in SIZES_MIB:
        count = mib * 2**20 // 4
        et = ember.ones(count)
        # mpi4py on the tensor's own memory: where two buffers' pages differ (transparent
        # huge pages or not) their all-reduces differ by up to a third on this machine
        arr = et.numpy()
        cases = {"mpi4py": lambda: comm.Allreduce(MPI.IN_PLACE, arr, MPI.SUM),
                 "ember": lambda: dist.all_reduce(et)}
        if torch is not None:
            tt = torch.ones(count)
            cases["torch"] = lambda: tdist.all_reduce(tt)
        reps = max(args.reps, min(4 * args.reps, 128 // mib))
        times = {k: [] for k in cases}
        for _ in range(reps):
            for k, fn in cases.items():
                comm.Barrier()
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
        factor = 2 * (n - 1) / n if n > 1 else 1.0
        out["allreduce"][mib] = {k: factor * mib * 2**20 / min(v) / 1e6
                                 for k, v in times.items()}
        out["ratio"][mib] = float(np.median(np.array(times["mpi4py"]) /
                                            np.array(times["ember"])))
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--reps", type=int, default=8,
                   help="all-reduce turns per size (4x this for small sizes)")
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--port", type=int, default=29531)
    p.add_argument("--rank-job", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rank_job:
        rank_job(args)
        return
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: install Open MPI (apt-get install openmpi-bin "
                 "libopenmpi-dev) and mpi4py")
    sys.path.insert(0, HERE)
    from _common import table
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1")
    results = []
    for n in args.ranks:
        cmd = ["mpirun", "-n", str(n), "--oversubscribe", "--mca", "btl", "self,vader,tcp",
               "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
               sys.executable, os.path.abspath(__file__), "--rank-job",
               "--steps", str(args.steps), "--batch", str(args.batch),
               "--repeat", str(args.repeat), "--reps", str(args.reps),
               "--port", str(args.port + n)]
        if args.no_torch:
            cmd.append("--no-torch")
        if os.geteuid() == 0:
            cmd.insert(1, "--allow-run-as-root")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            sys.exit(f"{n} ranks failed:\n{r.stdout}\n{r.stderr}")
        results.append(json.loads(line[0][7:]))
    rows = []
    base = {k: results[0]["mlp"][k] for k in results[0]["mlp"]}
    for res in results:
        m = res["mlp"]
        rows.append([res["ranks"], f"{m['ember']:.0f}", f"{m.get('torch', 0):.0f}" if
                     "torch" in m else "-", f"{m['ember'] / base['ember']:.2f}",
                     f"{m['ember'] / m['torch']:.2f}" if "torch" in m else "-"])
    print(f"MLP 256-512-512-10 under DDP, batch {args.batch} per rank, samples/s (all ranks)")
    print(table(["ranks", "ember", "torch", "ember scaling", "ember/torch"], rows))
    rows = []
    for res in results:
        if res["ranks"] == 1:  # nothing moves: ember returns at once, MPI still copies
            continue
        for mib, bw in res["allreduce"].items():
            rows.append([res["ranks"], mib, f"{bw['ember']:.0f}", f"{bw['mpi4py']:.0f}",
                         f"{bw['torch']:.0f}" if "torch" in bw else "-",
                         f"{bw['ember'] / bw['mpi4py']:.2f}", f"{res['ratio'][mib]:.2f}"])
    print("\nall_reduce float32, bus bandwidth MB/s (best of the runs); ember's fast path: "
          + ", ".join(f"{r['ranks']} ranks {r['fast']}" for r in results))
    print(table(["ranks", "MiB", "ember", "mpi4py", "torch gloo", "ember/mpi4py",
                 "ember/mpi4py median"], rows))
    if any(r["ranks"] == 1 for r in results):
        print("(1 rank: no all_reduce rows; a group of one moves no data and ember makes no "
              "MPI call)")


if __name__ == "__main__":
    main()
