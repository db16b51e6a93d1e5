"""The switches and helpers PyTorch scripts touch at the top, against the oracle:
``torch.backends.cudnn/cuda/mps/opt_einsum`` (in ember, ``ember._torch_backends``, also
reached as ``ember.backends.cudnn`` etc. without disturbing the plugin API), determinism and
matmul precision, ``torch.utils.benchmark.Timer``, ``torch.hub.load_state_dict_from_url``
(local ``file://`` URLs and a pre-filled cache only: never the network), and that
``ember run`` resolves them."""
from __future__ import annotations

import hashlib
import re
import sys

import numpy as np
import pytest

import ember
from ember import _torch_backends


@pytest.fixture
def restore_flags():
    from ember import _settings
    saved = dict(_settings._STATE)
    cudnn = {n: getattr(_torch_backends.cudnn, n) for n in _torch_backends.cudnn.__all__[:5]}
    yield
    _settings._STATE.update(saved)
    for n, v in cudnn.items():
        setattr(_torch_backends.cudnn, n, v)


def test_backends_namespaces_keep_the_plugin_api():
    b = ember.backends
    assert b.cudnn is _torch_backends.cudnn and b.cuda is _torch_backends.cuda
    assert b.mps is _torch_backends.mps and b.opt_einsum is _torch_backends.opt_einsum
    assert b.Backend is ember.backends.base.Backend and callable(b.register)
    with pytest.raises(AttributeError):
        b.nosuchthing  # noqa: B018


def test_backends_defaults_and_answers(torch):
    e, t = ember.backends, torch.backends
    for name in ["enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"]:
        assert getattr(e.cudnn, name) == getattr(t.cudnn, name), name
    assert e.cuda.matmul.allow_tf32 == t.cuda.matmul.allow_tf32
    for name in ["allow_fp16_reduced_precision_reduction",
                 "allow_bf16_reduced_precision_reduction"]:
        assert getattr(e.cuda.matmul, name) == getattr(t.cuda.matmul, name), name
    for fn in ["flash_sdp_enabled", "math_sdp_enabled", "mem_efficient_sdp_enabled",
               "cudnn_sdp_enabled"]:
        assert getattr(e.cuda, fn)() == getattr(t.cuda, fn)(), fn
    with e.cuda.sdp_kernel(enable_flash=False):
        assert e.cuda.flash_sdp_enabled() is False
    assert e.cuda.flash_sdp_enabled() is True
    assert e.mps.is_available() is False and e.mps.is_built() is False
    assert e.opt_einsum.strategy == t.opt_einsum.strategy  # "auto", None without the package
    assert e.opt_einsum.is_available() == t.opt_einsum.is_available()
    assert e.cudnn.is_available() is False and e.cudnn.version() is None
    for ns in (e, t):
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            ns.cuda.matmul.foo = 1
        with pytest.raises(AttributeError, match="Unknown attribute foo"):
            ns.cuda.matmul.foo  # noqa: B018


def test_flags_are_recorded_as_torch(torch, restore_flags):
    t_prec = torch.get_float32_matmul_precision()
    try:
        for lib in (ember, torch):
            lib.backends.cudnn.benchmark = True
            lib.backends.cudnn.deterministic = True
            assert lib.backends.cudnn.benchmark and lib.backends.cudnn.deterministic
            # cudnn.deterministic is not use_deterministic_algorithms
            assert lib.are_deterministic_algorithms_enabled() is False
            lib.backends.cuda.matmul.allow_tf32 = True
            assert lib.get_float32_matmul_precision() == "high"
            lib.set_float32_matmul_precision("medium")
            assert lib.backends.cuda.matmul.allow_tf32 is True
            lib.set_float32_matmul_precision("highest")
            assert lib.backends.cuda.matmul.allow_tf32 is False
            lib.use_deterministic_algorithms(True, warn_only=True)
            assert lib.are_deterministic_algorithms_enabled()
            assert lib.is_deterministic_algorithms_warn_only_enabled()
            lib.use_deterministic_algorithms(False)
            with lib.backends.cudnn.flags(enabled=False, benchmark=False):
                assert lib.backends.cudnn.enabled is False
            assert lib.backends.cudnn.enabled is True
    finally:
        torch.backends.cudnn.benchmark = torch.backends.cudnn.deterministic = False
        torch.set_float32_matmul_precision(t_prec)
        torch.use_deterministic_algorithms(False)


def test_timer_measurements(torch):
    from ember.utils.benchmark import Measurement, TaskSpec, Timer
    from torch.utils.benchmark import Measurement as TM, TaskSpec as TT
    x = ember.ones(4)
    m = Timer("x * 2", globals={"x": x}).timeit(50)
    assert m.number_per_run == 50 and len(m.times) == 1 and m.median > 0 and m.stmt == "x * 2"
    m = Timer("y = x + 1", setup="x = torch.ones(3)", label="add", sub_label="s",
              description="d").blocked_autorange(min_run_time=0.02)
    assert len(m.times) >= 1 and m.title == "add: s"
    assert m.mean == pytest.approx(np.mean(m.times)) and m.median == pytest.approx(
        np.median(m.times))
    # the repr and statistics as torch's for the same recorded times
    raw = [1.0e-3, 1.2e-3, 1.1e-3, 3.0e-3, 1.05e-3]
    for spec in [dict(stmt="x*2", setup="pass"),
                 dict(stmt="a\nb", setup="x = 1\ny = 2", sub_label="s", num_threads=2),
                 dict(stmt="f(x)", setup="x=1", label="L", description="desc")]:
        for times, n in [(raw, 10), (raw[:1], 100), (raw[:3], 7)]:
            e, t = Measurement(n, times, TaskSpec(**spec)), TM(n, times, TT(**spec))
            strip = re.compile(r"object at 0x[0-9a-f]+")
            assert strip.sub("", repr(e)) == strip.sub("", repr(t))
            assert e.iqr == pytest.approx(t.iqr) and e.median == pytest.approx(t.median)
            assert e.has_warnings == t.has_warnings and e.title == t.title
    merged = Measurement.merge([Measurement(2, [2.0], TaskSpec("s", "pass"))] * 2)
    assert len(merged) == 1 and merged[0].times == [1.0, 1.0]
    with pytest.raises(NotImplementedError):
        Timer().repeat()


def _save_state(path) -> dict:
    sd = {"w": ember.arange(6, dtype=ember.float32).reshape(2, 3), "b": ember.zeros(3)}
    ember.save(sd, str(path))
    return sd


def test_hub_load_state_dict_from_url(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert ember.hub.get_dir() == str(tmp_path / "home" / "hub")
    src = tmp_path / "src"
    src.mkdir()
    plain = src / "weights.pt"
    sd = _save_state(plain)
    got = ember.hub.load_state_dict_from_url(plain.as_uri(), progress=False)
    np.testing.assert_array_equal(got["w"].numpy(), sd["w"].numpy())
    cached = tmp_path / "home" / "hub" / "checkpoints" / "weights.pt"
    assert cached.exists() and "Downloading" in capsys.readouterr().out
    # offline: the source is gone, the cached file answers
    plain.unlink()
    got = ember.hub.load_state_dict_from_url(plain.as_uri(), progress=False)
    assert set(got) == {"w", "b"} and "Downloading" not in capsys.readouterr().out
    # hash prefix in the name: checked with check_hash=True
    good = src / "tmp.pt"
    _save_state(good)
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    named = src / f"model-{digest[:8]}.pt"
    good.rename(named)
    got = ember.hub.load_state_dict_from_url(named.as_uri(), model_dir=str(tmp_path / "m"),
                                             check_hash=True, progress=False)
    assert set(got) == {"w", "b"}
    wrong = src / "model-deadbeef.pt"
    wrong.write_bytes(named.read_bytes())
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "deadbeef"'):
        ember.hub.load_state_dict_from_url(wrong.as_uri(), model_dir=str(tmp_path / "m"),
                                           check_hash=True, progress=False)
    assert not (tmp_path / "m" / "model-deadbeef.pt").exists()
    assert not list((tmp_path / "m").glob("*.partial"))
    # file_name= overrides the URL's; a name that is not a plain file name is refused
    got = ember.hub.load_state_dict_from_url(named.as_uri(), model_dir=str(tmp_path / "n"),
                                             file_name="renamed.pt", progress=False)
    assert (tmp_path / "n" / "renamed.pt").exists()
    with pytest.raises(ValueError):
        ember.hub.load_state_dict_from_url(named.as_uri(), model_dir=str(tmp_path / "n"),
                                           file_name="../escape.pt", progress=False)


class _Boom:
    def __reduce__(self):
        return (print, ("PWNED",))


def test_hub_refuses_a_malicious_checkpoint(tmp_path, capsys, torch):
    """A downloaded file is untrusted: a pickle that calls a function must not run."""
    bad = tmp_path / "evil.pt"
    torch.save({"x": torch.zeros(1), "boom": _Boom()}, str(bad))
    with pytest.raises(Exception) as info:
        ember.hub.load_state_dict_from_url(bad.as_uri(), model_dir=str(tmp_path / "c"),
                                           progress=False)
    assert "PWNED" not in capsys.readouterr().out
    assert "Weights only load failed" in str(info.value)


def test_ember_run_resolves_the_shims(tmp_path):
    from ember.__main__ import main
    out = tmp_path / "out.txt"
    script = tmp_path / "shims.py"
    script.write_text(f"""
import torch
import torch.backends.cudnn as cudnn
from torch.backends import mps
from torch.autograd import Variable
import torch.utils.benchmark as benchmark
from torch.hub import load_state_dict_from_url
cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
torch.backends.cuda.matmul.allow_tf32 = False
torch.set_float32_matmul_precision("high")
x = torch.FloatTensor([1, 2])
v = Variable(x, requires_grad=True)
m = benchmark.Timer("x * 2", globals={{"x": x}}).timeit(10)
res = [cudnn is torch.backends.cudnn, torch.backends.cudnn.benchmark, mps.is_available(),
       isinstance(x, torch.FloatTensor), x.type(), v.requires_grad, torch.pi,
       torch.get_float32_matmul_precision(), m.number_per_run,
       hasattr(torch.backends, "register")]
open({str(out)!r}, "w").write(repr(res))
""")
    saved = {n: getattr(_torch_backends.cudnn, n) for n in ("benchmark", "deterministic")}
    from ember import _settings
    prec = _settings._STATE["matmul"]
    try:
        assert main(["run", str(script)]) == 0
    finally:
        for n, v in saved.items():
            setattr(_torch_backends.cudnn, n, v)
        _settings._STATE["matmul"] = prec
    assert out.read_text() == repr([True, True, False, True, "torch.FloatTensor", True,
                                    3.141592653589793, "high", 10, True])
    # uninstalled: the alias is gone, ember.backends is still the plugin API
    assert sys.modules.get("torch.backends") is not _torch_backends
    assert ember.backends.register and ember.backends.cudnn is _torch_backends.cudnn
