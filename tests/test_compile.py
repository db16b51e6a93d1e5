"""``ember.compile``: a compiled step gives eager mode's results (losses, parameters,
optimizer state, BatchNorm running stats, RNG state), guards retrace, graph breaks fall back
to eager with one warning (or raise under ``fullgraph=True``), and a traced step never
reads a value on the host.

The JAX tests run on whichever device JAX serves ("cpu" under ``EMBER_PROVIDERS=cpu=jax``,
else "jax") and skip without jax. XLA compiles are slow on small machines, so the models
are tiny and each test compiles few programs.
"""
from __future__ import annotations

import warnings

import pytest

import ember
import ember.nn as nn
from ember.compiler import Unsupported


def _served_by(dev: str) -> str | None:
    try:
        return ember.empty(0, device=dev)._device._be.name
    except Exception:  # noqa: BLE001 - not available here
        return None


@pytest.fixture(scope="module")
def jdev() -> str:
    """A device JAX serves, or skip."""
    pytest.importorskip("jax")
    if _served_by("cpu") == "jax":
        return "cpu"
    if _served_by("jax") == "jax":
        return "jax"
    pytest.skip("the JAX backend is not available")


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def _close(a, b, tol):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert float((a - b).abs().max()) <= tol if a.numel() else True


def _train(make_model, make_opt, loss_fn, batches, compiled, *, fullgraph=True, decay=False):
    """Losses and the final model/optimizer after a step per batch."""
    model = make_model()
    opt = make_opt(model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = ember.compile(step, fullgraph=fullgraph) if compiled else step
    sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95) if decay else None
    losses = []
    for x, y in batches:
        losses.append(f(x, y).item())
        if sched is not None:
            sched.step()  # the learning rate is a program input: no retrace
    return losses, model, opt, f


def _batches(dev, n, shape, classes=None, dtype=ember.float32, seed=1):
    g = ember.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        x = ember.randn(*shape, generator=g, dtype=dtype).to(dev)
        if classes:
            y = ember.randint(0, classes, (shape[0],), generator=g).to(dev)
        else:
            y = ember.randn(shape[0], 3, generator=g, dtype=dtype).to(dev)
        out.append((x, y))
    return out


def _mlp(dev, dtype, *extra):
    """A factory of identical small MLPs (``extra``: factories of layers after the ReLU)."""
    def make():
        ember.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), *[e() for e in extra],
                             nn.Linear(8, 3)).to(dev, dtype)
    return make


@pytest.mark.parametrize("opt_name,dtype,tol", [("SGD", ember.float64, 1e-10),
                                                ("Adam", ember.float32, 1e-5)])
def test_step_matches_eager(jdev, opt_name, dtype, tol):
    """20 steps: the same losses and parameters as eager, SGD (momentum) in float64,
    Adam in float32, the learning rate decaying every step. fullgraph=True: no host read (bool()/item() on a tracer) anywhere
    in the step, CrossEntropyLoss's target check and Adam's step count included."""
    kw = {"momentum": 0.9} if opt_name == "SGD" else {}

    def make_opt(ps):
        return getattr(ember.optim, opt_name)(ps, lr=0.05, **kw)

    batches = _batches(jdev, 20, (4, 6), classes=3, dtype=dtype)
    le, me, oe, _ = _train(_mlp(jdev, dtype), make_opt, nn.CrossEntropyLoss(), batches, False,
                           decay=True)
    lc, mc, oc, f = _train(_mlp(jdev, dtype), make_opt, nn.CrossEntropyLoss(), batches, True,
                           decay=True)
    assert max(abs(a - b) for a, b in zip(le, lc)) <= tol
    for a, b in zip(_params(me), _params(mc)):
        _close(a, b, tol)
        assert b.device == a.device
    for pe, pc in zip(me.parameters(), mc.parameters()):
        _close(pe.grad, pc.grad, tol)
        for k, v in oe.state[pe].items():
            _close(v, oc.state[pc][k], tol)
    # one steady-state program (the first call, which creates the optimizer's state and
    # the gradients, runs eagerly)
    assert sum(v != "eager" for v in f._cache.values()) == 1


def test_dropout_batchnorm_rng_and_running_stats(jdev):
    """Dropout draws from the generator inside the program and BatchNorm updates its
    running stats: both move exactly as in eager mode, over 20 steps."""
    make = _mlp(jdev, ember.float64, lambda: nn.BatchNorm1d(8), lambda: nn.Dropout(0.3))

    def make_opt(ps):
        return ember.optim.SGD(ps, lr=0.1)

    batches = _batches(jdev, 20, (4, 6), dtype=ember.float64)
    ember.manual_seed(5)
    le, me, _, _ = _train(make, make_opt, nn.MSELoss(), batches, False)
    next_e = ember.rand(3, device=jdev)
    ember.manual_seed(5)
    lc, mc, _, _ = _train(make, make_opt, nn.MSELoss(), batches, True)
    next_c = ember.rand(3, device=jdev)
    assert max(abs(a - b) for a, b in zip(le, lc)) <= 1e-10
    for a, b in zip(_params(me), _params(mc)):
        _close(a, b, 1e-10)
    for a, b in zip(me.buffers(), mc.buffers()):
        _close(a, b, 1e-10)
    assert int(mc[2].num_batches_tracked) == 20
    _close(next_e, next_c, 0.0)  # the generator advanced by the same draws


def test_lstm_step(jdev):
    """An LSTM (Python loop over time, unrolled into the program), 20 steps."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    def make():
        ember.manual_seed(0)
        return Net().to(jdev)

    def make_opt(ps):
        return ember.optim.SGD(ps, lr=0.1)

    g = ember.Generator().manual_seed(2)
    batches = [(ember.randn(2, 3, 3, generator=g).to(jdev),
                ember.randn(2, 3, generator=g).to(jdev)) for _ in range(20)]
    le, me, _, _ = _train(make, make_opt, nn.MSELoss(), batches, False)
    lc, mc, _, _ = _train(make, make_opt, nn.MSELoss(), batches, True)
    assert max(abs(a - b) for a, b in zip(le, lc)) <= 1e-5
    for a, b in zip(_params(me), _params(mc)):
        _close(a, b, 1e-5)


def test_compiled_forward_supports_backward(jdev):
    """A compiled module's output feeds eager autograd: one CompiledFunctionBackward node
    runs ember's traced backward; gradients reach the parameters and the input."""
    make = _mlp(jdev, ember.float64)
    me, mc = make(), make()
    cm = ember.compile(mc)
    assert isinstance(cm, ember.compiler.OptimizedModule)
    assert list(cm.state_dict())[0].startswith("_orig_mod.")
    x = ember.randn(4, 6, dtype=ember.float64, device=jdev)
    xe, xc = x.clone().requires_grad_(), x.clone().requires_grad_()
    for _ in range(2):  # the second call reuses the program (gradients accumulate)
        ye, yc = me(xe), cm(xc)
        assert yc.grad_fn.name() == "CompiledFunctionBackward"
        _close(ye.detach(), yc.detach(), 1e-12)
        (ye.sin().sum()).backward()
        (yc.sin().sum()).backward()
    for pe, pc in zip(me.parameters(), mc.parameters()):
        _close(pe.grad, pc.grad, 1e-10)
    _close(xe.grad, xc.grad, 1e-10)
    with ember.no_grad():  # grad mode is guarded: an inference program, no node
        out = cm(x)
    assert out.grad_fn is None and not out.requires_grad
    # one program with grad mode on, one without (.grad is not state of a forward)
    assert len(cm._compiled._cache) == 2


def test_guards_retrace(jdev):
    """A new input shape, dtype, requires_grad, train/eval mode or a replaced parameter
    gets its own program; a known case reuses its program."""
    model = _mlp(jdev, ember.float32)()
    cm = ember.compile(model)
    cache = cm._compiled._cache
    with ember.no_grad():
        cm(ember.randn(2, 6, device=jdev))
        cm(ember.randn(2, 6, device=jdev))
        assert len(cache) == 1
        cm(ember.randn(3, 6, device=jdev))
        assert len(cache) == 2
        cm(ember.randn(3, 6, device=jdev, dtype=ember.float64).float())
        assert len(cache) == 2
        cm.eval()
        cm(ember.randn(3, 6, device=jdev))
        assert len(cache) == 3
        model[0].weight = nn.Parameter(ember.zeros(8, 6, device=jdev))
        out = cm(ember.randn(3, 6, device=jdev))
        assert len(cache) == 4
    expect = model(ember.ones(3, 6, device=jdev))
    _close(cm(ember.ones(3, 6, device=jdev)).detach(), expect.detach(), 1e-6)
    assert out.shape == (3, 3)
    n = len(cache)
    with ember.no_grad():  # written outside between calls: the next call sees it
        model[2].bias.add_(1.0)
    _close(cm(ember.ones(3, 6, device=jdev)).detach(), expect.detach() + 1, 1e-6)
    assert len(cache) == n


def _step_with(model, op):
    def step(x):
        y = model(x)
        op(y)
        return y.sum()
    return step


@pytest.mark.parametrize("op,name", [
    (lambda y: y.sum().item(), "Tensor.item()"),
    (lambda y: bool(y.sum() > 0), "bool()"),
    (lambda y: y[y > 0], "indexing"),
    (lambda y: print(y), "print"),
])
def test_graph_break_falls_back_and_warns_once(jdev, op, name):
    model = _mlp(jdev, ember.float64)()
    f = ember.compile(_step_with(model, op))
    x = ember.randn(4, 6, device=jdev, dtype=ember.float64)
    with pytest.warns(UserWarning, match=f"graph break in .*step.* at {name}"[:40]) as rec, \
            ember.no_grad():
        got = [f(x) for _ in range(3)]
    assert sum("graph break" in str(w.message) for w in rec) == 1
    with ember.no_grad():
        _close(got[-1], model(x).sum(), 0.0)


def test_fullgraph_raises_on_break(jdev):
    model = _mlp(jdev, ember.float32)()
    f = ember.compile(_step_with(model, lambda y: y.sum().item()), fullgraph=True)
    w = model[0].weight.detach().clone()
    with pytest.raises(Unsupported, match=r"Tensor\.item\(\)"):
        f(ember.randn(2, 6, device=jdev))
    _close(model[0].weight.detach(), w, 0.0)  # the failed trace left no tracer behind
    model(ember.randn(2, 6, device=jdev)).sum().item()


def test_traced_nll_loss_bad_target_is_nan(jdev):
    """Documented effect: under compile, nll_loss cannot raise on an out-of-range target
    (no host read), so that loss is NaN instead."""
    f = ember.compile(nn.functional.cross_entropy, fullgraph=True)
    x = ember.randn(3, 4, device=jdev)
    assert ember.isnan(f(x, ember.tensor([0, 9, 1], device=jdev))).item()
    good = ember.tensor([0, 3, 1], device=jdev)
    _close(f(x, good), nn.functional.cross_entropy(x, good), 1e-6)


def test_module_compile_in_place(jdev):
    model = _mlp(jdev, ember.float32)()
    x = ember.randn(2, 6, device=jdev)
    expect = model(x)
    model.compile()
    got = model(x)
    assert got.grad_fn.name() == "CompiledFunctionBackward"
    _close(got.detach(), expect.detach(), 1e-6)


def test_numpy_backend_returns_function_unchanged():
    if _served_by("cpu") != "numpy":
        pytest.skip("needs numpy serving cpu")
    model = nn.Linear(2, 2)

    def step(x):
        return model(x).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.compile(model) is model
        assert ember.compile(step) is step
        assert ember.compile(mode="reduce-overhead")(step) is step
        model.compile()
        assert "_compiled_call_impl" not in model.__dict__


def test_backend_jax_moves_numpy_model(jdev):
    if _served_by("cpu") != "numpy":
        pytest.skip("needs numpy serving cpu")
    ember.manual_seed(0)
    model = nn.Linear(3, 2)
    ref = nn.Linear(3, 2)
    ref.load_state_dict(model.state_dict())
    cm = ember.compile(model, backend="jax")
    assert model.weight.device.type == "jax"
    x = ember.randn(4, 3)
    y = cm(x)
    assert y.device.type == "cpu"
    y.sum().backward()
    ref(x).sum().backward()
    _close(model.weight.grad.cpu(), ref.weight.grad, 1e-6)


def test_argument_errors():
    with pytest.raises(RuntimeError, match="Either mode or options"):
        ember.compile(lambda x: x, mode="default", options={})
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        ember.compile(lambda x: x, mode="fast")
    with pytest.raises(RuntimeError, match="Invalid backend"):
        ember.compile(lambda x: x, backend="nope")
    with pytest.raises(AssertionError, match="A callable function is expected"):
        ember.compile(3)
    f = ember.compile(disable=True)(len)
    assert f is len
    assert not ember.compiler.is_compiling()


# --- the CUDA-graph path's bookkeeping, with a fake cupy (no GPU needed) --------------------
class _FakeStream:
    def __init__(self, fail_end=False):
        self.fail_end = fail_end
        self.captures = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def record(self):
        return object()

    def wait_event(self, event):
        pass

    def begin_capture(self, mode=None):
        self.captures += 1
        if self.fail_end:  # (before the step runs: numpy would run it, not record it)
            raise RuntimeError("cudaErrorStreamCaptureUnsupported: operation not permitted "
                               "when stream is capturing")

    def end_capture(self):
        return object()


class _FakeCupy:
    """What GraphRunner uses of cupy, over numpy arrays: capture "records" by running."""

    def __init__(self, fail_end=False):
        import contextlib
        import types

        import numpy as np
        self.stream = _FakeStream(fail_end)
        self.empty_like = np.empty_like
        self.cuda = types.SimpleNamespace(
            MemoryPool=lambda: types.SimpleNamespace(malloc=None),
            Stream=lambda non_blocking=False: self.stream,
            get_current_stream=lambda: self.stream,
            using_allocator=lambda alloc=None: contextlib.nullcontext(),
            runtime=types.SimpleNamespace(streamCaptureModeRelaxed=1))


def _graph_call(runner, fn_args):
    """What CompiledCallable.__call__ does before handing a CuPy call to the runner."""
    from ember.compiler import _compiled, _slots
    owner = runner.owner
    leaves, akey, rebuild = _compiled._flatten_args(fn_args, {})
    snap = _slots.gather(owner._roots, owner._grads)
    return runner(snap, leaves, akey, rebuild, fn_args, {})


def _graph_runner(fn, fail_end=False, fullgraph=False):
    from ember.compiler._compiled import CompiledCallable
    from ember.compiler._cuda_graph import GraphRunner
    from ember.compiler._discover import discover
    owner = CompiledCallable(fn, fullgraph=fullgraph, roots=discover(fn))
    return GraphRunner(owner, cp=_FakeCupy(fail_end))


def test_cuda_graph_warms_up_then_falls_back_once_on_failed_capture():
    model = nn.Linear(3, 2, dtype=ember.float64)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).pow(2).sum()
        loss.backward()
        opt.step()
        return loss

    ref = nn.Linear(3, 2, dtype=ember.float64)
    ref.load_state_dict(model.state_dict())
    ropt = ember.optim.SGD(ref.parameters(), lr=0.1)
    runner = _graph_runner(step, fail_end=True)
    x = ember.randn(4, 3, dtype=ember.float64)
    with pytest.warns(UserWarning, match="cannot capture .*step as a CUDA graph") as rec:
        for _ in range(5):
            got = _graph_call(runner, (x,))
            ropt.zero_grad()
            want = ref(x).pow(2).sum()
            want.backward()
            ropt.step()
            assert abs(got.item() - want.item()) < 1e-12
    assert sum("CUDA graph" in str(w.message) for w in rec) == 1
    from ember.compiler._cuda_graph import WARMUP
    assert runner.cp.stream.captures == 1  # after the warm-up calls, one try, then eager
    assert list(runner.graphs.values()) == ["eager"] and WARMUP == 2
    _close(model.weight.detach(), ref.weight.detach(), 1e-12)


def test_cuda_graph_refuses_random_draws_and_print():
    drop = nn.Dropout(0.5)
    runner = _graph_runner(lambda x: drop(x) * 2)
    x = ember.ones(8)
    with pytest.warns(UserWarning, match="random number generation"):
        for _ in range(3):
            _graph_call(runner, (x,))
    noisy = _graph_runner(lambda x: print(x) or x + 1, fullgraph=True)
    for _ in range(2):
        _graph_call(noisy, (x,))
    with pytest.raises(Unsupported, match="at print"):
        _graph_call(noisy, (x,))
