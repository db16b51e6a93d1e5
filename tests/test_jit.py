"""ember.jit: script/trace give modules and functions with the original's results and
state, the decorators are no-ops, saving points at ember.save / ember.onnx.export; and
under ``ember run`` the torch tool modules resolve to ember's."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn


def _model(device):
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)


def test_script_module_same_results_and_shared_state(device):
    m = _model(device)
    s = ember.jit.script(m)
    x = ember.randn(3, 4, device=device)
    assert isinstance(s, ember.jit.ScriptModule) and isinstance(s, nn.Sequential)
    assert type(s).__name__ == "RecursiveScriptModule"
    np.testing.assert_array_equal(s(x).detach().cpu().numpy(), m(x).detach().cpu().numpy())
    assert list(s.state_dict()) == list(m.state_dict()) and s[0].weight is m[0].weight
    # training through the scripted module updates the original's parameters
    opt = ember.optim.SGD(s.parameters(), lr=0.1)
    before = m[0].weight.detach().clone()
    s(x).sum().backward()
    opt.step()
    assert not (m[0].weight.detach() == before).all()
    assert ember.jit.script(s) is s
    assert "def forward" in s.code


def test_trace_runs_once_and_matches(device):
    m = _model(device)
    x = ember.randn(2, 4, device=device)
    t = ember.jit.trace(m, x)
    assert type(t).__name__ == "TracedModule"
    np.testing.assert_array_equal(t(x).detach().cpu().numpy(), m(x).detach().cpu().numpy())

    def f(a, b):
        return a * b + 1
    tf = ember.jit.trace(f, (x, x))
    assert isinstance(tf, ember.jit.ScriptFunction) and tf.__name__ == "f"
    # compiled (XLA fuses a * b + 1 into one FMA): equal to the last bit only on numpy
    np.testing.assert_allclose(tf(x, x).detach().cpu().numpy(), f(x, x).detach().cpu().numpy(),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(RuntimeError, match="example_kwarg_inputs or example_inputs"):
        ember.jit.trace(f)
    with pytest.raises(RuntimeError):  # errors surface at trace time, as in PyTorch
        ember.jit.trace(m, ember.randn(2, 5, device=device))


def test_decorators_are_noops_with_torch_semantics():
    class M(nn.Module):
        @ember.jit.ignore
        def helper(self, x):
            return x + 1

        @ember.jit.unused
        def unused_path(self, x):
            return x * 0

        @ember.jit.export
        def extra(self, x):
            return x - 1

        @ember.jit.ignore(drop=True)
        def dropped(self, x):
            return x

        def forward(self, x):
            return self.helper(x)
    s = ember.jit.script(M())
    x = ember.ones(2)
    assert s(x).tolist() == [2.0, 2.0] and s.extra(x).tolist() == [0.0, 0.0]
    assert s.unused_path(x).tolist() == [0.0, 0.0] and s.dropped(x) is x
    assert not ember.jit.is_scripting() and not ember.jit.is_tracing()
    assert ember.jit.annotate(list, [1]) == [1]
    assert ember.jit.wait(ember.jit.fork(lambda a: a + 1, 1)) == 2


def test_saving_points_at_ember_save_and_onnx(tmp_path):
    s = ember.jit.script(_model("cpu"))
    for call in (lambda: s.save(str(tmp_path / "m.pt")),
                 lambda: ember.jit.save(s, str(tmp_path / "m.pt")),
                 lambda: ember.jit.script(lambda a: a).save("f.pt")):
        with pytest.raises(RuntimeError) as e:
            call()
        assert "ember.save" in str(e.value) and "ember.onnx.export" in str(e.value)
    with pytest.raises(RuntimeError, match="ember.load"):
        ember.jit.load(str(tmp_path / "m.pt"))
    assert not (tmp_path / "m.pt").exists()


def test_torch_tool_modules_resolve_under_ember_run(tmp_path):
    script = tmp_path / "tools.py"
    script.write_text("""
import torch
import torch.jit, torch.onnx, torch.amp, torch.profiler, torch.utils.tensorboard
import torch.cuda.amp, torch.cpu.amp, torch.autograd.profiler
from torch.utils.tensorboard import SummaryWriter
from torch.cuda.amp import GradScaler
import ember
assert torch.jit is ember.jit and torch.onnx is ember.onnx and torch.amp is ember.amp
assert torch.profiler is ember.profiler and torch.autograd.profiler is ember.autograd.profiler
assert SummaryWriter is ember.utils.tensorboard.SummaryWriter
assert torch.cuda.amp is ember.cuda.amp and torch.cpu.amp is ember.cpu.amp
assert torch.autocast is ember.amp.autocast
print("ok")
""")
    proc = subprocess.run([sys.executable, "-m", "ember", "run", str(script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
