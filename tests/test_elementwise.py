"""Elementwise, comparison and bitwise ops beyond the op table: in-place forms, ``out=``,
result dtypes for integer inputs, scalars on either side of operators, hashing after
``__eq__``, PyTorch's error messages, higher-order gradients, and erf's accuracy — all
compared with PyTorch (or, for erf, with ``math.erf``)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FLOAT_OPS = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
             "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
             "asinh", "acosh", "atanh", "sigmoid", "erf", "erfc", "erfinv", "logit", "deg2rad",
             "rad2deg"]
KEEP_OPS = ["abs", "sign", "sgn", "relu", "square", "neg"]
ROUND_OPS = ["floor", "ceil", "trunc", "round", "fix"]


def _np(t):
    t = t.detach()
    return np.asarray(t.cpu().numpy() if hasattr(t, "cpu") else t.numpy())


def _same(got, exp, rtol=1e-6, atol=1e-6):
    assert tuple(got.shape) == tuple(exp.shape)
    assert str(got.dtype) == str(exp.dtype), f"{got.dtype} != torch's {exp.dtype}"
    np.testing.assert_allclose(_np(got), _np(exp), rtol=rtol, atol=atol, equal_nan=True)


def _both(run, device, torch):
    """``run(lib, dev)`` with PyTorch and with ember on ``device``."""
    return run(torch, None), run(ember, device)


def _t(lib, dev, data, **kw):
    return lib.tensor(data, **kw) if dev is None else lib.tensor(data, device=dev, **kw)


def _raises_like(run, device, oracle_error):
    """``run(lib, dev)`` raises the same exception type and message in both libraries (torch
    on ember's device where the message names it: see the ``oracle_error`` fixture)."""
    expected = oracle_error(run)
    if expected is None:  # torch's kernel for this device takes it: so does ember's
        assert run(ember, device) is not None
        return
    with pytest.raises(type(expected)) as ee:
        run(ember, device)
    assert str(ee.value) == str(expected)


# --- result dtypes ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", FLOAT_OPS + KEEP_OPS + ROUND_OPS)
@pytest.mark.parametrize("dt", ["int64", "int32", "uint8", "float64", "float32"])
def test_result_dtype_for_int_and_float_inputs(name, dt, device, torch):
    data = [0, 1, 2, 3] if name not in ("acosh",) else [1, 2, 3, 4]
    exp, got = _both(lambda lib, dev: getattr(lib, name)(_t(lib, dev, data, dtype=getattr(
        lib, dt))), device, torch)
    _same(got, exp)


@pytest.mark.parametrize("name", ["sqrt", "sigmoid", "erf", "atan2"])
def test_int_inputs_follow_default_dtype(name, device, torch):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    ember.set_default_dtype(ember.float64)
    try:
        def run(lib, dev):
            x = _t(lib, dev, [1, 4, 9])
            return lib.atan2(x, x) if name == "atan2" else getattr(lib, name)(x)
        exp, got = _both(run, device, torch)
    finally:
        torch.set_default_dtype(prev)
    _same(got, exp)


def test_rounding_ints_returns_an_unaliased_copy(device):
    x = ember.tensor([3, -2, 7], device=device)
    for name in ROUND_OPS:
        y = getattr(ember, name)(x)
        assert y.tolist() == [3, -2, 7] and y.dtype is ember.int64
        y.add_(1)
        assert x.tolist() == [3, -2, 7]


# --- in-place forms ---------------------------------------------------------------------------

INPLACE = [("abs_", ()), ("absolute_", ()), ("sign_", ()), ("sgn_", ()), ("exp_", ()),
           ("exp2_", ()), ("expm1_", ()), ("log1p_", ()), ("sqrt_", ()), ("rsqrt_", ()),
           ("square_", ()), ("sin_", ()), ("cos_", ()), ("tan_", ()), ("atan_", ()),
           ("sinh_", ()), ("cosh_", ()), ("tanh_", ()), ("asinh_", ()), ("sigmoid_", ()),
           ("relu_", ()), ("erf_", ()), ("erfc_", ()), ("erfinv_", ()), ("floor_", ()),
           ("ceil_", ()), ("trunc_", ()), ("fix_", ()), ("frac_", ()), ("round_", ()),
           ("reciprocal_", ()), ("logit_", ()), ("deg2rad_", ()), ("clamp_", (0.2, 0.6)),
           ("clip_", (None, 0.5)), ("clamp_min_", (0.3,)), ("clamp_max_", (0.3,)),
           ("nan_to_num_", ()), ("remainder_", (0.3,)), ("fmod_", (0.3,)),
           ("floor_divide_", (0.3,)), ("lt_", (0.5,)), ("eq_", (0.25,)),
           ("logical_not_", ())]


@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_method_matches_torch_and_returns_self(name, args, device, torch):
    data = [[0.1, 0.25, 0.5], [0.7, 0.9, 0.45]]
    if name in ("sqrt_", "rsqrt_", "log1p_"):
        data = [[0.1, 0.25, 4.0], [0.7, 9.0, 0.45]]

    def run(lib, dev):
        x = _t(lib, dev, data)
        if name == "logical_not_":
            x = x - 0.25
        version = x._version
        out = getattr(x, name)(*args)
        assert out is x and x._version > version
        return x
    exp, got = _both(run, device, torch)
    _same(got, exp)


@pytest.mark.parametrize("name", ["relu_", "sigmoid_", "tanh_", "exp_", "clamp_",
                                  "nan_to_num_", "abs_", "round_"])
def test_functional_inplace_forms_exist(name, device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [-1.5, 0.25, 2.0])
        args = (0.0, 1.0) if name == "clamp_" else ()
        assert getattr(lib, name)(x, *args) is x
        return x
    exp, got = _both(run, device, torch)
    _same(got, exp)


@pytest.mark.parametrize("op", ["relu_", "sigmoid_", "tanh_", "exp_", "clamp_", "abs_",
                                "__imod__", "lerp_"])
def test_inplace_on_non_leaf_backpropagates_like_torch(op, device, torch):
    def run(lib, dev):
        a = _t(lib, dev, [-1.5, 0.3, 2.0, -0.7], requires_grad=True)
        y = a * 1.5
        if op == "clamp_":
            y.clamp_(-1.0, 1.0)
        elif op == "__imod__":
            y %= 0.8
        elif op == "lerp_":
            y.lerp_(a * a, 0.3)
        else:
            getattr(y, op)()
        (y * _t(lib, dev, [1.0, 2.0, 3.0, 4.0])).sum().backward()
        return y, a.grad
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e, rtol=1e-5)


def test_inplace_errors_match_torch(device, oracle_error):
    _raises_like(lambda lib, dev: _t(lib, dev, [1, 4]).sqrt_(), device, oracle_error)
    _raises_like(lambda lib, dev: _t(lib, dev, [1.0], requires_grad=True).relu_(),
                 device, oracle_error)
    _raises_like(lambda lib, dev: _t(lib, dev, [True]).bitwise_and_(_t(lib, dev, [3])),
                 device, oracle_error)
    _raises_like(lambda lib, dev: _t(lib, dev, [1.0, 2.0]).exp_().eq_(
        _t(lib, dev, [1.0, 2.0, 3.0])), device, oracle_error)


def test_inplace_comparison_and_logical_keep_the_dtype(device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [1.0, 0.0, 3.0])
        i = _t(lib, dev, [1, 0, 2])
        b = _t(lib, dev, [True, False, True])
        return (x.clone().lt_(2), x.clone().ge_(_t(lib, dev, [1, 1, 1])), i.clone().ne_(0),
                i.clone().logical_and_(_t(lib, dev, [1, 1, 0])), b.clone().logical_xor_(b),
                i.clone().bitwise_or_(_t(lib, dev, [True, True, False])),
                i.clone().__ilshift__(2), i.clone().__irshift__(1), b.clone().__iand__(True),
                i.clone().__ixor__(3), i.clone().bitwise_not_())
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


# --- comparisons and operators ----------------------------------------------------------------

def test_comparisons_with_scalars_on_either_side(device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [1, 2, 3])
        f = _t(lib, dev, [0.5, 2.0, 2.5])
        return (x < 2.5, 2.5 < x, x == 2, 2 == x, x != 2.0, 1 <= x, x >= 3, 3 > f, f <= 2,
                x > f, f == x, True == x, x > False,  # noqa: E712 - operator under test
                x.eq(2), x.lt(f), lib.ge(f, 2))
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


def test_comparison_promotes_before_comparing(device, torch):
    def run(lib, dev):
        big = _t(lib, dev, [16777217, 3])  # not representable in float32
        u = _t(lib, dev, [255, 1], dtype=lib.uint8)
        return (big == 16777216.0, u > 0.5, u == _t(lib, dev, [-1, 1], dtype=lib.int8),
                _t(lib, dev, [0.1], dtype=lib.float64) == _t(lib, dev, [0.1]))
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


def test_comparison_results_carry_no_grad(device):
    x = ember.tensor([1.0, 2.0], device=device, requires_grad=True)
    for r in (x > 1, x == x, ember.isnan(x), ember.isclose(x, x), x.logical_not()):
        assert r.dtype is ember.bool and not r.requires_grad and r.grad_fn is None


def test_eq_with_non_tensors_follows_python_protocol(device, torch):
    for lib, dev in ((torch, None), (ember, device)):
        x = _t(lib, dev, [1, 2])
        assert (x == None) is False and (x != None) is True  # noqa: E711
        assert (x == "a") is False and (x == [1, 2]) is False and (x != (1, 2)) is True
        with pytest.raises(TypeError):
            x < None  # noqa: B015
        with pytest.raises(TypeError):
            x & [1, 2]  # noqa: B015


def test_tensors_stay_hashable_after_eq(device):
    a = ember.tensor([1.0], device=device)
    b = ember.tensor([1.0], device=device)
    assert hash(a) != hash(b) or a is b
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert a in {a} and b not in {a}
    assert ember.Tensor.__hash__ is not None


def test_bitwise_operators_with_scalars(device, torch):
    def run(lib, dev):
        i = _t(lib, dev, [5, -3, 0])
        b = _t(lib, dev, [True, False, True])
        return (i & 3, 3 & i, i | 8, 8 | i, i ^ 1, 1 ^ i, ~i, ~b, b & True, True | b,
                b ^ b, i << 2, 1 << i.abs(), i >> 1, 64 >> i.abs(), b & i)
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


# --- errors (type and message as PyTorch's) ---------------------------------------------------

ERRORS = {
    "clamp_no_bounds": lambda lib, dev: lib.clamp(_t(lib, dev, [1.0])),
    "clamp_complex": lambda lib, dev: lib.clamp(_t(lib, dev, [1j]), 0, 1),
    "abs_bool": lambda lib, dev: lib.abs(_t(lib, dev, [True])),
    "relu_bool": lambda lib, dev: lib.relu(_t(lib, dev, [True])),
    "relu_complex": lambda lib, dev: lib.relu(_t(lib, dev, [1j])),
    "sign_complex": lambda lib, dev: lib.sign(_t(lib, dev, [1j])),
    "floor_bool": lambda lib, dev: lib.floor(_t(lib, dev, [True])),
    "floor_complex": lambda lib, dev: lib.floor(_t(lib, dev, [1j])),
    "round_bool": lambda lib, dev: lib.round(_t(lib, dev, [True])),
    "round_int_decimals": lambda lib, dev: lib.round(_t(lib, dev, [1]), decimals=1),
    "frac_int": lambda lib, dev: lib.frac(_t(lib, dev, [1])),
    "erf_complex": lambda lib, dev: lib.erf(_t(lib, dev, [1j])),
    "floor_divide_zero": lambda lib, dev: _t(lib, dev, [1, 2]) // 0,
    "floor_divide_bool": lambda lib, dev: lib.floor_divide(_t(lib, dev, [True]),
                                                           _t(lib, dev, [True])),
    "floor_divide_complex": lambda lib, dev: _t(lib, dev, [1 + 2j]) // 2,
    "remainder_complex": lambda lib, dev: lib.remainder(_t(lib, dev, [1 + 2j]), 2),
    "fmod_complex": lambda lib, dev: lib.fmod(_t(lib, dev, [1 + 2j]), 2),
    "remainder_zero": lambda lib, dev: _t(lib, dev, [1, 2]) % _t(lib, dev, [1, 0]),
    "fmod_zero": lambda lib, dev: lib.fmod(_t(lib, dev, [1, 2]), 0),
    "remainder_bool": lambda lib, dev: lib.remainder(_t(lib, dev, [True]), _t(lib, dev, [True])),
    "hypot_int": lambda lib, dev: lib.hypot(_t(lib, dev, [1]), _t(lib, dev, [1])),
    "hypot_scalar": lambda lib, dev: lib.hypot(_t(lib, dev, [1.0]), 2.0),
    "atan2_scalar": lambda lib, dev: lib.atan2(_t(lib, dev, [1.0]), 2.0),
    "maximum_scalar": lambda lib, dev: lib.maximum(_t(lib, dev, [1.0]), 2),
    "maximum_complex": lambda lib, dev: lib.maximum(_t(lib, dev, [1j]), _t(lib, dev, [1j])),
    "fmin_scalar": lambda lib, dev: lib.fmin(_t(lib, dev, [1.0]), 2.0),
    "lerp_end_dtype": lambda lib, dev: lib.lerp(_t(lib, dev, [1.0]),
                                                _t(lib, dev, [1.0], dtype=lib.float64), 0.5),
    "lerp_weight_dtype": lambda lib, dev: lib.lerp(_t(lib, dev, [1.0, 2.0]),
                                                   _t(lib, dev, [1.0, 2.0]),
                                                   _t(lib, dev, [0.5, 0.5], dtype=lib.float64)),
    "lerp_int": lambda lib, dev: lib.lerp(_t(lib, dev, [1]), _t(lib, dev, [2]), 0.5),
    "lt_complex": lambda lib, dev: _t(lib, dev, [1j]) < _t(lib, dev, [2j]),
    "bitwise_float": lambda lib, dev: _t(lib, dev, [1.0]) & _t(lib, dev, [1.0]),
    "bitwise_int_float_scalar": lambda lib, dev: _t(lib, dev, [1]) | 1.5,
    "bitwise_not_float": lambda lib, dev: lib.bitwise_not(_t(lib, dev, [1.0])),
    "invert_float": lambda lib, dev: ~_t(lib, dev, [1.0]),
    "lshift_bool": lambda lib, dev: _t(lib, dev, [True]) << _t(lib, dev, [True]),
    "lshift_float": lambda lib, dev: _t(lib, dev, [1.0]) << 1,
    "logical_and_scalar": lambda lib, dev: lib.logical_and(_t(lib, dev, [1]), 2),
    "isclose_dtypes": lambda lib, dev: lib.isclose(_t(lib, dev, [1]), _t(lib, dev, [1.0])),
    "isclose_rtol": lambda lib, dev: lib.isclose(_t(lib, dev, [1.0]), _t(lib, dev, [1.0]),
                                                 rtol=-1),
    "isclose_atol": lambda lib, dev: lib.isclose(_t(lib, dev, [1.0]), _t(lib, dev, [1.0]),
                                                 atol=-0.5),
    "allclose_dtypes": lambda lib, dev: lib.allclose(_t(lib, dev, [1.0]),
                                                     _t(lib, dev, [1.0], dtype=lib.float64)),
    "isposinf_complex": lambda lib, dev: lib.isposinf(_t(lib, dev, [1j])),
    "isneginf_complex": lambda lib, dev: lib.isneginf(_t(lib, dev, [1j])),
    "signbit_complex": lambda lib, dev: lib.signbit(_t(lib, dev, [1j])),
    "imag_real": lambda lib, dev: lib.imag(_t(lib, dev, [1.0])),
    "positive_bool": lambda lib, dev: lib.positive(_t(lib, dev, [True])),
    "out_requires_grad": lambda lib, dev: lib.exp(_t(lib, dev, [1.0], requires_grad=True),
                                                  out=_t(lib, dev, [0.0])),
    "out_dtype": lambda lib, dev: lib.sqrt(_t(lib, dev, [4]), out=_t(lib, dev, [0])),
    "floor_divide_backward": lambda lib, dev: (
        _t(lib, dev, [3.0], requires_grad=True) // 2).sum().backward(),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case, device, oracle_error):
    _raises_like(ERRORS[case], device, oracle_error)


# --- out= -------------------------------------------------------------------------------------

def test_out_writes_into_the_given_tensor(device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [0.5, 1.0, 4.0])
        o1, o2, o3 = _t(lib, dev, [0.0, 0.0, 0.0]), _t(lib, dev, [1.0, 1.0, 1.0]), \
            _t(lib, dev, [0, 0, 0], dtype=lib.float32)
        assert lib.sqrt(x, out=o1) is o1
        assert lib.lt(x, 1.0, out=o2) is o2  # a bool result cast into float
        assert lib.clamp(x, 0.8, 2.0, out=o3) is o3
        o4 = _t(lib, dev, [True, True, True])
        assert lib.logical_not(x - 1, out=o4) is o4
        return o1, o2, o3, o4
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


def test_out_of_another_shape_is_resized_with_torchs_warning(device, torch):
    msgs = []
    for lib, dev in ((torch, None), (ember, device)):
        out = _t(lib, dev, [0.0, 0.0, 0.0])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.exp(_t(lib, dev, [1.0, 2.0]), out=out)
        assert tuple(out.shape) == (2,)
        msgs.append([str(m.message) for m in w if m.category is UserWarning])
        empty = _t(lib, dev, [])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.exp(_t(lib, dev, [1.0, 2.0]), out=empty)
        assert tuple(empty.shape) == (2,)
    assert msgs[1] and msgs[1][0] in msgs[0][0]


# --- gradients --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh", "sqrt", "rsqrt", "reciprocal",
                                  "erf", "erfinv", "expm1", "tan", "sin", "log1p"])
def test_second_derivative_matches_torch(name, device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [0.2, 0.5, 0.7], dtype=lib.float64, requires_grad=True)
        y = getattr(lib, name)(x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g, gg
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e, rtol=1e-10)


@pytest.mark.parametrize("name", ["sgn", "sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_have_zero_gradient(name, device):
    x = ember.tensor([-1.3, 0.2, 2.7], device=device, requires_grad=True)
    getattr(ember, name)(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_kink_conventions_match_torch(device, torch):
    def run(lib, dev):
        x = _t(lib, dev, [-1.0, 0.0, 1.0, 2.0], requires_grad=True)
        o = _t(lib, dev, [0.0, 0.0, 1.0, 3.0], requires_grad=True)
        unary = [x.abs(), x.relu(), x.clamp(0.0, 1.0)]
        binary = [lib.maximum(x, o), lib.minimum(x, o), lib.fmax(x, o), lib.fmin(x, o),
                  lib.clamp(x, min=o)]
        grads = [lib.autograd.grad(p.sum(), x)[0] for p in unary]
        for p in binary:
            grads.extend(lib.autograd.grad(p.sum(), (x, o)))
        return grads
    exp, got = _both(run, device, torch)
    assert len(got) == len(exp)
    for g, e in zip(got, exp):
        _same(g, e)


def test_clamp_accepts_a_tensor_and_a_number_together(device, torch):
    # PyTorch requires both bounds of one kind; ember also takes a mix (same values)
    def run(lib, dev):
        x = _t(lib, dev, [-2.0, 0.1, 0.5, 3.0], requires_grad=True)
        lo = _t(lib, dev, [0.0, 0.2, 0.0, 0.0], requires_grad=True)
        hi = 0.9 if lib is ember else _t(lib, dev, 0.9)
        y = lib.clamp(x, lo, hi)
        y.sum().backward()
        return y, x.grad, lo.grad
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


# --- erf accuracy (against the host's libm) ----------------------------------------------------

def test_erf_erfc_are_float64_accurate(device):
    xs = np.concatenate([np.linspace(-6.5, 6.5, 4001), np.geomspace(1e-300, 0.5, 200),
                         np.geomspace(0.5, 26.0, 400)])
    t = ember.tensor(xs, dtype=ember.float64, device=device)
    erf, erfc = ember.erf(t).tolist(), ember.erfc(t).tolist()
    for x, e, c in zip(xs, erf, erfc):
        assert e == pytest.approx(math.erf(x), rel=2e-15, abs=1e-300)
        assert c == pytest.approx(math.erfc(x), rel=2e-15 * max(1.0, x * x), abs=1e-300)


def test_erfinv_inverts_erf(device):
    ys = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), 1 - np.geomspace(1e-15, 0.5, 50)])
    x = ember.erfinv(ember.tensor(ys, dtype=ember.float64, device=device))
    back = [math.erf(v) for v in x.tolist()]
    np.testing.assert_allclose(back, ys, rtol=4e-16 * 8, atol=4e-16)
    edge = ember.erfinv(ember.tensor([1.0, -1.0, 1.5, float("nan"), 0.0], device=device))
    assert edge.tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(edge.tolist()[2]) and math.isnan(edge.tolist()[3])
    assert edge.tolist()[4] == 0.0


def test_erf_raises_no_numpy_warnings(device):
    x = ember.tensor([-math.inf, -40.0, 0.0, 1e-300, 30.0, math.inf, math.nan], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.erf(x), ember.erfc(x), ember.erfinv(ember.tensor([2.0, 1.0, -1.0, 0.3]))


# --- complex parts ---------------------------------------------------------------------------

def test_real_imag_conj(device, torch):
    def run(lib, dev):
        z = _t(lib, dev, [1 + 2j, -3 - 0.5j])
        f = _t(lib, dev, [1.0, 2.0])
        assert lib.real(f) is f and lib.conj(f) is f
        return z.real, z.imag, (lib.conj(z) * 1).imag, lib.abs(z), lib.sgn(z)
    exp, got = _both(run, device, torch)
    for g, e in zip(got, exp):
        _same(g, e)


@pytest.mark.shares_memory
def test_real_and_imag_are_views(device):
    z = ember.tensor([1 + 2j, 3 + 4j], device=device)
    r = z.real
    r.mul_(10)
    assert z.tolist() == [10 + 2j, 30 + 4j]


@pytest.mark.parametrize("dt", ["int8", "uint8", "int16", "int32"])
@pytest.mark.parametrize("expr", ["t + 300", "t - 300", "t * 70000", "t // 300", "t % 300",
                                  "t & 300", "t == 300", "t < 300", "t + (-2 ** 40 - 3)",
                                  "300 - t"])
def test_out_of_range_int_scalars_wrap_as_in_torch(dt, expr, device, torch):
    """A Python int beyond a narrow int dtype's range is cast to it as C does (wrapping),
    where numpy would raise OverflowError."""
    data = [44, 1, -3, 127] if dt != "uint8" else [44, 1, 200, 255]

    def run(lib, dev):
        t = _t(lib, dev, data, dtype=getattr(lib, dt))
        return eval(expr, {"t": t}).cpu().tolist()
    assert run(ember, device) == run(torch, "cpu")


# Python's operator protocol around a Tensor: what the other side may be, and who wins
OPERATOR_CASES = [
    "[1, 2] * t2", "'ab' * t2", "[1, 2] + t", "[1] - t", "(1, 2) // t2", "[[1.0]] @ tf",
    "t + [1, 2]", "t * (1, 2)", "t + None", "tf ** [1, 2]", "t & [True]",
    "np.float64(2) * tf", "np.float32(2) + tf", "np.int64(2) - t", "np.array([1.0, 2.0]) * tf",
    "np.array(2.0) * tf", "tf + np.array([1.0, 2.0])", "2 ** tf", "3 % t", "True + t",
    "2j * tf", "5 // t2", "1 / tf",
]


@pytest.mark.parametrize("expr", OPERATOR_CASES)
def test_operators_with_python_and_numpy_operands_match_torch(expr, device, torch):
    """A Python sequence or a numpy array on the left keeps its own meaning (list
    repetition, numpy's TypeError) and numbers or numpy scalars go to the Tensor, as in
    PyTorch; the result's type and value, or the error's type, agree."""
    def run(lib, dev):
        env = {"np": np, "t": _t(lib, dev, [1, 2]), "t2": _t(lib, dev, 2),
               "tf": _t(lib, dev, [1.0, 2.0])}
        try:
            out = eval(expr, env)
        except TypeError:
            return TypeError
        return out.cpu().tolist() if hasattr(out, "cpu") else (type(out).__name__, out)
    assert run(ember, device) == run(torch, "cpu")
