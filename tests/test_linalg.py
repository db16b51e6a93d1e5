"""Linear algebra beyond the op table: PyTorch's error types and messages (matmul's come
from the kernel PyTorch dispatches to), grad_fn names, einsum's rules and higher-order
gradients, and einsum's host fallback for namespaces without ``einsum``."""
from __future__ import annotations

import types

import ember
import numpy as np
import pytest
from test_shape import _err  # (type name, message) of the exception fn(lib) raises


def Z(lib, *s, dt=None, grad=False):
    return lib.zeros(*s, dtype=getattr(lib, dt) if dt else None, requires_grad=grad)


MATMUL_SHAPES = [((3,), (2,)), ((2, 3), (4,)), ((3,), (2, 3)), ((2, 3), (2, 3)),
                 ((2, 2, 3), (4,)), ((2, 2, 3), (4, 5)), ((2, 3), (4, 2, 5)),
                 ((5,), (4, 2, 3)), ((3, 2, 3), (2, 4, 5)), ((3, 1, 2, 3), (2, 4, 5)),
                 ((2, 3, 4), (2, 3, 4)), ((0, 3), (4, 5))]


@pytest.mark.parametrize("grad", [False, True], ids=["nograd", "grad"])
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_shape_errors_match_torch(sa, sb, grad, torch):
    fn = lambda lib: Z(lib, *sa, grad=grad) @ Z(lib, *sb)
    expected = _err(fn, torch)
    assert expected is not None
    assert _err(fn, ember) == expected


DTYPE_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 2)),
                ((2, 2, 3), (3, 2)), ((2, 2, 3), (3,)), ((3,), (2, 3, 2)),
                ((2, 2, 3), (2, 3, 2))]


@pytest.mark.parametrize("sa,sb", [
    # matrix @ vector goes through addmv, whose dtype message changed in torch 2.13
    pytest.param(a, b, marks=pytest.mark.torch_exact) if len(a) > 1 and len(b) == 1 else (a, b)
    for a, b in DTYPE_SHAPES], ids=[f"{a}@{b}" for a, b in DTYPE_SHAPES])
def test_matmul_dtype_and_bool_errors_match_torch(sa, sb, torch):
    for fn in (lambda lib: Z(lib, *sa) @ Z(lib, *sb, dt="float64"),
               lambda lib: Z(lib, *sa, dt="bool") @ Z(lib, *sb, dt="bool")):
        expected = _err(fn, torch)
        assert expected is not None
        assert _err(fn, ember) == expected


def _release_specific(fn):
    """Marks a case whose message (addmv's dtype check) changed in torch 2.13: before it,
    "expected scalar type Float but found Double", and addmv accepted a float64 input."""
    fn.torch_exact = True
    return fn


ERRORS = [
    lambda lib: lib.matmul(Z(lib, 2, 3), [1, 2]),
    lambda lib: lib.matmul(lib.tensor(1.0), Z(lib, 2, 3)),
    lambda lib: lib.mm(Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.mm(Z(lib, 3), Z(lib, 3, 2)),
    lambda lib: lib.mm(Z(lib, 2, 3), Z(lib, 2, 3)),
    lambda lib: lib.mm(Z(lib, 2, 3), Z(lib, 3, 4, dt="float64")),
    lambda lib: lib.mm(Z(lib, 2, 3, dt="int64"), Z(lib, 3, 4)),
    lambda lib: lib.mm(Z(lib, 2, 3, dt="bool"), Z(lib, 3, 4, dt="bool")),
    lambda lib: lib.bmm(Z(lib, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.bmm(Z(lib, 2, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.bmm(Z(lib, 2, 2, 3), Z(lib, 3, 3, 4)),
    lambda lib: lib.bmm(Z(lib, 2, 2, 3), Z(lib, 2, 4, 4)),
    lambda lib: lib.bmm(Z(lib, 2, 2, 3), Z(lib, 2, 3, 4, dt="float64")),
    lambda lib: lib.bmm(Z(lib, 2, 2, 3, dt="bool"), Z(lib, 2, 3, 4, dt="bool")),
    lambda lib: lib.mv(Z(lib, 2, 3), Z(lib, 4)),
    lambda lib: lib.mv(Z(lib, 3), Z(lib, 3)),
    lambda lib: lib.mv(Z(lib, 2, 3), Z(lib, 2, 3)),
    _release_specific(lambda lib: lib.mv(Z(lib, 2, 3), Z(lib, 3, dt="float64"))),
    lambda lib: lib.mv(Z(lib, 2, 3, dt="bool"), Z(lib, 3, dt="bool")),
    lambda lib: lib.dot(Z(lib, 3), Z(lib, 3, dt="float64")),
    lambda lib: lib.dot(Z(lib, 3), Z(lib, 4)),
    lambda lib: lib.dot(Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.dot(Z(lib, 3), Z(lib, 2, 3)),
    lambda lib: lib.dot(Z(lib, 3, dt="bool"), Z(lib, 3, dt="bool")),
    lambda lib: lib.vdot(Z(lib, 3), Z(lib, 3, dt="float64")),
    lambda lib: lib.vdot(Z(lib, 3), Z(lib, 4)),
    lambda lib: lib.outer(Z(lib, 3), Z(lib, 2, 3)),
    lambda lib: lib.outer(Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.inner(Z(lib, 2, 3), Z(lib, 4, 2)),
    lambda lib: lib.inner(Z(lib, 2, 3), Z(lib, 3, dt="float64")),
    lambda lib: lib.addmm(Z(lib, 3), Z(lib, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.addmm(Z(lib, 2, 3, 4), Z(lib, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.addmm(Z(lib, 4), Z(lib, 2, 3), Z(lib, 2, 4)),
    lambda lib: lib.addmm(Z(lib, 4), Z(lib, 3), Z(lib, 3, 4)),
    lambda lib: lib.addmm(Z(lib, 4), Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.addmm(Z(lib, 4), Z(lib, 2, 3, dt="float64"), Z(lib, 3, 4)),
    lambda lib: lib.addmm(Z(lib, 4), Z(lib, 2, 3), Z(lib, 3, 4, dt="float64")),
    lambda lib: lib.addmm(Z(lib, 4, dt="float64"), Z(lib, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.addmm(Z(lib, 4, dt="float64"), Z(lib, 2, 3), Z(lib, 3, 4, dt="float64")),
    lambda lib: lib.addmm(Z(lib, 4, dt="bool"), Z(lib, 2, 3, dt="bool"),
                          Z(lib, 3, 4, dt="bool")),
    lambda lib: lib.addmv(Z(lib, 3), Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.addmv(Z(lib, 2, 1), Z(lib, 2, 3), Z(lib, 3)),
    lambda lib: lib.addmv(Z(lib, 2), Z(lib, 2, 3), Z(lib, 4)),
    _release_specific(lambda lib: lib.addmv(Z(lib, 2), Z(lib, 2, 3), Z(lib, 3, dt="float64"))),
    _release_specific(lambda lib: lib.addmv(Z(lib, 2, dt="float64"), Z(lib, 2, 3), Z(lib, 3))),
    lambda lib: lib.baddbmm(Z(lib, 2, 2, 4), Z(lib, 2, 2, 3), Z(lib, 2, 3, 5)),
    lambda lib: lib.baddbmm(Z(lib, 4), Z(lib, 2, 3), Z(lib, 2, 3, 4)),
    lambda lib: lib.baddbmm(Z(lib, 4, dt="float64"), Z(lib, 2, 2, 3), Z(lib, 2, 3, 4)),
    lambda lib: lib.baddbmm(Z(lib, 4), Z(lib, 2, 2, 3), Z(lib, 2, 3, 4, dt="float64")),
    lambda lib: lib.baddbmm(Z(lib, 4), Z(lib, 2, 2, 3, dt="float64"), Z(lib, 2, 3, 4)),
    lambda lib: lib.addbmm(Z(lib, 2, 4), Z(lib, 3, 2, 3), Z(lib, 2, 3, 4)),
    lambda lib: lib.addbmm(Z(lib, 2, 5), Z(lib, 3, 2, 3), Z(lib, 3, 3, 4)),
    lambda lib: lib.tensordot(Z(lib, 2, 3), Z(lib, 3, 4), 3),
    lambda lib: lib.tensordot(Z(lib, 2, 3), Z(lib, 3, 4), -1),
    lambda lib: lib.tensordot(Z(lib, 2, 3), Z(lib, 3, 4), ([1], [0, 1])),
    lambda lib: lib.tensordot(Z(lib, 2, 3), Z(lib, 3, 4), ([0], [0])),
    lambda lib: lib.tensordot(Z(lib, 2, 3), Z(lib, 3, dt="float64"), 1),
    # einsum
    lambda lib: lib.einsum("ij,jk->ik", Z(lib, 2, 3), Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij,jk->ik", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij,jk->ik", Z(lib, 2, 3), Z(lib, 3, 4), Z(lib, 2)),
    lambda lib: lib.einsum("ij,jk->ik", Z(lib, 2, 3), Z(lib, 3, 4, dt="float64")),
    lambda lib: lib.einsum("ij->jj", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij->k", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij", Z(lib, 2, 3, 4)),
    lambda lib: lib.einsum("ijk...", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ijA", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij..,jk->ik", Z(lib, 2, 3), Z(lib, 3, 4)),
    lambda lib: lib.einsum("i-j", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij->i->j", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ii", Z(lib, 2, 3)),
    lambda lib: lib.einsum("ij,jk->ik"),
    lambda lib: lib.einsum("ij,jk->ik", Z(lib, 2, 3, dt="bool"), Z(lib, 3, 2, dt="bool")),
]


@pytest.mark.parametrize("k", [pytest.param(k, marks=pytest.mark.torch_exact)
                               if getattr(fn, "torch_exact", False) else k
                               for k, fn in enumerate(ERRORS)])
def test_errors_match_torch(k, torch):
    expected = _err(ERRORS[k], torch)
    assert expected is not None, "the case must fail in PyTorch"
    assert _err(ERRORS[k], ember) == expected


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                   ((2, 3), (3, 2)), ((2, 2, 3), (2, 3, 2))])
def test_matmul_grad_fn_names_match_torch(sa, sb, torch):
    names = [(lib.zeros(*sa, requires_grad=True) @ lib.zeros(*sb)).grad_fn.name()
             for lib in (torch, ember)]
    assert names[0] == names[1]


@pytest.mark.parametrize("name,fn", [
    ("mm", lambda lib, a, b: lib.mm(a, b)),
    ("addmm", lambda lib, a, b: lib.addmm(a[0], a, b)),
    ("dot", lambda lib, a, b: lib.dot(a[0], b[:, 0])),
    ("mv", lambda lib, a, b: lib.mv(a, b[:, 0])),
    ("bmm", lambda lib, a, b: lib.bmm(a[None], b[None])),
    ("outer", lambda lib, a, b: lib.outer(a[0], b[0])),
])
def test_product_grad_fn_names_match_torch(name, fn, torch):
    names = [fn(lib, lib.ones(3, 3, requires_grad=True), lib.ones(3, 3)).grad_fn.name()
             for lib in (torch, ember)]
    assert names[0] == names[1]


def test_addmm_beta_zero_ignores_nan_input(device, torch):
    got = ember.addmm(ember.full((2, 2), float("nan"), device=device),
                      ember.ones(2, 3, device=device), ember.ones(3, 2, device=device), beta=0)
    expected = torch.addmm(torch.full((2, 2), float("nan")), torch.ones(2, 3),
                           torch.ones(3, 2), beta=0)
    np.testing.assert_array_equal(got.cpu().numpy(), expected.numpy())


def test_mm_out(device):
    out = ember.empty(2, 2, device=device)
    res = ember.mm(ember.ones(2, 3, device=device), ember.ones(3, 2, device=device), out=out)
    assert res is out
    np.testing.assert_array_equal(out.cpu().numpy(), np.full((2, 2), 3.0, np.float32))


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(4,), (4,)]), ("ij->ji", [(2, 3)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("iij,j->ij", [(3, 3, 2), (2,)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]), ("i...->...", [(2, 3, 4)]), ("ij,k->j", [(2, 3), (4,)]),
])
def test_einsum_second_order_gradients(eq, shapes, device):
    rng = np.random.default_rng(0)
    ins = tuple(ember.tensor(rng.uniform(-1, 1, s), dtype=ember.float64, device=device,
                             requires_grad=True) for s in shapes)
    assert ember.autograd.gradgradcheck(lambda *ts: ember.einsum(eq, *ts), ins)


def test_einsum_host_fallback_without_xp_einsum(monkeypatch, device, torch):
    """A namespace lacking ``einsum`` (the array API has none) gets numpy's via the host."""
    import importlib
    mod = importlib.import_module("ember.ops.einsum")  # the module, not the function
    a = ember.randn(2, 3, device=device)
    b = ember.randn(3, 4, device=device)
    be = a._device._be
    calls = []

    class NoEinsum(types.SimpleNamespace):
        pass
    shim = NoEinsum(**{k: getattr(be.xp, k) for k in dir(be.xp)
                       if not k.startswith("__") and k != "einsum"})
    real_kernel = mod._kernel

    def kernel(eq, arrays, backend):
        calls.append(eq)
        fake = types.SimpleNamespace(xp=shim, to_numpy=backend.to_numpy,
                                     from_numpy=backend.from_numpy)
        return real_kernel(eq, arrays, fake)
    monkeypatch.setattr(mod, "_kernel", kernel)
    got = ember.einsum("ij,jk->ik", a, b)
    assert calls == ["ij,jk->ik"]
    expected = torch.einsum("ij,jk->ik", torch.tensor(a.cpu().numpy()),
                            torch.tensor(b.cpu().numpy()))
    np.testing.assert_allclose(got.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_einsum_operand_list_and_sublist_forms(torch):
    a, b = np.ones((2, 3)), np.arange(12.0).reshape(3, 4)
    for call in (lambda lib, x, y: lib.einsum("ij,jk", [x, y]),
                 lambda lib, x, y: lib.einsum("ij,jk", (x, y)),
                 lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2]),
                 lambda lib, x, y: lib.einsum(x, [Ellipsis, 1], y, [1, 2], [2, Ellipsis])):
        got = call(ember, ember.tensor(a), ember.tensor(b))
        expected = call(torch, torch.tensor(a), torch.tensor(b))
        np.testing.assert_allclose(got.numpy(), expected.numpy())
