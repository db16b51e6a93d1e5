"""Cross-backend tests: the same weights give the same outputs and gradients on every
installed backend, and ``.to()`` between backends keeps values and autograd.

"Every installed backend" means every available backend that can serve ``cpu`` (numpy, and
JAX or ember-strict when installed: each is made the ``cpu`` provider in turn) plus every
other available device type (``jax``, ``strict``, ``cuda``). The reference is PyTorch when
it is installed, else the first backend.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember
from capabilities import supports
from ember.backends import registry


def _places() -> list[tuple[str, str | None]]:
    """(device string, backend to make the cpu provider or None) for every backend."""
    out = []
    for be in registry.backends():
        if not be.is_available():
            continue
        if "cpu" in be.device_types:
            out.append(("cpu", be.name))
        for t in be.device_types:
            if t != "cpu" and registry.providers(t)[0] is be:
                out.append((t, None))
    return out


PLACES = _places()
IDS = [f"{d}={b}" if b else d for d, b in PLACES]


@contextlib.contextmanager
def serving(provider: str | None):
    """Make ``provider`` serve cpu for the block (None: leave the providers alone)."""
    if provider is None:
        yield
        return
    old = registry._override.get("cpu")
    registry.set_provider("cpu", provider)
    try:
        yield
    finally:
        registry.set_provider("cpu", old)


# --- the same model on every backend -------------------------------------------------------

def _mlp():
    return ember.nn.Sequential(ember.nn.Linear(6, 16), ember.nn.Tanh(), ember.nn.Linear(16, 5),
                               ember.nn.ReLU(), ember.nn.Linear(5, 3))


def _cnn():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 2, stride=1, groups=1), nn.AvgPool2d(2, ceil_mode=True),
                         nn.Flatten(), nn.Linear(3, 3))


def _weights(make, seed: int) -> dict:
    """float64 host weights for the model ``make`` builds (drawn with numpy, so every
    backend gets the very same numbers)."""
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0, 0.5, tuple(v.shape)) for k, v in make().state_dict().items()}


def _run(make, weights: dict, x: np.ndarray, y: np.ndarray, device: str, dtype):
    """(loss, output, {param: grad}) as float64 numpy, computed on ``device``."""
    model = make().to(device=device, dtype=dtype)
    model.load_state_dict({k: ember.tensor(v, dtype=dtype, device=device)
                           for k, v in weights.items()})
    xt = ember.tensor(x, dtype=dtype, device=device)
    out = model(xt)
    loss = ember.nn.functional.cross_entropy(out, ember.tensor(y, device=device))
    loss.backward()
    assert out.device.type == ember.device(device).type
    grads = {k: p.grad.double().cpu().numpy() for k, p in model.named_parameters()}
    return float(loss), out.detach().double().cpu().numpy(), grads


def _torch_run(torch, make, weights, x, y):
    """The same computation in PyTorch (float64), with ember's module names."""
    tnn = torch.nn
    if make is _mlp:
        model = tnn.Sequential(tnn.Linear(6, 16), tnn.Tanh(), tnn.Linear(16, 5), tnn.ReLU(),
                               tnn.Linear(5, 3))
    else:
        model = tnn.Sequential(tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(4, 3, 2), tnn.AvgPool2d(2, ceil_mode=True),
                               tnn.Flatten(), tnn.Linear(3, 3))
    model = model.double()
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    out = model(torch.tensor(x))
    loss = tnn.functional.cross_entropy(out, torch.tensor(y))
    loss.backward()
    return (float(loss.detach()), out.detach().numpy(),
            {k: p.grad.numpy() for k, p in model.named_parameters()})


CASES = {
    "mlp": (_mlp, lambda rng: rng.normal(size=(7, 6))),
    "cnn": (_cnn, lambda rng: rng.normal(size=(3, 2, 6, 6))),
}
TOL = {ember.float64: 1e-9, ember.float32: 2e-5}


@pytest.mark.parametrize("dtype", [ember.float64, ember.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_weights_same_outputs_and_gradients(case, dtype):
    try:
        import torch
    except ImportError:
        torch = None
    make, draw = CASES[case]
    rng = np.random.default_rng(1)
    weights, x = _weights(make, 2), draw(rng)
    y = rng.integers(0, 3, size=x.shape[0])
    results = []
    for dev, provider in PLACES:
        with serving(provider):
            if not supports(dev, dtype):
                continue
            results.append((f"{dev}={provider}", _run(make, weights, x, y, dev, dtype)))
    if torch is not None:
        ref_name, ref = "torch", _torch_run(torch, make, weights, x, y)
    elif len(results) > 1:
        ref_name, ref = results[0]
    else:
        pytest.skip("one backend and no PyTorch: nothing to compare")
    tol = TOL[dtype]
    for name, (loss, out, grads) in results:
        msg = f"{name} vs {ref_name}"
        np.testing.assert_allclose(loss, ref[0], rtol=tol, atol=tol, err_msg=msg)
        np.testing.assert_allclose(out, ref[1], rtol=tol, atol=tol, err_msg=msg)
        assert grads.keys() == ref[2].keys()
        for k in grads:
            np.testing.assert_allclose(grads[k], ref[2][k], rtol=tol, atol=tol,
                                       err_msg=f"{msg}: gradient of {k}")


# --- transfers between backends --------------------------------------------------------------

def _devices() -> list[str]:
    """One device string per available backend (cpu as whoever serves it now)."""
    return sorted({d for d, _ in PLACES})


PAIRS = [(a, b) for a in _devices() for b in _devices() if a != b]


@pytest.mark.parametrize("src,dst", PAIRS or [pytest.param("cpu", "cpu", marks=pytest.mark.skip(
    reason="one device type installed: no transfer between backends to test"))])
def test_to_keeps_values_dtype_and_autograd(src, dst):
    x = ember.tensor([[1.5, -2.0, 3.0], [0.25, 4.0, -1.0]], dtype=ember.float64, device=src,
                     requires_grad=True)
    y = x.to(dst)
    assert y.device.type == dst and y.dtype is ember.float64
    assert y.requires_grad and y.grad_fn is not None and not y.is_leaf
    z = (y * y).sum() + y[0, 1]
    z.backward()
    assert x.grad.device == x.device
    xs = x.detach().cpu().numpy()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), 2 * xs + [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(y.detach().cpu().numpy(), xs)


@pytest.mark.parametrize("src,dst", PAIRS or [pytest.param("cpu", "cpu", marks=pytest.mark.skip(
    reason="one device type installed: no transfer between backends to test"))])
def test_to_keeps_every_shared_dtype(src, dst):
    vals = [[0, 1, -3], [7, 2, 5]]
    for dt in (ember.bool, ember.uint8, ember.int8, ember.int16, ember.int32, ember.int64,
               ember.float16, ember.bfloat16, ember.float32, ember.float64, ember.complex64,
               ember.complex128):
        if dt is ember.uint8:
            v = [[0, 1, 3], [7, 2, 255]]
        else:
            v = vals
        if not (supports(src, dt) and supports(dst, dt)):
            continue
        a = ember.tensor(v, dtype=dt, device=src)
        b = a.to(dst)
        assert b.dtype is dt and b.device.type == dst, dt
        assert b.cpu().tolist() == a.cpu().tolist(), dt


def test_round_trip_through_every_backend_keeps_the_graph():
    devs = _devices()
    if len(devs) < 2:
        pytest.skip("one device type installed: no transfer between backends to test")
    x = ember.linspace(-1, 1, 6, dtype=ember.float64, requires_grad=True)
    h = x
    for d in devs[1:] + devs[:1]:
        h = (h.to(d) * 1.5).tanh()
    assert h.device == x.device
    h.sum().backward()
    # d/dx of the composition, computed independently with torch-free numpy
    xs, g = x.detach().cpu().numpy(), np.ones(6)
    vals = [xs]
    for _ in devs:
        vals.append(np.tanh(vals[-1] * 1.5))
    for v in reversed(vals[:-1]):
        g = g * 1.5 * (1 - np.tanh(v * 1.5) ** 2)
    np.testing.assert_allclose(h.detach().cpu().numpy(), vals[-1], rtol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), g, rtol=1e-12)


def test_places_cover_every_available_backend():
    names = {b for _, b in PLACES if b} | {
        registry.providers(d)[0].name for d, b in PLACES if b is None}
    assert names == {be.name for be in registry.backends() if be.is_available()}


# --- the protocol's generic defaults --------------------------------------------------------

@pytest.mark.parametrize("key,shape,want", [
    ((0,), (2, 3), (0, ...)),
    ((slice(1, 9), None), (2, 3), (slice(1, 2, 1), None, ...)),
    ((..., slice(5, None)), (2, 3), (..., slice(0, 0, 1))),
    ((slice(None, None, -1), 1), (4, 3, 2), (slice(3, None, -1), 1, ...)),
    ((1, ..., slice(-9, 2)), (2, 3, 4), (1, ..., slice(0, 2, 1))),
])
def test_standard_key_rewrites_numpy_style_basic_keys(key, shape, want):
    from ember.backends._indexing import standard_key
    got = standard_key(shape, key)
    assert got == want
    a = np.arange(int(np.prod(shape))).reshape(shape)
    np.testing.assert_array_equal(a[got], a[key])


def test_standard_key_leaves_advanced_keys_to_the_host():
    from ember.backends._indexing import standard_key
    assert standard_key((3,), (np.array([0, 2]),)) is None
    assert standard_key((3,), True) is None


class _Strictish(ember.backends.Backend):
    """numpy behind a namespace that refuses numpy-style keys, as array_api_strict does."""
    name = "strictish"

    def load(self):
        self.xp = np
        self._build_dtype_tables()


def _refused(key) -> bool:
    if key is Ellipsis:
        return False
    return not isinstance(key, tuple) or not any(k is Ellipsis for k in key) or any(
        hasattr(k, "shape") for k in key)


class _Picky(np.ndarray):
    def __getitem__(self, key):
        if _refused(key):
            raise IndexError("key beyond the standard")
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        if _refused(key):
            raise IndexError("key beyond the standard")
        super().__setitem__(key, value)


def test_generic_getitem_and_setitem_serve_refused_keys():
    be = _Strictish()
    be.load()
    x = np.arange(12.0).reshape(3, 4).view(_Picky)
    v = be.getitem(x, (1,))  # rewritten to (1, ...): still a view
    assert np.shares_memory(v, x) and v.tolist() == [4.0, 5.0, 6.0, 7.0]
    got = be.getitem(x, (np.array([0, 2]), np.array([1, 3])))  # through the host
    assert got.tolist() == [1.0, 11.0]
    y = be.setitem(x, (np.array([0, 2]), slice(None)), -1.0)
    assert y is x and x[(0, ...)].tolist() == [-1.0] * 4 and x[(2, ...)].tolist() == [-1.0] * 4
    y = be.setitem(x, (1, slice(1, 3)), 9.0)
    assert x[(1, ...)].tolist() == [4.0, 9.0, 9.0, 7.0]
