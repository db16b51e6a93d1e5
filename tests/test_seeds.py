"""The tensor and autograd snippets of the tutorials in ``/work/shared/seeds/`` (quoted here
as they appear there), run with ``import ember as torch``.

Each snippet runs twice, with ``torch`` bound to ember and to the real PyTorch; every
tensor, Size, dtype and device it leaves behind must agree. Where a seed prints an output
(those come from real PyTorch, whitespace flattened by the slides), ember's repr must give
the same text up to whitespace. The nn / optim / data / save snippets belong to other test
files.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import ember
from capabilities import need_dtype


def _run(lib, code: str) -> dict:
    ns = {"torch": lib, "np": np}
    exec(code, ns)  # noqa: S102 - the snippets are fixed text in this file
    return {k: v for k, v in ns.items() if k not in ("torch", "np", "__builtins__")}


def _same(e, t, name):
    import torch as real
    if isinstance(t, real.Tensor):
        assert isinstance(e, ember.Tensor), name
        assert str(e.dtype) == str(t.dtype), (name, e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape), (name, e.shape, t.shape)
        assert e.requires_grad == t.requires_grad, name
        np.testing.assert_allclose(e.detach().numpy().astype(np.float64),
                                   t.detach().numpy().astype(np.float64), rtol=1e-6,
                                   err_msg=name)
        assert repr(e) == repr(t), name
    elif isinstance(t, (real.Size, real.dtype, real.device)):
        assert str(e) == str(t), (name, e, t)
    elif isinstance(t, (bool, int, float, str, tuple, list)):
        assert e == t, (name, e, t)


def both(torch, code: str) -> dict:
    """Run ``code`` with ember and with torch; compare what it leaves; return ember's."""
    ns_e, ns_t = _run(ember, code), _run(torch, code)
    assert ns_e.keys() == ns_t.keys()
    for k in ns_t:
        _same(ns_e[k], ns_t[k], k)
    return ns_e


def flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


# --- creating tensors (000, 001, 003, 004) ------------------------------------------------

def test_creating_tensors(torch):
    ns = both(torch, """
x = torch.tensor([[1, -1], [-1, 1]])
x_np = torch.from_numpy(np.array([[1, -1], [-1, 1]]))
xf = torch.tensor([[1., -1.], [-1., 1.]])
""")
    # 000/001 print "tensor([[1., -1.], [-1., 1.]])" for this matrix (in float form)
    assert flat(repr(ns["xf"])) == flat("tensor([[1., -1.],\n [-1., 1.]])")
    assert ns["x"].dtype is ember.int64 and ns["x_np"].dtype is ember.int64


@pytest.mark.shares_memory
def test_from_numpy_shares_memory():
    a = np.array([[1, -1], [-1, 1]])
    x = ember.from_numpy(a)
    a[0, 0] = 7
    assert x[0, 0].item() == 7


def test_zeros_and_ones(torch):
    ns = both(torch, """
x = torch.zeros([2, 2])
y = torch.ones([1, 2, 5])
""")
    assert flat(repr(ns["x"])) == flat("tensor([[0., 0.],\n [0., 0.]])")
    assert flat(repr(ns["y"])) == flat("tensor([[[1., 1., 1., 1., 1.],\n"
                                       " [1., 1., 1., 1., 1.]]])")
    # 003 quotes the same zeros as "tensor([[0., 0.], [0., 0.]])"
    assert flat(repr(ns["x"])) == flat("tensor([[0., 0.], [0., 0.]])")


def test_common_arithmetic(torch):
    both(torch, """
x = torch.tensor([[1., 0.], [-1., 1.]])
y = torch.tensor([[2., 3.], [4., 5.]])
s = x.sum()
m = x.mean()
z_add = x + y
z_sub = x - y
p = x.pow(2)
z_bcast = x + x.sum()
""")


# --- shape operations (000, 001, 003, 004) ------------------------------------------------

def test_transpose(torch):
    ns = both(torch, """
x = torch.zeros([2, 3])
before = x.shape
x = x.transpose(0, 1)
after = x.shape
""")
    assert str(ns["before"]) == "torch.Size([2, 3])" and str(ns["after"]) == "torch.Size([3, 2])"


def test_squeeze(torch):
    ns = both(torch, """
x = torch.zeros([1, 2, 3])
before = x.shape
x = x.squeeze(0)
after = x.shape
""")
    assert str(ns["before"]) == "torch.Size([1, 2, 3])"
    assert str(ns["after"]) == "torch.Size([2, 3])"


def test_unsqueeze(torch):
    ns = both(torch, """
x = torch.zeros([2, 3])
before = x.shape
x = x.unsqueeze(1)
after = x.shape
""")
    assert str(ns["after"]) == "torch.Size([2, 1, 3])"


def test_cat(torch):
    ns = both(torch, """
x = torch.zeros([2, 1, 3])
y = torch.zeros([2, 3, 3])
z = torch.zeros([2, 2, 3])
w = torch.cat([x, y, z], dim=1)
shape = w.shape
""")
    assert str(ns["shape"]) == "torch.Size([2, 6, 3])"


def test_stack(torch):
    ns = both(torch, """
x = torch.zeros([2, 3])
y = torch.zeros([2, 3])
z = torch.stack([x, y], dim=0)
shape = z.shape
""")
    # 001's comment says torch.Size([1, 2, 3]); real PyTorch (and ember) give [2, 2, 3]
    assert str(ns["shape"]) == "torch.Size([2, 2, 3])"


def test_permute(torch):
    ns = both(torch, """
x = torch.zeros([3, 5, 7])
x = x.permute(1, 2, 0)
shape = x.shape
""")
    assert str(ns["shape"]) == "torch.Size([5, 7, 3])"


def test_bmm(torch):
    ns = both(torch, """
x = torch.zeros([10, 8, 6]) # (B, M, N)
y = torch.zeros([10, 6, 9]) # (B, N, K)
z = torch.bmm(x, y) # (B, M, K)
shape = z.shape
""")
    assert str(ns["shape"]) == "torch.Size([10, 8, 9])"


def test_numpy_like_attributes_and_functions(torch):
    ns = both(torch, """
x = torch.tensor([[1., 2., 3.], [4., 5., 6.]])
shape = x.shape
dtype = x.dtype
r = x.reshape(3, 2)
v = x.view(3, 2)
s = torch.zeros([1, 2, 1, 3]).squeeze()
u = x.unsqueeze(1)
""")
    np.testing.assert_array_equal(ns["u"].numpy(), np.expand_dims(ns["x"].numpy(), 1))


# --- data types (000, 001, 004) -----------------------------------------------------------

SEED_DTYPES = ["float32", "float64", "float16", "bfloat16", "uint8", "int8", "int16", "int32",
               "int64", "bool", "complex64", "complex128"]


@pytest.mark.parametrize("name", SEED_DTYPES)
def test_dtype_table(torch, name):
    assert str(getattr(ember, name)) == str(getattr(torch, name)) == f"torch.{name}"
    t = ember.zeros(2, dtype=getattr(ember, name))
    assert str(t.dtype) == f"torch.{name}"


def test_dtype_aliases_and_tensor_types(torch):
    assert ember.float is ember.float32 and ember.long is ember.int64
    ns = both(torch, """
f = torch.zeros(2, dtype=torch.float)
l = torch.zeros(2, dtype=torch.long)
f_type = f.type()
l_type = l.type()
""")
    assert ns["f_type"] == "torch.FloatTensor" and ns["l_type"] == "torch.LongTensor"


@pytest.mark.parametrize("dtype_name, type_name", [("float", "FloatTensor"),
                                                    ("long", "LongTensor")])
def test_dtype_table_legacy_types(torch, dtype_name, type_name):
    """The seeds' table: ``torch.float`` / ``torch.FloatTensor``, ``torch.long`` /
    ``torch.LongTensor`` (000, 004), each column used as a script would."""
    ns = both(torch, f"""
legacy = torch.{type_name}([1, 2])
by_dtype = torch.tensor([1, 2], dtype=torch.{dtype_name})
same_dtype = legacy.dtype == by_dtype.dtype == torch.{type_name}.dtype
is_legacy = isinstance(by_dtype, torch.{type_name})
type_name = by_dtype.type()
cast = torch.zeros(2, dtype=torch.int8).type(torch.{type_name})
sized = torch.{type_name}(2, 3).shape
""")
    assert ns["same_dtype"] and ns["is_legacy"] and ns["type_name"] == f"torch.{type_name}"


def test_casting():
    code = """
t = torch.randn(3, 4)
t_double = t.to(torch.float64)
t_int = t.to(torch.int32)
"""
    ns = _run(ember, code)
    assert ns["t_double"].dtype is ember.float64 and ns["t_int"].dtype is ember.int32
    np.testing.assert_array_equal(ns["t_int"].numpy(), ns["t"].numpy().astype(np.int32))
    np.testing.assert_array_equal(ns["t_double"].numpy(), ns["t"].numpy().astype(np.float64))


def test_casting_shortcuts(torch):
    need_dtype("cpu", ember.float16)
    both(torch, """
t = torch.tensor([[-1.5, 0.0], [2.7, 300.2]])
t_float = t.float()
t_double = t.double()
t_half = t.half()
t_int = t.int()
t_long = t.long()
t_bool = t.bool()
x = torch.ones(2, 2)
x = x.long()
""")
    t = ember.tensor([1.0, 2.5, 255.0])
    assert [str(getattr(t, m)().dtype) for m in ("float", "double", "half", "int", "long",
                                                  "byte", "bool")] == \
        ["torch.float32", "torch.float64", "torch.float16", "torch.int32", "torch.int64",
         "torch.uint8", "torch.bool"]


# --- devices (000, 001, 004) --------------------------------------------------------------

def test_device_snippets(torch):
    ns = both(torch, """
x = torch.ones(2, 2)
x = x.to('cpu')
x = x.to("cpu")
dev = x.device
""")
    for s in ("cuda:0", "cuda:1", "cuda:2"):
        assert str(ember.device(s)) == s
    # whether a GPU is usable depends on the machine and, for PyTorch, on its build: ember's
    # answer is its own (an NVIDIA GPU and CuPy), and the snippets follow it
    snippet = "available = torch.cuda.is_available()\ny = torch.ones(2).to('cuda')"
    if ember.cuda.is_available():
        ns = _run(ember, snippet)
        assert ns["available"] is True and ns["y"].device == ember.device("cuda:0")
    else:
        assert _run(ember, snippet.split("\n")[0])["available"] is False
        # moving to cuda says what is missing (PyTorch's CPU build says it was not
        # compiled with CUDA)
        with pytest.raises(RuntimeError, match="CuPy"):
            _run(ember, snippet)


# --- gradients (000, 001, 003, 004) -------------------------------------------------------

def test_gradient_calculation(torch):
    ns = both(torch, """
x = torch.tensor([[1., 0.], [-1., 1.]], requires_grad=True)
z = x.pow(2).sum()
z.backward()
g = x.grad
""")
    assert flat(repr(ns["g"])) == flat("tensor([[ 2., 0.],\n [-2., 2.]])")
    # 003 writes the literal with an int in it: [[1.,0.],[-1.,1]]
    ns = both(torch, """
x = torch.tensor([[1.,0.],[-1.,1]], requires_grad=True)
z = x.pow(2).sum()
z.backward()
g = x.grad
""")
    assert flat(repr(ns["g"])) == flat("tensor([[2.,0.],[-2.,2.]])")


def test_leaf_tensors_and_retain_grad(torch):
    both(torch, """
x = torch.tensor([[1., 0.], [-1., 1.]], requires_grad=True)
y = x * 3
z = y.pow(2).sum()
y.retain_grad()
z.backward()
x_leaf, y_leaf, z_leaf = x.is_leaf, y.is_leaf, z.is_leaf
gx = x.grad
gy = y.grad
grad_is_buffer = (x.grad.requires_grad, x.grad.grad_fn is None)
""")


def test_gradients_accumulate(torch):
    ns = both(torch, """
x = torch.tensor([[1., 0.], [-1., 1.]], requires_grad=True)
z = x.pow(2).sum()
z.backward(retain_graph=True)
z.backward()
g = x.grad
""")
    np.testing.assert_array_equal(ns["g"].numpy(), [[4.0, 0.0], [-4.0, 4.0]])
    # as written in 001 (two plain z.backward() calls) the second call needs the freed graph
    x = ember.tensor([[1.0, 0.0], [-1.0, 1.0]], requires_grad=True)
    z = x.pow(2).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                           "time"):
        z.backward()


def test_only_float_tensors_require_grad(torch):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex "
                                               "dtype can require gradients"):
            lib.tensor([1, 2, 3], requires_grad=True)  # invalid, as 001 says


def test_no_grad_block(torch):
    both(torch, """
w = torch.ones(3, requires_grad=True)
with torch.no_grad():
    pred = w * 2
tracked = pred.requires_grad
total_loss = 0
total_loss += pred.sum().cpu().item() * len(pred)
""")


# --- the seeds' typos fail the same way ---------------------------------------------------

@pytest.mark.parametrize("code,exc", [
    ("torch.tensor([1, -1], [-1, 1])", TypeError),     # 004: missing outer brackets
    ("torch.zeros[1, 2, 3]", TypeError),               # 004: brackets for a call
    ("torch.zeros([2, 3]).shape()", TypeError),        # 003: w.shape()
    ("torch.ones(2, requires_grad=True).sum().backword()", AttributeError),  # 004
])
def test_seed_typos_fail_like_torch(torch, code, exc):
    for lib in (torch, ember):
        with pytest.raises(exc):
            _run(lib, code)
