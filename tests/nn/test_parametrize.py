"""nn.utils.parametrize, parametrizations.weight_norm/spectral_norm and the old hook forms
against PyTorch: state_dict keys, class names, forward values, gradients of the
originals, right_inverse on assignment, chaining, caching, removal, loading an old
weight_g/weight_v checkpoint into the parametrization, errors."""
import warnings

import numpy as np
import pytest

import ember
from nn_oracle import assert_close, copy_weights
from same_error import assert_same_error

R = np.random.default_rng(0)
X = R.standard_normal((2, 4)).astype("float32")


def _pair_linear(torch, device):
    tm = torch.nn.Linear(4, 3)
    return copy_weights(ember.nn.Linear(4, 3), tm, device), tm


def _compare_step(torch, em, tm, device, tol=(1e-5, 1e-6)):
    ye, yt = em(ember.tensor(X, device=device)), tm(torch.tensor(X))
    assert_close(ye, yt, *tol, what="forward")
    ye.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    for name, p in tm.named_parameters():
        assert_close(em.get_parameter(name).grad, p.grad, *tol, what=name)


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)

        def right_inverse(self, a):
            return a.triu()
    return Symmetric


def _scale(lib):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * 2

        def right_inverse(self, a):
            return a / 2
    return Scale


def test_register_chain_assign_remove(torch, device):
    tP, eP = torch.nn.utils.parametrize, ember.nn.utils.parametrize
    tm = torch.nn.Linear(3, 3)
    em = copy_weights(ember.nn.Linear(3, 3), tm, device)
    for lib, P, m in ((torch, tP, tm), (ember, eP, em)):
        P.register_parametrization(m, "weight", _symmetric(lib)())
        P.register_parametrization(m, "weight", _scale(lib)())
    assert type(em).__name__ == type(tm).__name__ == "ParametrizedLinear"
    assert eP.type_before_parametrizations(em) is ember.nn.Linear
    assert list(em.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert eP.is_parametrized(em) and eP.is_parametrized(em, "weight")
    assert not eP.is_parametrized(em, "bias")
    assert_close(em.weight, tm.weight)
    assert_close(em.parametrizations.weight.original, tm.parametrizations.weight.original)
    x = np.arange(9, dtype="float32").reshape(3, 3)
    em.weight = ember.tensor(x, device=device)
    tm.weight = torch.tensor(x)
    assert_close(em.parametrizations.weight.original, tm.parametrizations.weight.original)
    assert_close(em.weight, tm.weight)
    with eP.cached():
        assert em.weight is em.weight
    assert em.weight is not em.weight
    original = em.parametrizations.weight.original
    eP.remove_parametrizations(em, "weight")
    tP.remove_parametrizations(tm, "weight")
    assert type(em) is ember.nn.Linear and not hasattr(em, "parametrizations")
    assert em.weight is original  # the same Parameter now holds the parametrized value
    assert_close(em.weight, tm.weight)
    assert list(em.state_dict()) == list(tm.state_dict())


def test_errors(torch, device):
    def reg(lib, module, p):
        lib.nn.utils.parametrize.register_parametrization(module, "weight", p)

    class Bad:
        @staticmethod
        def make(lib):
            class Shrink(lib.nn.Module):
                def forward(self, x):
                    return x[:1]
            return Shrink()

    assert_same_error(lambda: reg(torch, torch.nn.Linear(2, 2), Bad.make(torch)),
                      lambda: reg(ember, ember.nn.Linear(2, 2), Bad.make(ember)))
    assert_same_error(
        lambda: torch.nn.utils.parametrize.remove_parametrizations(torch.nn.Linear(2, 2),
                                                                  "weight"),
        lambda: ember.nn.utils.parametrize.remove_parametrizations(ember.nn.Linear(2, 2),
                                                                  "weight"))


def test_weight_norm_parametrization(torch, device):
    em, tm = _pair_linear(torch, device)
    torch.nn.utils.parametrizations.weight_norm(tm)
    ember.nn.utils.parametrizations.weight_norm(em)
    assert list(em.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert_close(em.state_dict()[k], v, what=k)
    _compare_step(torch, em, tm, device)
    # the old hook form's checkpoint loads into the parametrization
    old = torch.nn.Linear(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.nn.utils.weight_norm(old)
    sd = {k: ember.tensor(v.detach().numpy(), device=device) for k, v in old.state_dict().items()}
    em.load_state_dict(sd)
    assert_close(em.weight, old.weight)


def test_weight_norm_hook(torch, device):
    tm = torch.nn.Conv1d(2, 3, 2)
    em = copy_weights(ember.nn.Conv1d(2, 3, 2), tm, device)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(tm, dim=None)
    with pytest.warns(FutureWarning):
        ember.nn.utils.weight_norm(em, dim=None)
    assert list(em.state_dict()) == list(tm.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert_close(em.weight_g, tm.weight_g)
    x = R.standard_normal((1, 2, 5)).astype("float32")
    ye, yt = em(ember.tensor(x, device=device)), tm(torch.tensor(x))
    assert_close(ye, yt, 1e-5, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(em.weight_v.grad, tm.weight_v.grad, 1e-5, 1e-6)
    assert_close(em.weight_g.grad, tm.weight_g.grad, 1e-5, 1e-6)
    ember.nn.utils.remove_weight_norm(em)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight, 1e-5, 1e-6)
    assert_same_error(lambda: torch.nn.utils.remove_weight_norm(tm),
                      lambda: ember.nn.utils.remove_weight_norm(em))


def test_spectral_norm_parametrization(torch, device):
    em, tm = _pair_linear(torch, device)
    torch.nn.utils.parametrizations.spectral_norm(tm)
    ember.nn.utils.parametrizations.spectral_norm(em)
    assert list(em.state_dict()) == list(tm.state_dict())
    em = copy_weights(em, tm, device)  # same u, v start (the random streams differ)
    _compare_step(torch, em, tm, device, (1e-4, 1e-5))
    assert_close(em.parametrizations.weight[0]._u, tm.parametrizations.weight[0]._u, 1e-4, 1e-5)
    em.eval()
    tm.eval()
    assert_close(em.weight, tm.weight, 1e-4, 1e-5)
    # the estimate converges to the largest singular value
    s = np.linalg.svd(tm.parametrizations.weight.original.detach().numpy(), compute_uv=False)
    em.train()
    for _ in range(30):
        w = em.weight
    np.testing.assert_allclose(np.linalg.svd(w.detach().cpu().numpy(), compute_uv=False)[0],
                               1.0, rtol=1e-3)
    assert s[0] > 0


def test_spectral_norm_hook(torch, device):
    em, tm = _pair_linear(torch, device)
    torch.nn.utils.spectral_norm(tm)
    ember.nn.utils.spectral_norm(em)
    sd_t = tm.state_dict()
    assert list(em.state_dict()) == list(sd_t) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert em.state_dict()._metadata[""]["spectral_norm"] == sd_t._metadata[""]["spectral_norm"]
    em = copy_weights(em, tm, device)
    for _ in range(2):
        tm.zero_grad()
        em.zero_grad()
        _compare_step(torch, em, tm, device, (1e-4, 1e-5))
    assert_close(em.weight_u, tm.weight_u, 1e-4, 1e-5)
    ember.nn.utils.remove_spectral_norm(em)
    torch.nn.utils.remove_spectral_norm(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert_close(em.weight, tm.weight, 1e-4, 1e-5)
    assert_same_error(lambda: torch.nn.utils.remove_spectral_norm(tm),
                      lambda: ember.nn.utils.remove_spectral_norm(em))


@pytest.mark.parametrize("shape,orth_map", [((4, 4), None), ((4, 4), "cayley"),
                                            ((5, 3), None), ((3, 5), "matrix_exp")])
def test_orthogonal(torch, device, shape, orth_map):
    tm = torch.nn.Linear(shape[1], shape[0])
    em = copy_weights(ember.nn.Linear(shape[1], shape[0]), tm, device)
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=orth_map)
    ember.nn.utils.parametrizations.orthogonal(em, orthogonal_map=orth_map)
    assert list(em.state_dict()) == list(tm.state_dict())
    w = em.weight.detach().cpu().numpy()
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)
    if shape[0] == shape[1]:  # no random completion of the basis: the same matrix
        assert_close(em.weight, tm.weight, 1e-5, 1e-5)
    em = copy_weights(em, tm, device)
    x = R.standard_normal((2, shape[1])).astype("float32")
    ye, yt = em(ember.tensor(x, device=device)), tm(torch.tensor(x))
    assert_close(ye, yt, 1e-4, 1e-5)
    ye.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    assert_close(em.parametrizations.weight.original.grad,
                 tm.parametrizations.weight.original.grad, 1e-4, 1e-4)
    assert_same_error(
        lambda: torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(2, 2), "bias"),
        lambda: ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(2, 2), "bias"))
