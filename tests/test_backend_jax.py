"""The JAX backend (``ember_jax``): device strings, 64-bit mode, what aliases and what cannot
on immutable arrays, random keys, XLA's convolution and pooling, fork-unsafe workers.
Skips where JAX is not installed."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.backends import registry

pytest.importorskip("jax")
if not any(be.name == "jax" and be.is_available() for be in registry.backends()):
    pytest.skip("the ember_jax backend is not registered", allow_module_level=True)

F = ember.nn.functional


@pytest.fixture
def jax_cpu():
    """JAX serving cpu for the test (and numpy again after)."""
    old = registry._override.get("cpu")
    registry.set_provider("cpu", "jax")
    yield
    registry.set_provider("cpu", old)


def test_import_ember_does_not_import_jax():
    code = ("import sys, ember; ember.zeros(1); "
            "assert 'jax' not in sys.modules, 'jax imported'; print('ok')")
    env = {"EMBER_PROVIDERS": "cpu=numpy", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_device_strings():
    import jax
    x = ember.ones(2, device="jax")
    assert x.device == ember.device("jax:0") and str(x.device) == "jax:0"
    assert type(x._data).__module__.startswith("jax")
    assert ember.zeros(1, device="jax:0").device == x.device
    n = len(jax.devices())
    with pytest.raises(RuntimeError, match=f"sees {n} jax device"):
        ember.zeros(1, device=f"jax:{n}")
    assert registry.get_backend("jax").fork_safe is False


def test_64_bit_types_as_in_pytorch():
    assert ember.arange(3, device="jax").dtype is ember.int64
    x = ember.tensor([2 ** 40, 3], device="jax")
    assert x.dtype is ember.int64 and (x * 2).tolist() == [2 ** 41, 6]
    y = ember.tensor([1e-300, 1.0], dtype=ember.float64, device="jax")
    assert y.dtype is ember.float64 and (y * y).tolist()[0] == 1e-300 * 1e-300
    import jax
    assert jax.config.jax_enable_x64  # the documented process-wide effect


# --- aliasing on immutable arrays --------------------------------------------------------------

def test_writes_through_detach_and_data_reach_the_tensor():
    p = ember.tensor([1.0, 2.0, 3.0], device="jax", requires_grad=True)
    p.data.mul_(2)
    assert p.tolist() == [2.0, 4.0, 6.0] and p.is_leaf and p.grad_fn is None
    d = p.detach()
    d.add_(1)
    d[0] = 10.0
    assert p.tolist() == [10.0, 5.0, 7.0]
    p.detach()[1:].zero_()  # a slice of a detached alias
    assert p.tolist() == [10.0, 0.0, 0.0]
    v0 = p._version
    p.data.copy_(ember.tensor([1.0, 1.0, 1.0]).to("jax"))
    assert p.tolist() == [1.0, 1.0, 1.0] and p._version == v0  # .data hides the change
    with ember.no_grad():
        p.detach().sub_(1)
    assert p.tolist() == [0.0, 0.0, 0.0] and p._version > v0


def test_writes_through_views_reach_the_base():
    x = ember.zeros(2, 3, device="jax")
    x[1].fill_(2.0)
    x[:, 0] = 5.0
    x.view(6)[2] = 7.0
    x.t()[2, 1] = 9.0
    assert x.tolist() == [[5.0, 0.0, 7.0], [5.0, 2.0, 9.0]]


def test_what_cannot_alias_is_a_copy():
    """Documented in ember_jax: numpy arrays and JAX arrays never share memory (views and
    detach() of a JAX tensor do see later in-place changes: tests/test_inplace.py)."""
    a = np.ones(3, dtype=np.float32)
    t = ember.from_numpy(a).to("jax")
    a[0] = 5.0
    assert t.tolist() == [1.0, 1.0, 1.0]
    host = t.cpu().numpy()
    host[1] = 7.0
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_from_numpy_copies_when_jax_serves_cpu(jax_cpu):
    a = np.arange(4.0)
    t = ember.from_numpy(a)
    assert type(t._data).__module__.startswith("jax")
    a[0] = 9.0
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    out = t.numpy()
    out[1] = 5.0  # a writable copy: JAX's buffer stays as it was
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_optimizer_steps_rebind_parameters(torch):
    w0 = np.array([[0.5, -1.0], [2.0, 0.25]])
    res = {}
    for dev in ("cpu", "jax"):
        w = ember.tensor(w0, device=dev, requires_grad=True)
        view = w.detach()  # taken before the steps: does not follow them on JAX
        opt = ember.optim.Adam([w], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
        res[dev] = w.detach().cpu().numpy()
        assert view.device.type == dev
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.1)
    for _ in range(3):
        topt.zero_grad()
        (tw ** 2).sum().backward()
        topt.step()
    np.testing.assert_allclose(res["jax"], res["cpu"], rtol=1e-12)
    np.testing.assert_allclose(res["jax"], tw.detach().numpy(), rtol=1e-12)


def test_scatter_add_accumulates_duplicates(torch):
    idx = [0, 2, 0, 0, 1]
    for lib, dev in ((ember, "jax"), (torch, "cpu")):
        x = lib.zeros(3, dtype=lib.float64, device=dev)
        x.index_add_(0, lib.tensor(idx, device=dev), lib.ones(5, dtype=lib.float64, device=dev))
        y = lib.zeros(3, device=dev).scatter_add(0, lib.tensor(idx, device=dev),
                                                 lib.arange(5.0, device=dev))
        if lib is ember:
            got = (x.tolist(), y.tolist())
        else:
            assert got == (x.tolist(), y.tolist())


# --- random numbers --------------------------------------------------------------------------

def test_manual_seed_reproduces_and_draws_advance():
    ember.manual_seed(123)
    a, b = ember.rand(4, device="jax"), ember.rand(4, device="jax")
    ember.manual_seed(123)
    a2, b2 = ember.rand(4, device="jax"), ember.rand(4, device="jax")
    assert a.tolist() == a2.tolist() and b.tolist() == b2.tolist()
    assert a.tolist() != b.tolist()
    n = ember.randn(10000, dtype=ember.float64, device="jax")
    assert abs(float(n.mean())) < 0.05 and abs(float(n.std()) - 1) < 0.05
    i = ember.randint(3, 7, (1000,), device="jax")
    assert i.dtype is ember.int64 and set(i.tolist()) == {3, 4, 5, 6}
    p = ember.randperm(20, device="jax")
    assert sorted(p.tolist()) == list(range(20))


def test_generator_state_round_trips(jax_cpu):
    g = ember.Generator().manual_seed(7)
    ember.rand(3, generator=g)
    st = g.get_state()
    a = ember.rand(3, generator=g)
    g.set_state(st)
    assert ember.rand(3, generator=g).tolist() == a.tolist()


# --- XLA convolution and pooling vs PyTorch ----------------------------------------------------

CONVS = [  # (input shape, weight shape, kwargs)
    ((2, 4, 7, 9), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ((1, 3, 5, 5), (2, 3, 1, 1), dict()),
    ((2, 2, 6, 4), (4, 1, 3, 3), dict(stride=2, padding=2, groups=2)),
]


@pytest.mark.parametrize("k", range(len(CONVS)))
def test_conv2d_forward_and_gradients(k, torch):
    xs, ws, kw = CONVS[k]
    rng = np.random.default_rng(k)
    x0, w0 = rng.normal(size=xs), rng.normal(size=ws)
    out = []
    for lib, dev in ((ember, "jax"), (torch, "cpu")):
        x = lib.tensor(x0, device=dev, requires_grad=True)
        w = lib.tensor(w0, device=dev, requires_grad=True)
        y = lib.nn.functional.conv2d(x, w, **kw)
        (y * y).sum().backward()
        out.append([np.asarray(t.detach().cpu().numpy()) for t in (y, x.grad, w.grad)])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_forward_and_gradients(torch):
    rng = np.random.default_rng(3)
    x0, w0 = rng.normal(size=(2, 6, 4, 5)), rng.normal(size=(6, 2, 3, 2))
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=3)
    out = []
    for lib, dev in ((ember, "jax"), (torch, "cpu")):
        x = lib.tensor(x0, device=dev, requires_grad=True)
        w = lib.tensor(w0, device=dev, requires_grad=True)
        y = lib.nn.functional.conv_transpose2d(x, w, **kw)
        (y * y).sum().backward()
        out.append([t.detach().cpu().numpy() for t in (y, x.grad, w.grad)])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


POOLS = [dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=2,
         padding=(0, 1), ceil_mode=True), dict(kernel_size=2, dilation=2)]


@pytest.mark.parametrize("k", range(len(POOLS)))
def test_max_pool2d_values_indices_and_gradient(k, torch):
    x0 = np.random.default_rng(k).normal(size=(2, 3, 9, 11))
    x0[0, 0, 2, 2:5] = 4.0  # ties: the first maximum wins
    x0[1, 2, 0, 0] = np.nan  # NaN propagates
    out = []
    for lib, dev in ((ember, "jax"), (torch, "cpu")):
        x = lib.tensor(x0, device=dev, requires_grad=True)
        y, i = lib.nn.functional.max_pool2d(x, return_indices=True, **POOLS[k])
        lib.nan_to_num(y).sum().backward()
        out.append([t.detach().cpu().numpy() for t in (y, i, x.grad)])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False,
                                     ceil_mode=True),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool2d_forward_and_gradient(kw, torch):
    x0 = np.random.default_rng(0).normal(size=(2, 3, 7, 8))
    out = []
    for lib, dev in ((ember, "jax"), (torch, "cpu")):
        x = lib.tensor(x0, device=dev, requires_grad=True)
        y = lib.nn.functional.avg_pool2d(x, **kw)
        (y * y).sum().backward()
        out.append([t.detach().cpu().numpy() for t in (y, x.grad)])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_native_kernels_are_used():
    be = registry.get_backend("jax")
    from ember.backends import Backend
    for name in ("conv2d", "conv_transpose2d", "conv2d_weight", "max_pool2d", "avg_pool2d",
                 "avg_pool2d_backward", "setitem", "index_add", "rng", "random_normal"):
        assert getattr(type(be), name) is not getattr(Backend, name), name


# --- DataLoader workers -----------------------------------------------------------------------

def test_dataloader_workers_spawn_when_jax_serves_cpu(jax_cpu):
    import multiprocessing
    from ember.utils.data.dataloader import _default_context
    if multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        pytest.skip("the platform does not fork by default")
    assert _default_context().get_start_method() == "spawn"
    registry.set_provider("cpu", "numpy")
    assert _default_context().get_start_method() == "fork"
