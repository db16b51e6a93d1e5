"""``ember.device``: parsing, equality and errors compared with ``torch.device``, and the
errors for device types that are unknown, unavailable, or asked for a missing index."""
from __future__ import annotations

import pickle

import pytest

import ember

from plugins.sandbox import toy_in_process


def _outcome(fn):
    """("ok", repr) or (exception type name, message) for comparing with torch."""
    try:
        return ("ok", repr(fn()))
    except Exception as e:  # noqa: BLE001
        return (type(e).__name__, str(e))


GOOD = [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 1), ("cuda", 0), ("cpu:0",), ("cpu", 0),
        ("cuda:10",)]


@pytest.mark.parametrize("args", GOOD, ids=repr)
def test_parse_like_torch(torch, args):
    e, t = ember.device(*args), torch.device(*args)
    assert (e.type, e.index) == (t.type, t.index)
    assert repr(e) == repr(t)
    assert str(e) == str(t)


@pytest.mark.parametrize("args", [("cuda:01",), ("cuda:-1",), ("cuda:x",), ("cuda:",),
                                  ("cuda:1:2",), (" cuda",), ("cuda ",), ("",),
                                  ("cuda", -1), ("cuda:1", 1)], ids=repr)
def test_malformed_like_torch(torch, args):
    got, want = _outcome(lambda: ember.device(*args)), _outcome(lambda: torch.device(*args))
    assert want[0] != "ok"
    assert got == want


@pytest.mark.parametrize("s", ["CUDA", "Cpu", "garbage", "gpu:0"])
def test_unknown_type_lists_known_types(torch, s):
    with pytest.raises(RuntimeError) as ei:
        ember.device(s)
    with pytest.raises(RuntimeError) as ti:
        torch.device(s)
    name = s.split(":")[0]
    assert str(ei.value).endswith(f"device type at start of device string: {name}")
    assert str(ti.value).endswith(f"device type at start of device string: {name}")
    prefix = str(ei.value).split(" device type at start of device string: ")[0]
    known = prefix.removeprefix("Expected one of ").split(", ")
    assert known[:2] == ["cpu", "cuda"] and "jax" in known


@pytest.mark.parametrize("args", [("cuda", "1"), ("cpu", True), ("cuda", 1.0)], ids=repr)
def test_bad_index_type(torch, args):
    with pytest.raises(TypeError, match=r"device\(\): argument 'index' \(position 2\) must be "
                                        r"int, not \w+"):
        ember.device(*args)
    with pytest.raises(TypeError):
        torch.device(*args)


def test_equality_and_hash(torch):
    pairs = [("cuda", "cuda:0"), ("cuda:1", "cuda:1"), ("cpu", "cpu"), ("cpu", "cpu:0"),
             ("cuda:0", "cuda:1"), ("cpu", "cuda")]
    for a, b in pairs:
        assert (ember.device(a) == ember.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
        assert (ember.device(a) != ember.device(b)) == (torch.device(a) != torch.device(b)), (a, b)
    assert ember.device("cuda") != ember.device("cuda:0")
    assert ember.device("cuda", 1) == ember.device("cuda:1")
    assert hash(ember.device("cuda", 1)) == hash(ember.device("cuda:1"))
    assert len({ember.device("cuda"), ember.device("cuda:0"), ember.device("cuda", 0)}) == 2
    # as in torch, a device never equals a plain string
    assert (ember.device("cpu") == "cpu") == (torch.device("cpu") == "cpu") is False
    assert ember.device(ember.device("cuda:1")) == ember.device("cuda:1")


def test_pickle_round_trip():
    for s in ("cpu", "cuda:1", "cuda"):
        d = ember.device(s)
        assert pickle.loads(pickle.dumps(d)) == d


def test_tensor_device_is_canonical(device):
    t = ember.zeros(2, device=device)
    assert t.device == ember.zeros(3, device=device).device
    assert t.device.type == ember.device(device).type
    assert t.device._be is not None
    cpu = ember.zeros(1)
    assert cpu.device == ember.device("cpu") and cpu.device.index is None
    assert ember.zeros(1, device="cpu:0").device == ember.device("cpu")  # as torch: no index


def test_known_type_without_backend_says_what_to_install():
    d = ember.device("cuda:0")  # a known type parses even with no GPU, as in torch
    assert d.type == "cuda"
    if ember.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError) as ei:
        ember.zeros(2, device="cuda")
    msg = str(ei.value)
    assert "'cuda' is not available" in msg and "CuPy" in msg and "pip install" in msg
    with pytest.raises(RuntimeError, match="CuPy"):
        ember.ones(1).to("cuda:1")
    if "jax" not in ember.backends.serving() or ember.backends.serving()["jax"][0] is None:
        with pytest.raises(RuntimeError, match="JAX"):
            ember.zeros(1, device="jax")


def test_unknown_type_on_tensor_creation():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda, .* device type at start "
                                           "of device string: tpu"):
        ember.zeros(1, device="tpu")


def test_index_past_device_count_states_count():
    with toy_in_process():
        assert ember.zeros(1, device="toy:1").device == ember.device("toy:1")
        assert ember.zeros(1, device="toy").device == ember.device("toy:0")
        with pytest.raises(RuntimeError) as ei:
            ember.zeros(1, device="toy:5")
        msg = str(ei.value)
        assert "toy:5" in msg and "2 toy devices" in msg and "0..1" in msg


def test_device_context_manager_sets_default():
    with toy_in_process():
        with ember.device("toy:1"):
            assert ember.zeros(1).device == ember.device("toy:1")
        assert ember.zeros(1).device == ember.device("cpu")
