"""The numpy backend's eager-speed kernels of issue 20 outside convolution, each against
the generic form it replaces and against PyTorch: softmax/log_softmax row blocks, the
one-node LSTM layer, whole-row index_add (embedding backward), BLAS axpy (SGD), and the
layout of linear's weight gradient."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.backends import Backend


@pytest.fixture(params=[1, 2])
def threads(request):
    before = ember.get_num_threads()
    ember.set_num_threads(request.param)
    yield request.param
    ember.set_num_threads(before)


@pytest.mark.parametrize("shape", [(70, 1000), (3, 4, 64, 64), (5, 33)])
@pytest.mark.parametrize("log", [True, False])
def test_softmax_kernels_are_the_generic_formulas_bit_for_bit(nb, threads, shape, log):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    x[0, ..., :3] = -np.inf  # a row with -inf entries keeps PyTorch's values
    y = nb.softmax(x, x.ndim - 1, log)
    assert np.array_equal(y, Backend.softmax(nb, x, x.ndim - 1, log), equal_nan=True)
    got = nb.softmax_backward(y, g, x.ndim - 1, log)
    want = Backend.softmax_backward(nb, y, g, x.ndim - 1, log)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_softmax_kernels_other_axis_and_strided_input_take_the_generic_path(nb, torch):
    x = np.random.default_rng(1).standard_normal((40, 600)).astype(np.float32)
    for arr, axis in ((x, 0), (x.T, 1), (x[:, ::2], 1)):
        got = nb.softmax(arr, axis, True)
        want = torch.log_softmax(torch.tensor(np.ascontiguousarray(arr)), axis).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_log_softmax_nll_step_matches_torch(torch, device, threads):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 700)).astype(np.float32)
    y = rng.integers(0, 700, 50)
    out = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        t = lib.tensor(x, requires_grad=True, device=dev)
        loss = lib.nn.functional.nll_loss(lib.nn.functional.log_softmax(t, dim=1),
                                          lib.tensor(y, device=dev))
        loss.backward()
        out.append((float(loss), np.asarray(t.grad.cpu().numpy())))
    assert abs(out[0][0] - out[1][0]) < 1e-5
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kw", [dict(num_layers=2), dict(bidirectional=True),
                                dict(batch_first=True)])
def test_lstm_layer_node_matches_torch_and_the_per_step_cells(torch, device, kw,
                                                              monkeypatch):
    from ember.nn._functional import rnn as R
    torch.manual_seed(0)
    tm = torch.nn.LSTM(4, 5, **kw).double()
    em = ember.nn.LSTM(4, 5, **kw).double().to(device)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((6, 3, 4))
    w = np.random.default_rng(4).standard_normal((6, 3, 5 * (2 if kw.get("bidirectional")
                                                              else 1)))

    def run(lib, m, dev):
        t = lib.tensor(x, requires_grad=True, device=dev)
        out, (h, c) = m(t)
        ((out * lib.tensor(w, device=dev)).sum() + (h ** 2).sum() + (c ** 3).sum()).backward()
        return [out.detach().cpu().numpy(), t.grad.cpu().numpy()] + \
            [p.grad.cpu().numpy().copy() for p in m.parameters()], out
    want, _ = run(torch, tm, "cpu")
    got, eout = run(ember, em, device)
    if kw.get("num_layers") and eout._device._be.name == "numpy":  # one node per layer
        assert eout.grad_fn.name() == "MkldnnRnnLayerBackward0"
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    em.zero_grad()
    monkeypatch.setattr(R, "_lstm_layer_fits", lambda *a: False)  # the per-step cells
    steps, _ = run(ember, em, device)
    for a, b in zip(got, steps):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_lstm_layer_node_second_derivative_matches_torch(torch, device):
    torch.manual_seed(0)
    tm = torch.nn.LSTM(3, 4).double()
    em = ember.nn.LSTM(3, 4).double().to(device)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((5, 2, 3))
    res = []
    for lib, m, dev in ((torch, tm, "cpu"), (ember, em, device)):
        t = lib.tensor(x, requires_grad=True, device=dev)
        out, (_, c) = m(t)
        g, = lib.autograd.grad(out.sum() + c.sum(), t, create_graph=True)
        gg, = lib.autograd.grad((g ** 2).sum(), m.weight_hh_l0)
        res.append((g.detach().cpu().numpy(), gg.cpu().numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_index_add_whole_rows_matches_add_at(nb):
    rng = np.random.default_rng(6)
    base = rng.standard_normal((50, 7)).astype(np.float32)
    key = rng.integers(0, 50, 300)
    vals = rng.standard_normal((300, 7)).astype(np.float32)
    want = base.copy()
    np.add.at(want, key, vals)
    kept = base.copy()
    got = nb.index_add(base, key, vals)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.array_equal(base, kept)  # a new array: the input is left alone
    zeros = np.zeros((50, 7), np.float32)
    want0 = zeros.copy()
    np.add.at(want0, key, vals)
    np.testing.assert_allclose(nb.index_add(zeros, key, vals), want0, rtol=1e-6, atol=1e-6)


def test_embedding_backward_matches_torch(torch, device):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((100, 8)).astype(np.float32)
    idx = rng.integers(0, 100, (7, 9))
    g = rng.standard_normal((7, 9, 8)).astype(np.float32)
    grads = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        t = lib.tensor(w, requires_grad=True, device=dev)
        lib.nn.functional.embedding(lib.tensor(idx, device=dev), t).backward(
            lib.tensor(g, device=dev))
        grads.append(t.grad.cpu().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_axpy_through_blas_in_place(nb, dtype, threads):
    rng = np.random.default_rng(8)
    y = rng.standard_normal((300, 500)).astype(dtype)
    x = rng.standard_normal((300, 500)).astype(dtype)
    want = y + np.asarray(-0.25, dtype) * x
    out = nb.axpy_(y, x, -0.25)
    assert out is y
    np.testing.assert_allclose(y, want, rtol=1e-6 if dtype == "float32" else 1e-14)


def test_linear_weight_grad_is_contiguous_and_matches_torch(torch, device):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4, 6)).astype(np.float32)
    w = rng.standard_normal((5, 6)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    grads = []
    for lib, dev in ((ember, device), (torch, "cpu")):
        wt = lib.tensor(w, requires_grad=True, device=dev)
        bt = lib.tensor(b, requires_grad=True, device=dev)
        lib.nn.functional.linear(lib.tensor(x, device=dev), wt, bt).square().sum().backward()
        grads.append(wt.grad)
    if grads[0]._device._be.name == "numpy":  # the fused optimizer kernels need this
        assert grads[0].is_contiguous() and grads[0]._data.flags.c_contiguous
    np.testing.assert_allclose(grads[0].cpu().numpy(), grads[1].numpy(), rtol=1e-5,
                               atol=1e-5)
