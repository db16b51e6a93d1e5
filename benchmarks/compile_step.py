"""``ember.compile`` (issue 18): one training step (zero_grad, forward, loss, backward,
optimizer step) per row, eager ember (numpy, and JAX op by op) vs the same step compiled
with ``ember.compile`` on JAX (one XLA program) vs PyTorch eager and ``torch.compile``
(where it works on this machine). Every step ends with its loss on the host side ready
(JAX: ``block_until_ready``), so no library is credited for work still queued.

Rows: MLP 784-512-256-10 batch 128 (SGD, Adam); LeNet-like CNN batch 64 (SGD); the seeds'
homework shape Linear(117->16)-ReLU-Linear(16->1) batch 256, MSELoss, SGD, where Python
dispatch is nearly all of the time. Also the compile cost: the first calls until the
program runs (the first call, which creates gradients and optimizer state, runs as a
program of its own; the second traces and compiles the steady state), and the mean time
per step over the first 100 steps.

    python benchmarks/compile_step.py [--number 20] [--repeat 7] [--threads 2]
        [--rows mlp-sgd,mlp-adam,cnn,homework] [--cpu-time] [--torch-compile]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import THREADS, load_torch, race, ratio, table  # noqa: E402


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def homework(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(117, 16), nn.ReLU(), nn.Linear(16, 1))


# name: (model, input shape, classes (None: regression, MSELoss), optimizer)
ROWS = {
    "mlp-sgd": (mlp, (128, 784), 10, "sgd"),
    "mlp-adam": (mlp, (128, 784), 10, "adam"),
    "cnn": (cnn, (64, 1, 28, 28), 10, "sgd"),
    "homework": (homework, (256, 117), None, "sgd"),
}


def jax_floor(name, state, x, y, classes):
    """The same SGD step written by hand in JAX (parameters a pytree, ``jax.value_and_grad``,
    jitted with the parameters donated; convolution and pooling as ``lax`` gives them,
    NCHW): the floor for ember's per-call overhead on the dispatch-bound rows, and what
    XLA makes of the step without ember's kernel choices. None for rows it does not cover."""
    if ROWS[name][3] != "sgd":
        return None
    import jax
    import jax.numpy as jnp
    from jax import lax

    names = sorted({k.rsplit(".", 1)[0] for k in state}, key=lambda k: int(k))
    params = [(jnp.asarray(state[k + ".weight"]), jnp.asarray(state[k + ".bias"]))
              for k in names]
    pool = "cnn" == name

    def fwd(p, h):
        for i, (w, b) in enumerate(p):
            if w.ndim == 4:
                h = lax.conv_general_dilated(h, w, (1, 1), [(2, 2)] * 2 if i == 0 else "VALID",
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"))
                h = jnp.maximum(h + b[None, :, None, None], 0)
                h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                      "VALID")
                continue
            h = h.reshape(h.shape[0], -1) if pool and h.ndim == 4 else h
            h = h @ w.T + b
            if i < len(p) - 1:
                h = jnp.maximum(h, 0)
        return h

    def loss_fn(p, xb, yb):
        out = fwd(p, xb)
        if classes:
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(out), yb[:, None], 1))
        return jnp.mean((out - yb) ** 2)

    @partial(jax.jit, donate_argnums=(0,))
    def step(p, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
        return jax.tree_util.tree_map(lambda a, d: a - 0.01 * d, p, g), loss

    xj, yj = jnp.asarray(x), jnp.asarray(y)
    box = [params]

    def run():
        box[0], loss = step(box[0], xj, yj)
        loss.block_until_ready()
        return loss
    return run


def make_step(lib, model, x, y, optim: str, classes, sync=None):
    opt = (lib.optim.SGD(model.parameters(), lr=0.01) if optim == "sgd"
           else lib.optim.Adam(model.parameters(), lr=1e-3))
    loss_fn = lib.nn.CrossEntropyLoss() if classes else lib.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _jax_sync(step):
    def run():
        loss = step()
        loss._data.block_until_ready()
        return loss
    return run


def bench_row(name, args, torch, results):
    import numpy as np

    import ember
    build, shape, classes, optim = ROWS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    y = (rng.integers(0, classes, shape[0]) if classes
         else rng.standard_normal((shape[0], 1)).astype("float32"))
    ember.manual_seed(0)
    ref = build(ember)
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()}

    def ember_model(dev):
        m = build(ember)
        m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        return m.to(dev)

    steps = {}
    m_np = ember_model("cpu")
    steps["ember numpy"] = make_step(ember, m_np, ember.tensor(x), ember.tensor(y), optim,
                                     classes)
    m_jx = ember_model("jax")
    xj, yj = ember.tensor(x, device="jax"), ember.tensor(y, device="jax")
    steps["ember jax eager"] = _jax_sync(make_step(ember, m_jx, xj, yj, optim, classes))
    m_c = ember_model("jax")
    compiled = ember.compile(make_step(ember, m_c, xj, yj, optim, classes), fullgraph=True)
    step_c = _jax_sync(compiled)
    # compile cost: the calls until the program runs, then the mean over 100 steps (CPU
    # seconds of this process with --cpu-time: wall time on a shared machine mostly
    # measures the other processes)
    clock = time.process_time if args.cpu_time else time.perf_counter
    t0 = clock()
    step_c()
    loss2 = {"ember compiled": float(step_c().detach())}  # the compiled program's first run
    first = clock() - t0
    for _ in range(98):
        step_c()
    first100 = (clock() - t0) / 100
    steps["ember compiled"] = step_c
    if args.floor:
        floor = jax_floor(name, state, x, y, classes)
        if floor is not None:
            steps["jax.jit by hand"] = floor
    if torch is not None:
        tm = build(torch)
        tm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
        tx, ty = torch.tensor(x), torch.tensor(y)
        steps["torch eager"] = make_step(torch, tm, tx, ty, optim, classes)
        if args.torch_compile:
            tc = build(torch)
            tc.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
            try:
                t_step = torch.compile(make_step(torch, tc, tx, ty, optim, classes))
                t_step()
                t_step()
                steps["torch.compile"] = t_step
            except Exception as exc:  # noqa: BLE001 - no C++ toolchain etc.: leave it out
                print(f"  torch.compile unavailable here: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:120]}")
                args.torch_compile = False
    # the same computation: every candidate's second step has the same loss
    for k, st in steps.items():
        if k not in ("ember compiled", "torch.compile"):  # (called already)
            st()
            loss2[k] = float(st() if k == "jax.jit by hand" else st().detach())
    losses = loss2
    timer = time.process_time if args.cpu_time else time.perf_counter
    best = race(steps, args.number, args.repeat, timer)
    results.append((name, best, first, first100, losses))
    print(f"  {name}: " + ", ".join(f"{k} {v / 1e3:.3f} ms" for k, v in best.items()) +
          f"; compile {first:.2f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=20, help="steps per timed round")
    ap.add_argument("--repeat", type=int, default=7, help="rounds (the best is kept)")
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--cpu-time", action="store_true",
                    help="time CPU seconds of this process (all its threads, XLA's too), not "
                         "wall time: steadier on a loaded machine; use with --threads 1")
    ap.add_argument("--floor", action="store_true",
                    help="also time the SGD rows' step written by hand in JAX (jax.jit, "
                         "parameters donated): the floor for ember's per-call overhead")
    ap.add_argument("--torch-compile", action="store_true",
                    help="also time torch.compile (inductor needs a C++ compiler and takes "
                         "minutes per model on 2 cores)")
    args = ap.parse_args()
    if "numpy" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.threads == 1 and "jax" not in sys.modules:  # XLA's CPU thread pool too
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                                   "=false intra_op_parallelism_threads=1").strip()
    torch = load_torch()
    if torch is not None:
        torch.set_num_threads(args.threads)
    results: list = []
    for name in args.rows.split(","):
        bench_row(name, args, torch, results)
    cols = ["ember numpy", "ember jax eager", "ember compiled", "jax.jit by hand",
            "torch eager", "torch.compile"]
    rows = []
    for name, best, first, first100, _ in results:
        ms = [f"{best[c] / 1e3:.3f}" if c in best else "-" for c in cols]
        rows.append([name, *ms, ratio(best["ember compiled"], best.get("torch eager")),
                     ratio(best["ember numpy"], best.get("torch eager")),
                     f"{first:.2f}", f"{first100 * 1e3:.1f}"])
    print(f"{'CPU' if args.cpu_time else 'wall'} ms per training step, best of "
          f"{args.repeat} rounds of {args.number} steps "
          f"(torch threads {args.threads}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS')}); compile: seconds of the first two calls, "
          "and ms per step averaged over the first 100")
    print(table(["step", *[c + " ms" for c in cols], "compiled/torch", "numpy/torch",
                 "compile s", "first-100 ms/step"], rows))
    for name, _, _, _, losses in results:
        print(f"{name}, loss of step 2: " + ", ".join(f"{k} {v:.6f}" for k, v in
                                                     losses.items()))


if __name__ == "__main__":
    main()
