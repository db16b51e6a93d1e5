"""The ops added for issue 17 beyond what the op table checks: errors as PyTorch's (type and
message), in-place shape ops and resize_ semantics, out=, integer powers on every backend.
Values and gradients are in tests/optable/extra_math.py."""
from __future__ import annotations

import numpy as np
import pytest

import ember




ERRORS = {
    "logaddexp_int": lambda lib, d: lib.logaddexp(lib.tensor([1, 2], device=d),
                                                  lib.tensor([1, 2], device=d)),
    "logaddexp_scalar": lambda lib, d: lib.logaddexp(lib.tensor([1.0], device=d), 2),
    "gcd_float": lambda lib, d: lib.gcd(lib.tensor([1.0], device=d), lib.tensor([2.0], device=d)),
    "lcm_bool": lambda lib, d: lib.lcm(lib.tensor([True], device=d), lib.tensor([True], device=d)),
    "heaviside_dtypes": lambda lib, d: lib.heaviside(lib.tensor([1], device=d),
                                                     lib.tensor([1.0], device=d)),
    "heaviside_scalar": lambda lib, d: lib.heaviside(lib.tensor([1.0], device=d), 0.5),
    "nextafter_int": lambda lib, d: lib.nextafter(lib.tensor([1], device=d),
                                                  lib.tensor([2], device=d)),
    "copysign_complex": lambda lib, d: lib.copysign(lib.tensor([1j], device=d),
                                                    lib.tensor([1j], device=d)),
    "logcumsumexp_int": lambda lib, d: lib.logcumsumexp(lib.tensor([1, 2], device=d), 0),
    "frexp_int": lambda lib, d: lib.frexp(lib.tensor([1, 2], device=d)),
    "pow_int_neg_scalar": lambda lib, d: lib.tensor([1, 2], device=d) ** -1,
    "pow_uint8_neg_scalar": lambda lib, d: lib.tensor([2], dtype=lib.uint8, device=d) ** -2,
    "pow_bool_tensor": lambda lib, d: lib.pow(lib.tensor([True], device=d),
                                              lib.tensor([True], device=d)),
    "float_power__float32": lambda lib, d: lib.ones(2, device=d).float_power_(2),
    "unsqueeze__leaf": lambda lib, d: lib.ones(2, device=d, requires_grad=True).unsqueeze_(0),
    "t__leaf": lambda lib, d: lib.ones(2, 2, device=d, requires_grad=True).t_(),
    "resize__grad": lambda lib, d: (lib.ones(2, device=d, requires_grad=True) * 2).resize_(3),
    "index_reduce_sum": lambda lib, d: lib.ones(3, device=d).index_reduce(
        0, lib.tensor([0], device=d), lib.ones(1, device=d), "sum"),
    "put_out_of_range": lambda lib, d: lib.ones(2, 2, device=d).put_(
        lib.tensor([4], device=d), lib.ones(1, device=d)),
    "put_negative_out_of_range": lambda lib, d: lib.ones(2, 2, device=d).put(
        lib.tensor([-5], device=d), lib.ones(1, device=d)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(oracle_error, device, case):
    want = oracle_error(ERRORS[case])
    if want is None:  # torch raises on the CPU only; nor should ember here
        ERRORS[case](ember, device)
        return
    with pytest.raises(type(want)) as e_info:
        ERRORS[case](ember, device)
    assert str(e_info.value) == str(want)


def test_index_copy_errors(torch, device):
    for lib in (torch, ember):
        x = lib.ones(3, 2, device="cpu" if lib is torch else device)
        i = lib.tensor([0, 1], device="cpu" if lib is torch else device)
        with pytest.raises((IndexError, RuntimeError)):
            x.index_copy(0, i, lib.ones(3, 2, device=x.device))  # 2 indices, 3 rows
        with pytest.raises(RuntimeError):
            x.index_copy(0, i.int(), lib.ones(2, 2, device=x.device))  # int32 index


def test_integer_tensor_powers_every_backend(torch, device):
    """Integer bases to negative integer tensor powers: PyTorch's values (1, ±1, else 0;
    0 ** -1 is 0) on every backend instead of the backend's error."""
    b = [0, 1, -1, 2, -2, 3, 5, -3]
    e = [-1, -2, -3, -1, -2, 2, 0, 3]
    for dt in ("int64", "int32", "int16", "uint8"):
        bb = [abs(x) for x in b] if dt == "uint8" else b
        ee = [abs(x) for x in e] if dt == "uint8" else e
        got = ember.pow(ember.tensor(bb, dtype=getattr(ember, dt), device=device),
                        ember.tensor(ee, dtype=getattr(ember, dt), device=device))
        want = torch.pow(torch.tensor(bb, dtype=getattr(torch, dt)),
                         torch.tensor(ee, dtype=getattr(torch, dt)))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    got = ember.pow(2, ember.tensor(e, device=device))
    np.testing.assert_array_equal(got.cpu().numpy(), torch.pow(2, torch.tensor(e)).numpy())
    assert ember.tensor(0, device=device) ** 0 == 1 and (ember.tensor(0.0) ** 0).item() == 1.0


def test_shape_inplace_keep_identity_and_grad(torch, device):
    for lib, dev in ((ember, device), (torch, "cpu")):
        x = lib.arange(6.0, device=dev).reshape(2, 3)
        y = x.t_()
        assert y is x and tuple(x.shape) == (3, 2)
        assert x.unsqueeze_(0) is x and tuple(x.shape) == (1, 3, 2)
        assert tuple(x.squeeze_().shape) == (3, 2)
        assert tuple(x.swapaxes_(0, 1).shape) == (2, 3)
    # the gradient flows back through the old shape
    grads = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        a = lib.arange(6.0, device=dev).reshape(2, 3).requires_grad_()
        b = a * 1
        b.transpose_(0, 1).unsqueeze_(2)
        (b * lib.arange(6.0, device=dev).reshape(3, 2, 1)).sum().backward()
        grads.append(a.grad)
    np.testing.assert_allclose(grads[0].cpu().numpy(), grads[1].numpy())


def test_resize(torch, device):
    for lib, dev in ((ember, device), (torch, "cpu")):
        x = lib.arange(6.0, device=dev)
        assert x.resize_(2, 2) is x and tuple(x.shape) == (2, 2)
        assert x.tolist() == [[0, 1], [2, 3]]  # (torch's numpy() would pin its storage)
        x.resize_as_(lib.ones(1, 3, device=dev))
        assert tuple(x.shape) == (1, 3)
        x.resize_(4, 3)
        assert tuple(x.shape) == (4, 3)
    # the first elements survive growing (PyTorch leaves the rest uninitialised)
    x = ember.arange(3.0, device=device).resize_(2, 3)
    assert x.tolist()[0] == [0, 1, 2]


def test_out_and_inplace_forms(torch, device):
    a = np.array([1.5, -2.0, 0.0])
    b = np.array([-1.0, 1.0, -1.0])
    for name in ("copysign", "logaddexp", "logaddexp2", "ldexp", "nextafter"):
        out = ember.empty(3, device=device)
        r = getattr(ember, name)(ember.tensor(a, device=device),
                                 ember.tensor(b, device=device), out=out)
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert r is out
        np.testing.assert_allclose(out.cpu().numpy(), want.float().numpy(), rtol=1e-6)
        x = ember.tensor(a, device=device)
        assert getattr(x, name + "_")(ember.tensor(b, device=device)) is x
        np.testing.assert_allclose(x.cpu().numpy(), want.numpy(), rtol=1e-12, atol=0)
    out = ember.empty(2, 3, device=device)
    ember.logcumsumexp(ember.ones(2, 3, device=device), 1, out=out)
    np.testing.assert_allclose(out.cpu().numpy(),
                               torch.logcumsumexp(torch.ones(2, 3), 1).numpy(), rtol=1e-6)
    i = ember.tensor([12, 18], device=device)
    i.gcd_(ember.tensor([8, 4], device=device))
    assert i.tolist() == [4, 2]
    m, e = ember.frexp(ember.tensor([8.0], device=device))
    assert (m.item(), e.item(), str(e.dtype)) == (0.5, 4, "torch.int32")


def test_index_ops_inplace(torch, device):
    outs = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        x = lib.zeros(4, 2, device=dev)
        i = lib.tensor([3, 0], device=dev)
        src = lib.arange(4.0, device=dev).reshape(2, 2)
        assert x.index_copy_(0, i, src) is x
        x.index_reduce_(0, lib.tensor([0, 0], device=dev), src + 1, "amax", include_self=False)
        x.put_(lib.tensor([1, 7], device=dev), lib.tensor([9.0, -9.0], device=dev))
        outs.append(x.cpu().numpy() if lib is ember else x.numpy())
    np.testing.assert_array_equal(*outs)


AXIS_CASES = {
    "cat": lambda lib, x: lib.cat([x, x], axis=1),
    "stack": lambda lib, x: lib.stack([x, x], axis=-1),
    "cumsum": lambda lib, x: x.cumsum(axis=1),
    "sort": lambda lib, x: lib.sort(x, axis=0, descending=True).values,
    "topk": lambda lib, x: x.topk(2, axis=1).indices,
    "narrow": lambda lib, x: lib.narrow(x, axis=1, start=1, length=2),
    "gather": lambda lib, x: x.gather(axis=1, index=lib.zeros(3, 1, dtype=lib.int64,
                                                              device=x.device)),
    "median": lambda lib, x: x.median(axis=1, keepdims=True).values,
    "logsumexp": lambda lib, x: lib.logsumexp(x, axis=0, keepdims=True),
    "quantile": lambda lib, x: x.quantile(0.25, axis=1, keepdims=True),
    "argmax": lambda lib, x: x.argmax(axis=1, keepdims=True),
    "unsqueeze": lambda lib, x: x.unsqueeze(axis=0),
}


@pytest.mark.parametrize("case", sorted(AXIS_CASES))
def test_axis_keepdims_aliases(torch, device, case):
    """numpy's axis= / keepdims=, which PyTorch's argument parser accepts for dim/keepdim."""
    x = np.arange(12.0).reshape(3, 4) % 5
    got = AXIS_CASES[case](ember, ember.tensor(x, device=device))
    want = AXIS_CASES[case](torch, torch.tensor(x))
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy())
