"""ember's random functions (PyTorch's CPU streams on the numpy backend) vs PyTorch's: small
draws (per-call overhead, the per-element kernels) and large ones (the vectorised paths).
PyTorch runs with 2 threads; each figure is the best of ``--repeat`` rounds, the libraries
taking turns.

    python benchmarks/random_streams.py [--repeat 5] [--cpu-time]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402


def cases(lib):
    big = lib.empty(1_000_000)
    w = lib.rand(1000)
    x = lib.ones(256, 1024)
    return {
        "rand(10)": lambda: lib.rand(10),
        "randn(10)": lambda: lib.randn(10),
        "randint(0, 10, (10,))": lambda: lib.randint(0, 10, (10,)),
        "rand(1e6)": lambda: lib.rand(1_000_000),
        "randn(1e6)": lambda: lib.randn(1_000_000),
        "randn(1e6, float64)": lambda: lib.randn(1_000_000, dtype=lib.float64),
        "normal_(1e6)": lambda: big.normal_(),
        "uniform_(1e6)": lambda: big.uniform_(-1, 1),
        "bernoulli_(0.5) 1e6": lambda: big.bernoulli_(0.5),
        "exponential_(1e6)": lambda: big.exponential_(),
        "randint 1e6": lambda: lib.randint(0, 1000, (1_000_000,)),
        "randperm(60000)": lambda: lib.randperm(60_000),
        "multinomial(1000, 100)": lambda: lib.multinomial(w, 100),
        "dropout(256x1024)": lambda: lib.nn.functional.dropout(x, 0.5),
        "Linear(512, 512) init": lambda: lib.nn.Linear(512, 512),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    timer = time.process_time if args.cpu_time else time.perf_counter
    import ember
    torch = load_torch()
    ours = cases(ember)
    theirs = cases(torch) if torch is not None else {}
    rows = []
    for name, fn in ours.items():
        number = 20 if "1e6" in name or "60000" in name or "256x" in name or "init" in name \
            else 200
        t = race({"ember": fn, **({"torch": theirs[name]} if theirs else {})}, number,
                 args.repeat, timer)
        rows.append([name, f"{t['ember']:.1f}", f"{t.get('torch', float('nan')):.1f}",
                     ratio(t["ember"], t.get("torch"))])
    print(table(["call", "ember µs", "torch µs", "ember/torch"], rows))


if __name__ == "__main__":
    main()
