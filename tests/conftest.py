"""Shared fixtures: one ``device`` fixture runs every backend-agnostic test on every
installed backend's device(s); ``torch`` gives the PyTorch oracle or skips the test.

Devices: "cpu" (whoever serves it: numpy by default, JAX under ``EMBER_PROVIDERS=cpu=jax``)
plus every other available device type ("jax", "cuda", ...). ``EMBER_TEST_DEVICES=cpu,jax``
overrides the list.
"""
from __future__ import annotations

import os

import pytest

import ember
from capabilities import immutable_reason, missing_dtype_named_in, missing_dtypes
from ember.backends import registry


def _devices() -> list[str]:
    env = os.environ.get("EMBER_TEST_DEVICES")
    if env:
        return [d.strip() for d in env.split(",") if d.strip()]
    out = ["cpu"]
    for t in registry.known_types():
        if t == "cpu":
            continue
        if any(be.is_available() for be in registry.providers(t)):
            out.append(t)
    return out


DEVICES = _devices()


def pytest_report_header(config):
    rows = [f"{r['name']}({'ok' if r['available'] else 'unavailable'})" for r in registry.info()]
    return [f"ember devices under test: {', '.join(DEVICES)}", f"ember backends: {', '.join(rows)}"]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """A device string; the test runs once per device under test."""
    return request.param


@pytest.fixture
def torch():
    """The real PyTorch (the oracle); the test skips where it is not installed."""
    t = pytest.importorskip("torch")
    # torch's einsum takes another path (and words its errors differently) when opt_einsum
    # is installed, as it is next to JAX: the oracle is PyTorch without it
    t.backends.opt_einsum.enabled = False
    return t


@pytest.fixture(autouse=True)
def _seed_and_restore():
    """Each test starts from a known seed and default dtype, and grad mode on."""
    ember.manual_seed(0)
    yield
    ember.set_default_dtype(ember.float32)
    from ember.autograd.grad_mode import STATE
    STATE.enabled = True
    STATE.inference = False


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "shares_memory: asserts that tensors, views or numpy arrays share memory; "
        "skipped where the device's backend has immutable arrays (Backend.mutable is False)")


def pytest_collection_modifyitems(config, items):
    cuda_ok = "cuda" in DEVICES or any(d.startswith("cuda") for d in DEVICES)
    skip = pytest.mark.skip(reason="no CUDA device here (ember.cuda.is_available() is False); "
                                   "run on a machine with an NVIDIA GPU and CuPy")
    for item in items:
        if "cuda" in item.keywords and not cuda_ok:
            item.add_marker(skip)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "shares_memory" in item.keywords:
            why = immutable_reason(params.get("device", "cpu"))
            if why:
                item.add_marker(pytest.mark.skip(reason=why))
        why = _missing_dtype(params)
        if why:
            item.add_marker(pytest.mark.skip(reason=why))
    _sample(config, items)


def _missing_dtype(params: dict) -> str | None:
    """Why a test parametrized by a dtype (an ember dtype, or a string naming one, as in
    ``"half"`` or ``"lib.rand(2, dtype=lib.bfloat16)"``) cannot run on its device: the
    backend lacks that dtype (array_api_strict has no float16/bfloat16). None if it can."""
    from ember import _dtype
    device = params.get("device", "cpu")
    missing, _ = missing_dtypes(device)
    if not missing:
        return None
    values = []
    for value in params.values():
        values.extend(value if isinstance(value, (tuple, list)) else (value,))
    for value in values:
        dt = value if isinstance(value, _dtype.dtype) and value in missing.values() else \
            missing_dtype_named_in(value, device) if isinstance(value, str) else None
        if dt is not None:
            return (f"the backend serving {device!r} has no {dt} "
                    "(Backend.supports_dtype is False)")
    return None


def _sample(config, items) -> None:
    """``EMBER_TEST_SAMPLE=n`` keeps a fixed 1-in-n subset of the tests (by a hash of the
    test id, so every file and parametrization is represented, and the choice is the same
    on every run); the backend tests themselves always run. tox's slower backend envs use
    it to keep the matrix within its time budget."""
    n = int(os.environ.get("EMBER_TEST_SAMPLE") or 1)
    if n <= 1:
        return
    import zlib
    keep, drop = [], []
    for item in items:
        always = os.path.basename(item.nodeid.split("::")[0]).startswith(("test_backend",
                                                                          "test_cuda"))
        (keep if always or zlib.crc32(item.nodeid.encode()) % n == 0 else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
