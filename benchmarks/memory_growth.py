"""Memory growth over 2,000 MLP training steps, ember vs PyTorch: it must be flat.

Each library trains a 64-256-128-10 MLP (batch 32, ReLU, CrossEntropyLoss, SGD with
momentum; zero_grad / forward / backward / step / ``loss.item()``) in its own fresh process.
The resident set size (``/proc/self/statm``; ``ru_maxrss`` where there is no /proc) is read
after ``--warmup`` steps and then every 100 steps to the end. A graph, saved tensor or
optimizer state kept alive by mistake shows up as steady growth. ember passes when the RSS
at the end is at most ``--limit-mib`` (default 5 MiB) above the RSS after warm-up; the exit
status is 1 when it does not.

    python benchmarks/memory_growth.py [--steps 2000] [--warmup 200] [--limit-mib 5]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

MIB = 1024 * 1024


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        # peak, not current: growth still shows, a shrink does not
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def child(lib_name: str, steps: int, warmup: int) -> dict:
    """Train in this process; the RSS samples and the time per step after warm-up."""
    lib = __import__(lib_name)
    if lib_name == "torch":
        lib.set_num_threads(1)  # a leak test, not a speed test: no BLAS thread contention
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(lib.randn(32, 64), lib.randint(0, 10, (32,))) for _ in range(8)]
    samples, t0 = [], None
    for step in range(1, steps + 1):
        x, y = batches[step % len(batches)]
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
        if step == warmup:
            t0 = time.perf_counter()
        if step >= warmup and (step - warmup) % 100 == 0 or step == steps:
            samples.append((step, rss_bytes()))
    ms = (time.perf_counter() - t0) / max(steps - warmup, 1) * 1e3
    return {"samples": samples, "ms_per_step": ms}


def run_child(lib: str, steps: int, warmup: int) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--child", lib, "--steps", str(steps),
                           "--warmup", str(warmup)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"({lib}: failed: {tail})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--limit-mib", type=float, default=5.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.steps, args.warmup)))
        return 0
    libs = ["ember"]
    try:
        import torch  # noqa: F401
        libs.append("torch")
    except ImportError:
        print("(PyTorch not installed: ember only)")
    print(f"MLP 64-256-128-10, batch 32, SGD momentum: {args.steps} steps, RSS after "
          f"{args.warmup} warm-up steps vs at the end")
    print(f"{'library':>8}{'RSS warm MiB':>14}{'RSS end MiB':>13}{'growth MiB':>12}"
          f"{'max MiB':>9}{'ms/step':>9}")
    res = {lib: run_child(lib, args.steps, args.warmup) for lib in libs}
    for lib, r in res.items():
        if r is None:
            continue
        rss = [b for _, b in r["samples"]]
        print(f"{lib:>8}{rss[0] / MIB:>14.1f}{rss[-1] / MIB:>13.1f}"
              f"{(rss[-1] - rss[0]) / MIB:>12.2f}{max(rss) / MIB:>9.1f}{r['ms_per_step']:>9.2f}")
    if res.get("ember") and res.get("torch"):
        print(f"ember/torch time per step: "
              f"{res['ember']['ms_per_step'] / res['torch']['ms_per_step']:.2f}x")
    if res.get("ember") is None:
        return 1
    rss = [b for _, b in res["ember"]["samples"]]
    growth = (rss[-1] - rss[0]) / MIB
    ok = growth <= args.limit_mib
    print(f"ember growth {growth:.2f} MiB: {'PASS' if ok else 'FAIL'} "
          f"(limit {args.limit_mib} MiB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
