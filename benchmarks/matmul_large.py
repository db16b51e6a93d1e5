"""Large float32 matmul: ember vs PyTorch vs numpy (the floor), 2 threads each.

At these sizes the BLAS does all the work, so ember on the numpy backend must sit at raw
numpy's time (target: within 5%); ember/torch compares numpy's BLAS with PyTorch's. The
``fwd+bwd`` row times ``(a @ b).sum().backward()`` (two more matmuls of the same size).
Each figure is the best of ``--repeat``, the libraries taking turns.

    python benchmarks/matmul_large.py [--sizes 2048] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")  # before numpy/torch start their BLAS pools
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
os.environ.setdefault("MKL_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, ratio, table  # noqa: E402


def best_ms(fns: dict, repeat: int) -> dict:
    """Best milliseconds of each ``{label: callable}``, the callables taking turns."""
    for fn in fns.values():
        fn()  # warm-up: allocations, BLAS threads
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], (time.perf_counter() - t0) * 1e3)
    return best


def cases(n: int) -> dict:
    """{row: {library: callable}} for n x n operands."""
    import numpy as np
    import ember
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    a, b = ember.from_numpy(a_np), ember.from_numpy(b_np)
    ag, bg = a.clone().requires_grad_(), b.clone().requires_grad_()
    rows = {"forward": {"numpy": lambda: a_np @ b_np, "ember": lambda: a @ b},
            "fwd+bwd": {"ember": lambda: (ag @ bg).sum().backward()}}
    torch = load_torch()
    if torch is not None:
        at, bt = torch.from_numpy(a_np), torch.from_numpy(b_np)
        atg, btg = at.clone().requires_grad_(), bt.clone().requires_grad_()
        rows["forward"]["torch"] = lambda: at @ bt
        rows["fwd+bwd"]["torch"] = lambda: (atg @ btg).sum().backward()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2048])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    out, worst = [], 0.0
    for n in args.sizes:
        for what, fns in cases(n).items():
            t = best_ms(fns, args.repeat)
            if "numpy" in t:
                worst = max(worst, t["ember"] / t["numpy"])
            cell = lambda k: f"{t[k]:.1f}" if k in t else "-"  # noqa: E731
            out.append([n, what, cell("ember"), cell("torch"), cell("numpy"),
                        ratio(t["ember"], t.get("torch")), ratio(t["ember"], t.get("numpy"))])
    print(f"float32 n x n matmul, milliseconds, best of {args.repeat}, "
          f"{os.environ['OMP_NUM_THREADS']} threads")
    print(table(["n", "what", "ember", "torch", "numpy", "ember/torch", "ember/numpy"], out))
    verdict = "meets" if worst <= 1.05 else "MISSES"
    print(f"worst forward ember/numpy: {worst:.3f}x ({verdict} the within-5% target)")


if __name__ == "__main__":
    main()
