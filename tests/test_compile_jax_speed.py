"""What makes ``ember.compile`` fast on JAX, checked for correctness:

- buffer donation: a compiled step hands the arrays it replaces (parameters, in-place
  optimizer state) to XLA to update in place, but never an array the user can still reach
  (``detach()``, ``.data``, an old ``.grad``, optimizer state held by a variable): those
  stay readable, and the ones sharing storage see the step's writes as in eager mode;
- the JAX backend's convolution and pooling formulations (a few input channels as one
  product with the stacked shifted planes, depthwise as shifted multiply-adds, the
  transposed convolution spread back with ``lax.pad``, max pooling as a (value, slot)
  reduction with its gradient spread by slot): values and gradients as PyTorch's,
  strides, dilation, padding, groups and ``output_padding`` included. These run eagerly
  on any device JAX serves and inside a compiled CNN step;
- on a CPU, the weight gradient's transposed operand kept as a copy in the compiled
  program.
"""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


@pytest.fixture(scope="module")
def jdev() -> str:
    """A device JAX serves, or skip."""
    pytest.importorskip("jax")
    for dev in ("cpu", "jax"):
        try:
            if ember.empty(0, device=dev)._device._be.name == "jax":
                return dev
        except Exception:  # noqa: BLE001 - not available here
            continue
    pytest.skip("the JAX backend is not available")


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy()


def _step(opt, loss_of):
    """A training step: zero the gradients, ``loss_of()``, backward, update."""
    def step():
        opt.zero_grad()
        loss = loss_of()
        loss.backward()
        opt.step()
        return loss
    return step


def _model_and_step(dev, opt_name="SGD"):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)).to(dev)
    opt = (ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_name == "SGD"
           else ember.optim.Adam(model.parameters(), lr=0.01))
    g = ember.Generator().manual_seed(3)
    x = ember.randn(8, 5, generator=g).to(dev)
    y = ember.randn(8, 2, generator=g).to(dev)

    return model, opt, _step(opt, lambda: F.mse_loss(model(x), y))


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_donation_keeps_what_the_user_holds(jdev, opt_name):
    """Tensors sharing a parameter's or optimizer state's storage (``detach()``, ``.data``,
    a detached state buffer) and an old gradient stay readable after compiled steps, and
    hold what they hold after the same eager steps: the shared ones the parameter's and
    the state's new values (as in PyTorch), the old gradient its own; the steps give
    eager mode's parameters."""
    me, oe, eager = _model_and_step(jdev, opt_name)
    mc, oc, step = _model_and_step(jdev, opt_name)
    f = ember.compile(step, fullgraph=True)
    for _ in range(3):  # eager first call, then the program
        eager()
        f()
    assert f._fast is not None and f._fast.prog.donate  # the program does donate

    def held(model, opt):
        w = model[0].weight
        return {"detach": w.detach(), "data": w.data, "grad": w.grad,
                "state": next(iter(opt.state[w].values())).detach()}
    he, hc = held(me, oe), held(mc, oc)
    grad_before = _np(hc["grad"]).copy()
    for _ in range(2):
        eager()
        f()
    for k in he:
        np.testing.assert_allclose(_np(hc[k]), _np(he[k]), rtol=1e-6, atol=1e-7, err_msg=k)
    np.testing.assert_array_equal(_np(hc["detach"]), _np(mc[0].weight))
    np.testing.assert_array_equal(_np(hc["grad"]), grad_before)
    for a, b in zip(me.parameters(), mc.parameters()):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-7)


def test_donation_of_a_returned_loss_and_an_argument(jdev):
    """A loss returned by an earlier compiled step and a tensor argument stay valid."""
    _, _, step = _model_and_step(jdev)
    f = ember.compile(step)
    losses = [f() for _ in range(4)]
    vals = [float(v) for v in losses]  # every one still readable
    assert vals[-1] < vals[1]

    ember.manual_seed(0)
    lin = nn.Linear(3, 1).to(jdev)
    opt = ember.optim.SGD(lin.parameters(), lr=0.1)

    def s(x):
        opt.zero_grad()
        loss = lin(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    fs = ember.compile(s)
    x = ember.ones(2, 3, device=jdev)
    for _ in range(3):
        fs(x)
    np.testing.assert_array_equal(_np(x), np.ones((2, 3), np.float32))


def test_compiled_step_reaches_what_a_parameter_was_made_of(jdev):
    """``Parameter(w)`` shares w's storage: after compiled steps w holds the parameter's
    values, as after eager steps (and in PyTorch), and so does a ``detach()`` made before
    the steps (a view of the same storage)."""
    got = {}
    for compiled in (False, True):
        w = ember.ones(3, device=jdev)
        p = nn.Parameter(w)
        d = p.detach()
        opt = ember.optim.SGD([p], lr=0.1)

        step = _step(opt, lambda: (p * p).sum())
        f = ember.compile(step, fullgraph=True) if compiled else step
        for _ in range(4):
            f()
        np.testing.assert_allclose(_np(p), np.full(3, 0.8 ** 4, np.float32), rtol=1e-6)
        np.testing.assert_array_equal(_np(w), _np(p))
        np.testing.assert_array_equal(_np(d), _np(p))
        got[compiled] = _np(w)
    np.testing.assert_array_equal(got[True], got[False])


def test_steady_state_donates_module_parameters_without_copies(jdev, monkeypatch):
    """A module's parameters keep the tensor they were made of (``Parameter(empty(...))``)
    where JAX serves them; nothing else reaches it, so a compiled step must not hand it
    the parameter's array (which would then be held twice and copied before every
    donation): every array donated in the steady state is the tensor's own."""
    from ember.compiler import _jax
    _, _, step = _model_and_step(jdev)
    f = ember.compile(step, fullgraph=True)
    seen = []
    real = _jax._donated

    def spy(jax, tensors, donate):
        out = real(jax, tensors, donate)
        seen.append([a is tensors[j]._data for a, j in zip(out, donate)])
        return out
    monkeypatch.setattr(_jax, "_donated", spy)
    for _ in range(4):
        f()
    assert seen and all(seen[-1]), seen[-1]


CONVS = [  # (in, out, kernel, stride, padding, dilation, groups), input shape
    ((1, 4, 3, 1, 1, 1, 1), (2, 1, 7, 6)),  # one input channel: product with the planes
    ((1, 3, (3, 2), 2, (1, 0), (2, 1), 1), (2, 1, 9, 8)),
    ((3, 6, 3, 2, 1, 1, 3), (2, 3, 8, 7)),  # depthwise, channel multiplier 2
    ((2, 4, 3, 1, 0, 1, 1), (2, 2, 6, 6)),  # a few channels: planes; input gradient spread
    ((3, 5, (3, 2), (2, 1), (1, 2), (1, 2), 1), (2, 3, 8, 9)),  # planes of each channel
    ((9, 2, 3, 1, 1, 1, 1), (1, 9, 5, 5)),  # over PATCHES_MAX_CHANNELS: XLA's convolution
]


@pytest.mark.parametrize("cfg,shape", CONVS, ids=[str(i) for i in range(len(CONVS))])
def test_conv2d_paths_match_torch(torch, jdev, cfg, shape):
    cin, cout, k, s, p, d, g = cfg
    tm = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g).double()
    em = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g).to(jdev).double()
    em.weight.data = ember.tensor(tm.weight.detach().numpy()).to(jdev)
    em.bias.data = ember.tensor(tm.bias.detach().numpy()).to(jdev)
    x = np.random.default_rng(0).standard_normal(shape)
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True, device=jdev)
    ty, ey = tm(tx), em(ex)
    np.testing.assert_allclose(_np(ey), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    gy = np.random.default_rng(1).standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    ey.backward(ember.tensor(gy, device=jdev))
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(em.weight.grad), tm.weight.grad.numpy(), rtol=1e-10,
                               atol=1e-12)


def test_conv2d_few_channels_is_one_product(jdev):
    """Up to ``PATCHES_MAX_CHANNELS`` input channels the convolution is a product with
    the stacked planes (no XLA convolution in its program); above, XLA's kernel."""
    import jax
    from ember_jax import _conv

    def prims(cin):
        x = np.zeros((2, cin, 8, 8), np.float32)
        w = np.zeros((4, cin, 3, 3), np.float32)
        jaxpr = jax.make_jaxpr(lambda a, b: _conv.conv2d(a, b, (1, 1), (1, 1), (1, 1), 1))
        return str(jaxpr(x, w))
    few, many = prims(3), prims(_conv.PATCHES_MAX_CHANNELS + 1)
    assert "dot_general" in few and "conv_general_dilated" not in few
    assert "conv_general_dilated" in many


@pytest.mark.parametrize("stride,padding,dilation,output_padding", [
    (2, 1, 1, 1), (3, 0, 2, 2), ((1, 2), (0, 1), 1, (0, 1))])
def test_conv_transpose2d_spread_matches_torch(torch, jdev, stride, padding, dilation,
                                               output_padding):
    tm = torch.nn.ConvTranspose2d(3, 2, (3, 2), stride=stride, padding=padding,
                                  dilation=dilation, output_padding=output_padding).double()
    em = nn.ConvTranspose2d(3, 2, (3, 2), stride=stride, padding=padding, dilation=dilation,
                            output_padding=output_padding).to(jdev).double()
    em.weight.data = ember.tensor(tm.weight.detach().numpy()).to(jdev)
    em.bias.data = ember.tensor(tm.bias.detach().numpy()).to(jdev)
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True, device=jdev)
    ty, ey = tm(tx), em(ex)
    np.testing.assert_allclose(_np(ey), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    ty.sum().backward()
    ey.sum().backward()
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2),  # overlapping, by slot
                                dict(kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2))])
def test_max_pool2d_matches_torch(torch, jdev, kw):
    """Values, indices (the first maximum; NaN wins) and the gradient, overlapping windows
    accumulating."""
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 6)).round(1)  # ties
    x[0, 0, 1, 1] = np.nan
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True, device=jdev)
    ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
    ey, ei = F.max_pool2d(ex, return_indices=True, **kw)
    np.testing.assert_array_equal(_np(ey), ty.detach().numpy())
    np.testing.assert_array_equal(_np(ei), ti.numpy())
    g = np.random.default_rng(5).standard_normal(ty.shape)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g, device=jdev))
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool2d_backward_by_slot_only_inside_the_input(jdev):
    """The backend remembers a pool's window slots only where every window lies inside
    the input (the slot spread is exact there), by the index array's identity and no
    longer than that array lives; a padded pool's gradient takes the scatter."""
    import gc

    be = ember.empty(0, device=jdev)._device._be
    x = ember.randn(2, 3, 8, 8, dtype=ember.float64).to(jdev)
    _, idx = be.max_pool2d(x._data, (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert be._pool_slots.get(idx) is not None
    assert be._pool_slots.get(idx + 0) is None  # an equal array is not the same one
    _, idx_pad = be.max_pool2d(x._data, (3, 3), (2, 2), (1, 1), (1, 1), False)
    assert be._pool_slots.get(idx_pad) is None
    n = len(be._pool_slots._d)
    del idx
    gc.collect()
    assert len(be._pool_slots._d) == n - 1


def test_compiled_cnn_step_matches_eager(jdev):
    """A LeNet-like step (one-channel input, max pooling) compiled: 3 steps give eager
    mode's losses and parameters (float64)."""
    def make():
        ember.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4, 2)).to(jdev).double()
        return m, ember.optim.SGD(m.parameters(), lr=0.1)

    g = ember.Generator().manual_seed(1)
    x = ember.randn(3, 1, 8, 8, generator=g, dtype=ember.float64).to(jdev)
    y = ember.tensor([0, 1, 1]).to(jdev)
    out = []
    for compiled in (False, True):
        m, opt = make()

        step = _step(opt, lambda: F.cross_entropy(m(x), y))
        f = ember.compile(step, fullgraph=True) if compiled else step
        out.append(([float(f()) for _ in range(3)], [_np(p) for p in m.parameters()]))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10)
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_first_call_runs_as_one_program(jdev, monkeypatch, opt_name):
    """The call that creates the gradients and the optimizer's state runs as a compiled
    program, not op by op, and leaves the state eager mode leaves: same keys, values,
    parameters, and a loss with no graph (as the steady-state program returns)."""
    from ember.compiler import _jax
    calls = []
    real = _jax.run_first
    monkeypatch.setattr(_jax, "run_first", lambda *a: calls.append(1) or real(*a))
    me, oe, eager = _model_and_step(jdev, opt_name)
    mc, oc, step = _model_and_step(jdev, opt_name)
    f = ember.compile(step, fullgraph=True)
    le, lc = eager(), f()
    assert calls == [1]
    assert lc.grad_fn is None and not lc.requires_grad
    np.testing.assert_allclose(float(lc), float(le), rtol=1e-6)
    for pe, pc in zip(me.parameters(), mc.parameters()):
        np.testing.assert_allclose(_np(pc), _np(pe), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(_np(pc.grad), _np(pe.grad), rtol=1e-6, atol=1e-7)
        assert pc.grad.grad_fn is None
        assert sorted(oc.state[pc]) == sorted(oe.state[pe])
        for k, v in oe.state[pe].items():
            np.testing.assert_allclose(_np(oc.state[pc][k]), _np(v), rtol=1e-6, atol=1e-7)
    for _ in range(2):  # the steady state follows and still matches
        le, lc = eager(), f()
    np.testing.assert_allclose(float(lc), float(le), rtol=1e-5)
    assert len(calls) == 1


def _dropout_step(dev, p_drop):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Dropout(p_drop),
                          nn.Linear(4, 2)).to(dev)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def test_fast_path_retraces_or_rechecks_on_every_guard(jdev):
    """The steady state's cheap guard (identities and version counters) still sends every
    change to the full path: a new input shape, ``requires_grad`` of an input, a
    parameter frozen, train/eval mode, a replaced parameter, a new learning rate (an input,
    no retrace) or momentum (a constant, retrace). After each change the compiled steps
    give eager mode's losses and parameters."""
    me, oe, eager = _dropout_step(jdev, 0.0)
    mc, oc, step = _dropout_step(jdev, 0.0)
    f = ember.compile(step, fullgraph=True, recompile_limit=32)
    g = ember.Generator().manual_seed(5)

    def data(n=8, dtype=ember.float32):
        x = ember.randn(n, 5, generator=g, dtype=dtype)
        return x.to(jdev), ember.randn(n, 2, generator=g, dtype=dtype).to(jdev)

    def both(x, y, times=3):
        for _ in range(times):
            a, b = eager(x, y), f(x, y)
            np.testing.assert_allclose(float(a), float(b), rtol=1e-5, atol=1e-7)
        for p, q in zip(me.parameters(), mc.parameters()):
            np.testing.assert_allclose(_np(p), _np(q), rtol=1e-5, atol=1e-6)

    x, y = data()
    both(x, y)
    assert f._fast is not None  # the steady state runs through the fast path
    n = len(f._cache)
    both(*data(6))  # shape
    assert len(f._cache) > n
    xr = x.clone().requires_grad_(True)
    n = len(f._cache)
    both(xr, y)  # requires_grad of an input
    assert len(f._cache) > n
    for m in (me, mc):
        m[0].bias.requires_grad_(False)  # a frozen parameter
    both(x, y)
    for m in (me, mc):
        m[0].bias.requires_grad_(True)
        m.eval()
    both(x, y)
    for m in (me, mc):
        m.train()
        m[3].weight = nn.Parameter(ember.full((2, 4), 0.1, device=jdev))
    for o, m in ((oe, me), (oc, mc)):  # the optimizer sees the new parameter
        o.param_groups[0]["params"][2] = m[3].weight
    both(x, y)
    n = len(f._cache)
    for o in (oe, oc):
        o.param_groups[0]["lr"] = 0.03
    both(x, y)
    assert len(f._cache) == n  # the learning rate is an input of the same program
    for o in (oe, oc):
        o.param_groups[0]["momentum"] = 0.5
    both(x, y)
    assert len(f._cache) > n


def test_rng_keys_are_inputs_only_where_drawn(jdev):
    """A step that draws no random numbers passes no RNG key to its program (a typed
    key costs a Python-side flatten per call); one with dropout passes its key and moves
    the generator as eager mode does."""
    _, _, step = _dropout_step(jdev, 0.0)
    x, y = ember.ones(4, 5, device=jdev), ember.zeros(4, 2, device=jdev)
    f = ember.compile(step)
    for _ in range(3):
        f(x, y)
    assert f._fast.prog.key_in == []
    me, _, eager = _dropout_step(jdev, 0.5)
    mc, _, step = _dropout_step(jdev, 0.5)
    f = ember.compile(step)
    ember.manual_seed(1)
    losses_e = [float(eager(x, y)) for _ in range(4)]
    after_e = float(ember.rand(1, device=jdev))  # the generator's state after the steps
    ember.manual_seed(1)
    losses_c = [float(f(x, y)) for _ in range(4)]
    after_c = float(ember.rand(1, device=jdev))
    assert f._fast.prog.key_in == [0]
    np.testing.assert_allclose(losses_c, losses_e, rtol=1e-5, atol=1e-7)
    assert after_c == after_e


def test_cpu_dispatch_is_synchronous(jdev):
    """Loading the JAX backend turns off JAX's asynchronous CPU dispatch (the handoff to
    XLA's dispatch thread costs as much as a small compiled step) unless
    EMBER_JAX_ASYNC_DISPATCH=1 asks to keep it."""
    import os

    import jax
    want = os.environ.get("EMBER_JAX_ASYNC_DISPATCH", "") in ("1", "true", "True")
    assert bool(jax.config.read("jax_cpu_enable_async_dispatch")) is want


def test_weight_gradient_transposes_kept_as_copies(jdev):
    """The compiled program passes the ``g.T`` of a weight gradient ``g.T @ x`` through an
    optimization barrier on a CPU (XLA would fold it into a slower transposed-operand
    product), and only that transpose: values as ``jax.core.eval_jaxpr`` gives them."""
    import jax
    from jax import lax

    from ember.compiler import _jax as cj

    def f(g, x, w):
        return g.T @ x, x @ w.T, lax.dot_general(g, x, (((0,), (0,)), ((), ())))

    rng = np.random.default_rng(0)
    g, x = rng.standard_normal((6, 3)), rng.standard_normal((6, 4))
    w = rng.standard_normal((5, 4))
    closed = jax.make_jaxpr(f)(g, x, w)
    kept = cj._kept_transposes(closed.jaxpr)
    assert len(kept) == 1  # g.T; not w.T (the right operand), not a dot_general's own dims
    (v,) = kept
    assert v.aval.shape == (3, 6)
    got = jax.jit(lambda *a: cj._eval(jax, closed.jaxpr, closed.consts, list(a), kept))(
        g, x, w)
    text = jax.jit(lambda *a: cj._eval(jax, closed.jaxpr, closed.consts, list(a), kept)
                   ).lower(g, x, w).as_text()
    assert "optimization_barrier" in text
    for a, b in zip(got, jax.core.eval_jaxpr(closed.jaxpr, closed.consts, g, x, w)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_compiled_mlp_step_with_kept_transposes_matches_eager(jdev):
    """A three-layer MLP step compiled (its weight gradients take the kept-transpose
    path) matches eager for several steps, in float64 to 1e-10."""
    def make():
        ember.manual_seed(1)
        model = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(),
                              nn.Linear(5, 3)).to(jdev).double()
        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        x = ember.randn(9, 7, dtype=ember.float64).to(jdev)
        y = ember.randint(0, 3, (9,)).to(jdev)

        return model, _step(opt, lambda: F.cross_entropy(model(x), y))

    m_e, s_e = make()
    m_c, s_c = make()
    s_c = ember.compile(s_c, fullgraph=True)
    for _ in range(4):
        np.testing.assert_allclose(_np(s_c()), _np(s_e()), rtol=1e-10, atol=1e-12)
    for pe, pc in zip(m_e.parameters(), m_c.parameters()):
        np.testing.assert_allclose(_np(pc), _np(pe), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_np(pc.grad), _np(pe.grad), rtol=1e-10, atol=1e-12)
