"""Recurrent cells and the multi-layer, bidirectional sequence loop behind ``nn.RNN``,
``nn.LSTM``, ``nn.GRU`` and their ``*Cell`` forms (PyTorch's ``_VF.rnn_tanh``/``lstm``/
``gru`` and ``*_cell``; not part of ``torch.nn.functional``'s public names).

The input projection of a whole sequence is one matmul per layer and direction; only the
hidden-state recurrence loops over time. The matmuls are ordinary ops; the LSTM and GRU
gate arithmetic after them is one fused op each (PyTorch fuses it too), its formulas
written once over a small kernel namespace: backend arrays in the forward and in a plain
backward, Tensor ops when the backward itself is being differentiated (``create_graph``),
so higher-order gradients stay exact.
"""
from __future__ import annotations

from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...ops.joining import cat, stack
from .dropout import dropout as _dropout
from .linear import linear

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "run_rnn"]


# --- one step, given the input's projection xw = x W_ihᵀ + b_ih -------------------------

def _rnn_step(xw: Tensor, h: Tensor, w_hh, b_hh, relu: bool) -> Tensor:
    pre = xw + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


class _ArrayOps:
    """The gate formulas' primitives over backend arrays."""

    def __init__(self, xp):
        self.xp = xp

    def sigmoid(self, x):
        return 1.0 / (1.0 + self.xp.exp(-x))

    def tanh(self, x):
        return self.xp.tanh(x)

    def cat(self, parts):
        return self.xp.concat(parts, axis=1)

    @staticmethod
    def split(x, n: int) -> list:
        w = x.shape[1] // n
        return [x[:, k * w:(k + 1) * w] for k in range(n)]


class _TensorOps:
    """The same primitives as Tensor ops (differentiable)."""
    sigmoid = staticmethod(Tensor.sigmoid)
    tanh = staticmethod(Tensor.tanh)

    @staticmethod
    def cat(parts):
        return cat(parts, 1)

    @staticmethod
    def split(x, n: int) -> tuple:
        return x.chunk(n, 1)


def _lstm_gates(K, xw, gh, c):
    """(h', c', what the backward needs) from the input and hidden projections, whose sum
    is the pre-activation gates (i, f, g, o)."""
    gi, gf, gg, go = K.split(xw + gh, 4)
    i, f, g, o = K.sigmoid(gi), K.sigmoid(gf), K.tanh(gg), K.sigmoid(go)
    c2 = f * c + i * g
    tc = K.tanh(c2)
    return o * tc, c2, (i, f, g, o, tc)


def _lstm_gates_grad(K, c, acts, dh, dc2):
    """(gradient of xw, of gh (the same: they are summed), of c) from those of (h', c')."""
    i, f, g, o, tc = acts
    dct = dc2 + dh * o * (1 - tc * tc)
    dgates = K.cat([dct * g * i * (1 - i), dct * c * f * (1 - f), dct * i * (1 - g * g),
                    dh * tc * o * (1 - o)])
    return dgates, dgates, dct * f


def _gru_gates(K, xw, gh, h):
    """h' from the input and hidden projections (r, z, n blocks) and h."""
    xr, xz, xn = K.split(xw, 3)
    hr, hz, hn = K.split(gh, 3)
    r, z = K.sigmoid(xr + hr), K.sigmoid(xz + hz)
    n = K.tanh(xn + r * hn)
    return n + z * (h - n), (r, z, n, hn)


def _gru_gates_grad(K, h, acts, dh2):
    """(gradient of xw, of gh, of h) from that of h'."""
    r, z, n, hn = acts
    dn = dh2 * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = dh2 * (h - n) * z * (1 - z)
    return K.cat([dr, dz, dn]), K.cat([dr, dz, dn * r]), dh2 * z


def _fused(name: str, forward, backward, inputs: tuple, n_out: int):
    """Run ``forward(K, *arrays)`` (returning ``n_out`` outputs, then the activations its
    backward needs) on the inputs' arrays; record ``backward(K, last input, activations,
    *output grads)``: over arrays normally, over Tensor ops when building a graph of the
    gradient."""
    be = inputs[0]._device._be
    K = _ArrayOps(be.xp)
    res = forward(K, *(t._data for t in inputs))
    outs = tuple(wrap(a, inputs[0].dtype, inputs[0]._device) for a in res[:n_out])
    if GRAD.enabled and any(t._requires_grad for t in inputs):
        acts = res[n_out]
        dt, dev = inputs[0].dtype, inputs[0]._device

        def fn(*grads):
            if GRAD.enabled:  # create_graph: recompute in Tensor ops, differentiably
                T = _TensorOps
                return backward(T, inputs[-1], forward(T, *inputs)[n_out], *grads)
            return tuple(wrap(a, dt, dev) for a in
                         backward(K, inputs[-1]._data, acts, *(g._data for g in grads)))
        record(outs if n_out > 1 else outs[0], name, inputs, fn, saved=inputs)
    return outs if n_out > 1 else outs[0]


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh, b_hh, w_hr) -> tuple:
    h, c = _fused("LstmCellBackward0", _lstm_gates, _lstm_gates_grad,
                  (xw, linear(h, w_hh, b_hh), c), 2)
    if w_hr is not None:
        h = linear(h, w_hr)
    return h, c


def _gru_step(xw: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    return _fused("GruCellBackward0", _gru_gates, _gru_gates_grad,
                  (xw, linear(h, w_hh, b_hh), h), 1)


# --- cells (one time step with the input projection included) ---------------------------

def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    return _rnn_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, False)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    return _rnn_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh, True)


def lstm_cell(input: Tensor, hx: tuple, w_ih, w_hh, b_ih=None, b_hh=None) -> tuple:
    return _lstm_step(linear(input, w_ih, b_ih), hx[0], hx[1], w_hh, b_hh, None)


def gru_cell(input: Tensor, hx: Tensor, w_ih, w_hh, b_ih=None, b_hh=None) -> Tensor:
    return _gru_step(linear(input, w_ih, b_ih), hx, w_hh, b_hh)


# --- sequences --------------------------------------------------------------------------

def _direction(mode: str, xs: Tensor, h: Tensor, c: Tensor | None, params: list,
               reverse: bool) -> tuple:
    """Run one layer in one direction over xs (T, B, I): (outputs (T, B, H), h, c)."""
    w_ih, w_hh = params[0], params[1]
    b_ih, b_hh = (params[2], params[3]) if len(params) >= 4 else (None, None)
    w_hr = params[-1] if mode == "LSTM" and len(params) in (3, 5) else None
    steps = linear(xs, w_ih, b_ih).unbind(0)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    outs = [None] * len(steps)
    for t in order:
        if mode == "LSTM":
            h, c = _lstm_step(steps[t], h, c, w_hh, b_hh, w_hr)
        elif mode == "GRU":
            h = _gru_step(steps[t], h, w_hh, b_hh)
        else:
            h = _rnn_step(steps[t], h, w_hh, b_hh, mode == "RNN_RELU")
        outs[t] = h
    return stack(outs, 0), h, c


def run_rnn(mode: str, input: Tensor, hx: Tensor, cx: Tensor | None, weights: list,
            num_layers: int, dropout: float, training: bool, bidirectional: bool) -> tuple:
    """Sequence-first ``input`` (T, B, I); ``hx`` (and ``cx`` for LSTM) (L·D, B, H);
    ``weights`` one parameter list per (layer, direction), in PyTorch's order. Returns
    (output (T, B, D·H), h_n, c_n or None)."""
    dirs = 2 if bidirectional else 1
    h0s, c0s = hx.unbind(0), (cx.unbind(0) if cx is not None else None)
    hn, cn = [], []
    x = input
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h, c = _direction(mode, x, h0s[k], c0s[k] if c0s is not None else None,
                                   weights[k], d == 1)
            outs.append(out)
            hn.append(h)
            cn.append(c)
        x = outs[0] if dirs == 1 else cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout, True)
    return x, stack(hn, 0), (stack(cn, 0) if cx is not None else None)
