"""ember.save writes PyTorch's checkpoint format; PyTorch (the oracle) opens it with
``torch.load(weights_only=True)`` and gets the same tensors and structure; what PyTorch
writes, ember opens. Also: whole modules with safe_globals, mmap, file objects, the
module state_dict details (_metadata versions, assign, keep_vars), files ember wrote
before (issue 13)."""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import ember
from capabilities import need_dtype, supports
from ember import nn, serialization
from ember.serialization import _zip

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128", "uint8",
          "int8", "int16", "int32", "int64", "bool"]


def _values(dt: str, shape, rng):
    a = rng.standard_normal(shape) * 10
    if dt == "bool":
        return a > 0
    if dt.startswith("complex"):
        return (a + 1j * rng.standard_normal(shape)).astype(dt)
    if dt == "uint8":
        return np.abs(a).astype(dt)
    if dt == "bfloat16":
        import ml_dtypes
        return a.astype(ml_dtypes.bfloat16)
    return a.astype(dt)


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _tnp(t):
    """A torch tensor's values as numpy (bfloat16 through float32)."""
    import torch
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def _aliasing() -> bool:
    """Whether the backend serving "cpu" holds numpy arrays, whose views share buffers."""
    return isinstance(ember.zeros(1)._data, np.ndarray)


def _ebytes(obj) -> bytes:
    buf = io.BytesIO()
    ember.save(obj, buf)
    return buf.getvalue()


def test_every_dtype_opens_in_torch_weights_only(torch):
    rng = np.random.default_rng(0)
    dtypes = [dt for dt in DTYPES if supports("cpu", getattr(ember, dt))]
    obj = {dt: [ember.tensor(_values(dt, s, rng)) for s in [(), (0,), (3,), (2, 3)]]
           for dt in dtypes}
    back = torch.load(io.BytesIO(_ebytes(obj)), weights_only=True)
    assert list(back) == dtypes
    for dt in dtypes:
        for e, t in zip(obj[dt], back[dt]):
            assert t.dtype == getattr(torch, dt) and tuple(t.shape) == tuple(e.shape)
            got = _tnp(t)
            want = _np(e).astype(np.float32) if dt == "bfloat16" else _np(e)
            np.testing.assert_array_equal(got, want)


def test_structure_parameters_and_views_in_torch(torch):
    base = ember.arange(12.0).reshape(3, 4)
    p = nn.Parameter(ember.ones(2, 2))
    frozen = nn.Parameter(ember.zeros(2), requires_grad=False)
    sd = OrderedDict([("base", base), ("row", base[1]), ("col", base[:, 2]),
                      ("t", base.t()), ("p", p), ("frozen", frozen)])
    sd._metadata = OrderedDict([("", {"version": 1}), ("sub", {"version": 2})])
    ck = {"model": sd, "epoch": 3, "lr": 0.5, "name": "run", "none": None, "ok": True,
          "pair": (1, [2.5, "x"]), "ids": {0: "a", 1: "b"}, "c": 1 + 2j, "tags": {"a", "b"},
          "dtype": ember.float16, "dev": ember.device("cpu"), "size": ember.Size([2, 3]),
          "same": base, "grad": ember.ones(2, requires_grad=True)}
    data = _ebytes(ck)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    # torch 2.13's records, and the four views of `base` written as ONE storage
    for rec in ("archive/data.pkl", "archive/byteorder", "archive/version",
                "archive/.format_version", "archive/.storage_alignment",
                "archive/.data/serialization_id"):
        assert rec in names
    # base, p, frozen, grad: on every backend (JAX's arrays do not alias, yet ember knows
    # which tensor each view views, so it writes them as PyTorch does)
    assert len([n for n in names if n.startswith("archive/data/")]) == 4
    back = torch.load(io.BytesIO(data), weights_only=True)
    m = back["model"]
    assert type(m) is OrderedDict and list(m) == list(sd)
    assert m._metadata == {"": {"version": 1}, "sub": {"version": 2}}
    ptr = m["base"].untyped_storage().data_ptr()
    for k in ("row", "col", "t"):
        assert m[k].untyped_storage().data_ptr() == ptr
        np.testing.assert_array_equal(m[k].numpy(), _np(sd[k]))
    assert m["t"].stride() == (1, 4) and m["col"].storage_offset() == 2
    assert back["same"] is m["base"]
    assert type(m["p"]) is torch.nn.Parameter and m["p"].requires_grad
    assert type(m["frozen"]) is torch.nn.Parameter and not m["frozen"].requires_grad
    assert back["grad"].requires_grad
    assert (back["epoch"], back["lr"], back["name"], back["none"], back["ok"]) == \
        (3, 0.5, "run", None, True)
    assert back["pair"] == (1, [2.5, "x"]) and back["ids"] == {0: "a", 1: "b"}
    assert back["c"] == 1 + 2j and back["tags"] == {"a", "b"}
    assert back["dtype"] is torch.float16 and back["dev"] == torch.device("cpu")
    assert back["size"] == torch.Size([2, 3]) and type(back["size"]) is torch.Size


def test_views_of_every_kind_are_written_once_as_torch_writes_them(device, torch):
    """Slices, selects, transposes, reshapes, diagonals, windows, expands and the pieces of
    chunk/unbind of one tensor (and of a Parameter) come back in PyTorch as views of ONE
    storage each, at PyTorch's offsets and strides, holding the same values, on every
    backend: what torch.save writes for the same views."""
    def views(lib, base, p):
        return {"base": base, "row": base[1], "cols": base[:, 2:5], "step": base[1:, ::2],
                "t": base.t(), "flat": base[2:].view(-1)[3:], "diag": base.diagonal(1),
                "win": base[1:].unfold(1, 2, 2), "exp": base[0].expand(2, 6),
                "piece": base.chunk(2, 1)[1], "col": base.unbind(1)[4], "p": p,
                "p.t": p.t(), "p[1]": p[1]}
    e = views(ember, ember.arange(24.0, device=device).reshape(4, 6),
              nn.Parameter(ember.arange(6.0, device=device).reshape(2, 3)))
    w = views(torch, torch.arange(24.0).reshape(4, 6),
              torch.nn.Parameter(torch.arange(6.0).reshape(2, 3)))
    data = _ebytes(e)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len([n for n in names if n.startswith("archive/data/")]) == 2
    back = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")  # ("jax:0")
    for k, want in w.items():
        got = back[k]
        root = back["p"] if k in ("p", "p.t", "p[1]") else back["base"]
        assert got.untyped_storage().data_ptr() == root.untyped_storage().data_ptr(), k
        assert (got.storage_offset(), got.stride(), got.shape) == \
            (want.storage_offset(), want.stride(), want.shape), k
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy(), err_msg=k)
    # and a write into the loaded base shows through every view, as after torch.save
    back["base"].add_(1)
    assert back["row"][0].item() == 7.0 and back["t"][0, 1].item() == 7.0


def test_optimizer_and_model_resume_in_torch(torch):
    """A model + Adam trained a step on ember resume in PyTorch: the next step agrees."""
    ember.manual_seed(0)
    em = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    eopt = ember.optim.Adam(em.parameters(), lr=0.01)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    em(ember.tensor(x)).square().sum().backward()
    eopt.step()
    data = _ebytes({"model": em.state_dict(), "optim": eopt.state_dict()})
    ck = torch.load(io.BytesIO(data), weights_only=True)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    tm.load_state_dict(ck["model"])
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    topt.load_state_dict(ck["optim"])
    for model, opt, xt in ((em, eopt, ember.tensor(x)), (tm, topt, torch.tensor(x))):
        opt.zero_grad()
        model(xt).square().sum().backward()
        opt.step()
    for (k, a), b in zip(em.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


def test_torch_save_views_share_storage_after_ember_load(torch):
    base = torch.arange(12.0)
    buf = io.BytesIO()
    torch.save({"a": base[:6].view(2, 3), "b": base[3:], "e": torch.zeros(1).expand(64, 64)},
               buf)
    back = ember.load(io.BytesIO(buf.getvalue()))
    assert back["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["b"].tolist()[0] == 3.0
    assert back["e"].shape == (64, 64) and back["e"].sum().item() == 0
    if _aliasing():  # one buffer behind both, as in PyTorch
        back["a"][1, 0] = 100.0
        assert back["b"][0].item() == 100.0
        assert back["e"]._data.strides == (0, 0)


def test_old_ember_checkpoints_still_load():
    """A file written by ember's previous (safetensors-based) format, kept in fixtures."""
    need_dtype("cpu", ember.bfloat16)
    back = ember.load(FIXTURES / "ember_v1_checkpoint.ember")
    m = back["model"]
    assert type(m) is OrderedDict and list(m) == ["w", "b", "h", "c", "i"]
    assert m["w"].tolist() == [[1.5, -2.0], [3.25, 4.0]] and back["same"] is m["w"]
    assert isinstance(m["b"], nn.Parameter) and m["b"].tolist() == [0.5, 0.25]
    assert m["h"].dtype is ember.bfloat16 and m["h"].float().tolist() == [1, 2, 3]
    assert m["c"].dtype is ember.complex128 and m["c"].tolist() == [1 + 2j, 3 - 4j]
    assert m["i"].dtype is ember.int64 and back["arr"].tolist() == [0, 1, 2, 3]
    assert (back["step"], back["lr"], back["name"], back["flags"]) == (12, 0.125, "run",
                                                                       (True, None))
    assert back["dt"] is ember.float16 and back["size"] == ember.Size([2, 3])
    assert back["inf"] == float("inf") and back["dev"] == ember.device("cpu")


def test_numeric_numpy_arrays_load_weights_only(torch, tmp_path):
    arrs = {"f": np.arange(6.0).reshape(2, 3), "i": np.arange(4, dtype=np.int16),
            "be": np.arange(3, dtype=">i4"), "fortran": np.asfortranarray(np.ones((2, 3))),
            "b": np.array([True, False]), "c": np.array([1 + 1j], np.complex64),
            "scalar": np.float32(2.5), "empty": np.zeros((0, 2))}
    buf = io.BytesIO()
    torch.save(arrs, buf)  # written by PyTorch, which itself refuses to read these
    back = ember.load(io.BytesIO(buf.getvalue()))
    for k, v in arrs.items():
        assert back[k].dtype == v.dtype and back[k].shape == np.shape(v)
        np.testing.assert_array_equal(back[k], v)
    assert back["fortran"].flags.f_contiguous
    arrs2 = {"a": np.arange(3.0)}
    assert ember.load(io.BytesIO(_ebytes(arrs2)))["a"].tolist() == [0.0, 1.0, 2.0]


class _LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Embedding(11, 8)
        self.rnn = nn.LSTM(8, 8, 2)
        self.dec = nn.Linear(8, 11)

    def forward(self, x):
        return self.dec(self.rnn(self.enc(x))[0])


def test_whole_module_safe_globals_and_refusal_text(torch):
    m = _LM()
    data = _ebytes(m)
    unsafe = serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    assert unsafe == [f"{__name__}._LM", "ember.nn.modules.sparse.Embedding",
                      "ember.nn.modules.rnn.LSTM", "ember.nn.modules.linear.Linear"]
    with pytest.raises(pickle.UnpicklingError) as e:
        ember.load(io.BytesIO(data))
    # the same words as torch.load's refusal of a global it does not know
    class Unknown:
        pass
    Unknown.__module__ = "ember_test_mod"
    tbuf = io.BytesIO()
    torch.save(torch.nn.Linear(1, 1), tbuf)
    with pytest.raises(pickle.UnpicklingError) as te:
        torch.load(io.BytesIO(tbuf.getvalue()))
    ours, theirs = str(e.value), str(te.value)
    head = theirs.split("WeightsUnpickler error:")[1].split("GLOBAL")[0]
    assert f"WeightsUnpickler error:{head}GLOBAL {__name__}._LM was not an allowed global by " \
           "default. Please use `ember.serialization.add_safe_globals" \
           f"([{__name__}._LM])` or the `ember.serialization.safe_globals([{__name__}._LM])`" \
           " context manager" in ours
    assert theirs.startswith("Weights only load failed. This file can still be loaded")
    assert ours.startswith("Weights only load failed. This file can still be loaded")
    allowed = [_LM, nn.Embedding, nn.LSTM, nn.Linear]
    with serialization.safe_globals(allowed):
        assert set(allowed) <= set(serialization.get_safe_globals())
        m2 = ember.load(io.BytesIO(data))
    assert not set(allowed) & set(serialization.get_safe_globals())
    x = ember.randint(0, 11, (4, 2))
    np.testing.assert_array_equal(_np(m2(x)), _np(m(x)))
    m3 = ember.load(io.BytesIO(data), weights_only=False)  # trusted: no allow-list needed
    np.testing.assert_array_equal(_np(m3(x)), _np(m(x)))
    serialization.add_safe_globals([(_LM, f"{__name__}._LM")])
    try:
        assert serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(data))[0] != \
            f"{__name__}._LM"
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_torch_loads_ember_module_weights(torch):
    em = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2,
                               enable_nested_tensor=False)
    tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0),
                                     2, enable_nested_tensor=False)
    tm.load_state_dict(torch.load(io.BytesIO(_ebytes(em.state_dict()))))
    x = np.random.default_rng(1).standard_normal((3, 2, 8)).astype(np.float32)
    np.testing.assert_allclose(_np(em(ember.tensor(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_metadata_version_hooks_as_torch(torch):
    """A BatchNorm state_dict saved at version 1 (before num_batches_tracked) loads into a
    version-2 BatchNorm through its version hook, from either library's file."""
    tbn = torch.nn.BatchNorm1d(3)
    sd = tbn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1
    buf = io.BytesIO()
    torch.save(sd, buf)
    loaded = ember.load(io.BytesIO(buf.getvalue()))
    assert loaded._metadata == {"": {"version": 1}}
    ebn = nn.BatchNorm1d(3)
    ebn.load_state_dict(loaded)  # strict: the hook supplies num_batches_tracked
    assert ebn.num_batches_tracked.item() == 0
    back = torch.load(io.BytesIO(_ebytes(loaded)))
    assert back._metadata == {"": {"version": 1}}
    torch.nn.BatchNorm1d(3).load_state_dict(back)
    assert ember.nn.BatchNorm1d(3).state_dict()._metadata == \
        torch.nn.BatchNorm1d(3).state_dict()._metadata


def test_keep_vars_and_assign(tmp_path):
    m = nn.Linear(3, 2)
    kv = m.state_dict(keep_vars=True)
    assert kv["weight"] is m.weight and isinstance(kv["weight"], nn.Parameter)
    assert not isinstance(m.state_dict()["weight"], nn.Parameter)
    ember.save(kv, tmp_path / "kv.pt")
    back = ember.load(tmp_path / "kv.pt", mmap=True)
    assert isinstance(back["weight"], nn.Parameter)
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(back, assign=True)
    assert isinstance(fresh.weight, nn.Parameter) and fresh.weight.requires_grad
    np.testing.assert_array_equal(_np(fresh.weight), _np(m.weight))
    if _aliasing():  # assign: the loaded buffer itself, no copy
        assert np.shares_memory(fresh.weight._data, back["weight"]._data)


def test_mmap_file_objects_and_pipes(tmp_path):
    w = ember.arange(10.0)
    p = tmp_path / "m.pt"
    ember.save({"w": w, "v": w[2:5]}, p)
    mm = ember.load(p, mmap=True)
    assert mm["w"].tolist() == w.tolist() and mm["v"].tolist() == [2.0, 3.0, 4.0]
    if _aliasing():
        import mmap as mmap_mod
        base = mm["w"]._data
        while getattr(base, "base", None) is not None and not isinstance(base, mmap_mod.mmap):
            base = base.base
        assert isinstance(getattr(base, "obj", base), mmap_mod.mmap)  # storage mapped, not read
        mm["w"][0] = 42.0  # private (copy-on-write) map: the file is untouched
        assert ember.load(p)["w"][0].item() == 0.0
    with open(p, "rb") as f:
        assert ember.load(f)["v"].tolist() == [2.0, 3.0, 4.0]
    with open(p, "rb") as f:
        assert ember.load(f, mmap=True)["w"].sum().item() == 45.0
    r, wfd = os.pipe()
    with os.fdopen(wfd, "wb") as out:
        out.write(p.read_bytes())
    with os.fdopen(r, "rb") as pipe:
        assert ember.load(pipe)["w"].tolist() == w.tolist()
    with pytest.raises(ValueError, match="mmap"):
        ember.load(io.BytesIO(p.read_bytes()), mmap=True)
    assert ember.load(str(p), pickle_module=pickle)["w"].shape == (10,)  # weights_only=False
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        ember.load(p, pickle_module=pickle, weights_only=True)


def test_zip64_records_open_in_torch_and_zipfile(torch, monkeypatch):
    """Past 4 GiB records and offsets need ZIP64 fields: forced here with a small limit."""
    monkeypatch.setattr(_zip, "_ZIP64_LIMIT", 64)
    obj = {"w": ember.arange(100.0), "s": "x"}
    data = _ebytes(obj)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    assert torch.load(io.BytesIO(data))["w"].tolist() == list(range(100))
    assert ember.load(io.BytesIO(data))["w"].tolist() == list(range(100))


def test_storages_are_64_byte_aligned_for_mapping():
    data = _ebytes({"a": ember.ones(3), "b": ember.ones(5, dtype=ember.float64)})
    z = zipfile.ZipFile(io.BytesIO(data))
    r = _zip.open_bytes(data)
    for name in z.namelist():
        if "/data/" in name:
            assert r.data_offset(name) % 64 == 0


def test_deflated_archives_and_dtypes_ember_lacks(torch, tmp_path):
    """Archives zipped by other tools (deflated records) load, mapped or not; a dtype ember
    does not have is refused by name, not as an unknown global to allow."""
    src = zipfile.ZipFile(io.BytesIO(_ebytes({"w": ember.arange(5.0)})))
    p = tmp_path / "deflated.pt"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
    for mm in (False, True):
        assert ember.load(p, mmap=mm)["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    buf = io.BytesIO()
    torch.save({"u": torch.tensor([1], dtype=torch.uint16)}, buf)
    with pytest.raises(pickle.UnpicklingError, match="ember has no such dtype"):
        ember.load(io.BytesIO(buf.getvalue()))
