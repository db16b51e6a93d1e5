"""PyTorch's legacy names against the oracle: ``torch.FloatTensor`` & co. (construction,
``isinstance``, ``Tensor.type``), ``torch.cuda.*Tensor``, ``set_default_tensor_type``,
``torch.autograd.Variable`` and the constants ``inf``/``nan``/``pi``/``e``/``newaxis``."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from capabilities import need_dtype

# every legacy name PyTorch 2.x has (complex ones: ember only, see ember._legacy)
TORCH_NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
               "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


def _raises(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_type_objects_match_torch(torch, name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert str(e.dtype) == str(t.dtype)
    assert repr(e) == repr(t) and e.__name__ == t.__name__ and e.__module__ == t.__module__
    assert repr(getattr(ember.cuda, name)) == repr(getattr(torch.cuda, name))
    assert e.is_cuda is False and getattr(ember.cuda, name).is_cuda is True
    assert e.is_sparse is False


def test_complex_legacy_names():
    # PyTorch 2.x dropped these from ``torch``; older scripts name them
    assert ember.ComplexFloatTensor.dtype is ember.complex64
    assert ember.ComplexDoubleTensor([1j]).dtype is ember.complex128


@pytest.mark.parametrize("name", ["FloatTensor", "LongTensor", "ByteTensor", "BoolTensor"])
def test_construction(torch, device, name):
    if ember.device(device).type != "cpu":
        pytest.skip("the legacy cpu types build cpu tensors")
    E, T = getattr(ember, name), getattr(torch, name)
    for args in [(), (2, 3), ([1, 0, 2],), ((2, 3),), ([[1, 2], [3, 4]],), (np.arange(3),)]:
        e, t = E(*args), T(*args)
        assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype), args
        assert e.device.type == "cpu"
        if args and not isinstance(args[0], int):
            np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert tuple(E(ember.Size([2, 1])).shape) == tuple(T(torch.Size([2, 1])).shape) == (2, 1)
    same = ember.tensor([1, 0], dtype=E.dtype)
    assert E(same) is same
    assert isinstance(E([1]), ember.Tensor) and type(E([1])) is ember.Tensor


def test_construction_errors(torch):
    for args, kw in [((ember.tensor([1, 2]),), {}), ((2.5,), {}), (("a",), {}),
                     ((2,), {"dtype": "float64"})]:
        targs = tuple(torch.tensor([1, 2]) if isinstance(a, ember.Tensor) else a for a in args)
        tkw = {"dtype": torch.float64} if kw else {}
        ekw = {"dtype": ember.float64} if kw else {}
        ee, te = _raises(lambda: ember.FloatTensor(*args, **ekw)), \
            _raises(lambda: torch.FloatTensor(*targs, **tkw))
        assert type(ee) is type(te)
        if not kw:
            assert str(ee) == str(te)
        else:
            assert str(ee).splitlines()[0] == str(te).splitlines()[0]


def test_cuda_types(torch):
    t = ember.zeros(2)
    assert not isinstance(t, ember.cuda.FloatTensor)
    if ember.cuda.is_available():
        c = ember.cuda.FloatTensor([1, 2])
        assert c.device.type == "cuda" and c.dtype is ember.float32
        assert isinstance(c, ember.cuda.FloatTensor) and not isinstance(c, ember.FloatTensor)
        assert c.type() == "torch.cuda.FloatTensor"
        assert t.type(ember.cuda.DoubleTensor).device.type == "cuda"
        assert c.type("torch.LongTensor").device.type == "cpu"
    else:
        ee, te = _raises(lambda: ember.cuda.FloatTensor(2)), \
            _raises(lambda: torch.cuda.FloatTensor(2))
        assert type(ee) is type(te) and str(ee) == str(te)


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "uint8", "bool", "float16"])
def test_isinstance_and_type(torch, device, torch_device, dt):
    need_dtype(device, getattr(ember, dt))
    e = ember.zeros(3, dtype=getattr(ember, dt), device=device)
    t = torch.zeros(3, dtype=getattr(torch, dt), device=torch_device or "cpu")
    for name in TORCH_NAMES:
        # true exactly when dtype and device type match (never for ember's own device types)
        for ns_e, ns_t in ((ember, torch), (ember.cuda, torch.cuda)):
            want = torch_device is not None and isinstance(t, getattr(ns_t, name))
            assert isinstance(e, getattr(ns_e, name)) == want, (name, ns_e)
    if torch_device is not None:
        assert e.type() == t.type()
    for target in ["DoubleTensor", "IntTensor", "BoolTensor"]:
        r = e.type(getattr(ember, target))
        assert str(r.dtype) == str(t.type(getattr(torch, target)).dtype)
        assert r.type(f"torch.{target}").dtype is r.dtype
    assert e.type(e.dtype) is e
    if ember.device(device).type == "cpu":
        assert e.type(e.type()) is e and e.type(getattr(ember, e.dtype.legacy_name)) is e
    ee, te = _raises(lambda: e.type("torch.Foo")), _raises(lambda: t.type("torch.Foo"))
    assert type(ee) is type(te) and str(ee) == str(te)


def test_set_default_tensor_type(torch):
    try:
        with pytest.warns(UserWarning, match=r"set_default_tensor_type\(\) is deprecated"):
            ember.set_default_tensor_type(ember.DoubleTensor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(torch.DoubleTensor)
        for code in ["tensor([1.])", "Tensor(2)", "zeros(2)", "FloatTensor(2)"]:
            assert str(eval(f"ember.{code}").dtype) == str(eval(f"torch.{code}").dtype), code  # noqa: S307
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ember.set_default_tensor_type("torch.FloatTensor")
        assert ember.get_default_dtype() is ember.float32
        for arg in ["torch.LongTensor", "IntTensor", "foo.Bar", "float64"]:
            e_arg = getattr(ember, arg, None) if "." not in arg else arg
            t_arg = getattr(torch, arg, None) if "." not in arg else arg
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ee = _raises(lambda: ember.set_default_tensor_type(e_arg))
                te = _raises(lambda: torch.set_default_tensor_type(t_arg))
            assert type(ee) is type(te) and str(ee) == str(te).split(" (Triggered")[0], arg
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(torch.FloatTensor)
            ember.set_default_tensor_type(ember.FloatTensor)


def test_variable(torch):
    from ember.autograd import Variable
    TV = torch.autograd.Variable
    x = ember.ones(2, requires_grad=True)
    v = Variable(x)
    tv = TV(torch.ones(2, requires_grad=True))
    assert v is not x and v.requires_grad == tv.requires_grad and v.grad_fn is None
    assert type(v) is ember.Tensor and isinstance(x, Variable) and not isinstance(1, Variable)
    w = Variable(ember.tensor([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
    assert tuple(Variable().shape) == tuple(TV().shape) == (0,)
    for bad in ([1, 2], 2):
        ee, te = _raises(lambda: Variable(bad)), _raises(lambda: TV(bad))
        assert type(ee) is type(te) and str(ee) == str(te)
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        Variable(ember.ones(1), volatile=True)
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        TV(torch.ones(1), volatile=True)
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    assert [w.category for w in ew] == [w.category for w in tw]


def test_constants(torch):
    for name in ["inf", "pi", "e"]:
        assert getattr(ember, name) == getattr(torch, name), name
    assert math.isnan(ember.nan) and ember.newaxis is torch.newaxis is None
    t = ember.arange(3)
    assert tuple(t[ember.newaxis].shape) == (1, 3)
