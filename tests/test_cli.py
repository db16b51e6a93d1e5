"""The ``ember`` command line: ``info``, ``demo``, ``run`` (issue 7).

Commands run as a user runs them (a subprocess: the ``ember`` console script or ``python -m
ember``) where the process boundary matters (exit codes, stderr, fresh imports); one-line
argument errors are checked in-process, where plugin warnings cannot mix into stderr.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.__main__ import main

from plugins.sandbox import TOY_SRC, installed_plugins, registry_restored

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "train_mlp.py"


def ember_cmd(*args: str, env: dict | None = None, cwd=None, plugins: bool = False,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m ember args...`` in a fresh interpreter."""
    e = {**os.environ, **(env or {})}
    e.pop("EMBER_PROVIDERS", None) if "EMBER_PROVIDERS" not in (env or {}) else None
    if plugins:
        e["PYTHONPATH"] = os.pathsep.join(filter(None, [installed_plugins(),
                                                        e.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "ember", *args], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=timeout)


def one_line_error(capsys, argv: list[str]) -> str:
    """Run ``main(argv)`` in-process; it must fail with status 2 and ONE line on stderr."""
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- ember info -------------------------------------------------------------------------

def test_info_reports_backends_devices_and_versions():
    proc = ember_cmd("info", plugins=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith(f"ember {ember.__version__}\n")
    assert f"Python {'.'.join(map(str, sys.version_info[:3]))}" in out
    assert f"numpy {np.__version__}" in out
    backends = out.split("Backends:")[1].split("Device types:")[0]
    rows = {line.split()[0]: line for line in backends.splitlines()[2:] if line.strip()}
    # every backend the registry knows, with its device types, version and availability
    assert {"numpy", "toy", "toycpu"} <= set(rows)
    assert re.search(rf"^numpy\s+cpu\s+{re.escape(np.__version__)}\s+yes", rows["numpy"])
    assert re.search(r"^toy\s+toy\s+0\.0\.1\s+yes", rows["toy"])
    types = out.split("Device types:")[1].split("Warnings:")[0]
    served = {line.split()[0]: line.split()[1] for line in types.splitlines()[2:] if line.strip()}
    assert served["cpu"] == "numpy" and served["toy"] == "toy"
    # cuda: nothing serves it here, and the reason says what to install
    if not ember.cuda.is_available():
        assert served["cuda"] == "-"
        assert "CuPy" in types.split("\ncuda")[1].splitlines()[0]
    # the broken test plugin is skipped, and said so
    assert "Warnings:" in out and "skipping backend plugin" in out.split("Warnings:")[1]


def test_info_shows_the_provider_override():
    proc = ember_cmd("info", plugins=True, env={"EMBER_PROVIDERS": "cpu=toycpu"})
    assert proc.returncode == 0, proc.stderr
    types = proc.stdout.split("Device types:")[1]
    assert re.search(r"^cpu\s+toycpu\b", types, re.M), types


def test_console_script_and_help():
    exe = shutil.which("ember")
    if exe is None:
        pytest.skip("the `ember` console script is not on PATH (package not installed)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("info", "demo", "run"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.M), proc.stdout


def test_cli_is_not_imported_by_import_ember():
    code = ("import sys, ember, ember.nn, ember.optim, ember.utils.data\n"
            "print(sorted(m for m in sys.modules if m in ('ember.__main__', 'ember._cli', "
            "'ember._cli.demo', 'ember._cli.run', 'sklearn', 'tqdm', 'matplotlib')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- ember demo -------------------------------------------------------------------------

def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@pytest.mark.slow
def test_demo_digits_reaches_97_percent_in_under_a_minute(tmp_path):
    """The default demo, as the README runs it: accuracy, time, checkpoint, curve, bars."""
    pytest.importorskip("sklearn")
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = ember_cmd("demo", "--out", str(tmp_path), env={"OMP_NUM_THREADS": "2"})
    cpu, wall = _children_cpu() - cpu0, time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    acc = float(re.search(r"^test accuracy: ([0-9.]+)$", proc.stdout, re.M).group(1))
    assert acc >= 0.97, proc.stdout
    # one minute on 2 cores: wall time on a quiet machine; on a shared, loaded one the
    # CPU time the demo used is the fair measure (either passing is enough)
    assert min(cpu, wall) < 60, f"{cpu:.1f} s of CPU, {wall:.1f} s wall"
    epochs = re.findall(r"^epoch +(\d+)/(\d+) +train loss [0-9.]+ +val loss [0-9.]+ +val acc "
                        r"([0-9.]+)", proc.stdout, re.M)
    assert len(epochs) == int(epochs[0][1]) >= 2
    assert "batch" in proc.stderr  # tqdm's progress bars go to stderr
    png = tmp_path / "learning_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    # the checkpoint is the best epoch's weights, and it reproduces the test accuracy
    best = max(float(a) for _, _, a in epochs)
    assert f"val acc {best:.4f}  (best so far: saved)" in proc.stdout
    state = ember.load(tmp_path / "digits_cnn.pt")
    from ember._cli import demo as _demo
    model = _demo._digits_cnn()
    model.load_state_dict(state)
    assert set(state) == set(model.state_dict())


@pytest.mark.slow
def test_demo_regression_reports_test_mse(tmp_path):
    pytest.importorskip("sklearn")
    proc = ember_cmd("demo", "--task", "regression", "--epochs", "15", "--batch-size", "16",
                     "--seed", "1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    mse = float(re.search(r"^test MSE: ([0-9.]+)$", proc.stdout, re.M).group(1))
    # predicting the training mean scores ~5,900 on diabetes; a fitted model ~3,000
    assert 1000 < mse < 4000, proc.stdout
    assert len(re.findall(r"^epoch +\d+/15 ", proc.stdout, re.M)) == 15
    assert (tmp_path / "diabetes_mlp.pt").exists() and (tmp_path / "learning_curve.png").exists()


def test_demo_runs_on_any_device_string(tmp_path):
    """A third-party backend's own device type, through a real entry point."""
    pytest.importorskip("sklearn")
    proc = ember_cmd("demo", "--task", "regression", "--device", "toy:1", "--epochs", "1",
                     "--out", str(tmp_path), plugins=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on toy:1" in proc.stdout and "test MSE:" in proc.stdout


def test_demo_seed_makes_runs_repeat(tmp_path):
    pytest.importorskip("sklearn")
    args = ("demo", "--task", "regression", "--epochs", "2", "--seed", "3")
    a = ember_cmd(*args, "--out", str(tmp_path / "a"))
    b = ember_cmd(*args, "--out", str(tmp_path / "b"))
    assert a.returncode == b.returncode == 0, a.stderr[-2000:]
    scores = [re.search(r"^test MSE: .*$", p.stdout, re.M).group(0) for p in (a, b)]
    assert scores[0] == scores[1]


@pytest.mark.parametrize("argv, words", [
    (["demo", "--device", "nosuchdevice"], ["--device nosuchdevice", "device type"]),
    (["demo", "--device", "cpu:x"], ["--device cpu:x", "Invalid device string"]),
    (["demo", "--epochs", "0"], ["--epochs", "at least 1"]),
    (["demo", "--batch-size", "many"], ["--batch-size", "positive integer"]),
    (["demo", "--task", "nope"], ["--task", "invalid choice"]),
    (["run", "--device", "nosuchdevice", "x.py"], ["--device nosuchdevice"]),
    (["run", "--provider", "cpu", "x.py"], ["--provider cpu", "TYPE=BACKEND"]),
    (["run", "--provider", "cpu=nosuchbackend", "x.py"], ["no backend named 'nosuchbackend'"]),
    (["run", "no/such/script.py"], ["no such script"]),
    (["nosuchcommand"], ["invalid choice"]),
])
def test_bad_arguments_give_one_line(capsys, argv, words):
    line = one_line_error(capsys, argv)
    assert line.startswith("ember"), line
    for w in words:
        assert w in line, line


def test_unavailable_backend_is_one_line(capsys):
    if ember.cuda.is_available():
        pytest.skip("CUDA is available here")
    line = one_line_error(capsys, ["demo", "--device", "cuda"])
    assert line.startswith("ember demo: error: --device cuda:") and "not available" in line
    assert "CuPy" in line  # says what to install


def test_unwritable_out_is_one_line(capsys, tmp_path):
    pytest.importorskip("sklearn")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    line = one_line_error(capsys, ["demo", "--out", str(blocker / "sub")])
    assert f"--out {blocker / 'sub'}: cannot write there" in line


def test_missing_demo_extra_is_one_line(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    line = one_line_error(capsys, ["demo"])
    assert "scikit-learn" in line and "pip install 'ember[demo]'" in line


# -- ember run --------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_maps_torch_modules_to_ember(tmp_path):
    script = write(tmp_path, "mods.py", """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim
import torch.optim.lr_scheduler
import torch.utils.data
import torch.autograd
import torch.cuda
from torch.utils.data import DataLoader, Dataset
import ember
import ember.nn.functional, ember.utils.data, ember.optim.lr_scheduler
assert torch is ember and nn is ember.nn and F is ember.nn.functional
assert torch.optim is ember.optim and torch.optim.lr_scheduler is ember.optim.lr_scheduler
assert DataLoader is ember.utils.data.DataLoader and Dataset is ember.utils.data.Dataset
assert torch.autograd is ember.autograd and torch.cuda is ember.cuda
assert isinstance(nn.Linear(2, 3), torch.nn.Module)
assert ember.__spec__.name == "ember"  # the alias leaves ember's own spec alone
print(__name__, sys.argv[1:], sys.path[0] == %r)
""" % str(tmp_path))
    proc = ember_cmd("run", str(script), "--lr", "3", "x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "__main__ ['--lr', '3', 'x'] True"


@pytest.mark.oracle
def test_run_unmodified_pytorch_script_matches_pytorch(torch, tmp_path):
    """examples/train_mlp.py: the same file under real PyTorch and under `ember run`."""
    real = subprocess.run([sys.executable, str(EXAMPLE), "--epochs", "4", "--checkpoint",
                           str(tmp_path / "torch.pth")], capture_output=True, text=True,
                          timeout=300)
    assert real.returncode == 0, real.stderr
    ours = ember_cmd("run", str(EXAMPLE), "--epochs", "4", "--checkpoint",
                     str(tmp_path / "ember.pth"))
    assert ours.returncode == 0, ours.stderr
    num = re.compile(r"loss ([0-9.]+)")
    got, want = num.findall(ours.stdout), num.findall(real.stdout)
    assert len(got) == len(want) == 8
    np.testing.assert_allclose(np.array(got, float), np.array(want, float), rtol=1e-4,
                               atol=1e-6)
    assert ours.stdout.strip().endswith("ember.nn.parameter")
    assert real.stdout.strip().endswith("torch.nn.parameter")


def test_run_with_dataloader_workers(tmp_path):
    script = write(tmp_path, "workers.py", """
import torch
from torch.utils.data import DataLoader, TensorDataset
ds = TensorDataset(torch.arange(20.).reshape(10, 2), torch.arange(10))
seen = sorted(int(i) for _, y in DataLoader(ds, batch_size=3, num_workers=2) for i in y)
print(seen == list(range(10)))
""")
    proc = ember_cmd("run", str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_run_spawned_workers_see_ember_too(tmp_path):
    """A spawned worker imports the script again (DataLoader under JAX spawns): its
    ``import torch`` must bind ember as well."""
    script = write(tmp_path, "spawned.py", """
import torch
from torch.utils.data import DataLoader, Dataset


class Names(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return torch.__name__  # evaluated in the worker process


if __name__ == "__main__":
    loader = DataLoader(Names(), batch_size=3, num_workers=2, multiprocessing_context="spawn")
    print(sorted({name for batch in loader for name in batch}))
""")
    proc = ember_cmd("run", str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['ember']"


@pytest.mark.parametrize("source, message", [
    ("from torch.foo import bar", "ModuleNotFoundError: ember does not provide torch.foo"),
    ("import torch.nn.nosuchmodule", "ember does not provide torch.nn.nosuchmodule"),
    ("import torch.backends.nosuch", "ember does not provide torch.backends.nosuch"),
    ("import torch._C", "ember does not provide torch._C"),
    ("from torch import nosuchname", "cannot import name 'nosuchname'"),
    ("from torch.nn import NoSuchLayer", "cannot import name 'NoSuchLayer'"),
])
def test_run_missing_torch_api_names_it(tmp_path, source, message):
    script = write(tmp_path, "missing.py", f"import torch\n{source}\n")
    proc = ember_cmd("run", str(script))
    assert proc.returncode == 1
    assert message in proc.stderr.strip().splitlines()[-1], proc.stderr
    # the traceback starts at the script, as `python script.py` would show it
    assert 'missing.py", line 2' in proc.stderr and "_cli/run.py" not in proc.stderr


def test_run_exit_status_and_stdin_args_pass_through(tmp_path):
    script = write(tmp_path, "exit.py", "import sys\nsys.exit(int(sys.argv[1]))\n")
    assert ember_cmd("run", str(script), "3").returncode == 3
    assert ember_cmd("run", str(script), "0").returncode == 0


def test_run_device_and_provider(tmp_path):
    script = write(tmp_path, "dev.py", """
import torch
x = torch.zeros(2)
print(x.device, x.device._be.name, torch.get_default_device())
""")
    proc = ember_cmd("run", "--device", "toy:1", str(script), plugins=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["toy:1", "toy", "toy:1"]
    proc = ember_cmd("run", "--provider", "cpu=toycpu", str(script), plugins=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["cpu", "toycpu", "cpu"]


def test_run_device_whose_backend_also_serves_cpu(tmp_path, capsys):
    """``--device jax``-style: a backend that serves its own type and "cpu" serves the
    script's "cpu", so tensors the script moves with .to("cpu") stay on one device."""
    script = write(tmp_path, "dual.py", """
import torch
x = torch.ones(2).to("cpu") + torch.zeros(2, device="cpu")
print(x.device, x.device._be.name, torch.get_default_device())
""")
    with registry_restored() as registry:
        sys.path.insert(0, str(TOY_SRC))
        try:
            import ember_toy
        finally:
            sys.path.remove(str(TOY_SRC))

        class Dual(ember_toy.ToyBackend):
            name = "dual"
            device_types = ("dual", "cpu")
            priority = -5

        registry.register(Dual())
        try:
            assert main(["run", "--device", "dual", str(script)]) == 0
            assert capsys.readouterr().out.split() == ["cpu", "dual", "cpu"]
        finally:
            ember.set_default_device(None)


def test_alias_installs_and_uninstalls_in_process():
    from ember._cli import run as _run
    before = {n: m for n, m in sys.modules.items() if n == "torch" or n.startswith("torch.")}
    _run.install()
    try:
        import torch
        import torch.nn.functional as F
        assert torch is ember and F is ember.nn.functional
    finally:
        _run.uninstall()
    after = {n: m for n, m in sys.modules.items() if n == "torch" or n.startswith("torch.")}
    assert after == before  # real torch modules (if any were imported) are back
    assert not any(isinstance(f, _run.TorchAlias) for f in sys.meta_path)
