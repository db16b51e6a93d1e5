"""Reductions, sorting and softmax beyond the op table: named-tuple results, ties, NaN,
errors and warnings, result dtypes, numerical stability and higher-order gradients, each
compared with PyTorch."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import ember

INF = float("inf")
NAN = float("nan")


def _np(t):
    return np.asarray(t.detach().cpu().numpy()) if hasattr(t, "cpu") else \
        np.asarray(t.detach().numpy())


def _same(got, want, tol=1e-6):
    """Same shape, dtype name and values (NaN equal to NaN)."""
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(_np(got).astype(np.float64), _np(want).astype(np.float64),
                               rtol=tol, atol=tol, equal_nan=True)


def _both(torch, device, data, **kw):
    return ember.tensor(data, device=device, **kw), torch.tensor(data, **kw)


def _raises_like(torch, fn_e, fn_t):
    """Both raise the same exception type with the same message."""
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(type(et.value)) as ee:
        fn_e()
    assert str(ee.value) == str(et.value)


# --- named tuples ----------------------------------------------------------------------------

@pytest.mark.parametrize("call", ["max(1)", "min(0, True)", "sort()", "topk(2)",
                                  "kthvalue(2, 0)", "median(1)", "nanmedian(1)", "cummax(1)",
                                  "cummin(0)", "aminmax()", "aminmax(dim=1)"])
def test_return_types_match_torch(call, device, torch):
    data = [[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]
    e, t = _both(torch, device, data)
    got, want = eval(f"e.{call}"), eval(f"t.{call}")
    assert type(got).__name__ == type(want).__name__
    assert isinstance(got, tuple) and len(got) == len(want) == 2
    for field in ("values", "indices") if hasattr(want, "values") else ("min", "max"):
        _same(getattr(got, field), getattr(want, field))
    a, b = got  # unpacks like a tuple
    _same(a, want[0])
    if device == "cpu":
        assert repr(got) == repr(want)
        assert str(got) == str(want)


def test_return_type_construction_and_pickle(torch):
    got = ember.return_types.max((1, 2))
    want = torch.return_types.max((1, 2))
    assert repr(got) == repr(want)
    assert (got.values, got.indices) == (want.values, want.indices)
    assert got.n_fields == want.n_fields == 2
    with pytest.raises(TypeError) as ee:
        ember.return_types.max((1, 2, 3))
    with pytest.raises(TypeError) as et:
        torch.return_types.max((1, 2, 3))
    assert str(ee.value) == str(et.value)
    back = pickle.loads(pickle.dumps(ember.tensor([3.0, 1.0]).sort()))
    assert type(back).__name__ == "sort" and back.indices.tolist() == [1, 0]


def test_max_grad_fn_only_on_values(device):
    x = ember.tensor([[1.0, 3.0], [4.0, 2.0]], device=device, requires_grad=True)
    v, i = x.max(1)
    assert v.grad_fn.name() == "MaxBackward0"
    assert i.grad_fn is None and not i.requires_grad
    assert i.dtype is ember.int64


# --- ties and NaN ----------------------------------------------------------------------------

def test_full_max_min_share_gradient_among_ties(device, torch):
    data = [[1.0, 3.0, 3.0], [3.0, 0.0, -1.0]]
    for name in ("max", "min", "amax", "amin", "median", "nanmedian"):
        e, t = _both(torch, device, data, requires_grad=True)
        (getattr(e, name)() * 2).backward()
        (getattr(t, name)() * 2).backward()
        _same(e.grad, t.grad)


def test_amax_dim_shares_per_slice_and_max_dim_picks_index(device, torch, exact_oracle):
    data = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    calls = ["amax(1)", "amin(0)", "max(1)[0]", "min(1)[0]"]
    if exact_oracle:  # torch has aminmax's derivative since 2.13
        calls.append("aminmax(dim=1)[1]")
    for call in calls:
        e, t = _both(torch, device, data, requires_grad=True)
        eval(f"e.{call}").sum().backward()
        eval(f"t.{call}").sum().backward()
        _same(e.grad, t.grad)


def test_max_dim_ties_report_first_index(device, torch):
    e, t = _both(torch, device, [[2.0, 7.0, 7.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    for call in ("max(1)", "min(1)", "argmax(1)", "argmin(1)", "argmax()", "argmin()"):
        got, want = eval(f"e.{call}"), eval(f"t.{call}")
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            _same(g, w)


def test_nan_propagates_through_max_and_argmax(device, torch):
    e, t = _both(torch, device, [[1.0, NAN, 3.0], [0.0, 2.0, NAN]])
    for call in ("max()", "min()", "amax(1)", "max(1)", "argmax(1)", "argmin(1)", "argmax()",
                 "aminmax(dim=0)", "cummax(1)", "cummin(1)", "median()", "nanmedian()",
                 "sort(1)", "sort(1, descending=True)", "logsumexp(1)", "softmax(1)"):
        got, want = eval(f"e.{call}"), eval(f"t.{call}")
        for g, w in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            _same(g, w)


def test_sort_is_stable_with_ties(device, torch):
    data = [3, 1, 2, 1, 3, 2, 1, 0]
    for dt in ("int64", "float32", "bool"):
        e = ember.tensor(data, dtype=getattr(ember, dt), device=device)
        t = torch.tensor(data, dtype=getattr(torch, dt))
        for desc in (False, True):
            got, want = e.sort(descending=desc, stable=True), t.sort(descending=desc,
                                                                     stable=True)
            _same(got.values, want.values)
            _same(got.indices, want.indices)
            _same(e.argsort(descending=desc, stable=True),
                  t.argsort(descending=desc, stable=True))


def test_topk_sorted_false_has_the_same_set(device, torch):
    rng = np.random.default_rng(0)
    data = rng.permutation(20).reshape(4, 5).astype(np.float32)
    e, t = _both(torch, device, data)
    got, want = e.topk(3, 1, sorted=False), t.topk(3, 1, sorted=False)
    np.testing.assert_array_equal(np.sort(_np(got.values), 1), np.sort(_np(want.values), 1))
    np.testing.assert_array_equal(np.take_along_axis(data, _np(got.indices), 1),
                                  _np(got.values))


def test_nanmedian_of_all_nan_slice_is_nan(device, torch):
    e, t = _both(torch, device, [[NAN, NAN, NAN, NAN], [1.0, NAN, 3.0, 2.0]])
    got, want = e.nanmedian(1), t.nanmedian(1)
    _same(got.values, want.values)
    assert got.indices[1].item() == want.indices[1].item()
    assert 0 <= got.indices[0].item() < 4


# --- result dtypes ---------------------------------------------------------------------------

@pytest.mark.parametrize("dt", ["bool", "uint8", "int8", "int16", "int32", "int64", "float16",
                                "float32", "float64"])
def test_result_dtypes(dt, device, torch):
    data = [[1, 0, 2], [3, 1, 0]]
    e = ember.tensor(data, dtype=getattr(ember, dt), device=device)  # noqa: F841 - eval'd
    t = torch.tensor(data, dtype=getattr(torch, dt))  # noqa: F841 - eval'd
    calls = ["sum()", "sum(1)", "prod()", "prod(0)", "cumsum(1)", "cumprod(0)", "nansum()",
             "max()", "amax(0)", "all()", "any(1)", "count_nonzero()", "sort(1)[0]",
             "cummax(1)[0]", "logsumexp(1)", "sum(dtype=torch.float64)"]
    if dt != "bool":
        calls += ["argmax()", "median()", "topk(2)[0]", "kthvalue(1)[0]"]
    if dt.startswith("float"):
        calls += ["mean()", "var()", "std(0)", "norm()", "softmax(0)", "log_softmax(1)",
                  "nanmean()"]
    for call in calls:
        got = eval(f"e.{call}".replace("torch.", "ember."))
        want = eval(f"t.{call}")
        assert str(got.dtype) == str(want.dtype), call
        _same(got, want, tol=1e-3)


def test_sum_dtype_argument_casts_first(device, torch):
    e, t = _both(torch, device, [1.5, 2.7, -0.5])
    _same(e.sum(dtype=ember.int32), t.sum(dtype=torch.int32))
    _same(ember.tensor([True, True], device=device).sum(), torch.tensor([True, True]).sum())
    _same(e.mean(dtype=ember.float64), t.mean(dtype=torch.float64))


# --- numerical stability ---------------------------------------------------------------------

def test_softmax_and_logsumexp_are_stable(device, torch):
    cases = [[1000.0, 0.0], [-1000.0, 0.0, 1000.0], [88.0, 89.0, 90.0], [-INF, 0.0],
             [-INF, -INF], [INF, 1.0], [1e30, -1e30]]
    for data in cases:
        for dt in ("float32", "float64"):
            e = ember.tensor(data, dtype=getattr(ember, dt), device=device)  # noqa: F841
            t = torch.tensor(data, dtype=getattr(torch, dt))  # noqa: F841 - eval'd
            for call in ("softmax(0)", "log_softmax(0)", "logsumexp(0)"):
                _same(eval(f"e.{call}"), eval(f"t.{call}"))


def test_logsumexp_of_large_values(device, torch):
    data = np.array([[1e4, 1e4 + 1.0, 1e4 - 3.0], [-1e4, -1e4, -1e4]])
    e, t = _both(torch, device, data)
    _same(e.logsumexp(1), t.logsumexp(1))
    _same(ember.logsumexp(e, (0, 1), keepdim=True), torch.logsumexp(t, (0, 1), keepdim=True))


def test_logsumexp_gradient_at_infinities(device, torch):
    for data in ([-INF, -INF], [INF, 1.0], [-INF, 2.0]):
        e, t = _both(torch, device, data, requires_grad=True)
        e.logsumexp(0).backward()
        t.logsumexp(0).backward()
        _same(e.grad, t.grad)


# --- gradients at zeros and higher order -----------------------------------------------------

@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 3.0, 2.0],
                                  [[0.0, 2.0], [3.0, 0.0]], [[1.0, 2.0], [0.0, 4.0]]])
def test_prod_gradient_with_zeros(data, device, torch):
    for call in ("prod()", "prod(0)", "prod(-1, True)"):
        e, t = _both(torch, device, data, requires_grad=True)
        ge, = ember.autograd.grad(eval(f"e.{call}").sum(), e, create_graph=True)
        gt, = torch.autograd.grad(eval(f"t.{call}").sum(), t, create_graph=True)
        _same(ge, gt)


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 0.0, 2.0],
                                  [1.5, -2.0, 0.5, 0.0]])
def test_cumprod_gradient_with_zeros(data, device, torch):
    e, t = _both(torch, device, data, requires_grad=True)
    w = [0.3, -1.2, 0.7, 2.0]
    (e.cumprod(0) * ember.tensor(w, device=device)).sum().backward()
    (t.cumprod(0) * torch.tensor(w)).sum().backward()
    _same(e.grad, t.grad)


def test_second_order_gradients(device):
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.uniform(-2, 2, (3, 4)), dtype=ember.float64, device=device,
                     requires_grad=True)
    one_zero = ember.tensor([[1.5, 0.0, -2.0], [0.5, 1.2, 0.8]], dtype=ember.float64,
                            device=device, requires_grad=True)
    fns = [lambda a: a.softmax(1), lambda a: a.log_softmax(0), lambda a: a.logsumexp(1),
           lambda a: a.var(1), lambda a: a.std(0), lambda a: a.norm(), lambda a: a.norm(3, 1),
           lambda a: a.prod(1), lambda a: a.cumprod(1), lambda a: a.cumsum(0),
           lambda a: a.sort(1)[0], lambda a: a.topk(2, 0)[0], lambda a: a.max(1)[0],
           lambda a: a.amax(0), lambda a: a.cummax(1)[0], lambda a: ember.var_mean(a, 1)]
    for fn in fns:
        assert ember.autograd.gradgradcheck(fn, (x,))
    for fn in (lambda a: a.prod(1), lambda a: a.cumprod(1)):
        assert ember.autograd.gradgradcheck(fn, (one_zero,))


# --- signatures and forms --------------------------------------------------------------------

def test_var_std_argument_forms(device, torch):
    e, t = _both(torch, device, [[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    for call in ("var()", "var(True)", "var(False)", "var(1)", "var(1, False)",
                 "var(0, True, True)", "var(1, keepdim=True)", "var(dim=1, correction=0)",
                 "var(correction=2)", "var(1, unbiased=False)", "std(0, False, True)",
                 "std(correction=0)", "var((0, 1))"):
        _same(eval(f"e.{call}"), eval(f"t.{call}"))
    for fn in ("var_mean", "std_mean"):
        got = getattr(ember, fn)(e, 1, keepdim=True, correction=0)
        want = getattr(torch, fn)(t, 1, keepdim=True, correction=0)
        assert type(got) is tuple and len(got) == 2
        _same(got[0], want[0])
        _same(got[1], want[1])


def test_var_with_no_degrees_of_freedom_warns(device, torch):
    e, t = _both(torch, device, [1.0])
    with warnings.catch_warnings(record=True) as wt:
        warnings.simplefilter("always")
        want = t.var()
    with pytest.warns(UserWarning) as we:
        got = e.var()
    _same(got, want)
    assert str(we[0].message) in str(wt[0].message)


def test_max_binary_form_is_maximum(device, torch):
    a, ta = _both(torch, device, [1.0, 5.0, -2.0])
    b, tb = _both(torch, device, [3.0, 2.0, -2.0])
    _same(ember.max(a, b), torch.max(ta, tb))
    _same(a.min(b), ta.min(tb))
    _same(ember.max(a, other=b), torch.max(ta, other=tb))


def test_dim_forms(device, torch):
    e, t = _both(torch, device, np.arange(24.0).reshape(2, 3, 4))
    for call in ("sum(())", "sum([])", "mean((0, 2))", "amax((-1, 0), True)",
                 "argmax(keepdim=True)", "all((0, 1))", "any(-1, keepdim=True)",
                 "count_nonzero((0, 2))", "logsumexp((0, 1))", "norm(dim=(1, 2))",
                 "nansum((0, 1), True)", "std((0, 2))"):
        _same(eval(f"e.{call}"), eval(f"t.{call}"))
    _same(ember.max(e, dim=1, keepdim=True).values, torch.max(t, dim=1, keepdim=True).values)


def test_scalar_tensors(device, torch):
    e, t = _both(torch, device, 2.5)
    for call in ("sum(0)", "max(0)[0]", "argmax(0)", "sort()[1]", "topk(1)[0]", "cumsum(0)",
                 "cummax(-1)[1]", "softmax(0)", "log_softmax(-1)", "logsumexp(0)",
                 "median(0)[0]", "kthvalue(1)[1]", "prod(0)", "amax(0)", "norm()"):
        _same(eval(f"e.{call}"), eval(f"t.{call}"))


def test_inplace_cumsum(device, torch):
    e, t = _both(torch, device, [1.0, 2.0, 3.0])
    e.cumsum_(0)
    t.cumsum_(0)
    _same(e, t)
    e.cumprod_(0)
    t.cumprod_(0)
    _same(e, t)


def test_softmax_implicit_dim_warns_like_torch(device, torch):
    import torch.nn.functional as F
    for shape in ((4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)):
        data = np.random.default_rng(0).uniform(-1, 1, shape)
        e, t = _both(torch, device, data)
        with warnings.catch_warnings(record=True) as wt:
            warnings.simplefilter("always")
            want = F.softmax(t)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax") as we:
            got = ember.softmax(e)
        assert str(we[0].message) == str(wt[0].message)
        _same(got, want)
        with pytest.warns(UserWarning, match="log_softmax"):
            _same(ember.log_softmax(e), F.log_softmax(t))


def test_softmax_dtype_argument(device, torch):
    e, t = _both(torch, device, [[1, 2], [3, 5]])
    _same(ember.softmax(e, 1, dtype=ember.float64), torch.softmax(t, 1, dtype=torch.float64))
    _same(e.log_softmax(0, dtype=ember.float32), t.log_softmax(0, dtype=torch.float32))


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    "empty.max()", "empty.min()", "empty.max(0)", "empty.amax()", "empty.amin((0, 1))",
    "empty.argmax()", "empty.argmin(0)", "empty.aminmax()", "empty.aminmax(dim=0)",
    "empty.kthvalue(1, 0)", "empty.median(0)", "x.max(2)", "x.sum(3)", "x.topk(4)",
    "x.topk(-1)", "x.kthvalue(4)", "x.kthvalue(0)", "x.softmax(2)", "b.argmax()",
    "i.mean()", "i.var()", "i.std(0)", "i.norm()", "i.nanmean()", "i.softmax(0)",
    "i.softmax(1)", "i.log_softmax(0)", "x.sum((0, 0))", "x.norm('abc')",
    "empty.norm(float('inf'))",
    "empty.norm(float('-inf'), 0)"])
def test_errors_match_torch(call, device, torch):
    def env(lib, dev):
        kw = {} if dev is None else {"device": dev}
        return {"empty": lib.zeros(0, 3, **kw), "x": lib.tensor([[1.0, 3.0, 2.0]], **kw),
                "b": lib.tensor([True, False], **kw), "i": lib.tensor([[1, 2], [3, 4]], **kw)}
    _raises_like(torch, lambda: eval(call, env(ember, device)), lambda: eval(call, env(torch, None)))


def test_empty_reductions_with_identity(device, torch):
    e, t = _both(torch, device, np.zeros((0, 3)))
    for call in ("sum()", "sum(0)", "prod(0)", "mean(0)", "max(1)[0]", "amax(1)",
                 "argmax(1)", "logsumexp(0)", "logsumexp(1)", "norm(dim=0)", "all()", "any()",
                 "cumsum(0)", "cummax(0)[0]", "sort(0)[1]", "softmax(0)", "var(0)", "mean()"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same(eval(f"e.{call}"), eval(f"t.{call}"))


def test_numpy_style_axis_and_keepdims(device, torch):
    e, t = _both(torch, device, np.arange(24.0).reshape(2, 3, 4))
    for call in ("sum(axis=1)", "mean(axis=(0, 2), keepdims=True)", "max(axis=2)[0]",
                 "amin(axis=0)", "argmax(axis=1, keepdims=True)", "std(axis=2)",
                 "var(axis=0, keepdims=True)", "prod(axis=1)", "all(axis=0)", "any(axis=1)",
                 "nansum(axis=2)", "softmax(axis=1)", "log_softmax(axis=0)"):
        _same(eval(f"e.{call}"), eval(f"t.{call}"))
    with pytest.raises(TypeError):
        e.sum(axes=1)
