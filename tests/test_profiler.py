"""ember.profiler: the ops of an MLP step with their call counts (against PyTorch's profiler
for the layer-level ops), backward nodes, record_function ranges, the table, Chrome traces,
schedules, and that the op interceptor leaves every op exactly as it was."""
from __future__ import annotations

import json

import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.ops import _intercept
from ember.profiler import (ProfilerAction, ProfilerActivity, profile, record_function,
                            schedule, tensorboard_trace_handler)


def _mlp_step(lib, device, steps=2):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3)).to(device)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    x = lib.randn(5, 4).to(device)
    y = lib.tensor([0, 1, 2, 0, 1]).to(device)
    for _ in range(steps):
        loss = lib.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _counts(prof) -> dict:
    return {e.key: e.count for e in prof.key_averages()}


def test_mlp_step_ops_and_counts(device):
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _mlp_step(ember, device, steps=2)
    counts = _counts(prof)
    assert counts["aten::linear"] == 4       # two layers, two steps
    assert counts["aten::relu"] == 2
    assert counts["aten::cross_entropy"] == 2
    back = [k for k in counts if k.startswith("autograd::engine::evaluate_function: ")]
    assert back and all(counts[k] % 2 == 0 for k in back)
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=50)
    for col in ("Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls"):
        assert col in table
    row = next(line for line in table.splitlines() if line.startswith("aten::linear "))
    assert row.split()[-1] == "4"
    ev = [e for e in prof.key_averages() if e.key == "aten::linear"][0]
    assert ev.cpu_time_total >= ev.self_cpu_time_total >= 0


@pytest.mark.oracle
def test_layer_op_counts_match_torch_profiler(torch):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tp:
        _mlp_step(torch, "cpu", steps=3)
    with profile(activities=[ProfilerActivity.CPU]) as ep:
        _mlp_step(ember, "cpu", steps=3)
    theirs = {e.key: e.count for e in tp.key_averages()}
    ours = _counts(ep)
    for op in ("aten::linear", "aten::relu"):
        assert ours[op] == theirs[op]


def test_sorting_shapes_memory_and_record_function():
    a = ember.randn(3, 4)
    with profile(record_shapes=True, profile_memory=True) as prof:
        with record_function("my_block"):
            for _ in range(3):
                b = a @ a.T.contiguous()
            b.sum()
    avgs = prof.key_averages(group_by_input_shape=True)
    mm = [e for e in avgs if e.key == "aten::matmul"]
    assert mm[0].count == 3 and mm[0].input_shapes == ([3, 4], [4, 3])
    assert mm[0].cpu_memory_usage == 3 * 3 * 3 * 4  # three 3x3 float32 results
    block = [e for e in prof.events() if e.name == "my_block"][0]
    assert {c.name for c in block.cpu_children} >= {"aten::matmul", "aten::sum"}
    assert "Input Shapes" in avgs.table()
    table = prof.key_averages().table(sort_by="count")
    assert "CPU Mem" in table
    first = table.splitlines()[3]
    assert int(first.split()[-1]) == max(e.count for e in prof.key_averages())
    with pytest.raises(AttributeError):
        prof.key_averages().table(sort_by="no_such_key")


def test_chrome_trace_is_valid_json(tmp_path):
    with profile(record_shapes=True) as prof:
        with record_function("outer"):
            (ember.ones(2, 2) * 2).sum()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    names = {e["name"] for e in doc["traceEvents"]}
    assert {"outer", "aten::mul", "aten::sum"} <= names
    for e in doc["traceEvents"]:
        assert e["ph"] == "X" and e["dur"] >= 0 and isinstance(e["ts"], float)
    outer = [e for e in doc["traceEvents"] if e["name"] == "outer"][0]
    mul = [e for e in doc["traceEvents"] if e["name"] == "aten::mul"][0]
    assert outer["ts"] <= mul["ts"] and mul["ts"] + mul["dur"] <= outer["ts"] + outer["dur"]


def test_schedule_matches_torch(torch):
    kw = dict(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
    ours = schedule(**kw)
    theirs = torch.profiler.schedule(**kw)
    assert [ours(i).name for i in range(14)] == [theirs(i).name for i in range(14)]
    assert ours(3) is ProfilerAction.RECORD


def test_schedule_windows_and_trace_handler(tmp_path):
    seen = []

    def ready(p):
        seen.append(_counts(p).get("aten::add", 0))
    x = ember.ones(2)
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=ready) as prof:
        for _ in range(10):
            x + x
            prof.step()
    assert seen == [2, 2]  # two active cycles of two steps each; warmup discarded
    handler = tensorboard_trace_handler(str(tmp_path), worker_name="w0")
    with profile(schedule=schedule(wait=0, warmup=0, active=1, repeat=1),
                 on_trace_ready=handler) as prof:
        x * x
        prof.step()
    files = list(tmp_path.glob("w0.*.pt.trace.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["traceEvents"]


def test_autograd_profiler_alias_and_record_function_without_profiler():
    from ember.autograd import profiler as ap
    assert ember.autograd.profiler is ap
    with record_function("nothing"):  # no profiler: a no-op
        ember.ones(1) + 1
    x = ember.ones(2)
    with ap.profile() as prof:
        x.exp()
    assert [e.name for e in prof.function_events] == ["aten::exp"]
    with ap.profile(enabled=False) as off:
        ember.ones(2).exp()
    with pytest.raises(AssertionError):
        off.key_averages()


def test_interceptor_restores_every_binding_exactly():
    def snapshot():
        out = {("Tensor", k): v for k, v in vars(ember.Tensor).items()}
        for mod in (ember, F, ember.linalg, ember.nn.modules.linear):
            out.update({(mod.__name__, k): v for k, v in vars(mod).items()})
        for cls in (nn.Conv2d, nn.ReLU, nn.Dropout):  # staticmethod(F.conv2d) class attributes
            out.update({(cls.__name__, k): v for k, v in vars(cls).items()})
        return out
    before = snapshot()
    calls = []

    def make(name, fn):
        def w(*a, **k):
            calls.append(name)
            return fn(*a, **k)
        return w
    _intercept.install("test", make)
    try:
        nn.Linear(2, 2)(ember.ones(1, 2))  # Module.forward -> F.linear, seen
        ember.ones(2) + 1                   # operators too
        nn.Conv2d(1, 1, 1)(ember.ones(1, 1, 2, 2))  # a class attribute _fn = F.conv2d
    finally:
        _intercept.remove("test")
    assert {"linear", "add", "conv2d"} <= set(calls)
    after = snapshot()
    assert all(after[k] is v for k, v in before.items())


def test_with_stack_names_the_callers_line(tmp_path):
    x = ember.ones(2)
    with profile(with_stack=True) as prof:
        x.exp()
    ev = [e for e in prof.events() if e.name == "aten::exp"][0]
    assert ev.stack and "test_profiler.py" in ev.stack[0] and "test_with_stack" in ev.stack[0]
    assert "Source Location" in prof.key_averages(group_by_stack_n=1).table()
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    assert "aten::exp" in (tmp_path / "stacks.txt").read_text()
