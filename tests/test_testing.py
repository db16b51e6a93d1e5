"""ember.testing vs torch.testing: assert_close's tolerances, pairing rules and messages
(word for word, except the Tensor class name), assert_allclose, make_tensor."""
from __future__ import annotations

import warnings

import ember
from capabilities import need_dtypes_of
import numpy as np
import pytest
from ember.testing import assert_allclose, assert_close, make_tensor


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the outcome itself is compared
        return type(e).__name__, str(e).replace("torch._tensor.Tensor", "Tensor").replace(
            "torch.Tensor", "Tensor").replace("ember._tensor.Tensor", "Tensor")
    return "ok", ""


NAN, INF = float("nan"), float("inf")
CASES = [
    (lambda L: (L.tensor([1.0, 2.0, 3.0]), L.tensor([1.0, 2.1, 3.0])), {}),
    (lambda L: (L.tensor([1.0, 2.0, 3.0]), L.tensor([1.0, 2.1, 3.0])), {"msg": "custom"}),
    (lambda L: (L.tensor([1.0, 2.0, 3.0]), L.tensor([1.0, 2.1, 3.0])),
     {"msg": lambda m: m + " XX"}),
    (lambda L: (L.tensor([1, 2, 3]), L.tensor([1, 5, 3])), {}),
    (lambda L: (L.tensor([True, False]), L.tensor([True, True])), {}),
    (lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0, 3.0])), {}),
    (lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0], dtype=L.float64)), {}),
    (lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0], dtype=L.float64)),
     {"check_dtype": False}),
    (lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.01], dtype=L.float64)),
     {"check_dtype": False}),
    (lambda L: (1.0, 1.1), {}),
    (lambda L: (1, 2), {}),
    (lambda L: (1.0, 1), {}),
    (lambda L: (1 + 1j, 1 + 1j), {}),
    (lambda L: (L.tensor(1.0), 1.0), {}),
    (lambda L: ([L.tensor(1.0), L.tensor(2.0)], [L.tensor(1.0), L.tensor(2.5)]), {}),
    (lambda L: ({"a": L.tensor(1.0)}, {"a": L.tensor(1.5)}), {}),
    (lambda L: ({"a": [L.tensor([1.0, 2.0])]}, {"a": [L.tensor([1.0, 2.5])]}), {}),
    (lambda L: ({"a": L.tensor(1.0)}, {"b": L.tensor(1.0)}), {}),
    (lambda L: ([1, 2], [1, 2, 3]), {}),
    (lambda L: ((1, 2.0), (1, 2.0)), {}),
    (lambda L: (L.tensor([NAN]), L.tensor([NAN])), {}),
    (lambda L: (L.tensor([NAN]), L.tensor([NAN])), {"equal_nan": True}),
    (lambda L: (L.tensor([INF, -INF]), L.tensor([INF, -INF])), {}),
    (lambda L: (L.tensor([INF]), L.tensor([-INF])), {}),
    (lambda L: (L.tensor([1.0]), L.tensor([1.0])), {"rtol": 0.1}),
    (lambda L: (L.tensor([1.0]), L.tensor([1.0])), {"atol": 0.1}),
    (lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.1, 2.2])), {"rtol": 0.2, "atol": 0.0}),
    (lambda L: (np.array([1.0, 2.0]), np.array([1.0, 2.5])), {}),
    (lambda L: (np.array([1, 2]), np.array([1, 2])), {}),
    (lambda L: (L.tensor([1.0, 2.0]), np.array([1.0, 2.0])), {}),
    (lambda L: (L.tensor([[1.0, 2.0], [3, 4]]), L.tensor([[1.0, 2.0], [3, 5]])), {}),
    (lambda L: (L.tensor([1.0 + 1j]), L.tensor([1.0 + 2j])), {}),
    (lambda L: (L.tensor([1.0, 2.0], requires_grad=True), L.tensor([1.0, 2.0])), {}),
    (lambda L: (L.tensor(1.0), L.tensor(2.0)), {}),
    (lambda L: (L.tensor(1), L.tensor(2)), {}),
    (lambda L: ("a", "b"), {}),
    (lambda L: (L.tensor([], dtype=L.float32), L.tensor([])), {}),
    (lambda L: (L.tensor([1, 2], dtype=L.int32), L.tensor([1, 2])), {}),
    (lambda L: (L.tensor([0.0]), L.tensor([1e-6])), {}),
    (lambda L: (L.tensor([0.0, 1.0]), L.tensor([1e-3, 0.0])), {}),
    (lambda L: (L.tensor([1.0, 2.0], dtype=L.float64), L.tensor([1.0, 2.0 + 1e-7],
                                                                 dtype=L.float64)), {}),
    (lambda L: (L.tensor([1.0], dtype=L.float16), L.tensor([1.0005], dtype=L.float16)), {}),
    (lambda L: (L.tensor([1.0], dtype=L.float16), L.tensor([1.01], dtype=L.float16)), {}),
    (lambda L: (L.tensor([1.0], dtype=L.bfloat16), L.tensor([1.01], dtype=L.bfloat16)), {}),
    (lambda L: (L.tensor([1.0], dtype=L.bfloat16), L.tensor([1.1], dtype=L.bfloat16)), {}),
    (lambda L: (L.tensor([1, 2], dtype=L.uint8), L.tensor([1, 3], dtype=L.uint8)), {}),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_assert_close_matches_torch(i, torch):
    make, kw = CASES[i]
    need_dtypes_of(make)
    want = _outcome(lambda: torch.testing.assert_close(*make(torch), **kw))
    got = _outcome(lambda: assert_close(*make(ember), **kw))
    assert got == want


def test_assert_close_on_devices(device):
    a = ember.tensor([1.0, 2.0], device=device)
    assert_close(a, a.clone())
    with pytest.raises(AssertionError, match="Greatest absolute difference: 0.5 at index"):
        assert_close(a, a + 0.5)


def test_assert_allclose_is_deprecated_and_lenient(torch):
    for a, b in ((ember.tensor([1.0]), ember.tensor([1.00005])), (ember.tensor([1.0]), [1.0]),
                 (ember.tensor([NAN]), ember.tensor([NAN])),
                 (ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64))):
        with pytest.warns(FutureWarning, match="assert_allclose\\(\\)` is deprecated"):
            assert_allclose(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _outcome(lambda: torch.testing.assert_allclose(torch.tensor([1.0]),
                                                              torch.tensor([1.1])))
        got = _outcome(lambda: assert_allclose(ember.tensor([1.0]), ember.tensor([1.1])))
    assert got == want


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64", "int32",
                                   "uint8", "int8", "bool", "complex64"])
def test_make_tensor_ranges(dtype, device):
    dt = getattr(ember, dtype)
    try:
        t = make_tensor(2000, dtype=dt, device=device)
    except TypeError:
        pytest.skip(f"{device}'s backend has no {dtype}")
    assert t.dtype is dt and tuple(t.shape) == (2000,)
    assert t.device.type == ember.device(device).type
    v = _vals(t)
    if dtype == "bool":
        assert set(np.unique(v).tolist()) == {False, True}
        return
    lo, hi = (0, 10) if dtype == "uint8" else (-9, 10) if not (dt.is_floating_point or
                                                                dt.is_complex) else (-9, 9)
    low_precision = dtype in ("float16", "bfloat16")  # draws may round up to ``high``
    assert v.min() >= lo and (v.max() <= hi if low_precision else v.max() < hi)
    assert v.max() - v.min() > (hi - lo) * 0.8  # spread over the range
    t2 = make_tensor((3, 4), dtype=dt, device=device, low=1, high=3)
    assert tuple(t2.shape) == (3, 4) and _vals(t2).min() >= 1 and _vals(t2).max() <= 3


def _vals(t):
    a = np.asarray(t.float().cpu().numpy() if t.dtype is ember.bfloat16 else t.cpu().numpy())
    return a.real if np.iscomplexobj(a) else a


def test_make_tensor_options_and_errors(torch):
    assert make_tensor(2, 3, dtype=ember.float32, device="cpu").shape == (2, 3)
    t = make_tensor(5, dtype=ember.float64, device="cpu", requires_grad=True)
    assert t.requires_grad and t.is_leaf
    z = make_tensor(200, dtype=ember.int64, device="cpu", low=0, high=2, exclude_zero=True)
    assert (_vals(z) != 0).all()
    f = make_tensor(200, dtype=ember.float32, device="cpu", low=-1e-30, high=1e-30,
                    exclude_zero=True)
    assert (_vals(f) != 0).all()
    with pytest.raises(TypeError, match="device"):
        make_tensor(3, dtype=ember.float32)


@pytest.mark.parametrize("name,kw", [("float32", {"low": 2, "high": 1}),
                                     ("int64", {"low": 2, "high": 2}),
                                     ("float32", {"low": NAN}),
                                     ("int64", {"requires_grad": True})])
def test_make_tensor_errors_match_torch(name, kw, torch):
    want = _outcome(lambda: torch.testing.make_tensor(3, dtype=getattr(torch, name),
                                                      device="cpu", **kw))
    got = _outcome(lambda: make_tensor(3, dtype=getattr(ember, name), device="cpu", **kw))
    assert got == want and got[0] == "ValueError"
