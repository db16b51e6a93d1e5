"""What the training tools cost per step, ember vs PyTorch: a small MLP training step
(64-128-10, batch 32, SGD) plain, under autocast (cpu, bfloat16) with a GradScaler-style
scaled backward, and under the profiler. Also the price of entering and leaving an
autocast region (ember installs its op interceptor on the first region and removes it
after the last, so ops cost nothing extra outside).

    python benchmarks/tools_overhead.py [--number 50] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402


def cases(lib) -> dict:
    import numpy as np
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((32, 64)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 32))
    scaler = lib.amp.GradScaler("cpu")

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    def amp_step():
        opt.zero_grad()
        with lib.autocast("cpu"):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def profiled_step():
        with lib.profiler.profile():
            step()

    def region():
        with lib.autocast("cpu"):
            pass

    return {"train step": step, "autocast + GradScaler step": amp_step,
            "profiled step": profiled_step, "enter/exit autocast": region}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import ember
    import ember.profiler  # noqa: F401
    torch = load_torch()
    e = cases(ember)
    t = cases(torch) if torch is not None else {}
    rows = []
    for name in e:
        contenders = {"ember": e[name]}
        if torch is not None:
            contenders["torch"] = t[name]
        r = race(contenders, args.number, args.repeat)
        tt = r.get("torch")
        rows.append([name, f"{r['ember']:.1f}", "-" if tt is None else f"{tt:.1f}",
                     ratio(r["ember"], tt)])
    print(f"microseconds per call (best of {args.repeat} x {args.number})")
    print(table(["case", "ember", "torch", "ember/torch"], rows))


if __name__ == "__main__":
    main()
