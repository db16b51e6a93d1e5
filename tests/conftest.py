"""Shared fixtures: one ``device`` fixture runs every backend-agnostic test on every
installed backend's device(s); ``torch`` gives the PyTorch oracle or skips the test.

Devices: "cpu" (whoever serves it: numpy by default, JAX under ``EMBER_PROVIDERS=cpu=jax``)
plus every other available device type ("jax", "cuda", ...). ``EMBER_TEST_DEVICES=cpu,jax``
overrides the list.
"""
from __future__ import annotations

import os
import re

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


@pytest.fixture
def torch_device(torch, device) -> str | None:
    """The device the oracle builds its tensors on to mirror ember's ``device``: the same one
    where the installed torch has it ("cpu"; "cuda[:n]" where ``torch.cuda.is_available()``),
    else None (ember's own device types such as "jax", or cuda with a CPU-only torch). Use
    ``torch_device or "cpu"`` where the CPU oracle will do; a test comparing text that names
    the device (kernel names like ``"abs_cuda"``, ``torch.cuda.FloatTensor``, reprs with
    ``device='cuda:0'``) cannot compare where it is None."""
    dev = ember.device(device)
    if dev.type == "cpu":
        return "cpu"
    if dev.type == "cuda" and torch.cuda.is_available():
        return str(dev)
    return None


# a message that names the device: a kernel's ("abs_cpu"), a legacy type ("torch.FloatTensor")
_NAMES_DEVICE = re.compile(r"cpu|\btorch\.[A-Z][A-Za-z]*Tensor\b")


@pytest.fixture
def oracle_error(torch, device, torch_device):
    """``oracle_error(run)``: what torch raises for ``run(torch, dev)``, to compare with what
    ember raises on ``device``. Torch runs on its default device (``dev`` None), where most
    messages are the same for every device (and CUDA cannot turn an out-of-bounds index into
    a device-side assert); where its message names the device, again on ember's device
    (``dev`` is ``torch_device``), or the test skips where torch has no such device. Fails
    the test where torch raises nothing on the CPU; returns None where it raises on the CPU
    but not on ember's device (ember should then not raise either: the caller checks)."""
    def run_torch(run):
        with pytest.raises(Exception) as info:
            run(torch, None)
        if ember.device(device).type == "cpu" or not _NAMES_DEVICE.search(str(info.value)):
            return info.value
        if torch_device is None:
            pytest.skip(f"torch's message names the device ({info.value}) and this torch has "
                        f"no {device!r} device")
        try:
            run(torch, torch_device)
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            return e
        return None
    return run_torch


# Texts and behaviour that differ between PyTorch releases (module reprs, error wording,
# the last ulp of a kernel): tests marked ``torch_exact`` compare them with the release CI
# pins (the ``oracle`` extra) and skip against any other.
ORACLE_RELEASE = "2.13"


def _oracle_release() -> str | None:
    """The installed torch's "major.minor" (None if there is none), without importing it."""
    from importlib import metadata
    try:
        return ".".join(metadata.version("torch").split(".")[:2])
    except metadata.PackageNotFoundError:
        return None


def _inexact_oracle_reason() -> str | None:
    """Why a torch_exact comparison cannot be made here, or None if it can."""
    release = _oracle_release()
    if release is None or release == ORACLE_RELEASE:
        return None  # no torch: the ``torch`` fixture skips the test anyway
    return (f"compares text or behaviour that changed between PyTorch releases: the oracle "
            f"must be torch {ORACLE_RELEASE}.x (installed: {release})")


@pytest.fixture
def exact_oracle(torch) -> bool:
    """Whether the oracle is torch ORACLE_RELEASE, for a test that checks more than a
    release-dependent text and compares that text only then (see ``torch_exact``)."""
    return _inexact_oracle_reason() is None


@pytest.fixture
def nb():
    """The numpy backend, loaded: for tests of its own kernels."""
    from ember.backends import get_backend
    be = get_backend("numpy")
    if be.xp is None:
        be.load()
    return be


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
    config.addinivalue_line(
        "markers", f"torch_exact: compares text or behaviour that differs between PyTorch "
        f"releases (reprs, error wording, last-ulp results); skipped unless the oracle is "
        f"torch {ORACLE_RELEASE}.x")


def pytest_collection_modifyitems(config, items):
    cuda_ok = "cuda" in DEVICES or any(d.startswith("cuda") for d in DEVICES)
    skip = pytest.mark.skip(reason="no CUDA device here (ember.cuda.is_available() is False); "
                                   "run on a machine with an NVIDIA GPU and CuPy")
    inexact = _inexact_oracle_reason()
    for item in items:
        if "cuda" in item.keywords and not cuda_ok:
            item.add_marker(skip)
        if inexact and item.get_closest_marker("torch_exact"):
            item.add_marker(pytest.mark.skip(reason=inexact))
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
    on every run); the backend tests themselves (and ember.compile's, which need a JAX
    or CUDA backend) always run. tox's slower backend envs use
    it to keep the matrix within its time budget."""
    n = int(os.environ.get("EMBER_TEST_SAMPLE") or 1)
    if n <= 1:
        return
    import zlib
    keep, drop = [], []
    for item in items:
        always = os.path.basename(item.nodeid.split("::")[0]).startswith(("test_backend",
                                                                          "test_cuda",
                                                                          "test_compile"))
        (keep if always or zlib.crc32(item.nodeid.encode()) % n == 0 else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
