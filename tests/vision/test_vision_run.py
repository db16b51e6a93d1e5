"""``import torchvision`` under ``ember run``: the names bind ember_vision, missing ones fail
naming themselves, spawned workers see it too, and PyTorch's CIFAR-10 tutorial runs
unmodified on small files in the real CIFAR format."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PIL")
from _vision_formats import write_cifar  # noqa: E402

SCRIPTS = Path(__file__).parent / "scripts"


def _ember_run(script: Path, cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "ember", "run", str(script)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def _write(tmp_path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_maps_torchvision_modules(tmp_path):
    script = _write(tmp_path, "names.py", """
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as TF
import torchvision.transforms.v2 as v2
from torchvision import datasets, models, ops, utils, io
from torchvision.models import resnet18, ResNet18_Weights
from torchvision.ops import nms
import ember_vision
assert torchvision is ember_vision and T is ember_vision.transforms
assert TF is ember_vision.transforms.functional and v2 is ember_vision.transforms.v2
assert datasets is ember_vision.datasets and models is ember_vision.models
print("ok")
""")
    proc = _ember_run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("source, message", [
    ("import torchvision.nosuchmodule", "ember does not provide torchvision.nosuchmodule"),
    ("from torchvision.models import detection",
     "cannot import name 'detection'"),
    ("from torchvision.transforms import NoSuchTransform",
     "cannot import name 'NoSuchTransform'"),
    ("import torchvision._C", "ember does not provide torchvision._C"),
])
def test_run_missing_torchvision_api_names_it(tmp_path, source, message):
    script = _write(tmp_path, "missing.py", f"import torchvision\n{source}\n")
    proc = _ember_run(script, tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr.strip().splitlines()[-1], proc.stderr


def test_run_spawned_workers_see_ember_vision(tmp_path):
    script = _write(tmp_path, "spawned.py", """
import torch
import torchvision
from torch.utils.data import DataLoader, Dataset


class Names(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torchvision.__name__  # evaluated in the worker process


if __name__ == "__main__":
    loader = DataLoader(Names(), batch_size=2, num_workers=2, multiprocessing_context="spawn")
    print(sorted({name for batch in loader for name in batch}))
""")
    proc = _ember_run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['ember_vision']"


@pytest.mark.slow
def test_cifar10_tutorial_runs_unmodified(tmp_path):
    pytest.importorskip("matplotlib")
    if os.environ.get("EMBER_PROVIDERS", "cpu=numpy").replace(" ", "") != "cpu=numpy":
        # under JAX ember's DataLoader spawns its workers (no fork after XLA starts); a
        # spawned worker re-runs the tutorial's unguarded top level, which fails as it does
        # under PyTorch on spawn platforms (the tutorial has no `if __name__ == "__main__"`)
        pytest.skip("the unguarded tutorial needs fork()ed DataLoader workers (numpy backend)")
    write_cifar(str(tmp_path / "data"), n=10)  # every class in the test batch
    script = tmp_path / "cifar10_tutorial.py"
    shutil.copy(SCRIPTS / "cifar10_tutorial.py", script)
    proc = _ember_run(script, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Finished Training" in out and "GroundTruth: " in out and "Predicted: " in out
    assert "Accuracy of the network on the 10000 test images:" in out
    assert out.count("Accuracy for class:") == 10 and out.strip().endswith("cpu")
    assert (tmp_path / "cifar_net.pth").exists()
    import ember
    state = ember.load(str(tmp_path / "cifar_net.pth"))
    assert tuple(state["conv1.weight"].shape) == (6, 3, 5, 5)
