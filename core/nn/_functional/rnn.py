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


# --- a whole LSTM layer as one node (PyTorch's CPU LSTM is one oneDNN node per layer) ------

def _sigmoid_(x):
    """``1 / (1 + exp(-x))`` in place (the same operations as ``_ArrayOps.sigmoid``)."""
    np = _np()
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    np.divide(1.0, x, out=x)


def _np():
    import numpy
    return numpy


def _lstm_layer_fits(xs: Tensor, h: Tensor, c: Tensor | None, params: list) -> bool:
    """Whether ``_lstm_layer`` serves: an LSTM layer with biases and no projection, on
    numpy arrays (the recurrence writes into preallocated buffers with ``out=``)."""
    return (c is not None and len(params) == 4 and xs._device._be.xp is _np()
            and all(p.dtype is xs.dtype for p in params) and h.dtype is xs.dtype
            and c.dtype is xs.dtype and xs.dtype.is_floating_point)


def _lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
    """One LSTM layer over x (T, B, I) on numpy arrays: (outputs H[1:] (T, B, H), the
    activations the backward needs). Per step it makes the same array operations as the
    per-step cell (``_lstm_gates``), so the values are the same bit for bit; the gates are
    computed in place in one buffer for the whole sequence."""
    np = _np()
    T, B = x.shape[0], x.shape[1]
    n = h0.shape[-1]
    xw = (x.reshape(T * B, -1) @ w_ih.T + b_ih).reshape(T, B, 4 * n)
    acts = np.empty((T, B, 4 * n), x.dtype)     # i, f, g, o per step
    hs = np.empty((T + 1, B, n), x.dtype)       # hs[k]: h before the k-th step run
    cs = np.empty((T + 1, B, n), x.dtype)
    tcs = np.empty((T, B, n), x.dtype)          # tanh(c') per step
    hs[0], cs[0] = h0, c0
    whh_t = np.ascontiguousarray(w_hh.T)  # OpenBLAS: a 20-row product is ~1.7x slower with
    # the transposed view than with this copy (~0.1 ms a step at 200 hidden)
    tmp = np.empty((B, n), x.dtype)
    for k in range(T):
        t = T - 1 - k if reverse else k
        gh = hs[k] @ whh_t
        gh += b_hh
        a = acts[t]
        np.add(xw[t], gh, out=a)
        _sigmoid_(a[:, :2 * n])
        np.tanh(a[:, 2 * n:3 * n], out=a[:, 2 * n:3 * n])
        _sigmoid_(a[:, 3 * n:])
        i, f, g, o = a[:, :n], a[:, n:2 * n], a[:, 2 * n:3 * n], a[:, 3 * n:]
        c2 = cs[k + 1]
        np.multiply(f, cs[k], out=c2)
        np.multiply(i, g, out=tmp)
        c2 += tmp
        np.tanh(c2, out=tcs[t])
        np.multiply(o, tcs[t], out=hs[k + 1])
    return hs, cs, acts, tcs


def _lstm_backward(x, w_ih, w_hh, saved, d_out, dh, dc, reverse):
    """Gradients of (x, h0, c0, w_ih, w_hh, b_ih, b_hh) from those of (outputs, h_n,
    c_n): the recurrence steps back through time with one small matmul a step; the
    weight and input gradients are then one large matmul each over the whole sequence."""
    np = _np()
    hs, cs, acts, tcs = saved
    T, B, n = tcs.shape
    dgates = np.empty_like(acts)
    dh = np.array(dh, copy=True)
    dc = np.array(dc, copy=True)
    u = np.empty((B, n), x.dtype)
    for k in range(T - 1, -1, -1):
        t = T - 1 - k if reverse else k
        dh += d_out[t]
        a, tc = acts[t], tcs[t]
        i, f, g, o = a[:, :n], a[:, n:2 * n], a[:, 2 * n:3 * n], a[:, 3 * n:]
        d = dgates[t]
        di, df, dg, do = d[:, :n], d[:, n:2 * n], d[:, 2 * n:3 * n], d[:, 3 * n:]
        # dct = dc + dh o (1 - tc²)
        np.multiply(tc, tc, out=u)
        np.subtract(1.0, u, out=u)
        u *= o
        u *= dh
        dc += u                                   # dc is now dct
        np.subtract(1.0, o, out=do)               # do = dh tc o (1 - o)
        do *= o
        do *= tc
        do *= dh
        np.subtract(1.0, i, out=di)               # di = dct g i (1 - i)
        di *= i
        di *= g
        di *= dc
        np.subtract(1.0, f, out=df)               # df = dct c f (1 - f)
        df *= f
        df *= cs[k]
        df *= dc
        np.multiply(g, g, out=dg)                 # dg = dct i (1 - g²)
        np.subtract(1.0, dg, out=dg)
        dg *= i
        dg *= dc
        dc *= f                                   # the previous c's gradient
        np.matmul(d, w_hh, out=dh)                # the previous h's gradient
    d2 = dgates.reshape(T * B, 4 * n)
    dx = (d2 @ w_ih).reshape(x.shape)
    dw_ih = d2.T @ x.reshape(T * B, -1)
    # h before each step: hs[0..T-1] in run order, i.e. time order reversed when reverse
    hprev = hs[:T] if not reverse else hs[:T][::-1]
    dw_hh = d2.T @ np.ascontiguousarray(hprev).reshape(T * B, n)
    db = d2.sum(0)
    return dx, dh, dc, dw_ih, dw_hh, db, db.copy()


def _lstm_layer(xs: Tensor, h: Tensor, c: Tensor, params: list, reverse: bool) -> tuple:
    """One LSTM layer in one direction as a single graph node (``MkldnnRnnLayerBackward0``,
    as PyTorch's CPU LSTM): (outputs (T, B, H), h_n, c_n)."""
    w_ih, w_hh, b_ih, b_hh = params
    inputs = (xs, w_ih, w_hh, b_ih, b_hh, h, c)  # PyTorch's edge order
    np = _np()
    x = np.ascontiguousarray(xs._data)
    saved = _lstm_forward(x, h._data, c._data, w_ih._data, w_hh._data, b_ih._data,
                          b_hh._data, reverse)
    hs, cs, acts, tcs = saved
    T = x.shape[0]
    out_data = hs[1:] if not reverse else hs[1:][::-1]
    dt, dev = xs.dtype, xs._device
    outs = (wrap(np.ascontiguousarray(out_data), dt, dev), wrap(hs[T].copy(), dt, dev),
            wrap(cs[T].copy(), dt, dev))
    if GRAD.enabled and any(t._requires_grad for t in inputs):
        def fn(d_out, dh, dc):
            if GRAD.enabled:  # create_graph: the per-step cells in Tensor ops, differentiated
                from ...autograd import grad as _grad
                want = [t for t in inputs if t._requires_grad]
                ys = _direction_steps("LSTM", xs, h, c, params, reverse)
                pairs = [(y, gy) for y, gy in zip(ys, (d_out, dh, dc)) if gy is not None]
                got = iter(_grad([p[0] for p in pairs], want, [p[1] for p in pairs],
                                 create_graph=True, allow_unused=True))
                return tuple(next(got) if t._requires_grad else None for t in inputs)
            dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = _lstm_backward(
                x, w_ih._data, w_hh._data, saved, d_out._data, dh._data, dc._data, reverse)
            res = (dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0)
            return tuple(wrap(r, dt, dev) if t._requires_grad else None
                         for r, t in zip(res, inputs))
        record(outs, "MkldnnRnnLayerBackward0", inputs, fn, saved=inputs)
    return outs


# --- sequences --------------------------------------------------------------------------

def _direction(mode: str, xs: Tensor, h: Tensor, c: Tensor | None, params: list,
               reverse: bool) -> tuple:
    """Run one layer in one direction over xs (T, B, I): (outputs (T, B, H), h, c)."""
    if mode == "LSTM" and _lstm_layer_fits(xs, h, c, params):
        return _lstm_layer(xs, h, c, params, reverse)
    return _direction_steps(mode, xs, h, c, params, reverse)


def _direction_steps(mode: str, xs: Tensor, h: Tensor, c: Tensor | None, params: list,
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
