"""nn.utils.rnn against PyTorch: pack/pad round trips (batch_first, enforce_sorted,
total_length, padding_side), their gradients, the errors, and RNN/LSTM/GRU fed a
PackedSequence (outputs, final states taken at each sequence's last step, gradients)."""
import numpy as np
import pytest

import ember
from nn_oracle import assert_close, copy_weights
from same_error import assert_same_error

R = np.random.default_rng(0)


def _both(torch, arr, device, grad=False):
    e = ember.tensor(arr, device=device, requires_grad=grad)
    t = torch.tensor(arr, requires_grad=grad)
    return e, t


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_pad_round_trip(torch, device, batch_first, enforce_sorted):
    from ember.nn.utils import rnn as er
    from torch.nn.utils import rnn as tr
    x = R.standard_normal((3, 5, 2) if batch_first else (5, 3, 2)).astype("float32")
    lens = [5, 3, 2] if enforce_sorted else [3, 5, 2]
    xe, xt = _both(torch, x, device, grad=True)
    pe = er.pack_padded_sequence(xe, lens, batch_first=batch_first,
                                 enforce_sorted=enforce_sorted)
    pt = tr.pack_padded_sequence(xt, torch.tensor(lens), batch_first=batch_first,
                                 enforce_sorted=enforce_sorted)
    assert isinstance(pe, tuple) and pe._fields == pt._fields
    assert_close(pe.data, pt.data)
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pe.batch_sizes.dtype == ember.int64 and pe.batch_sizes.device.type == "cpu"
    for a, b in ((pe.sorted_indices, pt.sorted_indices),
                 (pe.unsorted_indices, pt.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()
    ye, le = er.pad_packed_sequence(pe, batch_first=batch_first, padding_value=-1.5,
                                    total_length=6)
    yt, lt = tr.pad_packed_sequence(pt, batch_first=batch_first, padding_value=-1.5,
                                    total_length=6)
    assert_close(ye, yt)
    assert le.tolist() == lt.tolist() and le.dtype == ember.int64
    w = R.standard_normal(yt.shape).astype("float32")
    (ye * ember.tensor(w, device=device)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xe.grad, xt.grad)


@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_pack_sequence(torch, device, padding_side):
    from ember.nn.utils import rnn as er
    from torch.nn.utils import rnn as tr
    arrs = [R.standard_normal((n, 2)).astype("float32") for n in (2, 4, 1)]
    es = [ember.tensor(a, device=device) for a in arrs]
    ts = [torch.tensor(a) for a in arrs]
    for bf in (False, True):
        assert_close(er.pad_sequence(es, bf, 7.0, padding_side),
                     tr.pad_sequence(ts, bf, 7.0, padding_side))
    pe = er.pack_sequence(es, enforce_sorted=False)
    pt = tr.pack_sequence(ts, enforce_sorted=False)
    assert_close(pe.data, pt.data)
    assert pe.sorted_indices.tolist() == pt.sorted_indices.tolist()
    for a, b in zip(er.unpack_sequence(pe), tr.unpack_sequence(pt)):
        assert_close(a, b)
    padded = er.pad_sequence(es, batch_first=True)
    for a, b in zip(er.unpad_sequence(padded, ember.tensor([2, 4, 1]), batch_first=True),
                    arrs):
        np.testing.assert_array_equal(a.cpu().numpy(), b)


def test_errors(torch, device):
    from ember.nn.utils import rnn as er
    from torch.nn.utils import rnn as tr
    x = np.zeros((3, 2, 1), "float32")
    cases = [
        (lambda m, t: m.pack_padded_sequence(t, [1, 2])),
        (lambda m, t: m.pack_padded_sequence(t, [2, 0])),
        (lambda m, t: m.pack_padded_sequence(t, [2, 1, 1])),
        (lambda m, t: m.pad_packed_sequence(m.pack_padded_sequence(t, [3, 1]),
                                            total_length=2)),
        (lambda m, t: m.pad_sequence([t[0], t[0, :, :0]], padding_side="top")),
    ]
    for run in cases:
        assert_same_error(lambda: run(tr, torch.tensor(x)),
                          lambda: run(er, ember.tensor(x, device=device)))
    assert_same_error(lambda: tr.pack_padded_sequence(torch.tensor(x), torch.tensor([[2, 1]])),
                      lambda: er.pack_padded_sequence(ember.tensor(x), ember.tensor([[2, 1]])))


@pytest.mark.parametrize("mode,kw", [
    ("RNN", dict(num_layers=2, nonlinearity="relu")),
    ("GRU", dict(bidirectional=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2)),
])
def test_rnn_packed(torch, device, mode, kw):
    from ember.nn.utils import rnn as er
    from torch.nn.utils import rnn as tr
    tm = getattr(torch.nn, mode)(4, 3, **kw)
    em = copy_weights(getattr(ember.nn, mode)(4, 3, **kw), tm, device)
    bf = kw.get("batch_first", False)
    x = R.standard_normal((3, 5, 4) if bf else (5, 3, 4)).astype("float32")
    lens = [3, 5, 2]
    xe, xt = _both(torch, x, device, grad=True)
    lstm = mode == "LSTM"
    dirs = 2 if kw.get("bidirectional") else 1
    real = kw.get("proj_size") or 3
    h0 = R.standard_normal((kw.get("num_layers", 1) * dirs, 3, real)).astype("float32")
    c0 = R.standard_normal((kw.get("num_layers", 1) * dirs, 3, 3)).astype("float32")
    h0e, h0t = _both(torch, h0, device, grad=True)
    c0e, c0t = _both(torch, c0, device)
    pe = er.pack_padded_sequence(xe, lens, batch_first=bf, enforce_sorted=False)
    pt = tr.pack_padded_sequence(xt, lens, batch_first=bf, enforce_sorted=False)
    oe, he = em(pe, (h0e, c0e) if lstm else h0e)
    ot, ht = tm(pt, (h0t, c0t) if lstm else h0t)
    assert isinstance(oe, er.PackedSequence)
    assert_close(oe.data, ot.data, 1e-4, 1e-5, "packed output")
    assert oe.sorted_indices.tolist() == ot.sorted_indices.tolist()
    hes, hts = (he, ht) if lstm else ((he,), (ht,))
    for a, b in zip(hes, hts):
        assert_close(a, b, 1e-4, 1e-5, "final state")
    ye, _ = er.pad_packed_sequence(oe, batch_first=bf)
    yt, _ = tr.pad_packed_sequence(ot, batch_first=bf)
    (ye.sin().sum() + hes[0].pow(2).sum()).backward()
    (yt.sin().sum() + hts[0].pow(2).sum()).backward()
    assert_close(xe.grad, xt.grad, 1e-4, 1e-5, "input grad")
    assert_close(h0e.grad, h0t.grad, 1e-4, 1e-5, "h0 grad")
    for name, p in tm.named_parameters():
        assert_close(em.get_parameter(name).grad, p.grad, 1e-4, 1e-5, name)
