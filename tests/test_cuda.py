"""``ember.cuda``, ``ember.accelerator``, pinned memory and the CuPy backend.

Without a GPU (or without CuPy) the queries answer as a CPU-only PyTorch does and placing a
tensor on ``cuda`` raises the "not available" error naming CuPy; the tests marked ``cuda``
skip (conftest) and run on a machine with an NVIDIA GPU and CuPy::

    tox -e cupy        # or: EMBER_TEST_DEVICES=cuda python -m pytest tests
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.backends import registry

HAVE_CUDA = ember.cuda.is_available()
no_gpu = pytest.mark.skipif(HAVE_CUDA, reason="a CUDA device is available here")


# --- without a GPU ----------------------------------------------------------------------------

@no_gpu
def test_queries_answer_like_cpu_only_pytorch():
    assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
    assert ember.cuda.memory_allocated() == 0 and ember.cuda.max_memory_allocated() == 0
    ember.cuda.manual_seed(1)  # no-ops, as in PyTorch
    ember.cuda.manual_seed_all(1)
    ember.cuda.empty_cache()
    assert ember.accelerator.is_available() is False
    assert ember.accelerator.current_accelerator() is None
    assert ember.accelerator.current_accelerator(check_available=True) is None
    assert ember.accelerator.device_count() == 0


@no_gpu
def test_cuda_tensors_raise_not_available_naming_cupy():
    for make in (lambda: ember.zeros(1, device="cuda"), lambda: ember.ones(2).cuda(),
                 lambda: ember.ones(2).to("cuda:0"), ember.cuda.current_device,
                 ember.cuda.synchronize, ember.cuda.get_device_name,
                 lambda: ember.cuda.set_device(0)):
        with pytest.raises(RuntimeError, match="'cuda' is not available") as ei:
            make()
        assert "CuPy" in str(ei.value) or "cupy" in str(ei.value)


@no_gpu
def test_pin_memory_without_accelerator_as_pytorch(torch):
    t = ember.ones(3)
    assert t.is_pinned() is False and torch.ones(3).is_pinned() is False
    msgs = []
    for x in (t, torch.ones(3)):
        with pytest.raises(RuntimeError) as ei:
            x.pin_memory()
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1]


@no_gpu
def test_dataloader_pin_memory_without_accelerator_warns_and_loads():
    from ember.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(ember.arange(6.0).reshape(3, 2))
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(DataLoader(ds, batch_size=2, pin_memory=True))
    assert [b[0].shape[0] for b in batches] == [2, 1]


def test_cupy_backend_is_registered_and_says_why_not():
    be = registry.get_backend("cupy")
    assert be.device_types == ("cuda",)
    reason = be.unavailable_reason()
    assert (reason is None) == HAVE_CUDA
    if reason is not None:
        assert reason.startswith(("CuPy is not installed (pip install cupy-cuda12x)",
                                  "no CUDA device or driver"))


def test_cupy_reason_when_not_installed(monkeypatch):
    import importlib.util
    from ember_cupy.backend import CupyBackend
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cupy" else real(name, *a))
    assert CupyBackend().unavailable_reason() == "CuPy is not installed (pip install cupy-cuda12x)"


def test_cuda_device_errors_for_bad_arguments():
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        ember.cuda._index("cpu", None)
    assert ember.cuda._index(3, None) == 3


# --- with a GPU (tox -e cupy) -------------------------------------------------------------------

@pytest.mark.cuda
def test_tensors_live_on_their_device():
    import cupy
    x = ember.arange(6.0, device="cuda").reshape(2, 3)
    assert x.is_cuda and x.device == ember.device("cuda:0")
    assert isinstance(x._data, cupy.ndarray) and x._data.device.id == 0
    assert x.cpu().tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert ember.ones(2).cuda().device == ember.device("cuda", ember.cuda.current_device())
    n = ember.cuda.device_count()
    assert ember.accelerator.device_count() == n and ember.accelerator.is_available()
    assert ember.accelerator.current_accelerator() == ember.device("cuda")
    with pytest.raises(RuntimeError, match="invalid device index"):
        ember.zeros(1, device=f"cuda:{n}")
    if n > 1:
        y = x.to("cuda:1")
        assert y._data.device.id == 1 and y.cpu().tolist() == x.cpu().tolist()
        with ember.cuda.device(1):
            assert ember.cuda.current_device() == 1
            assert ember.zeros(1, device="cuda").device == ember.device("cuda:1")
        assert ember.cuda.current_device() == 0


@pytest.mark.cuda
def test_memory_stats_and_name():
    ember.cuda.synchronize()
    before = ember.cuda.memory_allocated()
    x = ember.empty(1 << 20, dtype=ember.float32, device="cuda")
    assert ember.cuda.memory_allocated() >= before + 4 * (1 << 20)
    assert ember.cuda.max_memory_allocated() >= ember.cuda.memory_allocated()
    del x
    ember.cuda.empty_cache()
    assert isinstance(ember.cuda.get_device_name(), str) and ember.cuda.get_device_name()


@pytest.mark.cuda
def test_seeding_reproduces_draws():
    ember.cuda.manual_seed(5)
    a = ember.rand(4, device="cuda")
    ember.cuda.manual_seed_all(5)
    b = ember.rand(4, device="cuda")
    assert a.cpu().tolist() == b.cpu().tolist()
    assert ember.rand(4, device="cuda").cpu().tolist() != b.cpu().tolist()


@pytest.mark.cuda
def test_pinned_memory_and_dataloader():
    t = ember.arange(8.0)
    p = t.pin_memory()
    assert p.is_pinned() and not t.is_pinned() and p.tolist() == t.tolist()
    from ember.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(ember.arange(12.0).reshape(6, 2))
    for (xb,) in DataLoader(ds, batch_size=3, pin_memory=True):
        assert xb.is_pinned()
        assert xb.cuda().cpu().tolist() == xb.tolist()


@pytest.mark.cuda
def test_matmul_and_conv_match_cpu(torch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(64, 32)), rng.normal(size=(32, 16))
    got = (ember.tensor(a, device="cuda") @ ember.tensor(b, device="cuda")).cpu().numpy()
    np.testing.assert_allclose(got, a @ b, rtol=1e-10)
    x, w = rng.normal(size=(2, 3, 9, 9)), rng.normal(size=(4, 3, 3, 3))
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    got = ember.nn.functional.conv2d(ember.tensor(x, device="cuda"),
                                     ember.tensor(w, device="cuda"), padding=1)
    np.testing.assert_allclose(got.cpu().numpy(), ref, rtol=1e-9, atol=1e-9)


@pytest.mark.cuda
def test_transfers_to_jax_on_the_gpu():
    jax = pytest.importorskip("jax")
    try:
        jax.devices("gpu")
    except RuntimeError:
        pytest.skip("JAX sees no GPU")
    x = ember.arange(5.0, device="cuda", requires_grad=True)
    y = x.to("jax")
    (y * y).sum().backward()
    assert y.device.type == "jax" and x.grad.cpu().tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    z = y.detach().to("cuda")
    assert z.cpu().tolist() == x.detach().cpu().tolist()
