"""``RNN``, ``LSTM``, ``GRU``, ``RNNCell``, ``LSTMCell``, ``GRUCell``. Mirror the ``torch.nn``
classes: same arguments, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``,
``weight_hr_l0`` ...) in the same order so state dicts line up, output and state shapes,
checks and reprs; every parameter starts U(±1/√hidden_size).

A ``PackedSequence`` input runs step by step through the functional cells with the batch
narrowed to ``batch_sizes[t]`` (sequences are sorted by decreasing length, so the rows that
finished keep their last state: the final hidden state is each sequence's last valid step,
as PyTorch's), and returns a ``PackedSequence``.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._creation import zeros
from ..._tensor import Tensor
from ...ops.joining import cat, stack
from .. import init
from .._functional import rnn as R
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from ._factory import empty
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """What RNN, LSTM and GRU share (PyTorch's ``RNNBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_args(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                    proj_size)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(dirs):
                layer_in = input_size if layer == 0 else real_hidden * dirs
                shapes = [("weight_ih_l{}{}", (gate_size, layer_in)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for fmt, shape in shapes:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- checks, as PyTorch words them ----------------------------------------------
    def _expected_hidden(self, input: Tensor, size: int) -> tuple:
        batch = input.shape[0] if self.batch_first else input.shape[1]
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    def _check_input(self, input: Tensor) -> None:
        w = getattr(self, self._flat_weights_names[0])
        if input.dtype is not w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    @staticmethod
    def _check_hidden(hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def _prepare(self, input: Tensor):
        """(sequence-first batched input, whether the input was batched)."""
        if input.dim() not in (2, 3):
            name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D "
                             f"instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        return input, batched

    def _hidden(self, hx: Tensor | None, input: Tensor, batched: bool, size: int,
                msg: str = "Expected hidden size {}, got {}") -> Tensor:
        expected = self._expected_hidden(input, size)
        if hx is None:
            return zeros(*expected, dtype=input.dtype, device=input.device)
        if not batched:
            hx = hx.unsqueeze(1)
        self._check_hidden(hx, expected, msg)
        return hx

    def _run(self, input: Tensor, hx: Tensor, cx: Tensor | None, batched: bool):
        x = input.transpose(0, 1) if self.batch_first else input
        out, hn, cn = R.run_rnn(self.mode, x, hx, cx, self.all_weights, self.num_layers,
                                self.dropout, self.training, self.bidirectional)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            hn = hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        return out, hn, cn

    def forward(self, input: Tensor, hx: Tensor | None = None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        input, batched = self._prepare(input)
        if hx is not None:
            want = 3 if batched else 2
            if hx.dim() != want:
                raise RuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx should "
                    f"also be {want}-D but got {hx.dim()}-D tensor")
        self._check_input(input)
        h = self._hidden(hx, input, batched, self.hidden_size)
        out, hn, _ = self._run(input, h, None, batched)
        return out, hn


    # --- PackedSequence inputs -------------------------------------------------------
    def _forward_packed(self, packed: PackedSequence, hx):
        """PyTorch's packed path: hx is given in the caller's batch order, permuted into
        the packed (sorted) order here and the final states permuted back."""
        data, bs = packed.data, [int(n) for n in packed.batch_sizes.tolist()]
        lstm = self.mode == "LSTM"
        if data.dim() != 2:
            raise ValueError(f"input must have 2 dimensions, got {data.dim()}")
        self._check_input(data)
        dirs = 2 if self.bidirectional else 1
        batch = bs[0]
        real = self.proj_size if self.proj_size > 0 else self.hidden_size
        shape_h = (self.num_layers * dirs, batch, real)
        shape_c = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            h0 = zeros(*shape_h, dtype=data.dtype, device=data.device)
            c0 = zeros(*shape_c, dtype=data.dtype, device=data.device) if lstm else None
        else:
            h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
            if packed.sorted_indices is not None:
                h0 = h0.index_select(1, packed.sorted_indices)
                c0 = c0.index_select(1, packed.sorted_indices) if lstm else None
            if lstm:
                self._check_hidden(h0, shape_h, "Expected hidden[0] size {}, got {}")
                self._check_hidden(c0, shape_c, "Expected hidden[1] size {}, got {}")
            else:
                self._check_hidden(h0, shape_h)
        h0s = h0.unbind(0)
        c0s = c0.unbind(0) if lstm else None
        offsets = [0]
        for n in bs:
            offsets.append(offsets[-1] + n)
        x, hn, cn = data, [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                out, h, c = self._packed_direction(x, bs, offsets, h0s[k],
                                                   c0s[k] if lstm else None,
                                                   self.all_weights[k], d == 1)
                outs.append(out)
                hn.append(h)
                cn.append(c)
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from .._functional.dropout import dropout
                x = dropout(x, self.dropout, True)
        h_n = stack(hn, 0)
        c_n = stack(cn, 0) if lstm else None
        if packed.unsorted_indices is not None:
            h_n = h_n.index_select(1, packed.unsorted_indices)
            c_n = c_n.index_select(1, packed.unsorted_indices) if lstm else None
        out = PackedSequence(x, packed.batch_sizes, packed.sorted_indices,
                             packed.unsorted_indices)
        return out, ((h_n, c_n) if lstm else h_n)

    def _packed_direction(self, data: Tensor, bs: list, offsets: list, h: Tensor,
                          c: Tensor | None, params: list, reverse: bool) -> tuple:
        """One layer, one direction over packed rows: step t updates the first bs[t] rows
        of the state and leaves the others (sequences already finished, or in reverse not
        yet started, which thus begin from h0) as they are."""
        w_ih, w_hh = params[0], params[1]
        b_ih, b_hh = (params[2], params[3]) if self.bias else (None, None)
        w_hr = params[-1] if self.proj_size > 0 else None
        order = range(len(bs) - 1, -1, -1) if reverse else range(len(bs))
        outs = [None] * len(bs)
        for t in order:
            n = bs[t]
            x_t = data[offsets[t]:offsets[t] + n]
            if self.mode == "LSTM":
                h_t, c_t = R.lstm_cell(x_t, (h[:n], c[:n]), w_ih, w_hh, b_ih, b_hh)
                if w_hr is not None:
                    h_t = h_t.matmul(w_hr.t())
                c = c_t if n == c.shape[0] else cat([c_t, c[n:]], 0)
            elif self.mode == "GRU":
                h_t = R.gru_cell(x_t, h[:n], w_ih, w_hh, b_ih, b_hh)
            else:
                cell = R.rnn_relu_cell if self.mode == "RNN_RELU" else R.rnn_tanh_cell
                h_t = cell(x_t, h[:n], w_ih, w_hh, b_ih, b_hh)
            h = h_t if n == h.shape[0] else cat([h_t, h[n:]], 0)
            outs[t] = h_t
        return cat(outs, 0), h, c


def _check_args(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                proj_size) -> None:
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
            isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                      "non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=4)
    for name, v, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                          ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
        if not isinstance(v, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                            f"{type(v).__name__}")
        if kind is int and v <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable "
                         "projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Mirrors ``torch.nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh',
    bias=True, batch_first=False, dropout=0.0, bidirectional=False)``: returns (output,
    h_n)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class GRU(RNNBase):
    """Mirrors ``torch.nn.GRU(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``: returns (output, h_n)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class LSTM(RNNBase):
    """Mirrors ``torch.nn.LSTM(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0)``: returns (output,
    (h_n, c_n))."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input: Tensor, hx: tuple | None = None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        input, batched = self._prepare(input)
        if hx is not None:
            want = 3 if batched else 2
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(
                    f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, hx and cx "
                    f"should also be {want}-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) "
                    "tensors")
        self._check_input(input)
        real = self.proj_size if self.proj_size > 0 else self.hidden_size
        h = self._hidden(None if hx is None else hx[0], input, batched, real,
                         "Expected hidden[0] size {}, got {}")
        c = self._hidden(None if hx is None else hx[1], input, batched, self.hidden_size,
                         "Expected hidden[1] size {}, got {}")
        out, hn, cn = self._run(input, h, c, batched)
        return out, (hn, cn)


class RNNCellBase(Module):
    """What the cells share (PyTorch's ``RNNCellBase``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size),
                                         device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size),
                                         device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device,
                                           dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device,
                                           dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batch(self, input: Tensor, hx, n_states: int):
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        states = () if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        for i, s in enumerate(states):
            if s.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{i}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D "
                                 "instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = zeros(input.shape[0], self.hidden_size, dtype=input.dtype,
                      device=input.device)
            states = (z,) * n_states
        elif not batched:
            states = tuple(s.unsqueeze(0) for s in states)
        return input, states, batched


class RNNCell(RNNCellBase):
    """Mirrors ``torch.nn.RNNCell(input_size, hidden_size, bias=True,
    nonlinearity='tanh')``: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batch(input, hx, 1)
        if self.nonlinearity == "tanh":
            fn = R.rnn_tanh_cell
        elif self.nonlinearity == "relu":
            fn = R.rnn_relu_cell
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        ret = fn(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """Mirrors ``torch.nn.LSTMCell(input_size, hidden_size, bias=True)``: returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        input, states, batched = self._batch(input, hx, 2)
        h, c = R.lstm_cell(input, states, self.weight_ih, self.weight_hh, self.bias_ih,
                           self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """Mirrors ``torch.nn.GRUCell(input_size, hidden_size, bias=True)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._batch(input, hx, 1)
        ret = R.gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if batched else ret.squeeze(0)
