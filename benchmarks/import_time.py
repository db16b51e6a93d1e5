"""Import time, ember vs PyTorch vs numpy (the floor), each in a fresh interpreter.

Two figures per library: ``import X`` alone, and ``import X`` plus the first tensor (ember
loads numpy and its backend plugin lazily, on first device use, so the second figure is what
a script pays before its first op). Each is the best of ``--repeat`` fresh processes, timed
inside the child with ``perf_counter`` so interpreter start-up is excluded.

    python benchmarks/import_time.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import subprocess
import sys

CASES = {
    "ember": ("import ember", "ember.zeros(2, 2)"),
    "torch": ("import torch", "torch.zeros(2, 2)"),
    "numpy": ("import numpy", "numpy.zeros((2, 2), numpy.float32)"),
}


def child_time(code: str, first_use: str | None) -> float | None:
    """Seconds ``code`` (+ ``first_use``) takes in a fresh interpreter; None if it fails."""
    body = code + (f"; {first_use}" if first_use else "")
    prog = ("import time; t0 = time.perf_counter()\n"
            f"{body}\n"
            "print(time.perf_counter() - t0)")
    proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def best(code: str, first_use: str | None, repeat: int) -> float | None:
    times = [child_time(code, first_use) for _ in range(repeat)]
    return None if None in times else min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rows = {}
    # the libraries take turns so that all see the same machine load
    for lib, (code, first) in CASES.items():
        rows[lib] = (best(code, None, args.repeat), best(code, first, args.repeat))
    print(f"best of {args.repeat} fresh interpreters (ms)")
    print(f"{'library':>8}  {'import':>8}  {'+ first tensor':>14}")
    for lib, (imp, first) in rows.items():
        fmt = lambda t: "-" if t is None else f"{t * 1e3:.1f}"  # noqa: E731
        print(f"{lib:>8}  {fmt(imp):>8}  {fmt(first):>14}")
    e_imp, e_first = rows["ember"]
    for other in ("torch", "numpy"):
        o_imp, o_first = rows[other]
        if o_imp and o_first:
            print(f"ember/{other}: import {e_imp / o_imp:.2f}x, "
                  f"import + first tensor {e_first / o_first:.2f}x")


if __name__ == "__main__":
    main()
