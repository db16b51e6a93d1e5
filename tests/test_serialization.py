"""ember.save / ember.load: round trips, map_location, atomicity, safety, interoperability.
(More: test_serialization_torch.py against PyTorch, test_serialization_security.py for
malicious files, test_serialization_run.py for whole models under ``ember run``.)"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import ember
from capabilities import need_dtype
from ember import serialization
from ember.serialization import CheckpointError, _torch_write

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128", "uint8",
          "int8", "int16", "int32", "int64", "bool"]
SHAPES = [(), (0,), (2, 0, 3), (5,), (2, 3, 4)]


def _values(dt, shape, rng):
    a = rng.standard_normal(shape) * 10
    if dt == "bool":
        return a > 0
    if dt.startswith("complex"):
        return (a + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.startswith("int") or dt == "uint8":
        return np.abs(a).astype(dt) if dt == "uint8" else a.astype(dt)
    if dt == "bfloat16":
        import ml_dtypes
        return a.astype(ml_dtypes.bfloat16)
    return a.astype(dt)


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


@pytest.mark.parametrize("dt", DTYPES)
def test_round_trip_every_dtype_and_shape(tmp_path, device, dt):
    need_dtype("cpu", getattr(ember, dt))  # values are compared on the CPU
    rng = np.random.default_rng(0)
    tensors = [ember.tensor(_values(dt, s, rng), device=device) for s in SHAPES]
    path = tmp_path / "t.pt"
    ember.save(tensors, path)
    back = ember.load(path)
    assert isinstance(back, list) and len(back) == len(tensors)
    for a, b in zip(tensors, back):
        assert b.dtype is a.dtype and b.shape == a.shape and b.device == a.device
        np.testing.assert_array_equal(_np(b), _np(a))


def test_requires_grad_and_numpy_arrays_kept(tmp_path, device):
    w = ember.randn(3, 2, device=device, requires_grad=True)
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    ember.save({"w": w, "arr": arr, "n": ember.ones(2, device=device)}, tmp_path / "a.pt")
    back = ember.load(tmp_path / "a.pt")
    assert back["w"].requires_grad and back["w"].is_leaf
    assert not back["n"].requires_grad
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.int32
    np.testing.assert_array_equal(back["arr"], arr)
    np.testing.assert_array_equal(_np(back["w"]), _np(w))


def test_checkpoint_structure_round_trips(tmp_path):
    ck = {"epoch": 3, "loss": 0.25, "best": float("inf"), "nan": float("nan"), "ok": True,
          "name": "run-1", "none": None, "c": 1 + 2j,
          "model": OrderedDict([("z.weight", ember.ones(2)), ("a.bias", ember.zeros(1))]),
          "optimizer": {"state": {0: {"step": ember.tensor(5.0)}, 1: {}},
                        "param_groups": [{"lr": 0.1, "params": [0, 1], "betas": (0.9, 0.999)}]},
          "shape": ember.Size([2, 3]), "dtype": ember.float64, "dev": ember.device("cpu")}
    ember.save(ck, tmp_path / "ck.pt")
    back = ember.load(tmp_path / "ck.pt")
    assert back.keys() == ck.keys()
    assert type(back["model"]) is OrderedDict and list(back["model"]) == ["z.weight", "a.bias"]
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert isinstance(back["optimizer"]["param_groups"][0]["betas"], tuple)
    assert list(back["optimizer"]["state"]) == [0, 1]  # int keys stay ints
    assert back["optimizer"]["state"][0]["step"].item() == 5.0
    assert back["epoch"] == 3 and type(back["epoch"]) is int
    assert back["best"] == math.inf and math.isnan(back["nan"]) and back["c"] == 1 + 2j
    assert back["ok"] is True and back["none"] is None and back["name"] == "run-1"
    assert back["shape"] == ember.Size([2, 3]) and isinstance(back["shape"], ember.Size)
    assert back["dtype"] is ember.float64 and back["dev"] == ember.device("cpu")


def test_same_tensor_saved_twice_loads_as_one_object(tmp_path):
    t = ember.randn(4)
    ember.save({"a": t, "b": t, "c": [t]}, tmp_path / "tied.pt")
    back = ember.load(tmp_path / "tied.pt")
    assert back["a"] is back["b"] and back["c"][0] is back["a"]


def test_bytesio_and_file_objects():
    buf = io.BytesIO()
    ember.save({"x": ember.arange(5)}, buf)
    buf.seek(0)
    assert ember.load(buf)["x"].tolist() == [0, 1, 2, 3, 4]


def test_text_mode_file_is_rejected(tmp_path):
    p = tmp_path / "x.pt"
    ember.save(ember.ones(1), p)
    with open(p, "r", encoding="latin-1") as f, pytest.raises(TypeError, match="text mode"):
        ember.load(f)


def test_unpicklable_object_writes_nothing(tmp_path):
    """As torch.save: a local function cannot be pickled; nothing reaches the disk."""
    p = tmp_path / "m.pt"
    with pytest.raises((pickle.PicklingError, AttributeError)):
        ember.save({"model": {"layer": [1, lambda: 0]}}, p)
    assert not p.exists() and os.listdir(tmp_path) == []


def test_failed_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "ck.pt"
    ember.save({"v": ember.tensor([1.0, 2.0])}, p)
    before = p.read_bytes()
    real_write = _torch_write.write

    def half_then_disk_full(obj, f, protocol=2):
        buf = io.BytesIO()
        real_write(obj, buf, protocol)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_torch_write, "write", half_then_disk_full)
    with pytest.raises(OSError, match="No space left"):
        ember.save({"v": ember.tensor([3.0, 4.0, 5.0])}, p)

    def interrupted(obj, f, protocol=2):
        f.write(b"partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(_torch_write, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"v": ember.tensor([6.0])}, p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]
    monkeypatch.setattr(_torch_write, "write", real_write)
    assert ember.load(p)["v"].tolist() == [1.0, 2.0]


def test_big_save_starts_writeback_and_checksums_every_record(tmp_path, monkeypatch):
    """A checkpoint above the pipeline/writeback thresholds: the kernel is asked to start
    writing back while the save runs (Linux), and every record's CRC-32, computed ahead on
    a second thread, matches its bytes (zipfile verifies them)."""
    from ember.serialization import _atomic, _zip
    calls = []
    monkeypatch.setattr(_atomic, "WRITEBACK_BYTES", 1 << 16)
    monkeypatch.setattr(_zip, "_PIPELINE_MIN_BYTES", 1 << 10)
    monkeypatch.setattr(_atomic, "_sync_file_range", lambda: lambda *a: calls.append(a))
    sd = {f"w{i}": ember.arange(i * 40000, (i + 1) * 40000, dtype=ember.float32)
          for i in range(6)}
    p = tmp_path / "big.pt"
    ember.save(sd, p)
    assert len(calls) >= 6 and all(c[1:] == (0, 0, 2) for c in calls)
    with zipfile.ZipFile(p) as z:
        assert z.testzip() is None
    got = ember.load(p)
    assert all(np.array_equal(got[k].numpy(), sd[k].numpy()) for k in sd)


def _checkpoint_saved_on(device_str, tmp_path):
    """A checkpoint whose tensor claims it was saved on ``device_str`` (the location string
    in the pickle rewritten)."""
    buf = io.BytesIO()
    ember.save({"w": ember.tensor([1.0, 2.0])}, buf)
    p = tmp_path / "dev.pt"
    new = device_str.encode()
    rewrite_pickle(buf.getvalue(), p, lambda pkl: pkl.replace(
        b"X\x03\x00\x00\x00cpu", b"X" + struct.pack("<I", len(new)) + new))
    return p


def rewrite_pickle(data: bytes, path, edit) -> None:
    """Write a copy of the zip checkpoint ``data`` with its data.pkl passed through edit."""
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w") as z:
        for info in src.infolist():
            raw = src.read(info)
            z.writestr(info.filename, edit(raw) if info.filename.endswith("data.pkl") else raw)


def test_map_location_variants(tmp_path):
    p = _checkpoint_saved_on("cuda:0", tmp_path)
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            ember.load(p)
    for ml in ("cpu", ember.device("cpu"), {"cuda:0": "cpu"}):
        t = ember.load(p, map_location=ml)["w"]
        assert t.device == ember.device("cpu") and t.tolist() == [1.0, 2.0]
    seen = []

    def fn(tensor, location):
        seen.append(location)
        return tensor * 10
    assert ember.load(p, map_location=fn)["w"].tolist() == [10.0, 20.0]
    assert seen == ["cuda:0"]
    with pytest.raises(TypeError, match="map_location"):
        ember.load(p, map_location=3.5)


def test_map_location_to_each_device(tmp_path, device):
    ember.save({"w": ember.arange(4.0)}, tmp_path / "c.pt")
    t = ember.load(tmp_path / "c.pt", map_location=device)["w"]
    assert t.device == ember.tensor(0.0, device=device).device and t.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("cut", [0, 3, 8, 20, -5, -1])
def test_truncated_files_are_refused(tmp_path, cut):
    p = tmp_path / "t.pt"
    ember.save({"w": ember.randn(10, 10), "meta": "x" * 50}, p)
    data = p.read_bytes()
    p.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(CheckpointError, match="ember.load"):
        ember.load(p)


@pytest.mark.parametrize("payload", [b"", b"hello world, not a checkpoint",
                                     bytes(np.random.default_rng(1).integers(0, 256, 4096,
                                                                             dtype=np.uint8)),
                                     struct.pack("<Q", 10) + b"[1,2,3]   "])
def test_other_formats_and_random_bytes_are_refused(tmp_path, payload):
    p = tmp_path / "junk.bin"
    p.write_bytes(payload)
    with pytest.raises(CheckpointError, match="not an ember, safetensors or PyTorch"):
        ember.load(p)


def test_lying_header_is_refused(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000000], "data_offsets": [0, 4000000]}})
    raw = header.encode()
    p = tmp_path / "lie.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    with pytest.raises(CheckpointError, match="outside the file"):
        ember.load(p)


def _torch_style_zip(pickle_bytes: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    p.write_bytes(_torch_style_zip(pickle.dumps({"w": _Evil(marker)}, protocol=2)))
    with pytest.raises(pickle.UnpicklingError,
                       match="unsupported GLOBAL (posix|os|nt).system whose module .* is blocked"):
        ember.load(p)
    assert not marker.exists()
    # a bare pickle (legacy torch format) is refused without being unpickled at all
    p2 = tmp_path / "legacy.pt"
    p2.write_bytes(pickle.dumps({"w": _Evil(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match="legacy"):
        ember.load(p2)
    assert not marker.exists()


def test_reads_real_torch_save_files(tmp_path, torch):
    need_dtype("cpu", ember.float16, ember.bfloat16)
    tnn = torch.nn
    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    ck = {"epoch": 7, "model": model.state_dict(), "optimizer": opt.state_dict(),
          "loss": 0.125, "bf16": torch.arange(4, dtype=torch.bfloat16),
          "c": torch.tensor([1 + 2j, 3 - 1j]), "view": torch.arange(10)[2:8:2],
          "t": torch.arange(6.0).reshape(2, 3).t(), "size": torch.Size([2, 3]),
          "dtype": torch.float16}
    torch.save(ck, tmp_path / "torch.pt")
    back = ember.load(tmp_path / "torch.pt")
    assert back["epoch"] == 7 and back["loss"] == 0.125
    assert list(back["model"].keys()) == list(ck["model"].keys())
    for k, v in ck["model"].items():
        assert str(back["model"][k].dtype) == str(v.dtype)
        np.testing.assert_array_equal(_np(back["model"][k]), v.float().numpy()
                                      if v.dtype == torch.bfloat16 else v.numpy())
    st = back["optimizer"]["state"]
    assert sorted(st) == sorted(ck["optimizer"]["state"])
    np.testing.assert_allclose(_np(st[0]["exp_avg"]), ck["optimizer"]["state"][0]["exp_avg"])
    assert back["optimizer"]["param_groups"][0]["lr"] == 0.01
    assert back["bf16"].dtype is ember.bfloat16 and back["bf16"].float().tolist() == [0, 1, 2, 3]
    assert back["c"].tolist() == [1 + 2j, 3 - 1j]
    assert back["view"].tolist() == [2, 4, 6]
    assert back["t"].tolist() == ck["t"].tolist()
    assert back["size"] == ember.Size([2, 3]) and back["dtype"] is ember.float16


def test_loaded_torch_state_dict_fits_an_ember_model(tmp_path, torch):
    pytest.importorskip("ember.nn", reason="nn not built")
    if not hasattr(ember.nn, "Linear"):
        pytest.skip("ember.nn.Linear not built yet")
    tm = torch.nn.Linear(4, 3)
    torch.save(tm.state_dict(), tmp_path / "lin.pt")
    em = ember.nn.Linear(4, 3)
    em.load_state_dict(ember.load(tmp_path / "lin.pt"))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(_np(em(ember.tensor(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_safetensors_both_ways(tmp_path):
    need_dtype("cpu", ember.bfloat16)
    st = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    tensors = {"w": ember.randn(3, 4), "i": ember.arange(5), "b": ember.tensor([True, False]),
               "h": ember.ones(2, dtype=ember.bfloat16)}
    serialization.save_safetensors(tensors, tmp_path / "e.safetensors", metadata={"k": "v"})
    theirs = st.load_file(str(tmp_path / "e.safetensors"))
    assert sorted(theirs) == sorted(tensors)
    for k, t in tensors.items():
        np.testing.assert_array_equal(theirs[k].astype(np.float32) if k == "h" else theirs[k],
                                      _np(t).astype(np.float32) if k == "h" else _np(t))
    arrays = {"a": rng.standard_normal((2, 3)).astype(np.float32),
              "b": np.arange(4, dtype=np.int64)}
    st.save_file(arrays, str(tmp_path / "t.safetensors"))
    back = ember.load(tmp_path / "t.safetensors")
    assert isinstance(back, OrderedDict) and sorted(back) == ["a", "b"]
    np.testing.assert_array_equal(_np(back["a"]), arrays["a"])
    assert back["b"].dtype is ember.int64
    assert serialization.load_safetensors(tmp_path / "t.safetensors")["b"].tolist() == [0, 1, 2, 3]


def test_weights_only_flag_is_accepted(tmp_path):
    ember.save([ember.ones(1)], tmp_path / "w.pt")
    assert ember.load(tmp_path / "w.pt", weights_only=False)[0].item() == 1.0
