"""``out=``: every public function that takes it honours it, with PyTorch's semantics.

The test walks ember's public namespaces (``ember``, ``ember.nn.functional``,
``ember.linalg``, ``ember.special``, ``ember.fft``), finds every callable with an ``out``
parameter, finds arguments it accepts by trying a list of common call shapes, and checks that the result
lands in ``out`` (a sentinel-filled tensor: a function that ignores ``out`` fails), through
a non-contiguous view into its base, and that an ``out`` of the wrong shape is resized with
PyTorch's warning (none when it was empty). Where torch has the same function, its
behaviour on the same arguments is the oracle.
"""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

import ember

# values that differ between libraries (other random streams) or are undefined (empty)
_RANDOM = {"rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "empty"}


def _namespaces():
    import ember.fft
    import ember.linalg
    import ember.nn.functional
    import ember.special
    yield "", ember, [n for n in dir(ember) if not n.startswith("_")]
    for prefix, mod in (("nn.functional.", ember.nn.functional), ("linalg.", ember.linalg),
                        ("special.", ember.special), ("fft.", ember.fft)):
        yield prefix, mod, list(mod.__all__)


def _takes_out():
    seen = {}
    for prefix, mod, names in _namespaces():
        for n in names:
            f = getattr(mod, n, None)
            if not callable(f) or isinstance(f, type):
                continue
            try:
                ps = inspect.signature(f).parameters
            except (TypeError, ValueError):
                continue
            if "out" in ps:
                seen.setdefault(prefix + n, f)
    return seen


FUNCS = _takes_out()


def _samples(lib, device):
    """Candidate argument tuples, most common first (float64, small, well conditioned)."""
    rng = np.random.default_rng(0)
    m = rng.uniform(0.2, 1.0, (3, 3))
    spd = m @ m.T + 3 * np.eye(3)
    b3 = rng.uniform(0.2, 1.0, (2, 3, 3))

    def t(a, dtype=None):
        return lib.tensor(a, dtype=dtype or lib.float64, device=device)
    x, y, z = t(spd), t(m), t(m.T + 1)
    v = t(rng.uniform(0.2, 1.0, 3))
    i3 = lib.tensor([[0, 1, 2], [2, 1, 0], [1, 1, 1]], device=device)
    return [
        (x,), (x, y), (x, y, z), (x, 1), (3,), ([x, y],), (x, y, 0.5), (x, 0, i3),
        (t(b3), t(b3)), (t(b3), t(b3), t(b3)), (x, t(b3), t(b3)), (x, v), (x, x, v), (v, v),
        (x, v, v), (0, 3), (0, 1, 5), (3, 3), (3, (3,)), (1, x), (x, i3),
        (x, x > 1.5), (v.sort().values, x), (x, v.sort().values), (x, 0, i3[0], y),
        (v / v.sum(), 2), (lib.tensor([[5, 3], [6, 2]], device=device),),
        (lib.tensor([[5, 3], [6, 2]], device=device), lib.tensor([[1, 2], [3, 1]], device=device)),
        (t(np.eye(4).reshape(2, 2, 2, 2) + 0.1),), (v.sigmoid(),), (v, x, v), ((3,), 2.0),
        (x, 0, i3[0]), (x.triu(), y, {"upper": True}),
        (x, 2, 0, 1.0), (x, 0, i3[0], y, "prod"), (x, v, 0, 1),  # renorm, index_reduce, ..._scatter
    ]


def _find_args(name, f, device):
    for i, args in enumerate(_samples(ember, device)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ember.manual_seed(0)
                ref = _call(f, args, None)
        except Exception:  # noqa: BLE001 - trying call shapes until one is accepted
            continue
        if isinstance(ref, ember.Tensor) or (isinstance(ref, tuple) and ref and all(
                isinstance(r, ember.Tensor) for r in ref)):
            return i, args, ref
    return None


def _sentinel(ref: ember.Tensor) -> ember.Tensor:
    return ember.full(ref.shape, 7, dtype=ref.dtype, device=ref.device)


def _same(a: ember.Tensor, b: ember.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        ember.equal(a.cpu(), b.cpu()) or ember.allclose(a.cpu().double(), b.cpu().double(),
                                                         equal_nan=True))


def _call(f, args, out, name=""):
    """f(*args, out=out); a trailing dict in args holds keyword arguments."""
    kw = args[-1] if args and isinstance(args[-1], dict) else {}
    args = args[:-1] if kw else args
    ember.manual_seed(0)
    return f(*args, **kw) if out is None else f(*args, **kw, out=out)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_out_is_honoured(name, device):
    f = FUNCS[name]
    found = _find_args(name, f, device)
    assert found is not None, f"{name}: no sample call works; add a call shape to _samples"
    _, args, ref = found
    if isinstance(ref, tuple):
        outs = tuple(_sentinel(r) for r in ref)
        got = _call(f, args, outs, name)
        assert len(got) == len(ref)
        for g, o, r in zip(got, outs, ref):
            assert g is o, f"{name}: out= not returned"
            assert _same(o, r), f"{name}: the result did not land in out"
        return
    o = _sentinel(ref)
    got = _call(f, args, o, name)
    assert got is o, f"{name}: out= not returned"
    assert _same(o, ref), f"{name}: the result did not land in out"
    if ref.ndim == 2 and ref.numel() > 1:
        # a non-contiguous out: the values reach the base it views
        base = ember.full(tuple(reversed(ref.shape)), 7, dtype=ref.dtype, device=ref.device)
        view = base.t()
        _call(f, args, view, name)
        assert _same(base.t(), ref), f"{name}: out= through a view did not reach its base"


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_out_resize_like_torch(name, device, torch):
    """An out of the wrong shape is resized, with PyTorch's warning unless it was empty;
    values and warnings as torch's for the same call."""
    f = FUNCS[name]
    found = _find_args(name, f, device)
    assert found is not None
    i, args, ref = found
    if isinstance(ref, tuple):
        pytest.skip("resizing a tuple of outs is checked through its single-out cases")
    policy = getattr(getattr(f, "__wrapped_op__", f), "__out__", "warn")
    tf = _torch_fn(torch, name)
    for numel in (0, ref.numel() + 2):
        o = ember.zeros(numel, dtype=ref.dtype, device=ref.device)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _call(f, args, o, name)
        warned = [str(x.message) for x in w if "resized" in str(x.message)]
        assert _same(o, ref)
        if not numel:
            assert not warned, f"{name}: an empty out is resized without a warning"
        if tf is None:
            if numel and policy == "warn":
                assert warned, f"{name}: PyTorch's resize warning missing"
            continue
        targs = _samples(torch, "cpu")[i]
        kw = targs[-1] if isinstance(targs[-1], dict) else {}
        to = torch.zeros(numel, dtype=getattr(torch, ref.dtype.name))
        with warnings.catch_warnings(record=True) as tw:
            warnings.simplefilter("always")
            try:
                tf(*(targs[:-1] if kw else targs), **kw, out=to)
            except (TypeError, RuntimeError):
                continue  # torch takes other arguments for this name
        # torch appends where in its C++ the warning came from
        assert warned == [re.sub(r" \(Triggered internally at .*\)$", "", str(x.message))
                          for x in tw if "resized" in str(x.message)], name
        assert list(to.shape) == list(o.shape), name
        if name in _RANDOM:
            continue  # other streams: the values differ
        np.testing.assert_allclose(o.cpu().double().numpy(), to.double().numpy(), rtol=1e-6,
                                   atol=1e-8, err_msg=name)


def _torch_fn(torch, name):
    obj = torch
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def test_out_refused_under_autograd(device, torch):
    x = ember.ones(2, 2, device=device, requires_grad=True)
    tx = torch.ones(2, 2, requires_grad=True)
    for fn in ("matmul", "add", "exp", "cat"):
        a = ([x, x],) if fn == "cat" else (x, x) if fn in ("matmul", "add") else (x,)
        ta = ([tx, tx],) if fn == "cat" else (tx, tx) if fn in ("matmul", "add") else (tx,)
        with pytest.raises(RuntimeError) as te:
            getattr(torch, fn)(*ta, out=torch.zeros(2, 2))
        with pytest.raises(RuntimeError) as ee:
            getattr(ember, fn)(*a, out=ember.zeros(2, 2, device=device))
        assert str(ee.value) == str(te.value)


def test_out_dtype_rules_like_torch(device, torch):
    """A result castable to out's dtype is cast; a float result into an int out is
    PyTorch's error; factories build in out's dtype."""
    o = ember.zeros(3, dtype=ember.float64, device=device)
    ember.add(ember.ones(3, dtype=ember.int64, device=device), 1, out=o)
    assert o.dtype == ember.float64 and o.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError) as te:
        torch.exp(torch.ones(3), out=torch.zeros(3, dtype=torch.int64))
    with pytest.raises(RuntimeError) as ee:
        ember.exp(ember.ones(3, device=device), out=ember.zeros(3, dtype=ember.int64,
                                                                 device=device))
    assert str(ee.value) == str(te.value)
    oi = ember.zeros(2, dtype=ember.int64, device=device)
    to = torch.zeros(2, dtype=torch.int64)
    assert ember.arange(4, out=oi).tolist() == torch.arange(4, out=to).tolist()
    assert oi.dtype == ember.int64


def test_tensor_methods_take_no_out(torch):
    with pytest.raises(TypeError):
        torch.ones(2).add(1, out=torch.zeros(2))
    with pytest.raises(TypeError):
        ember.ones(2).add(1, out=ember.zeros(2))
