"""nn.EmbeddingBag / F.embedding_bag against PyTorch: sum, mean and max bags from a 2-D
input or a 1-D input with offsets (include_last_offset, empty bags), per_sample_weights,
padding_idx, from_pretrained; outputs and gradients of the table and the sample weights;
errors."""
import numpy as np
import pytest

import ember
from nn_oracle import assert_close
from same_error import assert_same_error

R = np.random.default_rng(0)
W = R.standard_normal((10, 3)).astype("float32")
IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0], dtype=np.int64)


def _table(torch, device):
    return (ember.tensor(W, device=device, requires_grad=True),
            torch.tensor(W, requires_grad=True))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset"])
def test_functional(torch, device, mode, layout):
    we, wt = _table(torch, device)
    kw = {}
    if layout == "2d":
        ie, it = ember.tensor(IDX.reshape(3, 3), device=device), torch.tensor(IDX.reshape(3, 3))
    else:
        ie, it = ember.tensor(IDX, device=device), torch.tensor(IDX)
        off = [0, 2, 2, 5] if layout == "offsets" else [0, 2, 2, 5, 8]  # one empty bag
        kw = dict(include_last_offset=layout == "last_offset")
        kw_e = dict(kw, offsets=ember.tensor(off, device=device))
        kw_t = dict(kw, offsets=torch.tensor(off))
    if layout == "2d":
        kw_e, kw_t = {}, {}
    pad = 4 if mode != "max" else None
    oe = ember.nn.functional.embedding_bag(ie, we, mode=mode, padding_idx=pad, **kw_e)
    ot = torch.nn.functional.embedding_bag(it, wt, mode=mode, padding_idx=pad, **kw_t)
    assert_close(oe, ot, what="forward")
    cot = R.standard_normal(tuple(ot.shape)).astype("float32")
    (oe * ember.tensor(cot, device=device)).sum().backward()
    (ot * torch.tensor(cot)).sum().backward()
    assert_close(we.grad, wt.grad, what="weight grad")


def test_per_sample_weights_module(torch, device):
    te = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(W), freeze=False, mode="sum",
                                               padding_idx=2)
    ee = ember.nn.EmbeddingBag.from_pretrained(ember.tensor(W, device=device), freeze=False,
                                               mode="sum", padding_idx=2)
    assert repr(ee) == repr(te)
    psw = R.standard_normal(IDX.shape).astype("float32")
    pe = ember.tensor(psw, device=device, requires_grad=True)
    pt = torch.tensor(psw, requires_grad=True)
    off = [0, 3, 6]
    oe = ee(ember.tensor(IDX, device=device), ember.tensor(off, device=device), pe)
    ot = te(torch.tensor(IDX), torch.tensor(off), pt)
    assert_close(oe, ot)
    oe.pow(2).sum().backward()
    ot.pow(2).sum().backward()
    assert_close(ee.weight.grad, te.weight.grad, 1e-5, 1e-5)
    assert_close(pe.grad, pt.grad, 1e-5, 1e-5)
    m = ember.nn.EmbeddingBag(5, 2, mode="max")
    assert m.weight.shape == (5, 2) and m.weight.requires_grad
    assert not ember.nn.EmbeddingBag.from_pretrained(ember.tensor(W)).weight.requires_grad


def test_errors(torch, device):
    def run(lib, dev, case):
        F = lib.nn.functional
        w = lib.tensor(W) if dev is None else lib.tensor(W, device=dev)
        i1 = lib.tensor(IDX) if dev is None else lib.tensor(IDX, device=dev)
        return case(F, w, i1, lib)
    cases = [
        lambda F, w, i, lib: F.embedding_bag(i, w),
        lambda F, w, i, lib: F.embedding_bag(i.reshape(3, 3), w, [0, 1]),
        lambda F, w, i, lib: F.embedding_bag(i, w, i[:1] * 0, mode="mean",
                                             per_sample_weights=w[:9, 0]),
        lambda F, w, i, lib: F.embedding_bag(i, w, i[:1] * 0, mode="min"),
        lambda F, w, i, lib: F.embedding_bag(i, w, i[:1] * 0, per_sample_weights=w[:3, 0]),
        lambda F, w, i, lib: F.embedding_bag(i, w[0], i[:1] * 0),
    ]
    for case in cases:
        assert_same_error(lambda: run(torch, None, case), lambda: run(ember, device, case))


def test_bad_indices_and_offsets_raise(device):
    """Out-of-range indices and offsets that run backwards or past the input are refused
    (never read out of bounds)."""
    F = ember.nn.functional
    w = ember.tensor(W, device=device)
    idx = ember.tensor(IDX, device=device)
    with pytest.raises(IndexError):
        F.embedding_bag(ember.tensor([0, 10], device=device), w, ember.tensor([0]))
    with pytest.raises(IndexError):
        F.embedding_bag(ember.tensor([-1, 2], device=device), w, ember.tensor([0]))
    for off in ([0, 5, 3], [0, 2, 99], [1, 2]):
        with pytest.raises(RuntimeError):
            F.embedding_bag(idx, w, ember.tensor(off, device=device))
