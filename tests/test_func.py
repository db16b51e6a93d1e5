"""``ember.func`` vs ``torch.func``: grad/grad_and_value/vjp/jvp/jacrev/jacfwd/hessian values
and pytrees (argnums, has_aux, dict arguments), nested transforms, vmap against loops and
``torch.vmap`` (in_dims/out_dims variants, nesting, chunk_size, randomness), functional_call
and stack_module_state (the model-ensembling pattern), and the errors, type and text."""
from __future__ import annotations

import re

import numpy as np
import pytest

import ember

RNG = np.random.default_rng(0)
X = RNG.standard_normal(3)
Y = RNG.standard_normal((2, 3))
XS = RNG.standard_normal((4, 3))
W = RNG.standard_normal((5, 3))


def _t(L, a, dev):
    kw = {"device": dev} if dev else {}
    return L.tensor(a, dtype=L.float64, **kw)


def _np(r):
    if isinstance(r, dict):
        return {k: _np(v) for k, v in r.items()}
    if isinstance(r, (tuple, list)):
        return tuple(_np(e) for e in r)
    if hasattr(r, "detach"):
        return r.detach().cpu().numpy()
    return r


def _same(got, want, tol=1e-9):
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            _same(got[k], want[k], tol)
        return
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _same(g, w, tol)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=tol)


def f_scalar(x, y):
    return (x.sin() * y).sum() + x.pow(2).sum() * y[0, 0]


def f_multi(x, y):
    return (x.exp() * y).sum(0), (x * y).tanh()


def f_aux(x, y):
    z = (x * y).sum()
    return z * z, {"z": z}


def f_dict(p, x):
    return ((x @ p["w"].T).tanh() * p["b"]).sum()


def _params(L, d):
    return {"w": _t(L, W, d), "b": _t(L, W[:, 0], d)}


CASES = {
    "grad": lambda L, d: L.func.grad(f_scalar)(_t(L, X, d), _t(L, Y, d)),
    "grad-argnums-tuple": lambda L, d: L.func.grad(f_scalar, argnums=(0, 1))(
        _t(L, X, d), _t(L, Y, d)),
    "grad-argnums-neg": lambda L, d: L.func.grad(f_scalar, argnums=-1)(_t(L, X, d), _t(L, Y, d)),
    "grad-aux": lambda L, d: L.func.grad(f_aux, argnums=1, has_aux=True)(
        _t(L, X, d), _t(L, Y, d)),
    "grad-dict": lambda L, d: L.func.grad(f_dict)(_params(L, d), _t(L, Y, d)),
    "grad_and_value": lambda L, d: L.func.grad_and_value(f_scalar, argnums=(1, 0))(
        _t(L, X, d), _t(L, Y, d)),
    "grad_and_value-aux": lambda L, d: L.func.grad_and_value(f_aux, has_aux=True)(
        _t(L, X, d), _t(L, Y, d)),
    "grad-of-grad": lambda L, d: L.func.grad(lambda x: L.func.grad(
        lambda y: (y.sin() * y).sum())(x).sum())(_t(L, X, d)),
    "vjp": lambda L, d: (lambda o, fn: (o, fn((_t(L, X, d).exp(), _t(L, Y, d)))))(
        *L.func.vjp(f_multi, _t(L, X, d), _t(L, Y, d))),
    "vjp-aux": lambda L, d: (lambda o, fn, aux: (o, fn(_t(L, 1.5, d)), aux["z"]))(
        *L.func.vjp(f_aux, _t(L, X, d), _t(L, Y, d), has_aux=True)),
    "jvp": lambda L, d: L.func.jvp(f_multi, (_t(L, X, d), _t(L, Y, d)),
                                   (_t(L, X[::-1].copy(), d), _t(L, Y * 2, d))),
    "jvp-aux": lambda L, d: L.func.jvp(lambda x: (x.sin(), x.cos()), (_t(L, X, d),),
                                       (_t(L, X * 0 + 1, d),), has_aux=True),
    "linearize": lambda L, d: (lambda o, fn: (o, fn(_t(L, X[::-1].copy(), d), _t(L, Y * 2, d)),
                                             fn(_t(L, X, d), _t(L, Y, d))))(
        *L.func.linearize(f_multi, _t(L, X, d), _t(L, Y, d))),
    "jacrev": lambda L, d: L.func.jacrev(f_multi, argnums=(0, 1))(_t(L, X, d), _t(L, Y, d)),
    "jacfwd": lambda L, d: L.func.jacfwd(f_multi, argnums=(0, 1))(_t(L, X, d), _t(L, Y, d)),
    "jacrev-dict": lambda L, d: L.func.jacrev(f_dict)(_params(L, d), _t(L, Y, d)),
    "jacfwd-aux": lambda L, d: L.func.jacfwd(lambda x: (x.exp(), x.sum()), has_aux=True)(
        _t(L, X, d)),
    "jacrev-of-jacrev": lambda L, d: L.func.jacrev(L.func.jacrev(lambda x: x.sin() * x[0]))(
        _t(L, X, d)),
    "hessian": lambda L, d: L.func.hessian(f_scalar, argnums=(0, 1))(_t(L, X, d), _t(L, Y, d)),
    "vmap-of-grad": lambda L, d: L.func.vmap(L.func.grad(lambda x: (x.sin() * x).sum()))(
        _t(L, XS, d)),
    "grad-of-vmap": lambda L, d: L.func.grad(lambda x: L.func.vmap(
        lambda r: (r * r).sum())(x).prod())(_t(L, XS, d)),
    "vmap-of-jacrev": lambda L, d: L.func.vmap(L.func.jacrev(lambda x: x.tanh() * x.sum()))(
        _t(L, XS, d)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_transforms_match_torch(name, device, torch):
    got = CASES[name](ember, device)
    want = CASES[name](torch, None)
    _same(_np(got), _np(want))


def test_results_are_detached_unless_an_outer_graph_wants_them(device):
    x = ember.tensor(X, device=device)
    g = ember.func.grad(lambda x: (x ** 3).sum())(x)
    assert not g.requires_grad
    # the caller's autograd sees through a transform (a gradient penalty)
    xr = x.clone().requires_grad_()
    g = ember.func.grad(lambda x: (x ** 3).sum())(xr)
    assert g.requires_grad
    (gx,) = ember.autograd.grad(g.sum(), xr)
    np.testing.assert_allclose(gx.cpu().numpy(), 6 * X, rtol=1e-6)


def test_jacfwd_equals_jacrev_and_autograd_functional(device):
    x = _t(ember, X, device)

    def f(x):
        return ember.cat([x.sin() * x.sum(), (x @ x).reshape(1), x.softmax(0)])

    a = ember.func.jacfwd(f)(x)
    b = ember.func.jacrev(f)(x)
    c = ember.autograd.functional.jacobian(f, x)
    np.testing.assert_allclose(a.cpu().numpy(), b.cpu().numpy(), atol=1e-12)
    np.testing.assert_allclose(a.cpu().numpy(), c.cpu().numpy(), atol=1e-12)


# --- vmap ---------------------------------------------------------------------------------
def _loop(f, *xs):
    return ember.stack([f(*r) for r in zip(*xs)])


VMAPS = {
    "basic": lambda L, d: L.vmap(lambda a, b: a @ b)(_t(L, XS, d), _t(L, XS[::-1].copy(), d)),
    "in_dims-none": lambda L, d: L.func.vmap(lambda a, w: w @ a, in_dims=(0, None))(
        _t(L, XS, d), _t(L, W, d)),
    "in_dims-1": lambda L, d: L.func.vmap(lambda a: a.cumsum(0), in_dims=1)(_t(L, XS, d)),
    "in_dims-neg": lambda L, d: L.func.vmap(lambda a: a * 2, in_dims=-1)(_t(L, XS, d)),
    "in_dims-nested": lambda L, d: L.func.vmap(
        lambda p, s: p[0] * p[1] + s, in_dims=((0, 1), None))(
        (_t(L, XS, d), _t(L, XS.T.copy(), d)), _t(L, 2.0, d)),
    "in_dims-dict": lambda L, d: L.func.vmap(lambda p: p["a"] - p["b"].sum(),
                                             in_dims=({"a": 0, "b": None},))(
        {"a": _t(L, XS, d), "b": _t(L, X, d)}),
    "in_dims-list": lambda L, d: L.func.vmap(lambda p: p[0] @ p[1], in_dims=([0, None],))(
        [_t(L, XS, d), _t(L, X, d)]),
    "return_types": lambda L, d: tuple(L.func.vmap(lambda a: a.max(0))(_t(L, XS, d))),
    "out_dims-1": lambda L, d: L.func.vmap(lambda a: a.exp(), out_dims=1)(_t(L, XS, d)),
    "out_dims-tuple": lambda L, d: L.func.vmap(lambda a: (a.sum(), a * 2, 7)[:2], out_dims=(0, 1))(
        _t(L, XS, d)),
    "out_dims-none": lambda L, d: L.func.vmap(lambda a, w: (a * 2, w.exp()), in_dims=(0, None),
                                              out_dims=(0, None))(_t(L, XS, d), _t(L, W, d)),
    "out_dims-dict": lambda L, d: L.func.vmap(lambda a: {"s": a.sum(), "m": a.max()})(
        _t(L, XS, d)),
    "kwargs-unbatched": lambda L, d: L.func.vmap(lambda a, scale=1.0: a * scale)(
        _t(L, XS, d), scale=_t(L, X, d)),
    "size-0": lambda L, d: L.func.vmap(lambda a, b: (a * b).sum(-1), in_dims=(1, None),
                                       out_dims=0)(_t(L, np.ones((3, 0)), d), _t(L, X, d)),
    "chunk_size": lambda L, d: L.func.vmap(lambda a: a.sin(), chunk_size=3)(_t(L, XS, d)),
    "nested": lambda L, d: L.func.vmap(L.func.vmap(lambda a, b: a * b, in_dims=(0, None)),
                                       in_dims=(None, 0))(_t(L, X, d), _t(L, XS, d)),
}


@pytest.mark.parametrize("name", list(VMAPS))
def test_vmap_matches_torch(name, device, torch):
    _same(_np(VMAPS[name](ember, device)), _np(VMAPS[name](torch, None)))


def test_vmap_equals_a_loop(device):
    xs, ys = _t(ember, XS, device), _t(ember, XS * 3, device)

    def f(a, b):
        return (a.outer(b).softmax(-1) @ b).tanh()

    np.testing.assert_allclose(ember.vmap(f)(xs, ys).cpu().numpy(),
                               _loop(f, xs, ys).cpu().numpy(), atol=1e-12)


def _vmap_error(L, d, kind):
    xs = _t(L, XS, d)
    if kind == "in_dims-type":
        return L.func.vmap(lambda a: a, in_dims=[0])(xs)
    if kind == "no-inputs":
        return L.func.vmap(lambda: 1)()
    if kind == "in_dim-range":
        return L.func.vmap(lambda a: a, in_dims=2)(xs)
    if kind == "in_dim-float":
        return L.func.vmap(lambda a: a, in_dims=(0.5,))(xs)
    if kind == "in_dim-nontensor":
        return L.func.vmap(lambda a, n: a * n, in_dims=(0, 0))(xs, 3)
    if kind == "sizes":
        return L.func.vmap(lambda a, b: a + b)(xs, _t(L, Y, d))
    if kind == "all-none":
        return L.func.vmap(lambda a: a, in_dims=None)(xs)
    if kind == "non-tensor-out":
        return L.func.vmap(lambda a: 3)(xs)
    if kind == "out_dims-type":
        return L.func.vmap(lambda a: a, out_dims="x")(xs)
    if kind == "batched-none-out":
        return L.func.vmap(lambda a: a * 2, out_dims=None)(xs)
    if kind == "randomness-value":
        return L.func.vmap(lambda a: a, randomness="sometimes")(xs)
    if kind == "chunk_size":
        return L.func.vmap(lambda a: a, chunk_size=0)(xs)
    if kind == "random-op":
        kw = {"device": d} if d else {}
        return L.func.vmap(lambda a: a + L.randn(3, dtype=L.float64, **kw))(xs)
    if kind == "jacrev-chunk":
        return L.func.jacrev(lambda a: a, chunk_size=0)(xs)
    if kind == "argnum-range":
        return L.func.grad(lambda a: a.sum(), argnums=3)(xs)
    if kind == "argnum-dup":
        return L.func.grad(lambda a, b: a.sum(), argnums=(0, 0))(xs, xs)
    if kind == "argnum-type":
        return L.func.grad(lambda a: a.sum(), argnums=[0])(xs)
    if kind == "grad-nonscalar":
        return L.func.grad(lambda a: a)(xs)
    if kind == "grad-aux":
        return L.func.grad(lambda a: a.sum(), has_aux=True)(xs)
    if kind == "aux-nontensor":
        return L.func.grad(lambda a: (a.sum(), 3), has_aux=True)(xs.sum())
    if kind == "grad-nontensor-arg":
        return L.func.grad(lambda a: 1.0)(3.0)
    if kind == "jvp-primals":
        return L.func.jvp(lambda a: a, xs, xs)
    if kind == "jvp-structure":
        return L.func.jvp(lambda a, b: a, (xs, xs), (xs,))
    if kind == "jvp-strict":
        return L.func.jvp(lambda a: (a * 2, xs.sum() * 0), (xs,), (xs,), strict=True)
    if kind == "linearize-shape":
        return L.func.linearize(lambda a: a.sin(), xs)[1](xs[0])
    if kind == "functionalize-remove":
        return L.func.functionalize(lambda a: a, remove="views")(xs)
    if kind == "vjp-int-out":
        return L.func.vjp(lambda a: a.argmax(), xs)
    if kind == "vjp-cotangent-structure":
        return L.func.vjp(lambda a: (a, a), xs)[1](xs)
    raise AssertionError(kind)


# where torch's text shows its own TreeSpec repr, the part before it is compared
_SPEC_TEXT = re.compile(r"(has structure|cotangents:|with structure).*", re.S)


@pytest.mark.parametrize("kind", [
    "in_dims-type", "no-inputs", "in_dim-range", "in_dim-float", "in_dim-nontensor", "sizes",
    "all-none", "non-tensor-out", "out_dims-type", "batched-none-out", "randomness-value",
    "chunk_size", "random-op", "jacrev-chunk", "argnum-range", "argnum-dup", "argnum-type",
    "grad-nonscalar", "grad-aux", "aux-nontensor", "grad-nontensor-arg", "jvp-primals",
    "jvp-structure", "jvp-strict", "linearize-shape", "functionalize-remove",
    "vjp-int-out", "vjp-cotangent-structure"])
def test_errors_match_torch(kind, device, oracle_error):
    want = oracle_error(lambda L, d: _vmap_error(L, d, kind))
    with pytest.raises(type(want)) as got:
        _vmap_error(ember, device, kind)
    assert _SPEC_TEXT.sub("", str(got.value)) == _SPEC_TEXT.sub("", str(want))


def test_vmap_randomness_modes(device):
    xs = ember.zeros(4, 3, device=device)
    same = ember.func.vmap(lambda a: a + ember.rand(3, device=device), randomness="same")(xs)
    assert bool((same == same[0]).all())
    diff = ember.func.vmap(lambda a: a + ember.rand(3, device=device),
                           randomness="different")(xs)
    assert not bool((diff == diff[0]).all())
    # "error" leaves the generator where it was
    state = ember.get_rng_state()
    with pytest.raises(RuntimeError):
        ember.func.vmap(lambda a: a + ember.rand(3, device=device))(xs)
    assert bool((ember.get_rng_state() == state).all())


# --- functional_call, stack_module_state ---------------------------------------------------
def _mlp(L, d, seed):
    r = np.random.default_rng(seed)
    m = L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 2)).double()
    with L.no_grad():
        for p in m.parameters():
            p.copy_(L.tensor(r.standard_normal(tuple(p.shape))))
    return m.to(d) if d else m


def test_model_ensembling_matches_torch(device, torch):
    def run(L, d):
        models = [_mlp(L, d, s) for s in range(3)]
        params, buffers = L.func.stack_module_state(models)
        base = _mlp(L, d, 9)

        def call(p, b, x):
            return L.func.functional_call(base, (p, b), (x,))

        x = _t(L, XS, d)
        out = L.vmap(call, in_dims=(0, 0, None))(params, buffers, x)
        per = L.stack([m(x) for m in models])
        loss = out.pow(2).sum()
        grads = L.autograd.grad(loss, list(params.values()))
        return out, per, tuple(grads), params["0.weight"].requires_grad
    got, want = run(ember, device), run(torch, None)
    np.testing.assert_allclose(_np(got[0]), _np(got[1]), atol=1e-12)  # vmap == the loop
    _same(_np(got[:3]), _np(want[:3]))
    assert got[3] is want[3] is True


def test_per_sample_gradients_match_torch(device, torch):
    """PyTorch's per-sample-gradients tutorial: vmap(grad(loss of functional_call))."""
    def run(L, d):
        model = _mlp(L, d, 2)
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            out = L.func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
            return L.nn.functional.cross_entropy(out, target.unsqueeze(0))

        kw = {"device": d} if d else {}
        targets = L.tensor([0, 1, 1, 0], **kw)
        grads = L.func.vmap(L.func.grad(compute_loss), in_dims=(None, None, 0, 0))(
            params, buffers, _t(L, XS, d), targets)
        return grads
    _same(_np(run(ember, device)), _np(run(torch, None)))


def test_functional_call_matches_torch(device, torch):
    def run(L, d):
        m = _mlp(L, d, 0)
        bn = L.nn.BatchNorm1d(2).double()
        net = L.nn.Sequential(m, bn)
        if d:
            net = net.to(d)
        x = _t(L, XS, d)
        new = {k: v * 2 for k, v in net.named_parameters()}
        out = L.func.functional_call(net, new, x)
        kept = net(x)  # the module is unchanged afterwards
        part = L.func.functional_call(net, ({"0.0.weight": new["0.0.weight"]},
                                            {"1.running_mean": _t(L, np.ones(2), d)}), (x,))
        return out, kept, part, net[1].running_mean
    _same(_np(run(ember, device)), _np(run(torch, None)))


def test_functional_call_grad_wrt_params(device, torch):
    def run(L, d):
        m = _mlp(L, d, 1)
        params = {k: v.detach() for k, v in m.named_parameters()}
        x = _t(L, XS, d)
        return L.func.grad(lambda p: L.func.functional_call(m, p, (x,)).pow(2).sum())(params)
    _same(_np(run(ember, device)), _np(run(torch, None)))


def test_functional_call_extra_names_and_rebinding(device, torch):
    def run(L, d):
        class Counter(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("n", _t(L, 0.0, d))

            def forward(self, x):
                self.n = self.n + 1  # rebinding: the caller's dict sees the new value
                return x * self.n + getattr(self, "extra", 0)

        m = Counter()
        given = {"n": _t(L, 5.0, d), "extra": _t(L, 2.0, d)}
        out = L.func.functional_call(m, given, _t(L, X, d))
        return out, given["n"], m.n, hasattr(m, "extra")
    got, want = run(ember, device), run(torch, None)
    _same(_np(got[:3]), _np(want[:3]))
    assert got[3] is want[3] is False


class _Tied:
    @staticmethod
    def make(L):
        class Tied(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = L.nn.Linear(2, 2, bias=False)
                self.b = L.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight

            def forward(self, x):
                return self.b(self.a(x))
        return Tied()


def _fc_error(L, d, kind):
    m = _Tied.make(L)
    x = L.ones(1, 2)
    w = L.ones(2, 2)
    if kind == "tied":
        return L.func.functional_call(m, {"a.weight": w, "b.weight": w * 2}, x)
    if kind == "repeated":
        return L.func.functional_call(m, ({"a.weight": w}, {"a.weight": w}), x)
    if kind == "not-dict":
        return L.func.functional_call(m, ({"a.weight": w}, 3), x)
    if kind == "bad-type":
        return L.func.functional_call(m, 3, x)
    if kind == "strict":
        return L.func.functional_call(m, {"a.weight": w, "c": w}, x, tie_weights=False,
                                      strict=True)
    if kind == "stack-empty":
        return L.func.stack_module_state([])
    if kind == "stack-mode":
        return L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Linear(2, 2).eval()])
    if kind == "stack-class":
        return L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Tanh()])
    if kind == "stack-requires-grad":
        a, b = L.nn.Linear(2, 2), L.nn.Linear(2, 2)
        b.weight.requires_grad_(False)
        return L.func.stack_module_state([a, b])
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["tied", "repeated", "not-dict", "bad-type", "strict",
                                  "stack-empty", "stack-mode", "stack-class",
                                  "stack-requires-grad"])
def test_functional_call_errors_match_torch(kind, device, oracle_error):
    want = oracle_error(lambda L, d: _fc_error(L, d, kind))
    with pytest.raises(type(want)) as got:
        _fc_error(ember, device, kind)
    assert str(got.value) == str(want)


def test_functional_call_tie_weights(device, torch):
    def run(L):
        m = _Tied.make(L)
        with L.no_grad():
            m.a.weight.copy_(L.tensor([[0.5, -1.0], [2.0, 0.25]]))
        x = L.ones(1, 2)
        w = L.tensor([[1.0, 2.0], [3.0, 4.0]])
        return (L.func.functional_call(m, {"a.weight": w}, x),
                L.func.functional_call(m, {"a.weight": w}, x, tie_weights=False),
                L.func.functional_call(m, {"a.weight": w, "b.weight": w}, x))
    _same(_np(run(ember)), _np(run(torch)))


def test_functionalize_batch_norm_and_debug_unwrap(device, torch):
    def run(L, d):
        def f(a):
            b = a.clone()
            b.add_(1)
            a.mul_(2)  # an input mutation PyTorch applies back
            return b.view(-1), b.t()
        a = _t(L, Y, d)
        outs = L.func.functionalize(f, remove="mutations_and_views")(a)
        bn = L.func.replace_all_batch_norm_modules_(L.nn.Sequential(L.nn.BatchNorm1d(3)))
        return outs, a, bn[0].running_mean is None, bn[0].track_running_stats
    got, want = run(ember, device), run(torch, None)
    _same(_np(got[:2]), _np(want[:2]))
    assert got[0][0]._base is None and got[2:] == want[2:]
    x = ember.ones(2)
    assert ember.func.debug_unwrap(x) is x


def test_torch_func_resolves_under_ember_run():
    from ember._cli.run import TorchAlias
    spec = TorchAlias().find_spec("torch.func")
    assert spec is not None and spec.loader.module is ember.func
    assert ember.vmap is ember.func.vmap
