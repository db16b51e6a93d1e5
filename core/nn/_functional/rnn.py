"""Recurrent cells and the multi-layer, bidirectional sequence loop behind ``nn.RNN``,
``nn.LSTM``, ``nn.GRU`` and their ``*Cell`` forms (PyTorch's ``_VF.rnn_tanh``/``lstm``/
``gru`` and ``*_cell``; not part of ``torch.nn.functional``'s public names).

Written with Tensor ops, so autograd (and higher-order gradients) come from the ops'
own. The input projection of a whole sequence is one matmul per layer and direction; only
the hidden-state recurrence loops over time.
"""
from __future__ import annotations

from ...ops.joining import cat, stack
from ..._tensor import Tensor
from .dropout import dropout as _dropout
from .linear import linear

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "run_rnn"]


# --- one step, given the input's projection xw = x W_ihᵀ + b_ih -------------------------

def _rnn_step(xw: Tensor, h: Tensor, w_hh, b_hh, relu: bool) -> Tensor:
    pre = xw + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh, b_hh, w_hr) -> tuple:
    gates = xw + linear(h, w_hh, b_hh)
    n = c.shape[-1]
    s = gates.sigmoid()  # the g block's sigmoid is unused: one op instead of three
    i, f, o = s[:, :n], s[:, n:2 * n], s[:, 3 * n:]
    c = f * c + i * gates[:, 2 * n:3 * n].tanh()
    h = o * c.tanh()
    if w_hr is not None:
        h = linear(h, w_hr)
    return h, c


def _gru_step(xw: Tensor, h: Tensor, w_hh, b_hh) -> Tensor:
    gh = linear(h, w_hh, b_hh)
    n = h.shape[-1]
    rz = (xw[:, :2 * n] + gh[:, :2 * n]).sigmoid()
    r, z = rz[:, :n], rz[:, n:]
    cand = (xw[:, 2 * n:] + r * gh[:, 2 * n:]).tanh()
    return cand + z * (h - cand)


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
