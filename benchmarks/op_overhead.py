"""Per-call op overhead on tiny (8x8 float32) tensors: ember vs PyTorch vs numpy (the floor).

On 8x8 inputs the arithmetic is nothing; what is timed is dispatch: argument handling, dtype
promotion, wrapping the result and (rows marked "grad") recording the graph and running
backward. Target (issue 2): ember at most 2x PyTorch per call. The "chain of 10" rows run
ten elementwise ops in a row (mul, add, sub, mul by scalar, exp, add scalar, log, square,
tanh, div by scalar); numpy's fwd+bwd figure is the same chain with its backward written out
by hand, the least any library could do. PyTorch runs with 2 threads; each figure is the
best of ``--repeat`` rounds of ``--number`` calls, the libraries taking turns.
``--cpu-time`` times the calling thread's CPU seconds instead of wall time (a small op
runs on the calling thread in all three libraries; other jobs on a loaded machine then
cost none of them).

    python benchmarks/op_overhead.py [--number 20000] [--repeat 7] [--cpu-time]
        [--floor backend]   # with EMBER_PROVIDERS=cpu=jax: jax.numpy as the floor
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402


def chain(x, y):
    """Ten elementwise ops, written once for ember and torch tensors."""
    h = x * y
    h = h + x
    h = h - y
    h = h * 0.5
    h = h.exp()
    h = h + 1.0
    h = h.log()
    h = h * h
    h = h.tanh()
    return h / 2.0


def numpy_chain(np, x, y):
    h5 = np.exp(((x * y + x) - y) * 0.5)
    h6 = h5 + 1.0
    h7 = np.log(h6)
    t = np.tanh(h7 * h7)
    return t / 2.0, (h5, h6, h7, t)


def numpy_chain_grad(np, x, y):
    """Forward and hand-written backward of ``chain(x, y).sum()``: (dx, dy)."""
    _, (h5, h6, h7, t) = numpy_chain(np, x, y)
    g = 0.5 * (1.0 - t * t) * 2.0 * h7 / h6 * h5 * 0.5
    return g * y + g, g * x - g


def cases(lib, np, xp=None):
    """{row: callable} for ember or torch (``lib``), and for the floor: numpy, or the array
    namespace ``xp`` (the backend serving cpu, e.g. jax.numpy) when given."""
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((8, 8), dtype=np.float32)
    ya = rng.standard_normal((8, 8), dtype=np.float32)
    x, y = lib.tensor(xa), lib.tensor(ya)
    w = lib.tensor(xa, requires_grad=True)
    if xp is not None:
        xa, ya, np = xp.asarray(xa), xp.asarray(ya), xp
    relu = lib.relu
    ops = {
        "add x + y": lambda: x + y,
        "add, grad w + y": lambda: w + y,
        "mul x * 2.0": lambda: x * 2.0,
        "mul, grad w * y": lambda: w * y,
        "matmul x @ y": lambda: x @ y,
        "matmul, grad w @ y": lambda: w @ y,
        "sum x.sum()": lambda: x.sum(),
        "sum, grad w.sum()": lambda: w.sum(),
        "relu(x)": lambda: relu(x),
        "index x[0]": lambda: x[0],
        "index, grad w[0]": lambda: w[0],
        "view x.view(64)": lambda: x.view(64),
        "chain of 10, fwd": lambda: chain(x, y),
        "chain of 10, fwd, grad": lambda: chain(w, y),
        "chain of 10, fwd+bwd": lambda: chain(w, y).sum().backward(),
        "(w * x).sum() fwd+bwd": lambda: (w * x).sum().backward(),
    }
    floor = {
        "add x + y": lambda: xa + ya,
        "add, grad w + y": lambda: xa + ya,
        "mul x * 2.0": lambda: xa * 2.0,
        "mul, grad w * y": lambda: xa * ya,
        "matmul x @ y": lambda: xa @ ya,
        "matmul, grad w @ y": lambda: xa @ ya,
        "sum x.sum()": lambda: xa.sum(),
        "sum, grad w.sum()": lambda: xa.sum(),
        "relu(x)": lambda: np.maximum(xa, 0),
        "index x[0]": lambda: xa[0],
        "index, grad w[0]": lambda: xa[0],
        "view x.view(64)": lambda: xa.reshape(64),
        "chain of 10, fwd": lambda: numpy_chain(np, xa, ya),
        "chain of 10, fwd, grad": lambda: numpy_chain(np, xa, ya),
        "chain of 10, fwd+bwd": lambda: numpy_chain_grad(np, xa, ya),
        "(w * x).sum() fwd+bwd": lambda: ((xa * ya).sum(), ya.copy()),
    }
    return ops, floor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cpu-time", action="store_true",
                    help="time the calling thread's CPU seconds, not wall time")
    ap.add_argument("--floor", choices=("numpy", "backend"), default="numpy",
                    help="the floor column: raw numpy, or the raw array library of the backend "
                         "serving cpu (EMBER_PROVIDERS=cpu=jax: jax.numpy)")
    args = ap.parse_args()
    timer = time.thread_time if args.cpu_time else time.perf_counter
    import numpy as np
    import ember
    from ember.backends import registry
    torch = load_torch()
    floor_name, xp = "numpy", None
    if args.floor == "backend":
        ember.zeros(1)  # loads the backend serving cpu
        be = registry.resolve("cpu")
        floor_name, xp = be.name, be.xp
    e_ops, np_ops = cases(ember, np, xp)
    t_ops = cases(torch, np)[0] if torch is not None else {}
    rows, worst = [], 0.0
    for name in e_ops:
        contenders = {"ember": e_ops[name], "numpy": np_ops[name]}
        if torch is not None:
            contenders["torch"] = t_ops[name]
        t = race(contenders, args.number, args.repeat, timer)
        tt = t.get("torch")
        if tt:
            worst = max(worst, t["ember"] / tt)
        rows.append([name, f"{t['ember']:.2f}", "-" if tt is None else f"{tt:.2f}",
                     f"{t['numpy']:.2f}", ratio(t["ember"], tt), ratio(t["ember"], t["numpy"])])
    print(f"8x8 float32, {'CPU' if args.cpu_time else 'wall'} microseconds per call (best of "
          f"{args.repeat} x {args.number}; torch threads: 2)")
    print(table(["op", "ember", "torch", floor_name, "ember/torch", f"ember/{floor_name}"],
                rows))
    if torch is not None:
        verdict = "meets" if worst <= 2.0 else "MISSES"
        print(f"worst ember/torch: {worst:.2f}x ({verdict} the 2x target)")


if __name__ == "__main__":
    main()
