"""What the training-step benchmarks share: one model definition run by both libraries
with the same weights and data, and a timed ``step`` (zero_grad, forward, loss, backward,
SGD step), the libraries taking turns (``_common.race``), both on the same number of
threads (numpy's BLAS through ``OMP_NUM_THREADS``, PyTorch through ``set_num_threads``)."""
from __future__ import annotations

import argparse
import os
import sys

import time

from _common import THREADS, load_torch, race, ratio, table


def parse_args(doc: str, number: int, repeat: int):
    """``--number``, ``--repeat``, ``--threads``; the thread count reaches numpy's BLAS only
    through the environment, before numpy loads."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--number", type=int, default=number, help="steps per timed round")
    ap.add_argument("--repeat", type=int, default=repeat, help="rounds (the best is kept)")
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--device", default="cpu",
                    help='where both libraries run the step ("cuda": ember through CuPy, '
                         "each step ending in a device synchronize for both)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the model's)")
    ap.add_argument("--optim", choices=("sgd", "adam"), default="sgd")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time CPU seconds of this process, not wall time (with --threads 1 "
                         "on a loaded machine: other jobs then cost neither library)")
    ap.add_argument("--layers", action="store_true",
                    help="also time each layer's forward + backward on its real input")
    args = ap.parse_args()
    if "numpy" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    return args


def make_step(lib, model, x, y, lr: float = 0.01, device: str = "cpu", optim: str = "sgd"):
    """A closure running one full training step of ``model`` on (x, y). On a GPU the step
    ends in a synchronize, so a timing holds the kernels' time, not only their launch."""
    opt = (lib.optim.SGD(model.parameters(), lr=lr) if optim == "sgd"
           else lib.optim.Adam(model.parameters(), lr=lr * 0.1))
    loss_fn = lib.nn.CrossEntropyLoss()
    sync = lib.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss
    return step


def run(title: str, build, x_shape, classes: int, args) -> None:
    """Time a training step of ``build(lib)`` in ember and (when installed) PyTorch."""
    import numpy as np

    import ember
    torch = load_torch()
    if torch is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    if args.batch:
        x_shape = (args.batch, *x_shape[1:])
    dev = args.device
    x = rng.standard_normal(x_shape).astype("float32")
    y = rng.integers(0, classes, x_shape[0])
    steps = {}
    tmodel = build(torch) if torch is not None else None
    emodel = build(ember)
    if tmodel is not None:  # same starting weights
        emodel.load_state_dict({k: ember.tensor(v.detach().numpy())
                                for k, v in tmodel.state_dict().items()})
        tmodel.to(dev)
        steps["torch"] = make_step(torch, tmodel, torch.tensor(x, device=dev),
                                   torch.tensor(y, device=dev), device=dev, optim=args.optim)
    emodel.to(dev)
    steps["ember"] = make_step(ember, emodel, ember.tensor(x, device=dev),
                               ember.tensor(y, device=dev), device=dev, optim=args.optim)
    if tmodel is not None:
        le, lt = (float(steps[k]().detach()) for k in ("ember", "torch"))
        assert abs(le - lt) < 1e-3 * max(1.0, abs(lt)), (le, lt)  # same computation
    timer = time.process_time if args.cpu_time else time.perf_counter
    best = race(steps, args.number, args.repeat, timer)
    print(f"{title} on {dev}, batch {x_shape[0]}, {args.optim}: best of {args.repeat} rounds of "
          f"{args.number} steps, "
          f"{'CPU' if args.cpu_time else 'wall'} ms per step "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch threads "
          f"{args.threads})")
    rows = [["train step", f"{best['ember'] / 1e3:.3f}",
             f"{best['torch'] / 1e3:.3f}" if "torch" in best else "-",
             ratio(best["ember"], best.get("torch"))]]
    if args.layers and tmodel is not None and dev == "cpu":  # layer rows: host only
        rows += layer_rows(ember, torch, emodel, tmodel, x, args, timer)
    print(table(["", "ember ms", "torch ms", "ember/torch"], rows))


def layer_rows(ember, torch, emodel, tmodel, x, args, timer) -> list:
    """One row per layer of the (Sequential) models: forward + backward of that layer
    alone on the activations it sees in the model (input gradients from the second layer
    on, as in training)."""
    import numpy as np
    rows = []
    a = x
    for i, (em, tm) in enumerate(zip(emodel, tmodel)):
        ein = ember.tensor(a).requires_grad_(i > 0)
        tin = torch.tensor(a).requires_grad_(i > 0)
        out = tm(tin)
        g = np.random.default_rng(i).standard_normal(tuple(out.shape)).astype("float32")
        eg, tg = ember.tensor(g), torch.tensor(g)
        best = race({"ember": lambda: em(ein).backward(eg),
                     "torch": lambda: tm(tin).backward(tg)}, args.number, args.repeat, timer)
        rows.append([f"{i}: {tm.__class__.__name__}", f"{best['ember'] / 1e3:.3f}",
                     f"{best['torch'] / 1e3:.3f}", ratio(best["ember"], best["torch"])])
        a = out.detach().numpy()
    return rows
