"""nn.utils.prune against PyTorch: the deterministic methods (l1_unstructured,
ln_structured, custom_from_mask, global_unstructured with L1, identity) give the same
masks, state_dict keys, forward values and gradients of ``weight_orig``; chained pruning
builds a PruningContainer; remove() makes the pruned weight permanent; the random methods
prune the requested amount; errors as PyTorch's."""
import numpy as np
import pytest

import ember
from nn_oracle import assert_close, copy_weights
from same_error import assert_same_error

R = np.random.default_rng(0)


@pytest.fixture
def torch(torch):
    """The oracle, with ``torch.nn.utils.prune`` imported (torch does not import it)."""
    import torch.nn.utils.prune  # noqa: F401
    return torch


def _conv(torch, device):
    tm = torch.nn.Conv2d(3, 4, 2)
    return copy_weights(ember.nn.Conv2d(3, 4, 2), tm, device), tm


def _both(fn_name, em, tm, *args, **kw):
    getattr(ember.nn.utils.prune, fn_name)(em, *args, **kw)
    getattr(__import__("torch").nn.utils.prune, fn_name)(tm, *args, **kw)


def test_deterministic_chain_and_remove(torch, device):
    em, tm = _conv(torch, device)
    _both("l1_unstructured", em, tm, "weight", amount=0.3)
    assert list(em.state_dict()) == list(tm.state_dict()) == ["bias", "weight_orig",
                                                              "weight_mask"]
    assert_close(em.weight_mask, tm.weight_mask)
    _both("ln_structured", em, tm, "weight", amount=1, n=2, dim=0)
    _both("l1_unstructured", em, tm, "bias", amount=2)
    hook = [h for h in em._forward_pre_hooks.values()
            if isinstance(h, ember.nn.utils.prune.BasePruningMethod)]
    assert [type(h).__name__ for h in hook] == ["PruningContainer", "L1Unstructured"]
    assert len(hook[0]) == 2
    assert_close(em.weight_mask, tm.weight_mask)
    assert_close(em.bias_mask, tm.bias_mask)
    assert ember.nn.utils.prune.is_pruned(em)
    x = R.standard_normal((1, 3, 4, 4)).astype("float32")
    ye, yt = em(ember.tensor(x, device=device)), tm(torch.tensor(x))
    assert_close(ye, yt, 1e-5, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(em.weight_orig.grad, tm.weight_orig.grad, 1e-5, 1e-5)
    assert_close(em.bias_orig.grad, tm.bias_orig.grad, 1e-5, 1e-5)
    _both("remove", em, tm, "weight")
    _both("remove", em, tm, "bias")
    assert list(em.state_dict()) == list(tm.state_dict())
    assert isinstance(em.weight, ember.nn.Parameter)
    assert_close(em.weight, tm.weight)
    assert not ember.nn.utils.prune.is_pruned(em)


def test_custom_global_identity(torch, device):
    em, tm = _conv(torch, device)
    mask = (R.random((4,)) > 0.5).astype("float32")
    ember.nn.utils.prune.custom_from_mask(em, "bias", ember.tensor(mask, device=device))
    torch.nn.utils.prune.custom_from_mask(tm, "bias", torch.tensor(mask))
    assert_close(em.bias, tm.bias)
    _both("identity", em, tm, "weight")
    assert float(em.weight_mask.sum()) == em.weight.numel()
    tl = [torch.nn.Linear(3, 2), torch.nn.Linear(2, 2)]
    el = [copy_weights(ember.nn.Linear(3, 2), tl[0], device),
          copy_weights(ember.nn.Linear(2, 2), tl[1], device)]
    torch.nn.utils.prune.global_unstructured([(m, "weight") for m in tl],
                                             torch.nn.utils.prune.L1Unstructured, amount=4)
    ember.nn.utils.prune.global_unstructured([(m, "weight") for m in el],
                                             ember.nn.utils.prune.L1Unstructured, amount=4)
    for a, b in zip(el, tl):
        assert_close(a.weight_mask, b.weight_mask)
        assert_close(a.weight, b.weight)


def test_random_methods_amounts(device):
    m = ember.nn.Conv2d(3, 4, 2, device=device)
    ember.nn.utils.prune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask == 0).sum()) == round(0.25 * m.weight.numel())
    m2 = ember.nn.Conv2d(3, 4, 2, device=device)
    ember.nn.utils.prune.random_structured(m2, "weight", amount=2, dim=0)
    per_channel = m2.weight_mask.sum(dim=(1, 2, 3)).cpu().numpy()
    assert sorted(per_channel.tolist()) == [0, 0, 12, 12]


def test_errors(torch, device):
    def run(lib, fn, *a, **k):
        m = lib.nn.Linear(3, 2)
        return getattr(lib.nn.utils.prune, fn)(m, *a, **k)
    for fn, a, k in [("l1_unstructured", ("weight",), {"amount": 1.5}),
                     ("l1_unstructured", ("weight",), {"amount": 10}),
                     ("l1_unstructured", ("weight",), {"amount": "x"}),
                     ("ln_structured", ("bias",), {"amount": 1, "n": 2, "dim": 0}),
                     ("ln_structured", ("weight",), {"amount": 1, "n": 2, "dim": 3}),
                     ("remove", ("weight",), {})]:
        assert_same_error(lambda: run(torch, fn, *a, **k), lambda: run(ember, fn, *a, **k))
    with pytest.raises(TypeError, match="parameters is not an Iterable"):
        ember.nn.utils.prune.global_unstructured(3, ember.nn.utils.prune.L1Unstructured,
                                                 amount=1)
