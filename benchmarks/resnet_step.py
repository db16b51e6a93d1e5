"""resnet18 training step (forward + backward + SGD), ember_vision vs torchvision (issue 15):
batch 16, 3x64x64 inputs, 10 classes, CrossEntropyLoss, SGD. Target: ember at most 1.5x
PyTorch's time, both on 2 threads. The PyTorch side needs torchvision (which needs torch
2.14: run it in the `tox -e vision` env or a venv with torch==2.14.1 torchvision==0.29.1);
without torchvision only ember is timed.

``--breakdown`` instead splits ember's step (CPU time, numpy backend) into its kernels:
convolution forward, input gradient, weight gradient, batch norm forward/backward,
pooling, ReLU's backward (masked_fill), the optimizer's update, and the rest (autograd
bookkeeping, elementwise ops, the loss). ``--stack`` uses the ResNet-style block stack of
``model_steps.py`` (batch 32 of 3x32x32, SGD with momentum) instead of resnet18.
``--processes`` runs each library in a process of its own (``_common.Workers``: medians of
alternating blocks), as ``model_steps.py`` does: in one process the libraries' spinning
thread pools slow each other at 2 threads.

    python benchmarks/resnet_step.py [--number 3] [--repeat 5] [--threads 2] [--cpu-time]
        [--batch 16] [--device cpu] [--breakdown [--stack]] [--processes]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Workers, table  # noqa: E402
from train_step import make_step, parse_args, run  # noqa: E402

#: backend methods (and functional helpers) timed by --breakdown, by category
CATEGORIES = {
    "conv forward": ("conv2d_save", "conv2d"),
    "conv input gradient": ("conv_transpose2d",),
    "conv weight gradient": ("conv2d_weight",),
    "max pool forward": ("max_pool2d",),
    "max pool backward": ("max_pool2d_backward",),
    "avg pool forward/backward": ("avg_pool2d", "avg_pool2d_backward"),
    "masked_fill (ReLU backward)": ("masked_fill",),
    "optimizer update (axpy_)": ("axpy_",),
}


def build(lib):
    lib.manual_seed(0)
    if lib.__name__ == "ember":
        import ember_vision
        return ember_vision.models.resnet18(num_classes=10)
    import torchvision
    return torchvision.models.resnet18(num_classes=10)


def breakdown(args, stack: bool) -> None:
    """ember's step split by kernel, CPU seconds of this process (one thread is the
    meaningful setting: other threads' work lands in whichever timer is open)."""
    import collections
    import time

    import numpy as np

    import ember
    from ember.nn._functional import normalization
    spent = collections.Counter()

    def timed(owner, name, cat):
        fn = getattr(owner, name)

        def wrapper(*a, **k):
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[cat] += time.process_time() - t0
        setattr(owner, name, wrapper)

    ember.set_num_threads(args.threads)
    be = type(ember.tensor(0.0)._device._be)
    for cat, names in CATEGORIES.items():
        for name in names:
            timed(be, name, cat)
    timed(normalization, "_native_norm", "batch norm forward")
    timed(normalization, "_norm_backward", "batch norm backward")
    if stack:
        import model_steps
        model, shape = model_steps.resnet(ember), (32, 3, 32, 32)
        opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    else:
        model, shape = build(ember), (args.batch or 16, 3, 64, 64)
        opt = ember.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal(shape).astype("float32"))
    y = ember.tensor(rng.integers(0, 10, shape[0]))
    loss_fn = ember.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    for _ in range(2):
        step()
    spent.clear()
    steps = args.number * args.repeat
    t0 = time.process_time()
    for _ in range(steps):
        step()
    total = (time.process_time() - t0) / steps * 1e3
    print(f"{'block stack' if stack else 'resnet18'} step, batch {shape[0]}: {total:.1f} CPU ms "
          f"per step over {steps} steps, {args.threads} thread(s)")
    rows = sorted(((v / steps * 1e3, k) for k, v in spent.items()), reverse=True)
    rows.append((total - sum(v for v, _ in rows), "rest (autograd, elementwise, loss)"))
    for ms, name in rows:
        print(f"  {name:36s} {ms:8.1f} ms {100 * ms / total:6.1f}%")


def _prepare(batch: int, label: str):
    """(step, set_threads, first loss) of resnet18 in ``label``'s library, both from
    torchvision's initial weights under seed 0."""
    import numpy as np
    import torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 64, 64)).astype("float32")
    y = rng.integers(0, 10, batch)
    tmodel = build(torch)
    if label == "torch":
        step = make_step(torch, tmodel, torch.tensor(x), torch.tensor(y))
        return step, torch.set_num_threads, lambda: float(step().detach())
    import ember
    torch.set_num_threads(1)  # only the initial weights come from it here
    emodel = build(ember)
    emodel.load_state_dict({k: ember.tensor(v.detach().numpy())
                            for k, v in tmodel.state_dict().items()})
    step = make_step(ember, emodel, ember.tensor(x), ember.tensor(y))
    return step, ember.set_num_threads, lambda: float(step().detach())


def processes(args) -> None:
    import functools
    with Workers(functools.partial(_prepare, args.batch or 16), ("ember", "torch"),
                 args.cpu_time) as run_:
        le, lt = run_.first["ember"], run_.first["torch"]
        assert abs(le - lt) < 1e-3 * max(1.0, abs(lt)), (le, lt)  # same computation
        run_.threads(args.threads)
        res = run_.blocks(args.number, args.repeat)
    (em, eb), (tm, tb) = res["ember"], res["torch"]
    print(f"resnet18 step, batch {args.batch or 16}, {args.threads} thread(s), each library "
          f"in its own process: {'CPU' if args.cpu_time else 'wall'} ms per step, median "
          f"(best) of {args.repeat} alternating blocks of {args.number}")
    print(table(["", "ember ms", "torch ms", "ember/torch"],
                [["median", f"{em / 1e3:.1f}", f"{tm / 1e3:.1f}", f"{em / tm:.2f}"],
                 ["best", f"{eb / 1e3:.1f}", f"{tb / 1e3:.1f}", f"{eb / tb:.2f}"]]))


def main() -> None:
    stack = "--stack" in sys.argv
    if stack:
        sys.argv.remove("--stack")
    brk = "--breakdown" in sys.argv
    if brk:
        sys.argv.remove("--breakdown")
    procs = "--processes" in sys.argv
    if procs:
        sys.argv.remove("--processes")
    args = parse_args(__doc__, number=3, repeat=5)
    if procs:
        processes(args)
        return
    if brk:
        breakdown(args, stack)
        return
    try:
        import torchvision  # noqa: F401
    except ImportError:
        print("torchvision is not installed: timing ember only")
        sys.modules["torch"] = None  # train_step's load_torch then finds no PyTorch
    run("resnet18, 3x64x64 inputs", build, (16, 3, 64, 64), 10, args)


if __name__ == "__main__":
    main()
