"""MLP training step, ember vs PyTorch (issue 3): 784-512-256-10 with ReLU, batch 128,
CrossEntropyLoss, SGD; one step is zero_grad, forward, loss, backward, optimizer step.
Target: ember at most 1.15x PyTorch's time, both on 2 threads.

    python benchmarks/mlp_train_step.py [--number 20] [--repeat 15] [--threads 2] [--cpu-time]
        [--layers]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import parse_args, run  # noqa: E402


def build(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def main() -> None:
    args = parse_args(__doc__, number=20, repeat=15)
    run("MLP 784-512-256-10", build, (128, 784), 10, args)


if __name__ == "__main__":
    main()
