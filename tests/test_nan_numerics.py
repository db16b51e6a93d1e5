"""NaN where PyTorch has it: binary_cross_entropy refuses a NaN probability, relu passes the
gradient at a NaN input (threshold_backward), and amax/amin/aminmax give NaN gradients to
a slice whose extreme is NaN while the full max()/min() share it among the NaNs."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember

NAN = math.nan


@pytest.mark.parametrize("probs", [[NAN], [0.5, NAN], [0.25, 1.5], [-0.0, -1e-7]])
def test_binary_cross_entropy_refuses_nan_and_out_of_range(device, torch, probs):
    t = torch.tensor(probs)
    with pytest.raises(RuntimeError) as want:
        torch.nn.functional.binary_cross_entropy(t, torch.ones_like(t))
    x = ember.tensor(probs, device=device)
    with pytest.raises(RuntimeError) as got:
        ember.nn.functional.binary_cross_entropy(x, ember.ones_like(x))
    assert str(got.value) == str(want.value)


def _grads(lib, fn, data, device=None):
    kw = {} if device is None else {"device": device}
    x = lib.tensor(data, requires_grad=True, **kw)
    out = fn(lib, x)
    sum(o.sum() for o in (out if isinstance(out, tuple) else (out,))).backward()
    return np.asarray(x.grad.cpu().tolist() if lib.__name__ == "torch" else x.grad.tolist())


_DATA = [[1.0, NAN, 3.0, NAN], [1.0, 2.0, 3.0, 3.0], [NAN, -1.0, 0.0, 2.0]]

_FNS = {
    "F.relu": lambda L, x: L.nn.functional.relu(x),
    "relu": lambda L, x: L.relu(x * 1),
    "relu, g=inf": lambda L, x: L.relu(x) * float("inf"),
    "amax": lambda L, x: x.amax(),
    "amax(1)": lambda L, x: x.amax(1),
    "amax(0)": lambda L, x: x.amax(0),
    "amin(1, keepdim)": lambda L, x: x.amin(1, keepdim=True),
    "aminmax(dim=1)": lambda L, x: tuple(L.aminmax(x, dim=1)),
    "aminmax()": lambda L, x: tuple(L.aminmax(x)),
    "max()": lambda L, x: x.max(),
    "min()": lambda L, x: x.min(),
    "max(1)": lambda L, x: x.max(1)[0],
    "median()": lambda L, x: x.median(),
}


@pytest.mark.parametrize("name", list(_FNS))
def test_gradients_with_nan_inputs_match_torch(device, torch, name):
    fn = _FNS[name]
    want = _grads(torch, fn, _DATA)
    got = _grads(ember, fn, _DATA, device)
    np.testing.assert_array_equal(got, want)  # NaN positions must agree too
