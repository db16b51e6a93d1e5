"""nn.utils: gradient clipping and parameter/vector conversion, against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from nn_oracle import assert_close, copy_weights


def _setup(torch, scale=1.0):
    torch.manual_seed(0)  # deterministic weights: a failure must reproduce
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    em = copy_weights(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), tm)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32") * scale
    (em(ember.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    return em, tm


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm(torch, norm_type, max_norm):
    em, tm = _setup(torch)
    en = nn.utils.clip_grad_norm_(em.parameters(), max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tm.parameters(), max_norm, norm_type)
    assert isinstance(en, ember.Tensor) and en.ndim == 0
    assert_close(en, tn, 1e-5, 1e-6)
    for pe, pt in zip(em.parameters(), tm.parameters()):
        # float32 matmuls of numpy and torch round differently: 1e-6 absolute, as elsewhere
        assert_close(pe.grad, pt.grad, 1e-5, 1e-6)


def test_clip_grad_norm_single_tensor_and_nonfinite(torch):
    p = nn.Parameter(ember.ones(3))
    p.grad = ember.tensor([3.0, 4.0, 0.0])
    n = nn.utils.clip_grad_norm_(p, 1.0)
    assert abs(n.item() - 5.0) < 1e-6
    np.testing.assert_allclose(p.grad.numpy(), np.array([0.6, 0.8, 0.0]), rtol=1e-5)
    p.grad = ember.tensor([float("inf"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(ember.ones(2))], 1.0).item() == 0.0


def test_clip_grad_value(torch):
    em, tm = _setup(torch, scale=3.0)
    nn.utils.clip_grad_value_(em.parameters(), 0.5)
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.5)
    for pe, pt in zip(em.parameters(), tm.parameters()):
        assert_close(pe.grad, pt.grad)
        assert np.abs(pe.grad.numpy()).max() <= 0.5


def test_parameters_vector_roundtrip(torch):
    em, tm = _setup(torch)
    ev = nn.utils.parameters_to_vector(em.parameters())
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    assert_close(ev, tv)
    new = ember.arange(ev.numel(), dtype=ember.float32)
    nn.utils.vector_to_parameters(new, em.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(tv.numel(), dtype=torch.float32),
                                        tm.parameters())
    for pe, pt in zip(em.parameters(), tm.parameters()):
        assert_close(pe, pt)
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], em.parameters())
