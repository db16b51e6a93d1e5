"""The CuPy backend's one-launch kernels against the generic defaults they replace and
against PyTorch's CUDA kernels, on a GPU (issue 6: "fused where it pays"): im2col
(``torch.nn.functional.unfold``), col2im (``fold``), max pooling with indices
(``max_pool2d(return_indices=True)``) and its gradient, and an Adam step over a
784-512-256-10 MLP's parameters (``torch.optim.Adam(fused=True)``). Each figure is the best of
``--repeat`` rounds of ``--number`` calls, each round ending in a device synchronize.

    python benchmarks/cuda_kernels.py [--number 50] [--repeat 7] [--batch 128]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, ratio, table  # noqa: E402


def best(fn, sync, number: int, repeat: int) -> float:
    """Microseconds per call: the best of ``repeat`` rounds of ``number`` calls."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / number * 1e6)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    import numpy as np

    import ember
    from ember.backends import Backend, registry
    if not ember.cuda.is_available():
        sys.exit("no CUDA device: this benchmark needs a GPU and CuPy")
    be = registry.resolve("cuda")
    ember.zeros(1, device="cuda")
    cp = be.cp
    torch = load_torch()
    tcuda = torch is not None and torch.cuda.is_available()
    sync = cp.cuda.Device().synchronize
    n, r = args.number, args.repeat
    rng = np.random.default_rng(0)
    # LeNet's first convolution's input: (B, 6, 14, 14) into a 5x5 window, and its pooling
    x_host = rng.standard_normal((args.batch, 6, 14, 14)).astype(np.float32)
    x = cp.asarray(x_host)
    geo = ((5, 5), (1, 1), (0, 0), (1, 1))
    out_hw = (10, 10)
    cols = be.im2col(x, *geo, out_hw)
    rows = []

    def row(name, ours, generic, theirs=None):
        e, g = best(ours, sync, n, r), best(generic, sync, n, r)
        t = best(theirs, sync, n, r) if theirs is not None else None
        rows.append([name, f"{e:.1f}", f"{g:.1f}", "-" if t is None else f"{t:.1f}",
                     ratio(e, g), ratio(e, t)])

    tx = torch.tensor(x_host, device="cuda") if tcuda else None
    F = torch.nn.functional if tcuda else None
    row(f"im2col ({args.batch}x6x14x14, 5x5)",
        lambda: be.im2col(x, *geo, out_hw), lambda: Backend.im2col(be, x, *geo, out_hw),
        (lambda: F.unfold(tx, 5)) if tcuda else None)
    tcols = F.unfold(tx, 5) if tcuda else None
    row("col2im (its adjoint)",
        lambda: be.col2im(cols, (14, 14), *geo), lambda: Backend.col2im(be, cols, (14, 14), *geo),
        (lambda: F.fold(tcols, (14, 14), 5)) if tcuda else None)
    pool = ((2, 2), (2, 2), (0, 0), (1, 1), False)
    xp_host = rng.standard_normal((args.batch, 6, 28, 28)).astype(np.float32)
    xpool = cp.asarray(xp_host)
    txp = torch.tensor(xp_host, device="cuda") if tcuda else None
    row(f"max_pool2d ({args.batch}x6x28x28, 2x2)",
        lambda: be.max_pool2d(xpool, *pool), lambda: Backend.max_pool2d(be, xpool, *pool),
        (lambda: F.max_pool2d(txp, 2, return_indices=True)) if tcuda else None)
    pooled, idx = be.max_pool2d(xpool, *pool)
    gp = cp.ones_like(pooled)
    tback = None
    if tcuda:
        tpooled, tidx = F.max_pool2d(txp, 2, return_indices=True)
        tg = torch.ones_like(tpooled)
        aten = torch.ops.aten.max_pool2d_with_indices_backward

        def tback():
            return aten(tg, txp, [2, 2], [2, 2], [0, 0], [1, 1], False, tidx)
    row("max_pool2d backward", lambda: be.max_pool2d_backward(gp, idx, xpool.shape),
        lambda: Backend.max_pool2d_backward(be, gp, idx, xpool.shape), tback)
    shapes = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    params = [[cp.asarray(rng.standard_normal(s).astype(np.float32)) for _ in range(4)]
              for s in shapes]
    for p in params:
        p[3] = abs(p[3])
    step = (0.9, 0.999, 1e-3 / (1 - 0.9 ** 3), (1 - 0.999 ** 3) ** 0.5, 1e-8)

    def ours():
        for a, g, m, v in params:
            be.adam_update(a, g, m, v, *step)

    def generic():
        for a, g, m, v in params:
            Backend.adam_update(be, a, g, m, v, *step)
    theirs = None
    if tcuda:
        tp = [torch.nn.Parameter(torch.randn(s, device="cuda")) for s in shapes]
        for t in tp:
            t.grad = torch.randn_like(t)
        fused = torch.optim.Adam(tp, lr=1e-3, fused=True)
        theirs = fused.step
    row("Adam step, MLP 784-512-256-10 (6 tensors)", ours, generic, theirs)
    print(f"CuPy {cp.__version__} on {be.device_name('cuda', 0)}; microseconds per call, "
          f"best of {r} x {n}; torch: {torch.__version__ if torch else 'absent'}")
    print(table(["kernel", "ember_cupy", "generic", "torch", "vs generic", "vs torch"], rows))


if __name__ == "__main__":
    main()
