"""One optimizer step of the optimizers added for issue 17 (NAdam, RAdam, Adamax, ASGD,
Rprop, Adafactor, Muon), ember vs PyTorch (single-tensor path, foreach=False where torch has
it), on a 512x512 float32 weight plus a 512 bias with fixed gradients. Prints microseconds per
step and the ratio.

    python benchmarks/optim_step_extra.py [--number 20] [--repeat 5] [--cpu-time] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402

import ember  # noqa: E402

CASES = [("NAdam", {}), ("RAdam", {}), ("Adamax", {}), ("ASGD", {}), ("Rprop", {}),
         ("Adafactor", {}), ("Muon", {})]


def _step_fn(lib, name, kw, data):
    W = lib.tensor(data[0], requires_grad=True)
    b = lib.tensor(data[1], requires_grad=True)
    W.grad, b.grad = lib.tensor(data[2]), lib.tensor(data[3])
    params = [W] if name == "Muon" else [W, b]  # Muon takes 2-D parameters only
    if name not in ("Adafactor", "Muon"):
        kw = dict(kw, foreach=False)
    opt = getattr(lib.optim, name)(params, **kw)
    return opt.step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--number", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu-time", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = ap.parse_args()
    torch = load_torch()
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(s).astype(np.float32) * 0.1 for s in ((512, 512), (512,)) * 2]
    rows = []
    for name, kw in CASES:
        cases = {"ember": _step_fn(ember, name, kw, data)}
        if torch is not None:
            cases["torch"] = _step_fn(torch, name, kw, data)
        best = race(cases, args.number, args.repeat,
                    time.process_time if args.cpu_time else time.perf_counter)
        rows.append([name, f"{best['ember']:.0f}", f"{best.get('torch', float('nan')):.0f}",
                     ratio(best["ember"], best.get("torch"))])
    print(table(["optimizer", "ember us/step", "torch us/step", "ember/torch"], rows))


if __name__ == "__main__":
    main()
