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
    return pytest.importorskip("torch")


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


def _immutable(device: str) -> str | None:
    """Why ``device``'s backend cannot share memory, or None if it can."""
    try:
        be = registry.resolve(ember.device(device).type)
    except RuntimeError:
        return None
    if be.mutable:
        return None
    return (f"the {be.name} backend's arrays are immutable (Backend.mutable is False): "
            "tensors cannot share memory with numpy arrays, and a view does not see later "
            "in-place changes of its base")


def pytest_collection_modifyitems(config, items):
    cuda_ok = "cuda" in DEVICES or any(d.startswith("cuda") for d in DEVICES)
    skip = pytest.mark.skip(reason="no CUDA device here (ember.cuda.is_available() is False); "
                                   "run on a machine with an NVIDIA GPU and CuPy")
    for item in items:
        if "cuda" in item.keywords and not cuda_ok:
            item.add_marker(skip)
        if "shares_memory" in item.keywords:
            params = getattr(getattr(item, "callspec", None), "params", {})
            why = _immutable(params.get("device", "cpu"))
            if why:
                item.add_marker(pytest.mark.skip(reason=why))
