"""Recurrent layers against PyTorch: RNN/LSTM/GRU over a grid of options (layers,
directions, batch_first, bias, projections, initial states, unbatched input, dropout) and
the cells; every output and state, gradients of inputs, states and every parameter;
reprs, state-dict keys, errors, initialisation, float64 gradcheck of an LSTM cell."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, copy_weights, pair
from same_error import assert_same_error

R = np.random.default_rng(0)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(torch, em, tm, inputs, device, tol=(1e-4, 1e-5)):
    """Forward both with the same inputs (None stays None; tuples of arrays become tuples
    of tensors), compare every output, backward a random cotangent per output, compare
    the gradients of every input and parameter."""
    def make(a):
        if a is None:
            return None, None
        if isinstance(a, tuple):
            pairs = [make(x) for x in a]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        return pair(torch, a, device, requires_grad=True)
    made = [make(a) for a in inputs]
    e_in, t_in = [m[0] for m in made], [m[1] for m in made]
    eo, to = _flat(em(*e_in)), _flat(tm(*t_in))
    assert len(eo) == len(to)
    for i, (a, b) in enumerate(zip(eo, to)):
        assert_close(a, b, *tol, what=f"output {i}")
    cots = [rnd(*t.shape) for t in to]
    ember.autograd.backward(eo, [ember.tensor(c, device=device) for c in cots])
    torch.autograd.backward(to, [torch.tensor(c) for c in cots])
    for i, (a, b) in enumerate(zip(_flat([x for x in e_in if x is not None]),
                                   _flat([x for x in t_in if x is not None]))):
        assert_close(a.grad, b.grad, *tol, what=f"grad of input {i}")
    tp = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert_close(p.grad, tp[name].grad, *tol, what=f"grad of {name}")


SEQ = [  # (class, kwargs, input shape, with initial state)
    ("RNN", dict(input_size=3, hidden_size=4), (5, 2, 3), False),
    ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", num_layers=2), (5, 2, 3),
     True),
    ("RNN", dict(input_size=3, hidden_size=4, bidirectional=True, batch_first=True),
     (2, 5, 3), True),
    ("RNN", dict(input_size=3, hidden_size=4, bias=False), (4, 3), False),  # unbatched
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 2, 3), False),
    ("LSTM", dict(input_size=3, hidden_size=5, num_layers=2, batch_first=True), (2, 6, 3),
     True),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 3, 3),
     True),
    ("LSTM", dict(input_size=3, hidden_size=5, proj_size=2, num_layers=2,
                  bidirectional=True), (4, 2, 3), True),
    ("LSTM", dict(input_size=3, hidden_size=4, bias=False, batch_first=True), (5, 3), True),
    ("GRU", dict(input_size=3, hidden_size=4), (5, 2, 3), False),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=3, bidirectional=True,
                 batch_first=True), (2, 4, 3), True),
    ("GRU", dict(input_size=3, hidden_size=4, bias=False), (5, 3), True),
]


def _state(cls, kw, shape, batched=True):
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    batch = (shape[0] if kw.get("batch_first") else shape[1]) if len(shape) == 3 else None
    h = kw.get("proj_size") or kw["hidden_size"]
    lead = (layers * dirs,) + ((batch,) if batch is not None else ())
    if cls == "LSTM":
        return (rnd(*lead, h), rnd(*lead, kw["hidden_size"]))
    return rnd(*lead, h)


@pytest.mark.parametrize("cls,kw,shape,with_state", SEQ,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(SEQ)])
def test_recurrent_matches_torch(torch, device, cls, kw, shape, with_state):
    tm, em = getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    inputs = [rnd(*shape)] + ([_state(cls, kw, shape)] if with_state else [])
    _compare(torch, em, tm, inputs, device)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_dropout_between_layers(torch, device, cls):
    """p=1 makes the dropout deterministic (all zeros); eval mode turns it off."""
    kw = dict(input_size=3, hidden_size=4, num_layers=2, dropout=1.0)
    tm, em = getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw)
    copy_weights(em, tm, device)
    x = rnd(5, 2, 3)
    _compare(torch, em, tm, [x], device)
    em.eval(), tm.eval()
    _compare(torch, em, tm, [x], device)


def test_float64(torch, device):
    kw = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    tm, em = torch.nn.LSTM(**kw).double(), nn.LSTM(**kw).double()
    copy_weights(em, tm, device)
    _compare(torch, em, tm, [rnd(4, 2, 3, dtype="float64")], device, tol=(1e-10, 1e-11))


CELLS = [
    ("RNNCell", dict(input_size=3, hidden_size=4), (2, 3), True),
    ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu"), (2, 3), True),
    ("RNNCell", dict(input_size=3, hidden_size=4, bias=False), (3,), True),  # unbatched
    ("LSTMCell", dict(input_size=3, hidden_size=4), (2, 3), True),
    ("LSTMCell", dict(input_size=3, hidden_size=4), (2, 3), False),
    ("LSTMCell", dict(input_size=3, hidden_size=4, bias=False), (3,), True),
    ("GRUCell", dict(input_size=3, hidden_size=4), (2, 3), True),
    ("GRUCell", dict(input_size=3, hidden_size=4), (3,), False),
]


@pytest.mark.parametrize("cls,kw,shape,with_state", CELLS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CELLS)])
def test_cell_matches_torch(torch, device, cls, kw, shape, with_state):
    tm, em = getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    lead = shape[:-1]
    h = kw["hidden_size"]
    state = None
    if with_state:
        state = (rnd(*lead, h), rnd(*lead, h)) if cls == "LSTMCell" else rnd(*lead, h)
    _compare(torch, em, tm, [rnd(*shape), state], device)


def test_gradcheck_lstm_cell():
    cell = nn.LSTMCell(3, 4).double()
    x = ember.tensor(R.standard_normal((2, 3)), requires_grad=True)
    h = ember.tensor(R.standard_normal((2, 4)), requires_grad=True)
    c = ember.tensor(R.standard_normal((2, 4)), requires_grad=True)
    params = list(cell.parameters())

    def fn(x, h, c, *ps):
        return ember.nn._functional.rnn.lstm_cell(x, (h, c), *ps)
    assert gradcheck(fn, (x, h, c, *params))
    assert gradgradcheck(lambda x, h, c: fn(x, h, c, *params), (x, h, c))


def test_gradcheck_gru_sequence():
    m = nn.GRU(2, 3, bidirectional=True).double()
    x = ember.tensor(R.standard_normal((3, 2, 2)), requires_grad=True)
    assert gradcheck(lambda x: m(x)[0], (x,))
    cell = nn.GRUCell(2, 3).double()
    x1 = ember.tensor(R.standard_normal((2, 2)), requires_grad=True)
    h = ember.tensor(R.standard_normal((2, 3)), requires_grad=True)
    assert gradgradcheck(lambda x, h: cell(x, h), (x1, h))


REPRS = ["LSTM(10, 20, num_layers=2, batch_first=True)",
         "GRU(3, 4, bias=False, num_layers=2, dropout=0.5, bidirectional=True)",
         "RNN(3, 4, nonlinearity='relu')", "RNN(3, 4, 2, 'relu')", "LSTM(3, 4, proj_size=2)",
         "RNNCell(3, 4)", "LSTMCell(3, 4, bias=False)", "GRUCell(3, 4)",
         "RNNCell(3, 4, nonlinearity='relu')"]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(torch, expr):
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr))


ERRORS = [
    ("input size", lambda L: L.nn.LSTM(3, 4)(L.randn(5, 2, 6))),
    ("input dims", lambda L: L.nn.GRU(3, 4)(L.randn(5, 2, 3, 1))),
    ("hidden size", lambda L: L.nn.GRU(3, 4, num_layers=2)(L.randn(5, 2, 3),
                                                           L.randn(1, 2, 4))),
    ("lstm hidden size", lambda L: L.nn.LSTM(3, 4)(L.randn(5, 2, 3),
                                                   (L.randn(1, 2, 4), L.randn(1, 3, 4)))),
    ("hx dims", lambda L: L.nn.RNN(3, 4)(L.randn(5, 2, 3), L.randn(2, 4))),
    ("lstm hx dims", lambda L: L.nn.LSTM(3, 4)(L.randn(5, 3), (L.randn(1, 1, 4),
                                                              L.randn(1, 4)))),
    ("dtype", lambda L: L.nn.LSTM(3, 4)(L.randn(5, 2, 3).double())),
    ("nonlinearity", lambda L: L.nn.RNN(3, 4, nonlinearity="gelu")),
    ("proj rnn", lambda L: L.nn.RNN(3, 4, proj_size=2)),
    ("proj size", lambda L: L.nn.LSTM(3, 4, proj_size=4)),
    ("dropout", lambda L: L.nn.LSTM(3, 4, dropout=1.5)),
    ("hidden 0", lambda L: L.nn.LSTM(3, 0)),
    ("layers 0", lambda L: L.nn.GRU(3, 4, num_layers=0)),
    ("cell input dims", lambda L: L.nn.LSTMCell(3, 4)(L.randn(2, 3, 1))),
    ("cell hidden dims", lambda L: L.nn.GRUCell(3, 4)(L.randn(2, 3), L.randn(1, 2, 4))),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(torch, name, fn):
    assert_same_error(lambda: fn(torch), lambda: fn(ember))


def test_dropout_single_layer_warns(torch):
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, "
                                         "but got dropout=0.5 and num_layers=1"):
        nn.LSTM(3, 4, dropout=0.5)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"])
def test_default_init_uniform(cls):
    m = getattr(nn, cls)(8, 25)
    bound = 1 / math.sqrt(25)
    vals = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(vals).max() <= bound
    assert abs(vals.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert abs(vals.mean()) < 0.05 * bound


def test_all_weights_and_flatten_parameters():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    m.flatten_parameters()
    assert len(m.all_weights) == 4
    assert m.all_weights[1][0] is m.weight_ih_l0_reverse
