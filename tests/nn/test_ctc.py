"""nn.CTCLoss / F.ctc_loss against PyTorch: padded and concatenated targets, every
reduction, zero_infinity with an impossible alignment, a non-zero blank, repeated labels,
unbatched input; losses, gradients through log_softmax and the raw gradient of
log_probs (PyTorch's formula); the argument errors."""
import numpy as np
import pytest

import ember
from nn_oracle import assert_close
from same_error import assert_same_error

R = np.random.default_rng(0)
T, N, C = 6, 3, 5
X = R.standard_normal((T, N, C)).astype("float32")
TGT = np.array([[1, 2, 2], [3, 0, 0], [4, 4, 1]], dtype=np.int64)  # repeats need blanks


def _run(lib, x, tgt, il, tl, dev=None, raw=False, **kw):
    xt = lib.tensor(x, requires_grad=True) if dev is None else \
        lib.tensor(x, device=dev, requires_grad=True)
    lp = xt.detach().log_softmax(-1).requires_grad_(True) if raw else xt.log_softmax(-1)
    targets = lib.tensor(tgt) if dev is None else lib.tensor(tgt, device=dev)
    loss = lib.nn.functional.ctc_loss(lp, targets, il, tl, **kw)
    cot = np.arange(1, loss.numel() + 1, dtype="float32").reshape(tuple(loss.shape)) / 3
    (loss * (lib.tensor(cot) if dev is None else lib.tensor(cot, device=dev))).sum().backward()
    return loss, (lp.grad if raw else xt.grad)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("raw", [False, True])
def test_padded_targets(torch, device, reduction, raw):
    il, tl = [6, 4, 5], [3, 1, 2]
    le, ge = _run(ember, X, TGT, ember.tensor(il), ember.tensor(tl), device, raw,
                  reduction=reduction)
    lt, gt = _run(torch, X, TGT, torch.tensor(il), torch.tensor(tl), None, raw,
                  reduction=reduction)
    assert_close(le, lt, 1e-5, 1e-5, "loss")
    assert_close(ge, gt, 1e-5, 1e-5, "grad")


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_concatenated_blank_and_infinity(torch, device, zero_infinity):
    # sample 1 cannot align: 3 labels with a repeat need 4 steps, it has 2
    il, tl = (6, 2, 5), (2, 3, 2)
    flat = np.array([1, 1, 2, 2, 3, 4, 0], dtype=np.int64)
    kw = dict(blank=4, reduction="none", zero_infinity=zero_infinity)
    le, ge = _run(ember, X, flat, il, tl, device, **kw)
    lt, gt = _run(torch, X, flat, il, tl, **kw)
    assert_close(le, lt, 1e-5, 1e-5, "loss")
    if zero_infinity:
        assert_close(ge, gt, 1e-5, 1e-5, "grad")
    else:
        assert np.isinf(le.detach().cpu().numpy()[1])
        good = [0, 2]
        assert_close(ge.cpu().numpy()[:, good], gt.numpy()[:, good], 1e-5, 1e-5, "grad")


def test_unbatched_and_module(torch, device):
    le, ge = _run(ember, X[:, 0], TGT[0], 6, 3, device, reduction="none")
    lt, gt = _run(torch, X[:, 0], TGT[0], torch.tensor(6), torch.tensor(3), reduction="none")
    assert tuple(le.shape) == tuple(lt.shape)
    assert_close(le, lt, 1e-5, 1e-5)
    assert_close(ge, gt, 1e-5, 1e-5)
    me, mt = ember.nn.CTCLoss(blank=0, zero_infinity=True), torch.nn.CTCLoss(zero_infinity=True)
    lp = X.copy()
    assert_close(me(ember.tensor(lp, device=device).log_softmax(2),
                    ember.tensor(TGT, device=device), [6, 6, 6], [3, 1, 2]),
                 mt(torch.tensor(lp).log_softmax(2), torch.tensor(TGT), [6, 6, 6], [3, 1, 2]),
                 1e-5, 1e-5)


def test_errors(torch, device):
    F_args = [
        ([7, 5, 5], [2, 2, 2], {}), ([5, 5], [2, 2, 2], {}),
        ([5, 5, 5], [2, 2], {}), ([5, 5, 5], [4, 2, 2], {}), ([5, 5, 5], [-1, 2, 2], {}),
        ([5, 5, 5], [2, 2, 2], {"blank": 5}), ([5, 5, 5], [2, 2, 2], {"reduction": "bad"}),
    ]
    for il, tl, kw in F_args:
        assert_same_error(
            lambda: torch.nn.functional.ctc_loss(torch.tensor(X), torch.tensor(TGT), il, tl,
                                                 **kw),
            lambda: ember.nn.functional.ctc_loss(ember.tensor(X, device=device),
                                                 ember.tensor(TGT, device=device), il, tl,
                                                 **kw))
    assert_same_error(
        lambda: torch.nn.functional.ctc_loss(torch.tensor(X), torch.tensor([1, 2, 3]),
                                             [5, 5, 5], [2, 2, 2]),
        lambda: ember.nn.functional.ctc_loss(ember.tensor(X), ember.tensor([1, 2, 3]),
                                             [5, 5, 5], [2, 2, 2]))


def test_bad_labels_raise(device):
    """A target label outside [0, C) is refused rather than gathered out of bounds."""
    lp = ember.tensor(X, device=device).log_softmax(2)
    for bad in (C, -1):
        tgt = TGT.copy()
        tgt[0, 0] = bad
        with pytest.raises(IndexError):
            ember.nn.functional.ctc_loss(lp, ember.tensor(tgt, device=device), [6, 6, 6],
                                         [3, 1, 2])
