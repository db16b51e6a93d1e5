"""``ember.autograd.forward_ad`` vs ``torch.autograd.forward_ad``: tangents through the rule
table's ops and the generic (double-vjp) ones, forward-mode Jacobians equal to reverse-mode
and to torch's, forward-over-reverse, in-place ops, a small network, the level rules and
errors (type and text), and that code outside a level is left alone."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as fwad
from ember.autograd import graph

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4))
T = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
W = RNG.standard_normal((5, 4))
IMG = RNG.standard_normal((1, 2, 5, 5))
K = RNG.standard_normal((3, 2, 3, 3))


def _t(L, a, d):
    kw = {"device": d} if d else {}
    return L.tensor(a, dtype=L.float64, **kw)


# one function per op family: the rule table's (elementwise, symmetric, reshape-like) and the
# generic rule's (reductions, products, indexing, joins, conv, ...)
OPS = {
    "add-sub-mul-div": lambda L, x, y: (x + 2 * y - x * y) / (y.abs() + 1) - 3 / (x.abs() + 1),
    "add-alpha": lambda L, x, y: L.add(x, y, alpha=2.5) - L.sub(y, x, alpha=0.5),
    "neg-pow": lambda L, x, y: -(x.abs() + 1) ** y + x ** 3 + 2 ** x,
    "exp-log": lambda L, x, y: x.exp() * (y.abs() + 1).log() + x.expm1() + x.abs().log1p(),
    "trig": lambda L, x, y: x.sin() * y.cos() + x.tanh() + (x / 4).tan(),
    "sigmoid-relu": lambda L, x, y: x.sigmoid() + x.relu() * y + L.nn.functional.gelu(x),
    "sqrt-rsqrt": lambda L, x, y: (x.abs() + 1).sqrt() + (y.abs() + 1).rsqrt() + x.reciprocal(),
    "where-max-clamp": lambda L, x, y: L.where(x > 0, x, y) + L.maximum(x, y) + x.clamp(-0.5, 0.5),
    "softmax": lambda L, x, y: x.softmax(-1) * y,
    "log_softmax": lambda L, x, y: x.log_softmax(0),
    "broadcast": lambda L, x, y: x * y[0] + x[:, :1] / (y.abs() + 1),
    "matmul": lambda L, x, y: (x @ y.T) @ L.mm(x, y.T) @ y + L.bmm(x[None], y.T[None])[0] @ y,
    "linear": lambda L, x, y: L.nn.functional.linear(x, y[:2], y[2, :2]),
    "sum-mean": lambda L, x, y: x.sum(1) * y.mean() + x.sum() + (x * y).mean(0).sum(),
    "view-reshape": lambda L, x, y: x.view(12).reshape(2, 6) + y.reshape(2, 6),
    "transpose-permute": lambda L, x, y: x.t() + x.transpose(0, 1) * y.permute(1, 0),
    "squeeze-expand": lambda L, x, y: x[None].squeeze(0).unsqueeze(1).expand(3, 2, 4) * y[:, None],
    "index": lambda L, x, y: x[1:, ::2] * y[0, :2] + x[[0, 2]].sum(),
    "cat-stack": lambda L, x, y: L.cat([x, y * x], 0) + L.stack([x, y], 0).sum(0).repeat(2, 1),
    "clone-contiguous": lambda L, x, y: x.clone() + x.t().contiguous().t() * y,
    "max-norm": lambda L, x, y: x.max(1).values + x.norm(dim=0).sum() + x.amax(0).sum(),
    "to": lambda L, x, y: x.to(L.float32).to(L.float64) * y,
}


def _tangent(L, f, d, *, x=X, t=T):
    fw = L.autograd.forward_ad
    with fw.dual_level():
        dual = fw.make_dual(_t(L, x, d), _t(L, t, d))
        out = f(L, dual, _t(L, Y, d))
        primal, tangent = fw.unpack_dual(out)
    return primal.detach().cpu().numpy(), tangent.cpu().numpy()


@pytest.mark.parametrize("name", list(OPS))
def test_tangents_match_torch(name, device, torch):
    got = _tangent(ember, OPS[name], device)
    want = _tangent(torch, OPS[name], None)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-7, atol=1e-10)


def test_conv2d_and_a_network_match_torch(device, torch):
    def run(L, d):
        fw = L.autograd.forward_ad
        with fw.dual_level():
            img = fw.make_dual(_t(L, IMG, d), _t(L, IMG[..., ::-1].copy(), d))
            h = L.nn.functional.conv2d(img, _t(L, K, d), padding=1).relu()
            h = L.nn.functional.max_pool2d(h, 2).flatten(1)
            out = L.nn.functional.log_softmax(h @ _t(L, np.ones((12, 3)), d), -1)
            return fw.unpack_dual(out).tangent.cpu().numpy()
    np.testing.assert_allclose(run(ember, device), run(torch, None), rtol=1e-7, atol=1e-10)


def _jacfwd(f, x):
    """The Jacobian column by column, one dual per input element."""
    cols = []
    for j in range(x.numel()):
        e = ember.zeros(x.numel(), dtype=x.dtype, device=x.device)
        e[j] = 1
        with fwad.dual_level():
            cols.append(fwad.unpack_dual(f(fwad.make_dual(x, e.view(x.shape)))).tangent)
    return ember.stack(cols, -1).reshape(tuple(cols[0].shape) + tuple(x.shape))


def test_forward_jacobian_equals_reverse_and_torch(device, torch):
    def f(x):
        return (x.softmax(-1) @ x.T).tanh().sum(0) * x[0, 0]

    x = _t(ember, X, device)
    fwd = _jacfwd(f, x).cpu().numpy()
    rev = ember.func.jacrev(f)(x).cpu().numpy()
    want = torch.func.jacfwd(f)(_t(torch, X, None)).numpy()
    np.testing.assert_allclose(fwd, rev, atol=1e-12)
    np.testing.assert_allclose(fwd, want, rtol=1e-7, atol=1e-12)


def test_forward_over_reverse_gives_hvp(device, torch):
    def run(L, d):
        fw = L.autograd.forward_ad
        x = _t(L, X, d).requires_grad_()
        with fw.dual_level():
            dual = fw.make_dual(x, _t(L, T, d))
            (g,) = L.autograd.grad((dual.sin() * dual).pow(2).sum(), dual, create_graph=True)
            return fw.unpack_dual(g).tangent.detach().cpu().numpy()
    np.testing.assert_allclose(run(ember, device), run(torch, None), rtol=1e-7, atol=1e-10)


def test_inplace_ops_carry_tangents(device, torch):
    def run(L, d):
        fw = L.autograd.forward_ad
        with fw.dual_level():
            x = fw.make_dual(_t(L, X, d), _t(L, T, d))
            y = x * 2
            y.mul_(x).add_(1).exp_()
            x.mul_(3)  # the dual itself
            z = x * 1
            z[0] = 5  # writes through views reach the base's tangent
            z[1].mul_(x[0])
            z.t()[2:].add_(x.t()[:2] * 2)
            return (fw.unpack_dual(y).tangent.cpu().numpy(),
                    fw.unpack_dual(x * y).tangent.cpu().numpy(),
                    fw.unpack_dual(z).tangent.cpu().numpy())
    for got, want in zip(run(ember, device), run(torch, None)):
        np.testing.assert_allclose(got, want, rtol=1e-7)


def test_levels_and_unpack(device):
    x = _t(ember, X, device)
    assert fwad.unpack_dual(x) == (x, None)
    assert isinstance(fwad.unpack_dual(x), fwad.UnpackedDualTensor)
    with fwad.dual_level() as level:
        assert level == 0
        d = fwad.make_dual(x, _t(ember, T, device))
        y = d * 3
        p, t = fwad.unpack_dual(y)
        assert not p.requires_grad  # the primal did not require grad
        np.testing.assert_allclose(t.cpu().numpy(), 3 * T)
        assert fwad.unpack_dual(x).tangent is None
        assert fwad.unpack_dual(y.detach()).tangent is None
    assert fwad.unpack_dual(y).tangent is None  # gone with the level
    assert graph.FORWARD is None  # ordinary code pays nothing again
    # a primal that requires grad keeps its graph
    xr = x.clone().requires_grad_()
    with fwad.dual_level():
        p, t = fwad.unpack_dual(fwad.make_dual(xr, _t(ember, T, device)) * 2)
        assert p.requires_grad
    fwad.enter_dual_level()
    fwad.exit_dual_level()


def _level_error(L, d, kind):
    fw = L.autograd.forward_ad
    x = _t(L, X, d)
    if kind == "nested":
        with fw.dual_level():
            with fw.dual_level():
                pass
    elif kind == "no-level":
        fw.make_dual(x, x)
    elif kind == "exit-none":
        fw.exit_dual_level()
    elif kind == "exit-wrong":
        fw.enter_dual_level()
        try:
            fw.exit_dual_level(level=1)
        finally:
            fw.exit_dual_level()
    else:
        with fw.dual_level():
            if kind == "size":
                fw.make_dual(x, x[0])
            elif kind == "int-primal":
                fw.make_dual(x.long(), x)
            elif kind == "int-tangent":
                fw.make_dual(x, x.long())
            elif kind == "bad-level":
                fw.make_dual(x, x, level=3)


@pytest.mark.parametrize("kind", ["nested", "no-level", "exit-none", "exit-wrong", "size",
                                  "int-primal", "int-tangent", "bad-level"])
def test_level_errors_match_torch(kind, device, oracle_error):
    want = oracle_error(lambda L, d: _level_error(L, d, kind))
    with pytest.raises(type(want)) as got:
        _level_error(ember, device, kind)
    assert str(got.value) == str(want)
    assert fwad._current_level == -1 and graph.FORWARD is None
