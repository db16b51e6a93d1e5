"""Indexing beyond the op table: a wide ``__getitem__`` matrix, ``__setitem__`` with
broadcasting and casting, aliasing, gradient accumulation over duplicate indices, setitem
under autograd, and PyTorch's error messages — all compared with PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")


def _np(t):
    t = t.detach()
    if hasattr(t, "cpu"):
        t = t.cpu()
    return np.asarray(t.numpy())


def _same(got, exp):
    assert tuple(got.shape) == tuple(exp.shape)
    assert str(got.dtype) == str(exp.dtype)
    np.testing.assert_allclose(_np(got), _np(exp), rtol=1e-6, atol=1e-6)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _vs_torch(run, device, torch):
    """``run(lib, dev)`` with PyTorch and with ember on ``device``: the same tensors back."""
    exp, got = _flat(run(torch, None)), _flat(run(ember, device))
    assert len(got) == len(exp)
    for g, e in zip(got, exp):
        _same(g, e)


def _t(lib, data, dtype=None, device=None):
    kw = {} if device is None else {"device": device}
    if dtype is not None:
        kw["dtype"] = getattr(lib, dtype)
    return lib.tensor(data, **kw)


def _mask(lib, shape, seed, device=None):
    m = np.random.default_rng(seed).uniform(size=shape) > 0.4
    return _t(lib, m, device=device)


# Keys as builders ``key(lib, device)`` so one expression serves both libraries.
KEYS = {
    "int": lambda L, d: 0,
    "neg_int": lambda L, d: -1,
    "two_ints": lambda L, d: (1, 2),
    "all_ints": lambda L, d: (1, -1, 3, 0),
    "slice": lambda L, d: slice(1, None),
    "slice_step": lambda L, d: slice(None, None, 2),
    "slices": lambda L, d: (slice(None), slice(1, 3)),
    "slice_clamped": lambda L, d: slice(-100, 100),
    "slice_empty": lambda L, d: slice(2, 1),
    "ellipsis_int": lambda L, d: (Ellipsis, 1),
    "ellipsis_only": lambda L, d: Ellipsis,
    "ellipsis_slice_none": lambda L, d: (Ellipsis, slice(None, 2), None),
    "none": lambda L, d: None,
    "none_int_none": lambda L, d: (None, 0, None),
    "int_ellipsis_none_int": lambda L, d: (0, Ellipsis, None, 1),
    "slice_ellipsis_step": lambda L, d: (slice(1, 2), Ellipsis, slice(None, None, 3)),
    "trailing_none": lambda L, d: (slice(None),) * 4 + (None,),
    "true": lambda L, d: True,
    "int_true": lambda L, d: (0, True),
    "list": lambda L, d: [0, 1, 1],
    "nested_list": lambda L, d: [[0, 1], [1, 0]],
    "tensor": lambda L, d: _t(L, [1, 0, 1], device=d),
    "tensor_neg": lambda L, d: _t(L, [-1, 0], device=d),
    "tensor_int32": lambda L, d: _t(L, [1, 0], "int32", d),
    "slice_tensor": lambda L, d: (slice(None), _t(L, [2, 0], device=d)),
    "two_tensors": lambda L, d: (_t(L, [0, 1], device=d), _t(L, [2, 0], device=d)),
    "broadcast_tensors": lambda L, d: (_t(L, [[0], [1]], device=d), _t(L, [0, 1, 2], device=d)),
    "int_apart_adv": lambda L, d: (slice(None), 0, slice(None), [0, 1]),
    "int_then_adv": lambda L, d: (0, slice(None), [0, 1]),
    "adjacent_int_adv": lambda L, d: (slice(None), 0, [0, 1]),
    "adv_then_int": lambda L, d: ([0, 1], slice(None), 0),
    "adv_none_adv": lambda L, d: ([0, 1], None, [0, 1]),
    "slice_adv_none_adv": lambda L, d: (slice(None), [0, 1], None, [0, 1]),
    "adv_ellipsis_adv": lambda L, d: ([0, 1], Ellipsis, [1, 2]),
    "int_adv_2d_apart": lambda L, d: (1, [[0, 1]], slice(None), [[2], [3]]),
    "all_adv": lambda L, d: ([1], [2], [3], [4]),
    "ellipsis_adv_dup": lambda L, d: (Ellipsis, [0, 0, 4]),
    "mask_dim0": lambda L, d: _t(L, [True, False], device=d),
    "mask_2d": lambda L, d: _mask(L, (2, 3), 1, d),
    "slice_mask_2d": lambda L, d: (slice(None), _mask(L, (3, 4), 2, d)),
    "mask_slice_tensor": lambda L, d: (_t(L, [True, False], device=d), slice(None),
                                      _t(L, [0, 2], device=d)),
    "mask_full": lambda L, d: _mask(L, (2, 3, 4, 5), 3, d),
    "zero_d_int": lambda L, d: _t(L, 1, device=d),
    "zero_d_ints": lambda L, d: (_t(L, 1, device=d), slice(None), _t(L, 2, device=d)),
    "zero_d_mask": lambda L, d: _t(L, True, device=d),
    "numpy_int": lambda L, d: np.array([0, 1]),
    "numpy_bool": lambda L, d: np.array([True, False]),
    "numpy_scalar": lambda L, d: np.int64(1),
    "empty_list": lambda L, d: [],
    "tuple_in_tuple": lambda L, d: ((0, 1),),
    "size_as_key": lambda L, d: L.Size([1, 2]),
}

BASIC = {"int", "neg_int", "two_ints", "all_ints", "slice", "slice_step", "slices",
         "slice_clamped", "slice_empty", "ellipsis_int", "ellipsis_only", "ellipsis_slice_none",
         "none", "none_int_none", "int_ellipsis_none_int", "slice_ellipsis_step",
         "trailing_none", "zero_d_int", "zero_d_ints", "numpy_scalar", "size_as_key"}


def _base(lib, device=None, requires_grad=False):
    data = np.arange(120, dtype=np.float64).reshape(2, 3, 4, 5) / 7
    kw = {} if device is None else {"device": device}
    return lib.tensor(data, dtype=lib.float32, requires_grad=requires_grad, **kw)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_matches_torch(name, device, torch):
    key = KEYS[name]
    exp = _base(torch)[key(torch, None)]
    got = _base(ember, device)[key(ember, device)]
    _same(got, exp)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_grad_matches_torch(name, device, torch):
    key = KEYS[name]
    grads, names = [], []
    for lib, dev in ((torch, None), (ember, device)):
        x = _base(lib, dev, requires_grad=True)
        y = x[key(lib, dev)]
        names.append(type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name())
        w = np.cos(np.arange(y.numel())).reshape(tuple(y.shape))
        (y * _t(lib, w, "float32", dev)).sum().backward()
        grads.append(x.grad)
    assert names[1] == names[0]
    _same(grads[1], grads[0])


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_view_semantics_match_torch(name, device, torch):
    """Writing through the result changes the base exactly when PyTorch's does (views)."""
    key = KEYS[name]
    bases = []
    for lib, dev in ((torch, None), (ember, device)):
        x = _base(lib, dev)
        y = x[key(lib, dev)]
        y[...] = -1
        bases.append(x)
    _same(bases[1], bases[0])
    changed = bool((_np(bases[1]) == -1).any())
    assert changed == (name in BASIC and y.numel() > 0)
    if name in BASIC:
        assert y._version == x._version > 0


def test_duplicate_index_gradient_accumulates(device, torch):
    for lib, dev in ((torch, None), (ember, device)):
        x = _t(lib, [1.0, 2.0, 3.0], device=dev).requires_grad_()
        x[[0, 0, 1]].sum().backward()
        if lib is torch:
            exp = x.grad
        else:
            _same(x.grad, exp)
    assert _np(x.grad).tolist() == [2.0, 1.0, 0.0]


def test_duplicate_mask_and_2d_index_gradients(device, torch):
    def run(lib, dev):
        x = _base(lib, dev, requires_grad=True)
        i = _t(lib, [[0, 1, 1], [1, 1, 1]], device=dev)
        m = _t(lib, _np(_base(torch)) > 8, device=dev)
        y = x[:, i, 2] * 3 + x[m].sum() + x[0][m[1]][[0, 0, 3]].sum()
        y.sum().backward()
        return x.grad
    _vs_torch(run, device, torch)


def test_getitem_double_backward(device, torch):
    def run(lib, dev):
        x = _t(lib, [1.0, 2.0, 3.0, 4.0], device=dev).requires_grad_()
        y = (x[[0, 0, 2]] ** 2).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g * g).sum().backward()
        return (g, x.grad)
    _vs_torch(run, device, torch)


# --- setitem -------------------------------------------------------------------------------

SETS = [
    ("int_scalar", lambda L, d: 0, lambda L, d: 5),
    ("int_row", lambda L, d: 1, lambda L, d: _t(L, [1.0, 2.0, 3.0, 4.0], device=d)),
    ("slice_broadcast", lambda L, d: (slice(None), slice(1, 3)),
     lambda L, d: _t(L, [[7.0], [8.0], [9.0]], device=d)),
    ("leading_ones", lambda L, d: 0, lambda L, d: _t(L, [[[1.0, 2.0, 3.0, 4.0]]], device=d)),
    ("ellipsis", lambda L, d: Ellipsis, lambda L, d: _t(L, [1.5, 2.5, 3.5, 4.5], device=d)),
    ("none", lambda L, d: (None, 2), lambda L, d: -3),
    ("adv_list", lambda L, d: [0, 2], lambda L, d: _t(L, [[1.0], [2.0]], device=d)),
    ("adv_tensor_cols", lambda L, d: (slice(None), _t(L, [3, 0], device=d)),
     lambda L, d: _t(L, [6.0, 7.0], device=d)),
    ("adv_pairs", lambda L, d: (_t(L, [0, 1, 2], device=d), _t(L, [3, 2, 1], device=d)),
     lambda L, d: _t(L, [1.0, 2.0, 3.0], device=d)),
    ("mask", lambda L, d: _t(L, [[True, False, True, False]] * 3, device=d), lambda L, d: 0.5),
    ("mask_rows", lambda L, d: _t(L, [True, False, True], device=d),
     lambda L, d: _t(L, [9.0, 8.0, 7.0, 6.0], device=d)),
    ("int_value_into_float", lambda L, d: 1, lambda L, d: _t(L, [1, 2, 3, 4], device=d)),
    ("double_value", lambda L, d: 2, lambda L, d: _t(L, 0.123456789, "float64", d)),
    ("zero_d_tensor", lambda L, d: (1, 1), lambda L, d: _t(L, 4.0, device=d)),
]


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("name,key,value", SETS, ids=[s[0] for s in SETS])
def test_setitem_matches_torch(name, key, value, dtype, device, torch):
    outs = []
    for lib, dev in ((torch, None), (ember, device)):
        x = _t(lib, np.arange(12.0).reshape(3, 4) / 3, device=dev).to(getattr(lib, dtype))
        try:
            x[key(lib, dev)] = value(lib, dev)
        except RuntimeError as e:  # PyTorch refuses some dtype pairs: so must ember
            outs.append(e)
            continue
        outs.append(x)
    if isinstance(outs[0], Exception) or isinstance(outs[1], Exception):
        assert str(outs[1]) == str(outs[0])
    else:
        _same(outs[1], outs[0])


def test_setitem_int_apart_adv_placement(device, torch):
    """``x[:, 0, :, idx] = v``: v is laid out in PyTorch's order, not numpy's."""
    def run(lib, dev):
        x = _base(lib, dev)
        v = _t(lib, np.arange(16.0).reshape(2, 4, 2), "float32", dev)
        x[:, 0, :, [0, 3]] = v
        x[1, :, [1, 2]] = _t(lib, np.arange(30.0).reshape(3, 2, 5), "float32", dev)
        return x
    _vs_torch(run, device, torch)


def test_setitem_casts_float_to_int(device, torch):
    def run(lib, dev):
        x = lib.zeros(4, dtype=lib.int64, **({} if dev is None else {"device": dev}))
        x[1] = 2.7
        x[2:] = _t(lib, [-1.9, 3.5], device=dev)
        return x
    _vs_torch(run, device, torch)


@pytest.mark.shares_memory
def test_setitem_aliases_numpy_and_views(device):
    if ember.device(device).type != "cpu":
        pytest.skip("from_numpy aliasing is a CPU property")
    a = np.zeros((3, 4), dtype=np.float32)
    t = ember.from_numpy(a)
    t[1, 1:3] = 7
    t[[0, 2], 0] = ember.tensor([1.0, 2.0])
    t[ember.tensor([False, False, True]), 3] = 5
    assert a[1, 1] == 7 and a[1, 2] == 7 and a[0, 0] == 1 and a[2, 0] == 2 and a[2, 3] == 5
    v0 = t._version
    row = t[2]
    row[1] = -4  # through a view: the base and the numpy array see it
    assert a[2, 1] == -4 and _np(t)[2, 1] == -4
    assert t._version == row._version and t._version > v0


def test_view_setitem_changes_base(device, torch):
    def run(lib, dev):
        x = _base(lib, dev)
        v = x[1, :, 1:3]
        v[0] = 100
        w = x[..., None][0, 2]
        w[1:, 0] = -5
        return x
    _vs_torch(run, device, torch)


SETGRADS = [
    ("int", lambda L, d: 1, (4,)),
    ("slice", lambda L, d: (slice(None), slice(1, 3)), (3, 1)),
    ("adv", lambda L, d: [2, 0], (4,)),
    ("adv_cols", lambda L, d: (slice(None), _t(L, [3, 1], device=d)), (3, 2)),
    ("mask", lambda L, d: _t(L, [[True, False, False, True]] * 3, device=d), (1,)),
    ("ellipsis", lambda L, d: Ellipsis, (1, 4)),
    ("broadcast_scalar_value", lambda L, d: (0, slice(None)), ()),
]


@pytest.mark.parametrize("name,key,vshape", SETGRADS, ids=[s[0] for s in SETGRADS])
def test_setitem_autograd_matches_torch(name, key, vshape, device, torch):
    res = []
    for lib, dev in ((torch, None), (ember, device)):
        kw = {} if dev is None else {"device": dev}
        a = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=lib.float64,
                       requires_grad=True, **kw)
        v = lib.tensor(np.linspace(0.5, 2, int(np.prod(vshape))).reshape(vshape),
                       dtype=lib.float64, requires_grad=True, **kw)
        y = a * 2
        y[key(lib, dev)] = v * 3
        name_ = type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name()
        w = lib.tensor(np.cos(np.arange(12.0)).reshape(3, 4), dtype=lib.float64, **kw)
        (y * y * w).sum().backward()
        res.append((a.grad, v.grad, name_, y))
    (ga_t, gv_t, n_t, y_t), (ga_e, gv_e, n_e, y_e) = res
    if name != "ellipsis":  # PyTorch names the ``...`` case FillBackward/CopySlices variants
        assert n_e == n_t
    _same(y_e, y_t)
    _same(ga_e, ga_t)
    _same(gv_e, gv_t)


def test_setitem_scalar_on_nonleaf_zeroes_region(device, torch):
    def run(lib, dev):
        a = _t(lib, np.ones((2, 3)), "float32", dev).requires_grad_()
        y = a * 1
        y[:, [0, 2]] = 0.0
        y.sum().backward()
        return a.grad
    _vs_torch(run, device, torch)


def test_setitem_into_plain_tensor_from_value_requiring_grad(device, torch):
    def run(lib, dev):
        v = _t(lib, [1.0, 2.0], device=dev).requires_grad_()
        z = lib.zeros(3, 2, **({} if dev is None else {"device": dev}))
        z[[0, 2]] = v
        (z * z).sum().backward()
        return v.grad
    _vs_torch(run, device, torch)


def test_setitem_through_views_reaches_base_graph(device, torch):
    """``y[0][1] = v``: the write goes through a temporary view, and y's history (so the
    gradients of y's inputs and of v) must see it, as PyTorch's CopySlices does."""
    def run(lib, dev):
        kw = {} if dev is None else {"device": dev}
        a = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, **kw)
        v = lib.tensor(3.0, requires_grad=True, **kw)
        y = a * 2
        y[0][1] = v
        y[1:][0][::2] = v * 2
        z = lib.zeros(3, 2, **kw)
        z[0][1] = v
        ((y * y).sum() + (z * z * 3).sum()).backward()
        return y, z, a.grad, v.grad
    _vs_torch(run, device, torch)


def test_setitem_saved_tensor_modified_raises(device):
    a = ember.ones(3, requires_grad=True, device=device)
    y = a * 2
    z = y * y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_setitem_into_view_of_leaf_raises(device, torch):
    for lib, dev in ((torch, None), (ember, device)):
        a = lib.zeros(2, 3, requires_grad=True, **({} if dev is None else {"device": dev}))
        v = a[0]
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            v[1] = 2.0
        d = a.detach()[1]  # detached views are fine
        d[0] = 3.0
        assert float(a.detach()[1, 0]) == 3.0


def test_setitem_leaf_no_grad_ok(device):
    a = ember.ones(3, requires_grad=True, device=device)
    with ember.no_grad():
        a[1] = 4.0
    assert _np(a).tolist() == [1.0, 4.0, 1.0] and a.is_leaf


def test_index_put_accumulate_duplicates(device, torch):
    def run(lib, dev):
        x = lib.zeros(5, **({} if dev is None else {"device": dev}))
        x.index_put_((_t(lib, [1, 1, 3, 1], device=dev),), _t(lib, [1.0, 2.0, 3.0, 4.0],
                                                                  device=dev), accumulate=True)
        return x
    _vs_torch(run, device, torch)


def test_scatter_src_larger_than_index_grad(device):
    src = ember.ones(3, 3, requires_grad=True, device=device)
    x = ember.zeros(3, 4, device=device)
    i = ember.tensor([[0, 1], [2, 0]], device=device)
    x.scatter_add(0, i, src).sum().backward()
    assert _np(src.grad).tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]


def test_inplace_forms(device, torch):
    def run(lib, dev):
        x = _t(lib, np.arange(12.0).reshape(3, 4), "float32", dev)
        i = _t(lib, [[0, 1, 2, 0]], device=dev)
        x.scatter_(0, i, _t(lib, [[9.0, 8.0, 7.0, 6.0]], device=dev))
        x.scatter_add_(0, i, _t(lib, [[1.0, 1.0, 1.0, 1.0]], device=dev))
        x.index_add_(1, _t(lib, [3, 3], device=dev), lib.ones(3, 2, **(
            {} if dev is None else {"device": dev})), alpha=2)
        x.index_fill_(0, _t(lib, [1], device=dev), -1)
        x.masked_fill_(_t(lib, [True, False, False, True], device=dev), 0.5)
        x.masked_scatter_(_t(lib, [[False, True, False, False]] * 3, device=dev),
                          _t(lib, [10.0, 20.0, 30.0], device=dev))
        return x
    _vs_torch(run, device, torch)


def test_masked_fill_leaf_error(device):
    a = ember.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        a.masked_fill_(ember.tensor([True, False, True], device=device), 0)


# --- errors ----------------------------------------------------------------------------------

def _x(L, d):
    return _t(L, np.arange(12.0).reshape(3, 4), "float32", d)


def _x3(L, d):
    return L.zeros(2, 3, 4, **({} if d is None else {"device": d}))


def _set_err(L, d, key, value):
    x = _x(L, d)
    x[key] = value


def _leaf_set(L, d, key):
    x = L.zeros(3, requires_grad=True, **({} if d is None else {"device": d}))
    x[key] = 1.0


ERRORS = {
    "int_oob": lambda L, d: _x(L, d)[5],
    "neg_int_oob": lambda L, d: _x(L, d)[-4],
    "int_oob_dim1": lambda L, d: _x(L, d)[0, 7],
    "list_oob": lambda L, d: _x(L, d)[[0, 5]],
    "tensor_oob_dim1": lambda L, d: _x(L, d)[:, _t(L, [0, 5], device=d)],
    "tensor_neg_oob": lambda L, d: _x(L, d)[_t(L, [0, -5], device=d)],
    "adv_oob_ordinal": lambda L, d: _x3(L, d)[[0], :, [9]],
    "zero_d_oob": lambda L, d: _x(L, d)[_t(L, 5, device=d)],
    "neg_step": lambda L, d: _x(L, d)[::-1],
    "zero_step": lambda L, d: _x(L, d)[0:3:0],
    "float_tensor_index": lambda L, d: _x(L, d)[_t(L, [0.0], device=d)],
    "float_index": lambda L, d: _x(L, d)[0.5],
    "str_index": lambda L, d: _x(L, d)["a"],
    "too_many": lambda L, d: _x(L, d)[0, 0, 0],
    "too_many_mask": lambda L, d: _x(L, d)[:, _t(L, [[True, False]], device=d)],
    "mask_shape": lambda L, d: _x(L, d)[_t(L, [True, False], device=d)],
    "mask_shape_inner": lambda L, d: _x3(L, d)[:, L.ones(3, 5, dtype=L.bool, **(
        {} if d is None else {"device": d}))],
    "broadcast_mismatch": lambda L, d: _x(L, d)[_t(L, [[0, 1]], device=d),
                                               _t(L, [0, 1, 2], device=d)],
    "zero_d_getitem": lambda L, d: _t(L, 1.0, device=d)[0],
    "set_shape_basic": lambda L, d: _set_err(L, d, 0, _t(L, [1.0, 2.0, 3.0], device=d)),
    "set_shape_adv": lambda L, d: _set_err(L, d, [0, 1], _t(L, [1.0, 2.0, 3.0], device=d)),
    "set_too_many_dims": lambda L, d: _set_err(L, d, 0, L.ones(2, 1, 4, **(
        {} if d is None else {"device": d}))),
    "set_list_value": lambda L, d: _set_err(L, d, 0, [1.0, 2.0, 3.0, 4.0]),
    "set_str_value": lambda L, d: _set_err(L, d, 0, "a"),
    "set_oob": lambda L, d: _set_err(L, d, (slice(None), [4]), 1.0),
    "leaf_basic": lambda L, d: _leaf_set(L, d, 0),
    "leaf_adv": lambda L, d: _leaf_set(L, d, [0]),
    "leaf_mask": lambda L, d: _leaf_set(L, d, _t(L, [True, False, True], device=d)),
    "leaf_ellipsis": lambda L, d: _leaf_set(L, d, Ellipsis),
    "gather_dtype": lambda L, d: _x(L, d).gather(0, _t(L, [[0.0]], device=d)),
    "gather_ndim": lambda L, d: _x(L, d).gather(0, _t(L, [0, 1], device=d)),
    "gather_oob": lambda L, d: _x(L, d).gather(0, _t(L, [[0, 5]], device=d)),
    "gather_neg": lambda L, d: _x(L, d).gather(1, _t(L, [[-1]], device=d)),
    "gather_size": lambda L, d: _x(L, d).gather(0, L.zeros(2, 5, dtype=L.long, **(
        {} if d is None else {"device": d}))),
    "gather_dim": lambda L, d: _x(L, d).gather(2, _t(L, [[0]], device=d)),
    "scatter_dtype": lambda L, d: _x(L, d).scatter(0, _t(L, [[0.0]], device=d), 1.0),
    "scatter_add_dtype": lambda L, d: _x(L, d).scatter_add(0, _t(L, [[0.0]], device=d),
                                                           _t(L, [[1.0]], device=d)),
    "scatter_src_dtype": lambda L, d: _x(L, d).scatter(0, _t(L, [[0]], device=d),
                                                       _t(L, [[1.0]], "float64", d)),
    "scatter_self_ndim": lambda L, d: _x(L, d).scatter(0, _t(L, [0], device=d),
                                                       _t(L, [[1.0]], device=d)),
    "scatter_src_ndim": lambda L, d: _x(L, d).scatter(0, _t(L, [[0]], device=d),
                                                      _t(L, 2.5, device=d)),
    "scatter_size": lambda L, d: _x(L, d).scatter(0, _t(L, [[0, 1]], device=d),
                                                  _t(L, [[1.0]], device=d)),
    "scatter_oob": lambda L, d: _x(L, d).scatter_add(1, _t(L, [[0, 5]], device=d),
                                                     _t(L, [[1.0, 1.0]], device=d)),
    "scatter_reduce_arg": lambda L, d: _x(L, d).scatter(0, _t(L, [[0]], device=d),
                                                        _t(L, [[1.0]], device=d), reduce="max"),
    "scatter_reduce_name": lambda L, d: _x(L, d).scatter_reduce(0, _t(L, [[0]], device=d),
                                                                _t(L, [[1.0]], device=d), "foo"),
    "index_select_dtype": lambda L, d: _x(L, d).index_select(0, _t(L, [0.0], device=d)),
    "index_select_vector": lambda L, d: _x(L, d).index_select(0, _t(L, [[0]], device=d)),
    "index_select_oob": lambda L, d: _x(L, d).index_select(0, _t(L, [5], device=d)),
    "index_select_neg": lambda L, d: _x(L, d).index_select(1, _t(L, [-1], device=d)),
    "index_add_dtype": lambda L, d: _x(L, d).index_add(0, _t(L, [0.0], device=d),
                                                       L.ones(1, 4, **(
                                                           {} if d is None else {"device": d}))),
    "index_add_count": lambda L, d: _x(L, d).index_add(0, _t(L, [0, 1, 2], device=d),
                                                       L.ones(2, 4, **(
                                                           {} if d is None else {"device": d}))),
    "index_add_shape": lambda L, d: _x(L, d).index_add(0, _t(L, [0, 1, 2], device=d),
                                                       L.ones(3, 5, **(
                                                           {} if d is None else {"device": d}))),
    "index_add_src_dtype": lambda L, d: _x(L, d).index_add(0, _t(L, [0], device=d),
                                                           _t(L, [[1.0] * 4], "float64", d)),
    "index_add_oob": lambda L, d: _x(L, d).index_add(0, _t(L, [5], device=d),
                                                     _t(L, [[1.0] * 4], device=d)),
    "index_add_vector": lambda L, d: _x(L, d).index_add(0, _t(L, [[0]], device=d),
                                                        _t(L, [[1.0] * 4], device=d)),
    "index_fill_dtype": lambda L, d: _x(L, d).index_fill(0, _t(L, [1], "int32", d), 2.0),
    "index_fill_oob": lambda L, d: _x(L, d).index_fill(0, _t(L, [5], device=d), 2.0),
    "index_fill_value": lambda L, d: _x(L, d).index_fill(0, _t(L, [1], device=d),
                                                         _t(L, [2.0], device=d)),
    "index_put_dtype": lambda L, d: _x(L, d).index_put((_t(L, [1], device=d),),
                                                       _t(L, [2.0], "float64", d)),
    "index_put_float_index": lambda L, d: _x(L, d).index_put((_t(L, [1.0], device=d),),
                                                             _t(L, [2.0], device=d)),
    "take_oob": lambda L, d: _x(L, d).take(_t(L, [12], device=d)),
    "take_neg_oob": lambda L, d: _x(L, d).take(_t(L, [-13], device=d)),
    "take_dtype": lambda L, d: _x(L, d).take(_t(L, [1], "int32", d)),
    "take_along_dim_ndim": lambda L, d: L.take_along_dim(_x(L, d), _t(L, [0, 1], device=d), 1),
    "take_along_dim_dtype": lambda L, d: L.take_along_dim(_x(L, d), _t(L, [[0.0]], device=d),
                                                          1),
    "take_along_dim_broadcast": lambda L, d: L.take_along_dim(_x(L, d),
                                                              _t(L, [[0, 1]], device=d), 0),
    "masked_fill_mask_dtype": lambda L, d: _x(L, d).masked_fill(_x(L, d), 1.0),
    "masked_fill_value_dims": lambda L, d: _x(L, d).masked_fill(
        _t(L, [True, False, True, False], device=d), _t(L, [1.0], device=d)),
    "masked_fill_broadcast": lambda L, d: _x(L, d).masked_fill(
        _t(L, [[True] * 4] * 2, device=d), 1.0),
    "masked_fill_inplace_shape": lambda L, d: _x(L, d)[0].clone().masked_fill_(
        _t(L, [[True] * 4] * 3, device=d), 1.0),
    "masked_select_dtype": lambda L, d: _x(L, d).masked_select(_x(L, d)),
    "masked_select_broadcast": lambda L, d: _x(L, d).masked_select(
        _t(L, [[True] * 4] * 2, device=d)),
    "masked_scatter_count": lambda L, d: _x(L, d).masked_scatter(
        _t(L, [True] * 4, device=d), L.ones(5, **({} if d is None else {"device": d}))),
    "masked_scatter_dtype": lambda L, d: _x(L, d).masked_scatter(
        _t(L, [True] * 4, device=d), _t(L, [1.0] * 12, "float64", d)),
    "masked_scatter_mask_dtype": lambda L, d: _x(L, d).masked_scatter(
        _x(L, d), _t(L, [1.0] * 12, device=d)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name, device, oracle_error):
    fn = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = oracle_error(fn)
        if expected is None:  # torch on this device takes it: so must ember
            assert fn(ember, device) is not None
            return
        with pytest.raises(Exception) as got:
            fn(ember, device)
    assert type(got.value) is type(expected)
    assert str(got.value) == str(expected)


def test_list_key_read_as_tuple_warns(device, torch):
    x = _x(ember, device)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        got = x[[0, slice(None)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(got, _x(torch, None)[[0, slice(None)]])


def test_uint8_mask_warns_and_selects(device, torch):
    x = _x(ember, device)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        got = x[ember.tensor([1, 0, 1], dtype=ember.uint8, device=device)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(got, _x(torch, None)[torch.tensor([1, 0, 1], dtype=torch.uint8)])


# --- an immutable backend (JAX's model: writes return new arrays, no bounds checks) ----------

class _Frozen(ember.backends.Backend):
    """numpy behind JAX's contract: ``setitem``/``index_add`` return new arrays, nothing is
    written in place, out-of-range indices are not checked by the library."""
    name = "frozen-test"
    device_types = ("frozen",)
    mutable = False
    checks_index_bounds = False

    def load(self):
        import numpy as np
        self.xp = np
        self._build_dtype_tables()

    dtype_of_native = staticmethod(lambda nat: np.dtype(nat))

    def setitem(self, x, key, value):
        out = np.array(x, copy=True)
        out[key] = value
        return out


@pytest.fixture
def frozen():
    from plugins.sandbox import registry_restored
    with registry_restored():
        ember.backends.register(_Frozen())
        yield "frozen"


def test_immutable_backend_setitem_rebinds(frozen):
    x = ember.zeros(3, 4, device=frozen)
    before = x._data
    x[1] = ember.tensor([1.0, 2.0, 3.0, 4.0], device=frozen)
    x[:, [0, 3]] = 9
    x[ember.tensor([True, False, True], device=frozen), 1] = -1
    assert before.sum() == 0  # the old array was never written
    assert _np(x).tolist() == [[9, -1, 0, 9], [9, 2, 3, 9], [9, -1, 0, 9]]
    assert x._version == 3


def test_immutable_backend_view_writes_reach_base(frozen):
    x = ember.zeros(3, 4, device=frozen)
    row = x[1]
    row[2:] = 7.0
    x[0][1:][0] = 5.0
    assert _np(x).tolist() == [[0, 5, 0, 0], [0, 0, 7, 7], [0, 0, 0, 0]]


def test_immutable_backend_checks_bounds(frozen):
    x = ember.zeros(3, 4, device=frozen)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x[ember.tensor([0, 5], device=frozen)]
    with pytest.raises(IndexError, match="index -9 is out of bounds for dimension 0 with size 4"):
        x[:, [1, -9]]


def test_immutable_backend_ops_match_cpu(frozen):
    outs = []
    for dev in ("cpu", frozen):
        a = ember.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=ember.float32,
                         requires_grad=True, device=dev)
        i = ember.tensor([[0, 2, 2, 1]], device=dev)
        m = ember.tensor([[True, False, True, False]] * 3, device=dev)
        y = a * 2
        y[0, [1, 1, 2]] = ember.tensor(5.0, device=dev)
        z = (y[[2, 2, 0]].sum() + y.gather(0, i).sum() + y.scatter_add(0, i, y[:1]).sum()
             + y.index_add(1, ember.tensor([3, 3], device=dev), y[:, :2]).sum()
             + y.masked_fill(m, 0).sum() + y.masked_select(m).sum() + y.take(i).sum()
             + y.index_select(1, ember.tensor([0, 0], device=dev)).sum()
             + y.scatter_reduce(0, i, y[:1], "amax").sum())
        z.backward()
        outs.append((z, a.grad))
    _same(outs[1][0].to("cpu"), outs[0][0])
    _same(outs[1][1].to("cpu"), outs[0][1])
