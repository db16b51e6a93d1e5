"""Sparse COO tensors (ember.sparse) against PyTorch: construction and its invariant errors
(untrusted indices), coalesce, to_dense/to_sparse, sparse @ dense with gradients to the
dense side and to the values, torch.sparse.sum/softmax, a GCN-style layer."""
from __future__ import annotations

import numpy as np
import pytest

import ember

IDX = [[1, 0, 1, 2], [0, 2, 0, 1]]  # (1, 0) twice: uncoalesced
VAL = [1.0, 2.0, 3.0, -1.5]


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _both(torch, device, fn):
    """fn(lib, dev) for torch and ember; values of the (dense) results compared."""
    e, t = fn(ember, device), fn(torch, "cpu")
    for a, b in zip(e if isinstance(e, tuple) else (e,), t if isinstance(t, tuple) else (t,)):
        if getattr(b, "layout", None) is torch.sparse_coo:
            assert a.layout is ember.sparse_coo
            a, b = a.coalesce().to_dense(), b.coalesce().to_dense()
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)


def _s(lib, dev, **kw):
    return lib.sparse_coo_tensor(lib.tensor(IDX, device=dev), lib.tensor(VAL, device=dev),
                                 (3, 3), **kw)


def test_construct_and_inspect(torch, device):
    s, t = _s(ember, device), _s(torch, "cpu")
    assert s.is_sparse and not ember.ones(2).is_sparse
    assert s.layout is ember.sparse_coo and ember.ones(1).layout is ember.strided
    assert repr(s.layout) == repr(t.layout) and repr(ember.strided) == repr(torch.strided)
    assert (s.sparse_dim(), s.dense_dim(), s._nnz(), s.is_coalesced()) == \
        (t.sparse_dim(), t.dense_dim(), t._nnz(), t.is_coalesced())
    assert tuple(s.shape) == tuple(t.shape) and s.dtype is ember.float32
    np.testing.assert_array_equal(_np(s._indices()), _np(t._indices()))
    np.testing.assert_array_equal(_np(s._values()), _np(t._values()))
    for name in ("indices", "values"):
        with pytest.raises(RuntimeError) as e_info:
            getattr(s, name)()
        with pytest.raises(RuntimeError) as t_info:
            getattr(t, name)()
        assert str(e_info.value) == str(t_info.value)
    c, tc = s.coalesce(), t.coalesce()
    assert c.is_coalesced()
    np.testing.assert_array_equal(_np(c.indices()), _np(tc.indices()))
    np.testing.assert_allclose(_np(c.values()), _np(tc.values()))
    _both(torch, device, lambda lib, dev: _s(lib, dev).to_dense())
    # size inferred from the indices; hybrid (dense-dim) values
    _both(torch, device, lambda lib, dev: lib.sparse_coo_tensor(
        lib.tensor(IDX, device=dev), lib.tensor(VAL, device=dev)).to_dense())
    _both(torch, device, lambda lib, dev: lib.sparse_coo_tensor(
        lib.tensor([[0, 2]], device=dev), lib.tensor([[1.0, 2.0], [3.0, 4.0]], device=dev),
        (4, 2)).to_dense())


@pytest.mark.parametrize("case", [
    "index_too_big", "negative_index", "negative_inferred", "nnz_mismatch", "indices_1d",
    "size_rank"])
def test_invariant_errors(torch, device, case):
    """Untrusted indices: every bad one is PyTorch's RuntimeError (never a wrap-around
    or an out-of-bounds read), at construction with check_invariants, else on use."""
    def make(lib, dev):
        t = lambda x: lib.tensor(x, device=dev)  # noqa: E731
        if case == "index_too_big":
            return lib.sparse_coo_tensor(t([[0, 5]]), t([1.0, 2.0]), (3,),
                                         check_invariants=True)
        if case == "negative_index":
            return lib.sparse_coo_tensor(t([[0, -1]]), t([1.0, 2.0]), (3,),
                                         check_invariants=True)
        if case == "negative_inferred":
            return lib.sparse_coo_tensor(t([[0, -1]]), t([1.0, 2.0]))
        if case == "nnz_mismatch":
            return lib.sparse_coo_tensor(t([[0, 1]]), t([1.0, 2.0, 3.0]), (3,))
        if case == "indices_1d":
            return lib.sparse_coo_tensor(t([0, 1]), t([1.0, 2.0]))
        return lib.sparse_coo_tensor(t([[0, 1], [1, 0]]), t([1.0, 2.0]), (3,))
    with pytest.raises(RuntimeError) as t_info:
        make(torch, "cpu")
    with pytest.raises(RuntimeError) as e_info:
        make(ember, device)
    assert str(e_info.value) == str(t_info.value)


def test_unchecked_bad_index_fails_on_use(device):
    s = ember.sparse_coo_tensor(ember.tensor([[0, 7]], device=device),
                                ember.tensor([1.0, 2.0], device=device), (3,))
    for use in (s.to_dense, s.coalesce):
        with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
            use()
    m = ember.sparse_coo_tensor(ember.tensor([[0, 1], [0, -4]], device=device),
                                ember.tensor([1.0, 2.0], device=device), (2, 2))
    with pytest.raises(RuntimeError, match="negative index"):
        ember.sparse.mm(m, ember.ones(2, 2, device=device))


def test_to_sparse(torch, device):
    x = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 0.0]])
    for lib, dev in ((ember, device), (torch, "cpu")):
        s = lib.tensor(x, device=dev).to_sparse()
        assert s.is_coalesced() and s._nnz() == 2
    _both(torch, device, lambda lib, dev: lib.tensor(x, device=dev).to_sparse().values())
    _both(torch, device, lambda lib, dev: lib.tensor(x, device=dev).to_sparse().indices())
    _both(torch, device, lambda lib, dev: lib.tensor(x, device=dev).to_sparse(1).to_dense())


@pytest.mark.parametrize("how", ["sparse.mm", "spmm", "mm", "matmul", "@"])
def test_sparse_dense_product_and_grads(torch, device, how):
    d = np.random.default_rng(0).standard_normal((3, 4))
    w = np.cos(np.arange(12.0)).reshape(3, 4)

    def run(lib, dev):
        v = lib.tensor(VAL, device=dev, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(IDX, device=dev), v, (3, 3))
        x = lib.tensor(d, dtype=lib.float32, device=dev, requires_grad=True)
        fn = {"sparse.mm": lib.sparse.mm, "spmm": lib.spmm, "mm": lib.mm,
              "matmul": lib.matmul, "@": lambda a, b: a @ b}[how]
        y = fn(s, x)
        (y * lib.tensor(w, dtype=lib.float32, device=dev)).sum().backward()
        return y, x.grad, v.grad
    e, t = run(ember, device), run(torch, "cpu")
    assert e[0].layout is ember.strided
    for a, b in zip(e, t):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-5)


def test_sparse_leaf_requires_grad(torch, device):
    """GCN style: the sparse adjacency itself requires grad; its grad is sparse, with the
    values' gradient at its indices."""
    idx = [[0, 1, 2, 2], [1, 0, 2, 0]]  # coalesced pattern
    d = np.random.default_rng(1).standard_normal((3, 2))
    grads = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(VAL, device=dev),
                                  (3, 3)).coalesce().requires_grad_()
        assert s.requires_grad and s.is_leaf and s.grad is None
        x = lib.tensor(d, dtype=lib.float32, device=dev, requires_grad=True)
        lib.sparse.mm(s, x).pow(2).sum().backward()
        assert s.grad.layout is lib.sparse_coo
        grads.append((s.grad.coalesce().to_dense(), x.grad))
    for a, b in zip(*grads):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-5)


def test_values_graph_and_grad_fn(torch, device):
    v = ember.tensor(VAL, device=device, requires_grad=True)
    s = ember.sparse_coo_tensor(ember.tensor(IDX, device=device), v, (3, 3))
    assert not s.is_leaf and s.requires_grad
    assert s.grad_fn.name() == "SparseCooTensorWithDimsAndTensorsBackward0"
    s.coalesce().to_dense().sum().backward()
    np.testing.assert_allclose(_np(v.grad), np.ones(4))


def test_product_errors(torch, device):
    s = _s(ember, device)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        ember.sparse.mm(s, ember.ones(2, 2, device=device))
    with pytest.raises(RuntimeError, match="expected scalar type"):
        ember.sparse.mm(s, ember.ones(3, 2, dtype=ember.float64, device=device))


def test_sparse_sum_and_softmax(torch, device):
    _both(torch, device, lambda lib, dev: lib.sparse.sum(_s(lib, dev)))
    for dim in (0, 1, (0, 1)):
        _both(torch, device, lambda lib, dev, dim=dim: lib.sparse.sum(_s(lib, dev), dim))
    _both(torch, device, lambda lib, dev: lib.sparse.softmax(_s(lib, dev), 1))
    _both(torch, device, lambda lib, dev: lib.sparse.softmax(_s(lib, dev).coalesce(), 0))
    _both(torch, device, lambda lib, dev: lib.sparse.log_softmax(_s(lib, dev), 1))

    def grad(lib, dev):
        v = lib.tensor(VAL, device=dev, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(IDX, device=dev), v, (3, 3))
        out = lib.sparse.softmax(s, 1).coalesce().to_dense()
        (out * lib.arange(9.0, device=dev).reshape(3, 3)).sum().backward()
        return v.grad
    _both(torch, device, grad)


def test_gcn_layer_trains(device):
    """A two-layer GCN over a normalised sparse adjacency learns (loss goes down)."""
    rng = np.random.default_rng(0)
    n = 6
    edges = np.array([[0, 1, 1, 2, 3, 4, 4, 5, 0, 1, 2, 3, 4, 5],
                      [1, 0, 2, 1, 4, 3, 5, 4, 0, 1, 2, 3, 4, 5]])
    adj = ember.sparse_coo_tensor(ember.tensor(edges, device=device),
                                  ember.full((edges.shape[1],), 0.5, device=device), (n, n))
    x = ember.tensor(rng.standard_normal((n, 3)), dtype=ember.float32, device=device)
    y = ember.tensor([0, 0, 0, 1, 1, 1], device=device)
    lin1, lin2 = ember.nn.Linear(3, 8).to(device), ember.nn.Linear(8, 2).to(device)
    opt = ember.optim.Adam(list(lin1.parameters()) + list(lin2.parameters()), lr=0.05)
    losses = []
    for _ in range(15):
        h = ember.relu(ember.spmm(adj, lin1(x)))
        loss = ember.nn.functional.cross_entropy(adj @ lin2(h), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.7
