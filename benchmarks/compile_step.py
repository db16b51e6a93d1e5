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
per step over the first 100 steps. Each candidate runs in a process of its own, pinned to
``--threads`` cores (``_common.Workers``: in one process, each library's idle workers
spin on after its block and take a core from the next candidate's), the blocks
alternating, each block after a pause and 0.1 s of untimed steps (after a pause, XLA's
MLP step at 2 threads takes 3-4 ms for ~13 steps, then 2.2-2.4 ms back to back, as a
training loop runs); medians of the blocks are reported, and the ratio of the best
blocks.

    python benchmarks/compile_step.py [--number 20] [--repeat 7] [--threads 2]
        [--rows mlp-sgd,mlp-adam,cnn,homework] [--cpu-time] [--torch-compile] [--no-pin]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import THREADS, Workers, ratio, table  # noqa: E402


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


#: steps per timed block: ~50 ms of PyTorch's time at one thread
NUMBER = {"mlp-sgd": 12, "mlp-adam": 10, "cnn": 8, "homework": 150}

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


def _threads(threads: int, pin_cores: bool) -> None:
    """Before numpy, JAX or PyTorch is imported in this process: ``threads`` for each."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if threads == 1:  # XLA's CPU thread pool too
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread"
                                   "_eigen=false intra_op_parallelism_threads=1").strip()
    if pin_cores:
        pin(threads)


def pin(threads: int) -> None:
    """Run this process on ``threads`` cores, so that every library's pools see that many:
    with --threads 1, XLA's CPU matrix products (YNNPACK) still split over all the
    machine's cores despite ``intra_op_parallelism_threads=1``, and the handoffs between
    those threads count against ember in CPU time (compiled MLP step, CPU ms, one run
    each: 3.36 pinned, 4.09 unpinned; PyTorch's step is not helped by pinning)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if 0 < threads < len(cores):
        os.sched_setaffinity(0, cores[:threads])


def _prepare(name: str, opts: dict, label: str):
    """``(step, set_threads, first)`` of candidate ``label`` on row ``name``, in a process of
    its own (``_common.Workers``). ``first()`` gives the loss of the second step and, for
    ``ember compiled``, the compile cost."""
    _threads(opts["threads"], opts["pin"])
    import numpy as np

    import ember
    build, shape, classes, optim = ROWS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    y = (rng.integers(0, classes, shape[0]) if classes
         else rng.standard_normal((shape[0], 1)).astype("float32"))
    ember.manual_seed(0)
    state = {k: v.detach().numpy() for k, v in build(ember).state_dict().items()}
    info: dict = {}

    def ember_step(dev):
        m = build(ember)
        m.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
        m.to(dev)
        return make_step(ember, m, ember.tensor(x, device=dev), ember.tensor(y, device=dev),
                         optim, classes)

    if label == "ember numpy":
        ember.set_num_threads(opts["threads"])
        step = ember_step("cpu")
    elif label == "ember jax eager":
        step = _jax_sync(ember_step("jax"))
    elif label == "ember compiled":
        step = _jax_sync(ember.compile(ember_step("jax"), fullgraph=True))
        # compile cost: the calls until the program runs (the first call, which creates
        # gradients and optimizer state, is a program of its own; the second traces and
        # compiles the steady state), then the mean over the first 100 steps
        clock = time.process_time if opts["cpu_time"] else time.perf_counter
        t0 = clock()
        step()
        info["loss"] = float(step().detach())
        info["first"] = clock() - t0
        for _ in range(98):
            step()
        info["first100"] = (clock() - t0) / 100
    elif label == "jax.jit by hand":
        step = jax_floor(name, state, x, y, classes)
    else:  # torch eager, torch.compile
        import torch
        torch.set_num_threads(opts["threads"])
        tm = build(torch)
        tm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
        step = make_step(torch, tm, torch.tensor(x), torch.tensor(y), optim, classes)
        if label == "torch.compile":
            try:
                step = torch.compile(step)
                step()
            except Exception as exc:  # noqa: BLE001 - no C++ toolchain etc.: leave it out
                info["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                step = None
    if step is not None and "loss" not in info:
        step()
        loss = step()
        info["loss"] = float(loss if label == "jax.jit by hand" else loss.detach())
    return step, lambda n: None, lambda: info


CANDIDATES = ["ember numpy", "ember jax eager", "ember compiled", "jax.jit by hand",
              "torch eager", "torch.compile"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=None,
                    help="steps per timed block (default: per row, ~50 ms of PyTorch's)")
    ap.add_argument("--repeat", type=int, default=7, help="blocks per candidate (median kept)")
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--cpu-time", action="store_true",
                    help="time CPU seconds of each candidate's process (all its threads, "
                         "XLA's too), not wall time: steadier on a loaded machine; use with "
                         "--threads 1")
    ap.add_argument("--floor", action="store_true",
                    help="also time the SGD rows' step written by hand in JAX (jax.jit, "
                         "parameters donated): the floor for ember's per-call overhead")
    ap.add_argument("--torch-compile", action="store_true",
                    help="also time torch.compile (inductor needs a C++ compiler and takes "
                         "minutes per model on 2 cores)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin each process to --threads cores (XLA's CPU pools then "
                         "size themselves by the machine's cores, whatever the flags say)")
    args = ap.parse_args()
    opts = {"threads": args.threads, "pin": not args.no_pin, "cpu_time": args.cpu_time}
    try:
        import torch  # noqa: F401 - only whether it is there; it runs in its own process
        have_torch = True
    except ImportError:
        have_torch = False
    rows, losses, steps_per_block = [], [], {}
    for name in args.rows.split(","):
        labels = [c for c in CANDIDATES
                  if (c != "jax.jit by hand" or (args.floor and ROWS[name][3] == "sgd"))
                  and (not c.startswith("torch") or have_torch)
                  and (c != "torch.compile" or args.torch_compile)]
        number = args.number or NUMBER[name]
        with Workers(partial(_prepare, name, opts), labels, args.cpu_time, warm=0.1) as run:
            for label, first in list(run.first.items()):
                if "error" in first:
                    print(f"  {label} unavailable here: {first['error']}")
                    run.drop(label)
            res = run.blocks(number, args.repeat)
        comp = run.first["ember compiled"]
        med = {k: m for k, (m, _) in res.items()}
        best = {k: b for k, (_, b) in res.items()}
        rows.append([name, *[f"{med[c] / 1e3:.3f}" if c in med else "-" for c in CANDIDATES],
                     ratio(med["ember compiled"], med.get("torch eager")),
                     ratio(best["ember compiled"], best.get("torch eager")),
                     ratio(med["ember numpy"], med.get("torch eager")),
                     f"{comp['first']:.2f}", f"{comp['first100'] * 1e3:.1f}"])
        losses.append((name, {k: v["loss"] for k, v in run.first.items() if k in res}))
        steps_per_block[name] = number
        print(f"  {name}: " + ", ".join(f"{k} {v / 1e3:.3f} ms" for k, v in med.items()) +
              f"; compile {comp['first']:.2f} s", flush=True)
    print(f"{'CPU' if args.cpu_time else 'wall'} ms per training step, median of "
          f"{args.repeat} alternating blocks ({steps_per_block} steps), each candidate in a "
          f"process of its own{'' if args.no_pin else ' pinned to'} {args.threads} "
          f"{'thread' if args.threads == 1 else 'threads'}{'' if args.no_pin else '/cores'}; "
          "compile: seconds of the first two calls, and ms per step averaged over the first "
          "100")
    print(table(["step", *[c + " ms" for c in CANDIDATES], "compiled/torch", "best blocks",
                 "numpy/torch", "compile s", "first-100 ms/step"], rows))
    for name, loss in losses:
        print(f"{name}, loss of step 2: " + ", ".join(f"{k} {v:.6f}" for k, v in
                                                     loss.items()))


if __name__ == "__main__":
    main()
