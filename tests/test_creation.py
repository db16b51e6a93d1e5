"""Tensor creation compared with PyTorch: dtype inference, shapes, values (bit for bit where
PyTorch's kernels are deterministic), errors (type and message), memory sharing, random
draws (shapes, ranges, statistics, seeding) and the dtype/device/requires_grad keywords."""
from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest

import ember
from capabilities import need_dtype, supports


def outcome(lib, expr: str, rand: bool = False):
    """What ``expr`` (written with ``lib.``) gives: dtype, shape, values, or the error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = eval(expr, {"lib": lib, "np": np, "math": math})
    except Exception as e:  # noqa: BLE001 - the error is the outcome being compared
        return type(e).__name__, str(e)
    if hasattr(r, "dtype") and hasattr(r, "tolist"):
        return repr(r.dtype), tuple(r.shape), None if rand else _values(r)
    return repr(r)


def _values(t):
    if "float16" in repr(t.dtype) or "bfloat16" in repr(t.dtype):
        t = t.float()
    a = np.asarray(t.tolist())
    if a.dtype.kind in "fc":
        a = np.where(np.isnan(a), np.nan, a)  # one NaN, whatever its payload
    return a.tobytes().hex()  # exact: -0.0 and 0.0 differ


def same(torch, expr: str, rand: bool = False):
    assert outcome(ember, expr, rand) == outcome(torch, expr, rand), expr


# PyTorch also has uint16/32/64; ember's 12 dtypes don't, so its list of types is shorter.
_SUPPORTED = ("The only supported types are: float64, float32, float16, complex64, complex128, "
              "int64, int32, int16, int8, uint8, and bool.")


def same_but_for_uint_list(torch, expr: str):
    e, t = outcome(ember, expr), outcome(torch, expr)
    assert e[0] == t[0] and e[1] == t[1].split(" The only")[0] + " " + _SUPPORTED, expr


# --- tensor(): inference, structure, conversion ------------------------------------------------

DATA = [
    "[1, 2, 3]", "[1.0, 2]", "[True, False]", "[True, 2]", "[True, 1, 2.5]", "[1, 2j]",
    "[[1, 2], [3, 4]]", "((1, 2), (3, 4))", "[[1, 2], (3, 4)]", "[]", "[[], []]", "[[[]], [[]]]",
    "[[], [1]]", "3", "3.5", "True", "2 + 1j", "range(4)", "[range(2), range(2)]",
    "bytearray(b'ab')", "[np.float32(1.5), 2]", "[np.float64(1.5), 2]", "[np.int32(1), 2]",
    "[np.bool_(True), True]", "[np.int8(1), np.uint8(2)]", "np.float16(1.5)",
    "[np.array([1, 2], dtype=np.int32), [3, 4]]", "[np.array([1.5]), np.array([2.5])]",
    "[lib.tensor(1), lib.tensor(2)]", "[lib.tensor(1.5), lib.tensor(2)]",
    "[lib.tensor(1, dtype=lib.int32), 2]", "[lib.tensor([[1.5]]), 2.0]",
    "[float('nan'), float('inf')]", "[1e200]", "[2**62]",
]
ERRORS = [
    "[[1, 2], [3, 4, 5]]", "[[1, 2], 3]", "[1, [2, 3]]", "[1.0, [2.0]]", "[[[1, 2]], [[3]]]",
    "[[1], []]", "[True, [2]]", "[1j, [2]]", "'abc'", "b'ab'", "['a', 1]", "[1, 'a']", "[None]",
    "[1, None]", "None", "{1, 2}", "{}", "(x for x in range(3))", "[2**70]", "[2**63]",
    "[lib.tensor([1, 2]), lib.tensor([3, 4])]", "[lib.tensor([1.0, 2.0])]",
    "[np.array(1.5, dtype=np.float32), 2]",
]


@pytest.mark.parametrize("data", DATA + ERRORS)
def test_tensor_inference_and_errors(torch, data):
    same(torch, f"lib.tensor({data})")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "complex64",
                                   "complex128", "uint8", "int8", "int16", "int32", "int64",
                                   "bool"])
@pytest.mark.parametrize("data", ["[1, 2]", "[1.7, -1.7]", "[-1, 255]", "[-255, 0]", "[-256]",
                                  "[300, -1]", "[127.9]", "[-128.9]", "[1e10]", "[2**31]",
                                  "[float('nan')]", "[float('inf')]", "[1 + 1j]", "[1 + 0j]",
                                  "[[1, 2], [3, 4]]", "[2**63 - 1]", "[-2**63]", "[True, 0]",
                                  "[1e300]", "[70000.0]", "[None]", "[lib.tensor(2.5)]",
                                  "[lib.tensor(2**40)]", "3.5", "np.array([300, -1])",
                                  "np.array([1e10, -2.5])", "np.array([1 + 1j])"])
def test_tensor_with_dtype(torch, dtype, data):
    same(torch, f"lib.tensor({data}, dtype=lib.{dtype})")


def test_ragged_message():
    with pytest.raises(ValueError, match=r"^expected sequence of length 2 at dim 1 \(got 3\)$"):
        ember.tensor([[1, 2], [3, 4, 5]])


def test_empty_list_is_float32_shape_0(torch):
    t = ember.tensor([])
    assert t.dtype is ember.float32 and t.shape == (0,)
    ember.set_default_dtype(ember.float64)
    assert ember.tensor([]).dtype is ember.float64


def test_float16_rounds_through_float32_like_torch(torch):
    need_dtype("cpu", ember.float16, ember.bfloat16)
    """PyTorch stores a double into half as Half(float(x)): two roundings."""
    v = np.random.default_rng(1).standard_normal(20000)
    for dt in ("float16", "bfloat16"):
        e = ember.tensor(v.tolist(), dtype=getattr(ember, dt)).float().numpy()
        t = torch.tensor(v.tolist(), dtype=getattr(torch, dt)).float().numpy()
        assert np.array_equal(e, t)
        e = ember.tensor(v, dtype=getattr(ember, dt)).float().numpy()
        assert np.array_equal(e, t)


@pytest.mark.parametrize("npdt", ["float64", "float32", "float16", "complex64", "complex128",
                                  "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_from_numpy_arrays_of_each_dtype(torch, npdt):
    a = (np.arange(6).reshape(2, 3) % 3).astype(npdt)
    for fn in ("tensor", "as_tensor", "from_numpy"):
        e, t = getattr(ember, fn)(a), getattr(torch, fn)(a)
        assert repr(e.dtype) == repr(t.dtype)
        assert e.tolist() == t.tolist()


def test_bfloat16_numpy_array_round_trip():
    need_dtype("cpu", ember.bfloat16)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.array([1.5, -2.25, 3e38], dtype=ml_dtypes.bfloat16)
    t = ember.from_numpy(a)
    assert t.dtype is ember.bfloat16
    assert np.array_equal(t.numpy().astype(np.float32), a.astype(np.float32))


def test_unsupported_numpy_dtype(torch):
    for expr in ("lib.tensor(np.array(['a']))", "lib.tensor(np.array([1, 'a'], dtype=object))",
                 "lib.from_numpy(np.array([1], dtype=object))", "lib.as_tensor(np.array(['a']))"):
        same_but_for_uint_list(torch, expr)
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.uint16"):
        ember.from_numpy(np.zeros(2, dtype=np.uint16))  # ember has no uint16 (deliberate)
    same(torch, "lib.from_numpy([1, 2])")
    same(torch, "lib.from_numpy(np.float64(1))")


# --- memory sharing --------------------------------------------------------------------------

@pytest.mark.shares_memory
def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3, dtype=np.float32)
    for t in (ember.from_numpy(a), ember.as_tensor(a), ember.asarray(a)):
        a[0] = 5.0
        assert t[0].item() == 5.0
        t[1] = 7.0
        assert a[1] == 7.0
        a[:] = 0


def test_as_tensor_copies_when_dtype_changes():
    a = np.zeros(3, dtype=np.float32)
    t = ember.as_tensor(a, dtype=ember.float64)
    a[0] = 5.0
    assert t[0].item() == 0.0


def test_tensor_always_copies():
    a = np.zeros(3, dtype=np.float32)
    t = ember.tensor(a)
    a[0] = 5.0
    assert t[0].item() == 0.0
    lst = [1.0, 2.0]
    t = ember.tensor(lst)
    lst[0] = 9.0
    assert t[0].item() == 1.0


def test_as_tensor_of_tensor_is_the_same_tensor(torch):
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float64) is not x


def test_tensor_of_tensor_warns_and_copies(torch):
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning) as w:
        y = ember.tensor(x)
    with pytest.warns(UserWarning) as tw:
        torch.tensor(torch.ones(2, requires_grad=True))
    assert str(w[0].message) == str(tw[0].message)
    assert not y.requires_grad
    y[0] = 3.0
    assert x[0].item() == 1.0


def test_negative_strides_accepted():
    """Deliberate difference: PyTorch refuses negative-stride arrays; ember takes them."""
    a = np.arange(4.0)[::-1]
    assert ember.tensor(a).tolist() == [3.0, 2.0, 1.0, 0.0]
    assert ember.from_numpy(a).tolist() == [3.0, 2.0, 1.0, 0.0]


# --- filled and _like --------------------------------------------------------------------------

FILLED = [
    "lib.zeros(2, 3)", "lib.zeros((2, 3))", "lib.zeros([2, 3])", "lib.zeros(lib.Size([2, 3]))",
    "lib.zeros(())", "lib.zeros([])", "lib.zeros(0)", "lib.zeros(2, 0, 3)", "lib.ones(3)",
    "lib.ones(2, dtype=lib.int32)", "lib.empty(2, 3).shape", "lib.empty((2, 3)).dtype",
    "lib.zeros(np.int64(3))", "lib.zeros(lib.tensor(3))", "lib.ones([lib.tensor(2)])",
    "lib.ones(size=(2, 3))", "lib.zeros(size=2)", "lib.ones(2, True)", "lib.zeros()",
    "lib.zeros(-1)", "lib.zeros(-1, 2)", "lib.ones(-1)", "lib.empty(2, -1)", "lib.zeros(2.0)",
    "lib.zeros((2.0,))", "lib.zeros((2, 1.5))", "lib.ones([2, 1.5])", "lib.ones([1.5, 2])",
    "lib.ones(2, 3, 1.5)", "lib.zeros(True)", "lib.zeros((True,))", "lib.zeros('a')",
    "lib.zeros(None)", "lib.zeros(2, (3,))", "lib.ones(1.5, 2)", "lib.ones(lib.tensor(2.0))",
    "lib.ones((2, np.float64(2)))", "lib.ones(np.float64(2))",
    "lib.full((2,), 3)", "lib.full((2,), True)", "lib.full((2,), 3.5)", "lib.full((2,), 1j)",
    "lib.full([2, 3], 1)", "lib.full((2,), np.float32(2.5))", "lib.full((2,), np.int8(2))",
    "lib.full((2,), lib.tensor(2))", "lib.full((2,), lib.tensor(2.5, dtype=lib.float64))",
    "lib.full(2, 1)", "lib.full((2,), 'a')", "lib.full([2], None)", "lib.full((-1,), 1)",
    "lib.full((2,), 1.5, dtype=lib.int64)", "lib.full((2,), 300, dtype=lib.uint8)",
    "lib.full((2,), -1, dtype=lib.uint8)", "lib.full((2,), -1.0, dtype=lib.uint8)",
    "lib.full((2,), 1j, dtype=lib.float32)", "lib.full((2,), 1 + 0j, dtype=lib.float32)",
    "lib.full((2,), float('nan'), dtype=lib.int32)", "lib.full((2,), 2**63)",
    "lib.full((2,), -2**63)", "lib.full((2,), 2**40, dtype=lib.int32)",
    "lib.full((2,), 1e300, dtype=lib.float32)", "lib.full((2,), 70000.0, dtype=lib.float16)",
    "lib.full((2,), float('inf'), dtype=lib.float16)", "lib.full((2,), 2.5, dtype=lib.bool)",
    "lib.full((2,), 1e39, dtype=lib.bfloat16)", "lib.scalar_tensor(3)",
    "lib.scalar_tensor(True)", "lib.scalar_tensor(1j)", "lib.scalar_tensor(2, dtype=lib.int32)",
    "lib.zeros_like(lib.tensor([1, 2]))", "lib.ones_like(lib.tensor([1, 2]), dtype=lib.float64)",
    "lib.full_like(lib.zeros(2, dtype=lib.int32), 2.7)", "lib.full_like(lib.zeros(2), True)",
    "lib.empty_like(lib.zeros(2, 3, dtype=lib.int32)).shape",
    "lib.zeros(2, out=lib.ones(2, dtype=lib.int32))", "lib.full((2,), 7, out=lib.zeros(2))",
    "lib.ones(3, out=lib.zeros(5))",
]


# torch before 2.13 words these TypeErrors differently ("received an invalid combination of
# arguments"), and divides by the int64-truncated step of 0 (SIGFPE) instead of raising
_RELEASE_SPECIFIC = {"lib.zeros()", "lib.ones(1.5, 2)", "lib.arange(0, 2, 0.5, dtype=lib.int64)"}


def _params(exprs):
    return [pytest.param(e, marks=pytest.mark.torch_exact) if e in _RELEASE_SPECIFIC else e
            for e in exprs]


@pytest.mark.parametrize("expr", _params(FILLED))
def test_filled(torch, expr):
    same(torch, expr)


@pytest.mark.shares_memory
def test_out_writes_in_place():
    buf = ember.zeros(3)
    view = buf[:2]
    res = ember.ones(3, out=buf)
    assert res is buf and buf.tolist() == [1.0, 1.0, 1.0]
    assert view.tolist() == [1.0, 1.0]


# --- ranges ----------------------------------------------------------------------------------

RANGES = [
    "lib.arange(5)", "lib.arange(0)", "lib.arange(3, 3)", "lib.arange(1, 4)", "lib.arange(1.0, 4)",
    "lib.arange(0, 1, 0.1)", "lib.arange(0, 1.3, 0.1)", "lib.arange(-1, 1, 0.3)",
    "lib.arange(0, 10, 0.7)", "lib.arange(5, 0, -1)", "lib.arange(0, -1, -0.25)",
    "lib.arange(0, 10, 3.0)", "lib.arange(0.5, 3)", "lib.arange(True)", "lib.arange(lib.tensor(3))",
    "lib.arange(lib.tensor(2.5))", "lib.arange(np.int32(4))", "lib.arange(np.float32(2.5))",
    "lib.arange(1e15, 1e15 + 5)", "lib.arange(2**53, 2**53 + 3, dtype=lib.float64)",
    "lib.arange(0, 2**62, 2**60)", "lib.arange(0, 1, 0.25, dtype=lib.float64)",
    "lib.arange(10, dtype=lib.float16)", "lib.arange(0.1, 1, 0.2, dtype=lib.float16)",
    "lib.arange(0.1, 3, 0.07, dtype=lib.bfloat16)", "lib.arange(0, 1, 0.1, dtype=lib.int32)",
    "lib.arange(0.5, 5.7, 1.5, dtype=lib.int32)", "lib.arange(0.5, 5.7, 1.5, dtype=lib.int64)",
    "lib.arange(-2.5, 3, 1.7, dtype=lib.int64)", "lib.arange(10, 0, -2.5, dtype=lib.int32)",
    "lib.arange(10, 0, -2.5, dtype=lib.int64)", "lib.arange(0, 300, 100, dtype=lib.int8)",
    "lib.arange(5, dtype=lib.uint8)", "lib.arange(0, 2, 0.5, dtype=lib.int64)",
    "lib.arange(0, 5, -1)", "lib.arange(0, 5, 0)", "lib.arange(float('inf'))",
    "lib.arange(float('nan'))", "lib.arange(0, 10, 3, dtype=lib.bool)", "lib.arange(2 + 1j)",
    "lib.arange(0, 10000, 0.1)", "lib.arange(0.3, 5000.7, 0.013, dtype=lib.float64)",
    "lib.arange(3, out=lib.zeros(5))",
    "lib.linspace(0, 1, 5)", "lib.linspace(-3.3, 7.1, 11)", "lib.linspace(0, 1, 1)",
    "lib.linspace(5, 1, 1)", "lib.linspace(0, 1, 0)", "lib.linspace(0, 1, -1)",
    "lib.linspace(0, 10, 5, dtype=lib.int64)", "lib.linspace(0, 10, 4, dtype=lib.int64)",
    "lib.linspace(-5, 5, 4, dtype=lib.int64)", "lib.linspace(-1.5, 2.5, 5, dtype=lib.int32)",
    "lib.linspace(0, 300, 4, dtype=lib.uint8)", "lib.linspace(-2, 5, 4, dtype=lib.uint8)",
    "lib.linspace(0, 1, 4, dtype=lib.bool)", "lib.linspace(0, 1, 7, dtype=lib.float16)",
    "lib.linspace(0, 1, 7, dtype=lib.bfloat16)", "lib.linspace(-1e3, 1e3, 9, dtype=lib.float64)",
    "lib.linspace(lib.tensor(0.0), 1, 3)", "lib.linspace(0, 1j, 3)",
    "lib.linspace(0, 1, 3, dtype=lib.complex64)", "lib.linspace(-7, 3.3, 100001)",
    "lib.logspace(0, 2, 3)", "lib.logspace(0, 2, 3, base=2)", "lib.logspace(0, 1, 1)",
    "lib.logspace(0, 3, 4, dtype=lib.int64)", "lib.logspace(-2, 2, 5)",
    "lib.logspace(-1, 1, 3, base=2, dtype=lib.float64)", "lib.logspace(-2.25, 8.7, 1, dtype=lib.uint8)",
    "lib.eye(3)", "lib.eye(2, 3, dtype=lib.int32)", "lib.eye(3, 2)", "lib.eye(0, 3)", "lib.eye(0)",
    "lib.eye(n=2, m=3)", "lib.eye(2, dtype=lib.bool)", "lib.eye(-1)", "lib.eye(3, -1)",
    "lib.eye(2.5)", "lib.tril_indices(3, 3)", "lib.triu_indices(3, 4, 1)",
]


@pytest.mark.parametrize("expr", _params(RANGES))
def test_ranges(torch, expr):
    same(torch, expr)


@pytest.mark.torch_exact  # logspace's last ulp changed between torch releases
def test_ranges_bit_exact_random(torch):
    """Random arange/linspace/logspace calls agree with PyTorch value for value."""
    rnd = random.Random(0)
    dts = [d for d in ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16",
                       None] if d is None or supports("cpu", getattr(ember, d))]
    for _ in range(300):
        s = rnd.choice([0, 1, -3, 0.5, -2.25, rnd.uniform(-10, 10), rnd.randint(-20, 20)])
        st = rnd.choice([1, 2, 0.1, 0.3, -0.5, rnd.uniform(0.01, 3), rnd.randint(1, 5)])
        e = s + st * rnd.uniform(0, 40)
        n = rnd.randint(0, 40)
        dt = rnd.choice(dts)
        kw = "" if dt is None else f", dtype=lib.{dt}"
        same(torch, f"lib.arange({s!r}, {e!r}, {st!r}{kw})")
        same(torch, f"lib.linspace({s!r}, {e!r}, {n}{kw})")
        same(torch, f"lib.logspace({s / 5!r}, {e / 5!r}, {n}{kw})")


def test_range_is_deprecated_and_inclusive(torch):
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = ember.range(0, 1, 0.25)
    with pytest.warns(UserWarning):
        t = torch.range(0, 1, 0.25)
    assert r.tolist() == t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert r.dtype is ember.float32


# --- random ----------------------------------------------------------------------------------

RANDOM = [
    "lib.rand(2, 3)", "lib.rand((2, 3))", "lib.rand([2, 3])", "lib.rand(lib.Size([2]))",
    "lib.randn(2, 3)", "lib.randn(size=[2])", "lib.rand(2, dtype=lib.float64)",
    "lib.rand(2, dtype=lib.float16)", "lib.rand(2, dtype=lib.bfloat16)",
    "lib.rand(2, dtype=lib.complex64)", "lib.randn(2, dtype=lib.complex128)",
    "lib.rand(2, dtype=lib.int64)", "lib.randn(2, dtype=lib.int32)", "lib.rand(-1)",
    "lib.rand(2.0)", "lib.rand(2, 1.5)", "lib.randn(2, -1)",
    "lib.randint(0, 10, (3,))", "lib.randint(10, (3,))", "lib.randint(10, size=(2,))",
    "lib.randint(low=0, high=3, size=(2,))", "lib.randint(2, 5, size=[3])", "lib.randint(3, (0,))",
    "lib.randint(0, 5, (2,), dtype=lib.float32)", "lib.randint(5, 3, (3,))",
    "lib.randint(10, (2,), dtype=lib.bool)", "lib.randint(0, 300, (2,), dtype=lib.uint8)",
    "lib.randint(-3, -1, (3,), dtype=lib.uint8)", "lib.randint(-1, 3, (2,), dtype=lib.bool)",
    "lib.randint(0, 129, (2,), dtype=lib.int8)", "lib.randint(-129, 0, (2,), dtype=lib.int8)",
    "lib.randint(0, 2**31 + 1, (2,), dtype=lib.int32)", "lib.randint(3.5, (2,))",
    "lib.randint(0, 2**63, (2,))", "lib.randperm(5)", "lib.randperm(0)", "lib.randperm(-1)",
    "lib.randperm(3, dtype=lib.float32)", "lib.randperm(300, dtype=lib.uint8)",
    "lib.normal(0.0, 1.0, (2, 3))", "lib.normal(0, 1, (2,))", "lib.normal(0.0, 1.0, size=(2,))",
    "lib.normal(lib.zeros(3), 1.0)", "lib.normal(2.0, lib.ones(3))",
    "lib.normal(lib.zeros(2, 1), lib.ones(3))", "lib.normal(0.0, -1.0, (2,))",
    "lib.normal(lib.zeros(2), -1.0)", "lib.normal(lib.zeros(2, dtype=lib.int64), 1.0)",
    "lib.normal(lib.zeros(2, dtype=lib.float64), 1.0)",
    "lib.rand_like(lib.zeros(2, dtype=lib.int64))", "lib.rand_like(lib.zeros(2, 3))",
    "lib.randn_like(lib.zeros(2, dtype=lib.float64))", "lib.randint_like(lib.zeros(2), 5)",
    "lib.randint_like(lib.zeros(2, dtype=lib.int32), 2, 5)", "lib.bernoulli(lib.full((4,), 0.5))",
]


@pytest.mark.parametrize("expr", RANDOM)
def test_random_shapes_dtypes_errors(torch, expr):
    same(torch, expr, rand=True)


def test_random_ranges_and_statistics(device):
    n = 200_000
    u = ember.rand(n, device=device).cpu().numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    z = ember.randn(n, dtype=ember.float64, device=device).cpu().numpy()
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    c = ember.randn(n, dtype=ember.complex64, device=device).cpu().numpy()
    assert abs(np.mean(np.abs(c) ** 2) - 1) < 0.02  # unit variance split over re and im
    assert abs(c.real.var() - 0.5) < 0.01
    cu = ember.rand(n, dtype=ember.complex64, device=device).cpu().numpy()
    assert 0 <= cu.real.min() and cu.real.max() < 1 and 0 <= cu.imag.min() and cu.imag.max() < 1
    g = ember.normal(3.0, 2.0, (n,), device=device).cpu().numpy()
    assert abs(g.mean() - 3) < 0.03 and abs(g.std() - 2) < 0.03
    r = ember.randint(-5, 5, (n,), device=device).cpu().numpy()
    assert r.min() == -5 and r.max() == 4 and set(np.unique(r)) == set(range(-5, 5))
    assert abs(r.mean() + 0.5) < 0.05
    p = ember.randperm(1000, device=device).cpu().numpy()
    assert sorted(p.tolist()) == list(range(1000)) and p.tolist() != list(range(1000))
    m = ember.normal(ember.arange(4.0, device=device), 0.0001).cpu().numpy()
    assert np.allclose(m, [0, 1, 2, 3], atol=0.01)


def test_manual_seed_reproduces(device):
    ember.manual_seed(123)
    a = [ember.rand(5, device=device), ember.randn(5, device=device),
         ember.randint(0, 100, (5,), device=device), ember.randperm(10, device=device)]
    ember.manual_seed(123)
    b = [ember.rand(5, device=device), ember.randn(5, device=device),
         ember.randint(0, 100, (5,), device=device), ember.randperm(10, device=device)]
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    ember.manual_seed(124)
    assert ember.rand(5, device=device).tolist() != a[0].tolist()


def test_generators(torch):
    g1 = ember.Generator().manual_seed(7)
    g2 = ember.Generator().manual_seed(7)
    g3 = ember.Generator().manual_seed(8)
    a, b, c = (ember.randn(6, generator=g) for g in (g1, g2, g3))
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    # a generator's stream is independent of the global one
    ember.manual_seed(7)
    g = ember.Generator().manual_seed(7)
    x = ember.rand(4, generator=g)
    ember.rand(100)
    g.manual_seed(7)
    assert ember.rand(4, generator=g).tolist() == x.tolist()
    # get_state / set_state replay
    st = g.get_state()
    y = ember.rand(3, generator=g)
    g.set_state(st)
    assert ember.rand(3, generator=g).tolist() == y.tolist()
    same(torch, "lib.Generator().initial_seed()")
    same(torch, "lib.Generator().manual_seed(-1).initial_seed()")
    same(torch, "lib.manual_seed(3).initial_seed()")
    same(torch, "lib.Generator(device='cpu').device")
    same(torch, "lib.default_generator.device")
    ember.manual_seed(5)
    assert ember.initial_seed() == 5


# --- dtype=, device=, requires_grad= on every factory -------------------------------------------

FACTORIES = {
    "tensor": lambda **kw: ember.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda **kw: ember.as_tensor([1.0, 2.0], **{k: v for k, v in kw.items()
                                                             if k != "requires_grad"}),
    "zeros": lambda **kw: ember.zeros(2, 3, **kw), "ones": lambda **kw: ember.ones(2, **kw),
    "empty": lambda **kw: ember.empty(2, **kw), "full": lambda **kw: ember.full((2,), 1.5, **kw),
    "zeros_like": lambda **kw: ember.zeros_like(ember.ones(2), **kw),
    "ones_like": lambda **kw: ember.ones_like(ember.ones(2), **kw),
    "empty_like": lambda **kw: ember.empty_like(ember.ones(2), **kw),
    "full_like": lambda **kw: ember.full_like(ember.ones(2), 3.0, **kw),
    "arange": lambda **kw: ember.arange(0.0, 3.0, **kw),
    "linspace": lambda **kw: ember.linspace(0, 1, 4, **kw),
    "logspace": lambda **kw: ember.logspace(0, 1, 4, **kw),
    "eye": lambda **kw: ember.eye(3, **kw), "rand": lambda **kw: ember.rand(2, **kw),
    "randn": lambda **kw: ember.randn(2, **kw),
    "rand_like": lambda **kw: ember.rand_like(ember.ones(2), **kw),
    "randn_like": lambda **kw: ember.randn_like(ember.ones(2), **kw),
    "normal": lambda **kw: ember.normal(0.0, 1.0, (2,), **kw),
    "scalar_tensor": lambda **kw: ember.scalar_tensor(1.5, **kw),
    "randint": lambda **kw: ember.randint(0, 3, (2,), **kw),
    "randperm": lambda **kw: ember.randperm(4, **kw),
}
FLOAT_ONLY = {"rand", "randn", "rand_like", "randn_like", "normal"}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factory_keywords(device, name):
    make = FACTORIES[name]
    t = make(dtype=ember.float64, device=device)
    assert t.dtype is ember.float64
    assert t.device == ember.device(device) or t.device.type == ember.device(device).type
    if name != "as_tensor":
        assert make(dtype=ember.float64, device=device, requires_grad=True).requires_grad
        assert make(device=device).requires_grad is False
    if name in FLOAT_ONLY or name == "as_tensor":
        return
    t = make(dtype=ember.int32, device=device)
    assert t.dtype is ember.int32
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype "
                                           "can require gradients$"):
        make(dtype=ember.int64, device=device, requires_grad=True)


def test_requires_grad_error_text_matches_torch(torch):
    for expr in ("lib.tensor([1], requires_grad=True)", "lib.arange(3, requires_grad=True)",
                 "lib.randint(3, (2,), requires_grad=True)",
                 "lib.zeros_like(lib.zeros(2), dtype=lib.int64, requires_grad=True)",
                 "lib.ones(2, requires_grad=True, dtype=lib.complex64).requires_grad"):
        same(torch, expr)


def test_default_dtype_drives_float_factories(torch):
    ember.set_default_dtype(ember.float64)
    try:
        torch.set_default_dtype(torch.float64)
        for expr in ("lib.tensor([1.5])", "lib.tensor([1j])", "lib.arange(0, 1, 0.5)",
                     "lib.zeros(2)", "lib.rand(2).dtype", "lib.full((1,), 2.5)",
                     "lib.linspace(0, 1, 3)", "lib.tensor([])", "lib.arange(3)"):
            same(torch, expr)
    finally:
        torch.set_default_dtype(torch.float32)


def test_legacy_constructor(torch):
    same(torch, "lib.Tensor([1, 2])")
    same(torch, "lib.Tensor(2, 3).shape")
    same(torch, "lib.Tensor().shape")


def test_negative_zero_keeps_its_sign(device):
    """-0.0 survives every way of making it (CuPy fills with a memset where value == 0, and
    zeros() is not full(-0.0)), as in PyTorch, where it prints and 1 / x is -inf."""
    made = [ember.tensor(-0.0, device=device), ember.tensor([-0.0], device=device),
            ember.full((3,), -0.0, device=device), ember.full((), -0.0, device=device),
            ember.zeros(2, device=device).fill_(-0.0), ember.tensor(-0.0).to(device)]
    for t in made:
        assert ember.signbit(t).all().item(), t
    assert not ember.signbit(ember.full((2,), 0.0, device=device)).any().item()
