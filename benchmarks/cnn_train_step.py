"""LeNet-5-like CNN training step, ember vs PyTorch (issue 3): 1x28x28 inputs, batch 64;
conv 1->6 5x5 (padding 2), ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2, then
400-120-84-10 with ReLU; CrossEntropyLoss, SGD. Target: ember at most 1.5x PyTorch's time,
both on 2 threads.

    python benchmarks/cnn_train_step.py [--number 10] [--repeat 15] [--threads 2] [--cpu-time]
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
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main() -> None:
    args = parse_args(__doc__, number=10, repeat=15)
    run("LeNet-5-like CNN, 1x28x28 inputs", build, (64, 1, 28, 28), 10, args)


if __name__ == "__main__":
    main()
