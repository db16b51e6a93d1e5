"""resnet18 training step (forward + backward + SGD), ember_vision vs torchvision (issue 15):
batch 16, 3x64x64 inputs, 10 classes, CrossEntropyLoss, SGD. Target: ember at most 1.5x
PyTorch's time, both on 2 threads. The PyTorch side needs torchvision (which needs torch
2.14: run it in the `tox -e vision` env or a venv with torch==2.14.1 torchvision==0.29.1);
without torchvision only ember is timed.

    python benchmarks/resnet_step.py [--number 3] [--repeat 5] [--threads 2] [--cpu-time]
        [--batch 16] [--device cpu]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import parse_args, run  # noqa: E402


def build(lib):
    lib.manual_seed(0)
    if lib.__name__ == "ember":
        import ember_vision
        return ember_vision.models.resnet18(num_classes=10)
    import torchvision
    return torchvision.models.resnet18(num_classes=10)


def main() -> None:
    args = parse_args(__doc__, number=3, repeat=5)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        print("torchvision is not installed: timing ember only")
        sys.modules["torch"] = None  # train_step's load_torch then finds no PyTorch
    run("resnet18, 3x64x64 inputs", build, (16, 3, 64, 64), 10, args)


if __name__ == "__main__":
    main()
