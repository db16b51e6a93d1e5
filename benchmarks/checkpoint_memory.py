"""Peak memory of a 20-layer MLP training step with and without activation checkpointing
(``ember.utils.checkpoint.checkpoint_sequential``), and the time it costs, vs PyTorch.

The step is zero_grad (to None) / forward / ``(y * y).mean()`` / backward on a
20 x (Linear(width, width) + ReLU) model. ember's peak is what ``tracemalloc`` sees above the
level before the step (numpy reports its buffers to tracemalloc): the activations kept for
backward, the gradients and the temporaries. PyTorch's CPU allocator is invisible to
tracemalloc, so only its times are given; the ratio column compares ember's time with
PyTorch's for the same mode.

    python benchmarks/checkpoint_memory.py [--width 256] [--batch 2048] [--segments 4 5]
"""
from __future__ import annotations

import argparse
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402

MIB = 1024 * 1024
LAYERS = 20


def build(lib, width: int, batch: int):
    lib.manual_seed(0)
    layers = []
    for _ in range(LAYERS):
        layers += [lib.nn.Linear(width, width), lib.nn.ReLU()]
    model = lib.nn.Sequential(*layers)
    x = lib.randn(batch, width, requires_grad=True)
    return model, x


def step_fn(lib, model, x, segments: int | None, reentrant: bool):
    def step():
        model.zero_grad(set_to_none=True)
        x.grad = None
        if segments is None:
            y = model(x)
        else:
            y = lib.utils.checkpoint.checkpoint_sequential(model, segments, x,
                                                           use_reentrant=reentrant)
        (y * y).mean().backward()
    return step


def peak_mib(step) -> float:
    step()  # warm-up: lazy imports and caches are not the step's memory
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / MIB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--segments", type=int, nargs="+", default=[4, 5])
    ap.add_argument("--number", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import ember
    torch = load_torch()
    modes = [("no checkpointing", None, True)]
    for s in args.segments:
        modes += [(f"checkpoint_sequential({s}), reentrant", s, True),
                  (f"checkpoint_sequential({s}), non-reentrant", s, False)]
    em_model, em_x = build(ember, args.width, args.batch)
    tm = build(torch, args.width, args.batch) if torch is not None else None
    rows = []
    base_peak = None
    for label, seg, reentrant in modes:
        em_step = step_fn(ember, em_model, em_x, seg, reentrant)
        peak = peak_mib(em_step)
        base_peak = peak if base_peak is None else base_peak
        cases = {"ember": em_step}
        if tm is not None:
            cases["torch"] = step_fn(torch, tm[0], tm[1], seg, reentrant)
        t = race(cases, args.number, args.repeat)
        em_ms, th_ms = t["ember"] / 1e3, t.get("torch", 0) / 1e3 if tm is not None else None
        rows.append([label, f"{peak:.1f}", f"{peak / base_peak:.2f}", f"{em_ms:.1f}",
                     "-" if th_ms is None else f"{th_ms:.1f}", ratio(em_ms, th_ms)])
    print(f"20-layer MLP, width {args.width}, batch {args.batch}, float32 "
          f"(parameters: {LAYERS * (args.width + 1) * args.width * 4 / MIB:.1f} MiB)")
    print(table(["mode", "ember peak MiB", "vs none", "ember ms/step", "torch ms/step",
                 "ember/torch"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
