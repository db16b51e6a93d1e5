"""Conversions compared with PyTorch: ``.to`` (dtype, device, other, copy), the cast methods,
``.cpu``/``.cuda``, ``.numpy``/``__array__``/DLPack (with memory sharing), ``.item``,
``.tolist``, ``format``, ``len``, iteration, ``bool``/``int``/``float``/``__index__``."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from capabilities import need_dtype


def outcome(lib, expr: str):
    """What ``expr`` (written with ``lib.``) gives: a tensor's dtype/shape/repr, an
    array's dtype/shape/values, a plain value, or the error (type and message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = eval(expr, {"lib": lib, "np": np})
    except Exception as e:  # noqa: BLE001 - the error is the outcome being compared
        return type(e).__name__, str(e)
    if isinstance(r, np.ndarray):
        return "ndarray", r.dtype.name, r.shape, r.tolist()
    if hasattr(r, "dtype") and hasattr(r, "tolist"):
        return "tensor", repr(r.dtype), tuple(r.shape), repr(r)
    return type(r).__name__, repr(r)


def same(torch, expr: str):
    assert outcome(ember, expr) == outcome(torch, expr), expr


CASTS = ["float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool",
         "cfloat", "cdouble"]


@pytest.mark.parametrize("cast", CASTS)
@pytest.mark.parametrize("data", ["[1.5, -2.7, 0.0]", "[1, -2, 300]", "[True, False]",
                                  "[1e10, -1e10]", "[1 + 2j, -0.5j]", "[]", "2.5"])
def test_cast_methods(torch, cast, data):
    same(torch, f"lib.tensor({data}).{cast}()")


TO = [
    "lib.tensor([1.5, -2.7]).to(lib.int32)", "lib.tensor([1.5, -2.7]).to(lib.float64)",
    "lib.tensor([1.5, -2.7]).to('cpu')", "lib.tensor([1.5, -2.7]).to(lib.device('cpu'))",
    "lib.tensor([1.5, -2.7]).to(lib.tensor([1], dtype=lib.int64))",
    "lib.tensor([1.5, -2.7]).to('cpu', lib.float16)",
    "lib.tensor([1.5, -2.7]).to(device='cpu', dtype=lib.float16)",
    "lib.tensor([1.5, -2.7]).to(dtype=lib.bfloat16)",
    "lib.tensor([1.5, -2.7]).to(lib.float32, copy=True)",
    "lib.tensor([1.5, -2.7]).to('cpu', non_blocking=True)",
    "lib.tensor([1.5]).to(lib.int64).dtype", "lib.tensor([1e10]).to(lib.int32)",
    "lib.tensor([1e5]).to(lib.float16)", "lib.tensor([300.0]).to(lib.uint8)",
    "lib.tensor([-1]).to(lib.uint8)", "lib.tensor([1 + 2j]).to(lib.float32)",
    "lib.tensor([1.0, 2.0], requires_grad=True).to(lib.int64).requires_grad",
    "lib.tensor([1.0, 2.0], requires_grad=True).to(lib.float64)",
    "lib.tensor([1.0, 2.0], requires_grad=True).double()",
    "lib.tensor([1.0, 2.0], requires_grad=True).float()",
    "lib.tensor([1, 2]).type()", "lib.tensor([1.0]).type()", "lib.tensor([1, 2]).type(lib.float64)",
    "lib.tensor([1, 2]).type('torch.DoubleTensor')", "lib.tensor([1, 2]).type_as(lib.tensor([1.0]))",
]


@pytest.mark.parametrize("expr", TO)
def test_to(torch, expr):
    same(torch, expr)


def test_to_returns_self_when_nothing_changes(device):
    t = ember.tensor([1.0, 2.0], device=device)
    for same_t in (t.to(t.dtype), t.to(device), t.to(t), t.to(device=device, dtype=t.dtype),
                   t.float(), t.to(ember.float32)):
        assert same_t is t
    if device == "cpu":
        assert t.cpu() is t
    for copied in (t.to(ember.float32, copy=True), t.to(device, copy=True), t.clone()):
        assert copied is not t
        copied[0] = 9.0
        assert t[0].item() == 1.0


def test_to_device_and_back(device):
    t = ember.tensor([1.5, 2.5])
    d = t.to(device)
    assert d.device.type == ember.device(device).type
    assert d.cpu().tolist() == [1.5, 2.5]
    assert ember.tensor([1, 2]).to(d).dtype is ember.float32  # .to(other): its dtype too


def test_to_keeps_the_graph(torch):
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.to(lib.float64)
        assert type(y.grad_fn).__name__ == "ToCopyBackward0" or \
            y.grad_fn.name() == "ToCopyBackward0"
        (y * y).sum().backward()
        assert x.grad.dtype == lib.float32 and x.grad.tolist() == [2.0, 4.0]


def test_cuda_unavailable_error_names_cupy():
    if ember.cuda.is_available():
        pytest.skip("CUDA is available here")
    for call in (lambda: ember.ones(2).cuda(), lambda: ember.ones(2).to("cuda"),
                 lambda: ember.ones(2, device="cuda")):
        with pytest.raises(RuntimeError, match="(?i)cupy"):
            call()


# --- numpy ------------------------------------------------------------------------------------

NUMPY = [
    "lib.tensor([1.5, -2.7]).numpy()", "lib.tensor([1, 2], dtype=lib.int16).numpy()",
    "lib.tensor([1.5, -2.7], requires_grad=True).numpy()",
    "lib.tensor([1.5, -2.7], requires_grad=True).numpy(force=True)",
    "lib.tensor([1.5, -2.7], dtype=lib.float16).numpy()", "lib.tensor(1.5).numpy()",
    "np.asarray(lib.tensor([1.5, 2]))", "np.asarray(lib.tensor([1.5, 2], requires_grad=True))",
    "np.asarray(lib.tensor([1, 2]), dtype=np.float64)", "np.array(lib.tensor(2.5))",
    "np.asarray(lib.tensor([True, False]))", "np.asarray(lib.tensor([1j]))",
    "np.add(lib.tensor([1.0]).numpy(), 1)",
]


@pytest.mark.parametrize("expr", NUMPY)
def test_numpy(torch, expr):
    same(torch, expr)


@pytest.mark.shares_memory
def test_numpy_shares_memory_both_ways(device):
    if device != "cpu":
        with pytest.raises(TypeError, match="can't convert"):
            ember.ones(2, device=device).numpy()
        return
    t = ember.zeros(3)
    n = t.numpy()
    n[0] = 4.0
    assert t[0].item() == 4.0
    t[1] = 5.0
    assert n[1] == 5.0
    a = np.asarray(t)
    a[2] = 6.0
    assert t[2].item() == 6.0
    d = t.detach().numpy()
    assert np.shares_memory(d, n)


def test_bfloat16_round_trip_via_ml_dtypes():
    """A deliberate extension: PyTorch's .numpy() refuses bfloat16; ember hands out an
    ml_dtypes array (and takes one back) without losing a bit."""
    need_dtype("cpu", ember.bfloat16)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    t = ember.tensor([1.5, -2.703125, 3.0e38, 1e-38], dtype=ember.bfloat16)
    a = t.numpy()
    assert a.dtype == np.dtype(ml_dtypes.bfloat16)
    back = ember.from_numpy(a)
    assert back.dtype is ember.bfloat16
    assert np.array_equal(back.float().numpy(), t.float().numpy())
    assert ember.tensor(a).dtype is ember.bfloat16
    assert ember.tensor(a.astype(np.float32)).bfloat16().float().tolist() == t.float().tolist()


# --- DLPack ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int8",
                                   "uint8", "bool", "complex64"])
@pytest.mark.shares_memory
def test_dlpack_round_trips_zero_copy(torch, dtype):
    base = ember.tensor([1, 0, 1], dtype=getattr(ember, dtype))
    # ember -> numpy and back
    a = np.from_dlpack(base)
    assert a.dtype.name == dtype and np.shares_memory(a, base.numpy())
    back = ember.from_dlpack(a)
    assert back.dtype is base.dtype and np.shares_memory(back.numpy(), a)
    # ember -> torch and back
    t = torch.from_dlpack(base)
    assert repr(t.dtype) == repr(base.dtype) and t.tolist() == base.tolist()
    e = ember.from_dlpack(t)
    assert e.dtype is base.dtype and e.tolist() == base.tolist()
    if dtype != "bool":
        t[0] = 0
        assert base[0].item() == 0 and e[0].item() == 0  # one buffer throughout


@pytest.mark.shares_memory
def test_dlpack_errors_and_device(torch):
    need_dtype("cpu", ember.bfloat16)
    same(torch, "np.from_dlpack(lib.tensor([1.5, 2], requires_grad=True))")
    assert ember.tensor([1.0]).__dlpack_device__() == torch.tensor([1.0]).__dlpack_device__()
    x = ember.ones(2, requires_grad=True)
    d = ember.from_dlpack(x)
    assert not d.requires_grad and np.shares_memory(d.numpy(), x.detach().numpy())
    with pytest.raises(BufferError):  # numpy has no DLPack code for bfloat16
        np.from_dlpack(ember.ones(2, dtype=ember.bfloat16))


# --- Python protocols ---------------------------------------------------------------------------

SCALARS = [
    "lib.tensor(1.5).item()", "lib.tensor([1.5]).item()", "lib.tensor([[1.5]]).item()",
    "lib.tensor([1.5, 2]).item()", "lib.tensor([]).item()", "lib.tensor(3).item()",
    "lib.tensor(True).item()", "lib.tensor(1 + 2j).item()",
    "lib.tensor(1.5, dtype=lib.float16).item()", "lib.tensor(1.1, dtype=lib.bfloat16).item()",
    "lib.tensor(1.1).item()", "lib.tensor(7, dtype=lib.uint8).item()",
    "lib.tensor([[1, 2], [3, 4]]).tolist()", "lib.tensor([[1.5, 2]], dtype=lib.float16).tolist()",
    "lib.tensor([1.1], dtype=lib.bfloat16).tolist()", "lib.tensor(2.5).tolist()",
    "lib.tensor([True]).tolist()", "lib.tensor([1j]).tolist()", "lib.tensor([1.1]).tolist()",
    "lib.zeros(2, 0).tolist()", "lib.tensor([1, 2], dtype=lib.int8).tolist()",
    "format(lib.tensor(2.5), '.2f')", "format(lib.tensor([2.5]), '.2f')",
    "format(lib.tensor([[2.5]]), '.2f')", "format(lib.tensor([2.5, 3]), '')",
    "format(lib.tensor(3), 'd')", "format(lib.tensor(3), '05d')", "f'{lib.tensor(2.5):.3e}'",
    "f'{lib.tensor([1.0, 2.0])}'", "format(lib.tensor(True), '')",
    "len(lib.tensor([1, 2, 3]))", "len(lib.zeros(4, 2))", "len(lib.tensor(3))",
    "[x.tolist() for x in lib.tensor([[1, 2], [3, 4]])]", "list(lib.tensor(3))",
    "[x.shape for x in lib.zeros(2, 3)]", "len(list(lib.zeros(0, 3)))",
    "bool(lib.tensor([1]))", "bool(lib.tensor([0.0]))", "bool(lib.tensor([1, 2]))",
    "bool(lib.tensor([]))", "bool(lib.tensor(0j))", "bool(lib.tensor(float('nan')))",
    "int(lib.tensor(2.7))", "int(lib.tensor([-2.7]))", "int(lib.tensor([1, 2]))",
    "int(lib.tensor(1 + 1j))", "int(lib.tensor(1 + 0j))", "int(lib.tensor(True))",
    "float(lib.tensor(3))", "float(lib.tensor([1, 2]))", "float(lib.tensor(1j))",
    "float(lib.tensor([]))", "complex(lib.tensor(2.5))", "complex(lib.tensor([1, 2]))",
    "[10, 20, 30][lib.tensor(1)]", "[10, 20, 30][lib.tensor([1])]",
    "[10, 20, 30][lib.tensor(1.0)]", "[10, 20, 30][lib.tensor(True)]",
    "[10, 20, 30][lib.tensor([1, 2])]", "range(10)[lib.tensor(3):]",
    "lib.tensor(3).__index__()", "'abc'[lib.tensor(-1)]",
    "hex(lib.tensor(255))", "lib.tensor(2.5) < 3", "round(lib.tensor(2.567).item(), 2)",
]


@pytest.mark.parametrize("expr", SCALARS)
def test_python_protocols(torch, expr):
    same(torch, expr)


def test_item_is_a_python_number(device):
    for value, typ in ((1.5, float), (3, int), (True, bool), (1 + 2j, complex)):
        v = ember.tensor(value, device=device).item()
        assert type(v) is typ and v == value


class _ForeignArray:
    """Another library's array as ember sees one: indexable like a sequence (so it must not
    be read element by element into 0-d pieces) and exporting DLPack, as JAX's does."""

    def __init__(self, data):
        self._a = np.asarray(data)

    def __len__(self):
        return len(self._a)

    def __getitem__(self, i):
        return _ForeignArray(self._a[i])

    def __dlpack__(self, **kw):
        return self._a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_tensor_of_another_librarys_array_reads_it_whole(device):
    data = [[1.5, 2.0], [3.0, -4.0]]
    t = ember.tensor(_ForeignArray(np.array(data, dtype=np.float32)), device=device)
    assert t.dtype is ember.float32 and t.tolist() == data
    assert ember.tensor(_ForeignArray(np.arange(3)), dtype=ember.float64).tolist() == [0, 1, 2]
