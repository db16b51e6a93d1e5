"""Run every ember benchmark, each against PyTorch (and numpy where it applies), in one go.

Each script runs in its own fresh interpreter (import time and memory need a clean process),
with ``OMP_NUM_THREADS=2`` unless already set, and prints its own table and ratios; a
summary of what ran, how long it took and what failed comes last. The exit status is 1
when any script failed or is missing (``memory_growth.py`` fails when the RSS grows by more
than 5 MiB). Figures from the latest run go in ``benchmarks/README.md``.

    python3 benchmarks/run_all.py [--only NAME ...] [--smoke]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (script, what it measures, the arguments of a --smoke run); each file's docstring says how
BENCHMARKS = [
    ("import_time.py", "import time (fresh interpreter), + first tensor", ["--repeat", "1"]),
    ("op_overhead.py", "per-call overhead of tiny ops, forward and backward",
     ["--number", "200", "--repeat", "1"]),
    ("mlp_train_step.py", "MLP training step (zero_grad, forward, backward, step)",
     ["--number", "2", "--repeat", "1"]),
    ("cnn_train_step.py", "LeNet-like CNN training step", ["--number", "2", "--repeat", "1"]),
    ("model_steps.py", "training steps shaped like real scripts (LSTM/Transformer LM, CNN, "
     "ResNet stack, GPT stack, Adam 10M) at 1 and 2 threads",
     ["--models", "cnn64", "gpt", "--number", "1", "--repeat", "1", "--threads", "1"]),
    ("matmul_large.py", "large float32 matmul, forward and backward",
     ["--sizes", "256", "--repeat", "1"]),
    ("dataloader.py", "DataLoader epoch, num_workers 0 and 2",
     ["--repeat", "1", "--samples", "2000"]),
    ("memory_growth.py", "RSS growth over 2,000 MLP training steps (must be flat)",
     ["--steps", "400", "--warmup", "100"]),
    ("checkpoint_memory.py", "peak memory of a 20-layer MLP step with/without checkpointing",
     ["--width", "16", "--batch", "8", "--segments", "4", "--number", "1", "--repeat", "1"]),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="run only these (script names, with or without .py)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes and one round each: checks that every script runs "
                         "(the figures mean nothing); what the test suite does")
    args = ap.parse_args()
    wanted = {n if n.endswith(".py") else n + ".py" for n in args.only or []}
    unknown = wanted - {name for name, _, _ in BENCHMARKS}
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    env = {**os.environ}
    env.setdefault("OMP_NUM_THREADS", "2")
    summary = []
    for name, what, smoke in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        path = os.path.join(HERE, name)
        print(f"\n=== {name}: {what}", flush=True)
        if not os.path.exists(path):
            print("(missing)")
            summary.append((name, "missing", 0.0))
            continue
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, path, *(smoke if args.smoke else [])], env=env)
        summary.append((name, "ok" if rc == 0 else f"FAILED (exit {rc})",
                        time.perf_counter() - t0))
    print("\n=== summary")
    for name, status, secs in summary:
        print(f"{name:<20} {status:<16} {secs:6.1f} s")
    return 0 if all(s == "ok" for _, s, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
