"""Sparse @ dense (a GCN layer's product) in ember against PyTorch, forward and backward.

    python benchmarks/sparse_mm.py [--nodes 20000] [--degree 10] [--features 64]

Prints the median time of each and the ratio ember / PyTorch (run by hand, not in CI).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _time(fn, reps: int = 7) -> float:
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=20000)
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument("--features", type=int, default=64)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    nnz = a.nodes * a.degree
    idx = rng.integers(0, a.nodes, size=(2, nnz))
    val = rng.random(nnz).astype(np.float32)
    x = rng.standard_normal((a.nodes, a.features)).astype(np.float32)
    import ember
    import torch
    res = {}
    for name, lib in (("torch", torch), ("ember", ember)):
        s = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(val), (a.nodes, a.nodes)).coalesce()
        d = lib.tensor(x, requires_grad=True)
        fwd = _time(lambda: lib.sparse.mm(s, d))

        def fb():
            d.grad = None
            lib.sparse.mm(s, d).sum().backward()
        res[name] = (fwd, _time(fb))
    print(f"sparse.mm {a.nodes}x{a.nodes} (nnz {nnz}) @ {a.nodes}x{a.features}")
    for i, what in enumerate(("forward", "forward+backward")):
        t, e = res["torch"][i], res["ember"][i]
        print(f"  {what:17s} torch {t * 1e3:8.2f} ms  ember {e * 1e3:8.2f} ms  ratio {e / t:5.2f}")


if __name__ == "__main__":
    main()
