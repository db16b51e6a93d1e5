"""Large float32 matmul, ember vs PyTorch vs numpy (the floor), 2 threads each.

At these sizes the BLAS does all the work: ember on numpy should sit at numpy's time (ratio
~1), and the ember/torch ratio is numpy's BLAS against PyTorch's. The backward row times
``(a @ b).sum().backward()`` (two more matmuls of the same size). Best of ``--repeat``.

    OMP_NUM_THREADS=2 python benchmarks/matmul_large.py [--sizes 512 1024 2048] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")  # before numpy/torch load their BLAS


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up (allocations, BLAS thread start-up)
    out = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def cases(n: int):
    import numpy as np
    import ember
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    a, b = ember.from_numpy(a_np), ember.from_numpy(b_np)
    ag, bg = a.clone().requires_grad_(), b.clone().requires_grad_()
    out = {"numpy": {"forward": lambda: a_np @ b_np},
           "ember": {"forward": lambda: a @ b,
                     "fwd+bwd": lambda: (ag @ bg).sum().backward()}}
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    at, bt = torch.from_numpy(a_np), torch.from_numpy(b_np)
    atg, btg = at.clone().requires_grad_(), bt.clone().requires_grad_()
    out["torch"] = {"forward": lambda: at @ bt,
                    "fwd+bwd": lambda: (atg @ btg).sum().backward()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"float32 n x n matmul, ms, best of {args.repeat}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{'n':>5} {'what':<8}{'ember':>9}{'torch':>9}{'numpy':>9}"
          f"{'ember/torch':>13}{'ember/numpy':>13}")
    for n in args.sizes:
        libs = cases(n)
        for what in ("forward", "fwd+bwd"):
            t = {lib: best_of(fns[what], args.repeat) for lib, fns in libs.items() if what in fns}
            cell = lambda k: f"{t[k] * 1e3:.1f}" if k in t else "-"  # noqa: E731
            vs = lambda k: f"{t['ember'] / t[k]:.2f}" if k in t else "-"  # noqa: E731
            print(f"{n:>5} {what:<8}{cell('ember'):>9}{cell('torch'):>9}{cell('numpy'):>9}"
                  f"{vs('torch'):>13}{vs('numpy'):>13}")


if __name__ == "__main__":
    main()
