"""Per-op ONNX translations: ``HANDLERS[op name](graph, call)`` emits the nodes of one
traced call and binds its output tensor(s) to their value names. Shapes known from the
trace (the call's output) fill in static attributes; reshapes keep a dimension as ONNX's
"copy" (0) where it equals the input's at the same position, so a dynamic batch survives
the common ``x.view(x.size(0), -1)``."""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ._graph import GraphBuilder, onnx_dtype, to_numpy
from .errors import UnsupportedOperatorError

__all__ = ["HANDLERS"]

HANDLERS: dict = {}


def _reg(*names):
    def deco(fn):
        for n in names:
            HANDLERS[n] = fn
        return fn
    return deco


def _tup(v, n: int) -> list:
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v] if len(v) == n else [int(v[0])] * n
    return [int(v)] * n


def _first(a: dict):
    return next(iter(a.values()))


def _out(g: GraphBuilder, call, name) -> None:
    g.bind(call.out, name)


# --- elementwise ----------------------------------------------------------------------------

_UNARY = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp", "log": "Log",
          "sqrt": "Sqrt", "abs": "Abs", "neg": "Neg", "erf": "Erf", "floor": "Floor",
          "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "reciprocal": "Reciprocal",
          "logical_not": "Not", "sign": "Sign"}


def _unary(g, call):
    x = g.name(call.args[0])
    _out(g, call, g.node(_UNARY[call.name], [x]))


for _n in _UNARY:
    HANDLERS[_n] = _unary

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "eq": "Equal", "lt": "Less", "gt": "Greater", "le": "LessOrEqual",
           "ge": "GreaterOrEqual", "maximum": "Max", "minimum": "Min",
           "logical_and": "And", "logical_or": "Or", "and": "And", "or": "Or",
           "radd": "Add", "rmul": "Mul", "rsub": "Sub", "rtruediv": "Div", "rpow": "Pow"}


def _binary(g, call):
    x, y = call.args[0], call.args[1]
    if call.name.startswith("r") and call.name not in ("rsub",):
        x, y = y, x  # reflected operator: other (op) self
    alpha = call.kwargs.get("alpha", 1)
    if call.name == "rsub":  # rsub(input, other) = other - alpha * input
        x, y = y, x
        if len(call.args) > 2:
            alpha = call.args[2]
    like = x if isinstance(x, Tensor) else y
    if isinstance(like, Tensor) and isinstance(call.out, Tensor) and \
            call.out.dtype.is_floating_point and not like.dtype.is_floating_point:
        like = call.out
    xn, yn = g.name(x, like), g.name(y, like)
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.dtype is not y.dtype \
            and call.name not in ("eq", "lt", "gt", "le", "ge"):
        to = onnx_dtype(call.out.dtype)
        xn, yn = g.node("Cast", [xn], to=to), g.node("Cast", [yn], to=to)
    if alpha != 1:
        yn = g.node("Mul", [yn, g.name(alpha, like)])
    op = _BINARY[call.name]
    if call.name == "div" and call.kwargs.get("rounding_mode") is not None:
        raise UnsupportedOperatorError("Exporting the operator 'aten::div' with rounding_mode "
                                       "to ONNX is not supported.")
    _out(g, call, g.node(op, [xn, yn]))


for _n in _BINARY:
    HANDLERS[_n] = _binary


@_reg("rsqrt")
def _rsqrt(g, call):
    _out(g, call, g.node("Reciprocal", [g.node("Sqrt", [g.name(call.args[0])])]))


@_reg("square")
def _square(g, call):
    x = g.name(call.args[0])
    _out(g, call, g.node("Mul", [x, x]))


@_reg("silu")
def _silu(g, call):
    x = g.name(call.args[0])
    _out(g, call, g.node("Mul", [x, g.node("Sigmoid", [x])]))


@_reg("gelu")
def _gelu(g, call):
    a = call.bound()
    t = a["input"]
    x = g.name(t)
    if g.opset >= 20:
        _out(g, call, g.node("Gelu", [x], approximate=a.get("approximate", "none")))
        return
    if a.get("approximate", "none") == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.node("Mul", [x, g.node("Mul", [x, x])])
        inner = g.node("Add", [x, g.node("Mul", [x3, g.name(0.044715, t)])])
        th = g.node("Tanh", [g.node("Mul", [inner, g.name(math.sqrt(2 / math.pi), t)])])
    else:
        th = g.node("Erf", [g.node("Div", [x, g.name(math.sqrt(2.0), t)])])
    one = g.node("Add", [th, g.name(1.0, t)])
    _out(g, call, g.node("Mul", [g.node("Mul", [x, one]), g.name(0.5, t)]))


@_reg("leaky_relu")
def _leaky(g, call):
    a = call.bound()
    _out(g, call, g.node("LeakyRelu", [g.name(a["input"])],
                         alpha=float(a.get("negative_slope", 0.01))))


@_reg("elu")
def _elu(g, call):
    a = call.bound()
    _out(g, call, g.node("Elu", [g.name(a["input"])], alpha=float(a.get("alpha", 1.0))))


@_reg("softplus")
def _softplus(g, call):
    a = call.bound()
    beta = a.get("beta", 1)
    x = g.name(a["input"])
    if beta == 1:
        _out(g, call, g.node("Softplus", [x]))
        return
    b = g.name(float(beta), a["input"])
    _out(g, call, g.node("Div", [g.node("Softplus", [g.node("Mul", [x, b])]), b]))


@_reg("hardtanh", "relu6", "clamp", "clip")
def _clip(g, call):
    a = call.bound()
    t = _first(a)
    if call.name == "relu6":
        lo, hi = 0.0, 6.0
    elif call.name == "hardtanh":
        lo, hi = a.get("min_val", -1.0), a.get("max_val", 1.0)
    else:
        lo, hi = a.get("min"), a.get("max")
    ins = [g.name(t), "" if lo is None else g.name(lo, t), "" if hi is None else g.name(hi, t)]
    while ins[-1] == "":
        ins.pop()
    _out(g, call, g.node("Clip", ins))


@_reg("softmax", "log_softmax")
def _softmax(g, call):
    a = call.bound()
    t = _first(a)
    dim = a.get("dim")
    if dim is None:
        dim = 0 if t.dim() in (0, 1, 3) else 1  # PyTorch's legacy implicit dim
    op = "Softmax" if call.name == "softmax" else "LogSoftmax"
    _out(g, call, g.node(op, [g.name(t)], axis=int(dim)))


@_reg("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
      "feature_alpha_dropout", "contiguous", "clone", "detach")
def _identity(g, call):
    a = call.bound()
    if call.name.endswith("dropout") or "dropout" in call.name:
        if a.get("training", False) and a.get("p", 0.0) > 0:
            raise UnsupportedOperatorError("Exporting dropout in training mode is not "
                                           "supported: call model.eval() first.")
    _out(g, call, g.node("Identity", [g.name(_first(a))]))


@_reg("to", "float", "double", "half", "long", "int", "bool", "type_as", "type")
def _cast(g, call):
    src = call.args[0]
    if not isinstance(call.out, Tensor):
        raise UnsupportedOperatorError(f"Exporting the operator 'aten::{call.name}' with "
                                       "these arguments is not supported.")
    if call.out.dtype is src.dtype:
        _out(g, call, g.node("Identity", [g.name(src)]))
    else:
        _out(g, call, g.node("Cast", [g.name(src)], to=onnx_dtype(call.out.dtype)))


@_reg("where")
def _where(g, call):
    c, x, y = call.args[:3]
    like = x if isinstance(x, Tensor) else y
    _out(g, call, g.node("Where", [g.name(c), g.name(x, like), g.name(y, like)]))


@_reg("masked_fill")
def _masked_fill(g, call):
    t, mask, value = call.args[:3]
    _out(g, call, g.node("Where", [g.name(mask), g.name(value if not isinstance(value, Tensor)
                                                          else value, t), g.name(t)]))


# --- linear algebra -------------------------------------------------------------------------

@_reg("matmul", "mm", "bmm")
def _matmul(g, call):
    _out(g, call, g.node("MatMul", [g.name(call.args[0]), g.name(call.args[1])]))


@_reg("linear")
def _linear(g, call):
    a = call.bound()
    w = g.node("Transpose", [g.name(a["weight"])], perm=[1, 0])
    y = g.node("MatMul", [g.name(a["input"]), w])
    if a.get("bias") is not None:
        y = g.node("Add", [y, g.name(a["bias"])])
    _out(g, call, y)


@_reg("addmm")
def _addmm(g, call):
    a = call.bound()
    y = g.node("MatMul", [g.name(a["mat1"]), g.name(a["mat2"])])
    _out(g, call, g.node("Add", [g.name(a["input"]), y]))


# --- shapes ---------------------------------------------------------------------------------

def _reshape_to_out(g, call, src: Tensor):
    out_shape = list(call.out.shape)
    in_shape = list(src.shape)
    target = [0 if i < len(in_shape) and s == in_shape[i] and s != 1 else s
              for i, s in enumerate(out_shape)]
    _out(g, call, g.node("Reshape", [g.name(src), g.ints(target)]))


@_reg("view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "view_as",
      "reshape_as", "ravel", "view_of")
def _reshape(g, call):
    _reshape_to_out(g, call, call.args[0])


@_reg("expand", "expand_as", "broadcast_to")
def _expand(g, call):
    _out(g, call, g.node("Expand", [g.name(call.args[0]), g.ints(call.out.shape)]))


@_reg("transpose", "swapaxes", "swapdims")
def _transpose(g, call):
    t, d0, d1 = call.args[:3]
    n = t.dim()
    perm = list(range(n))
    d0, d1 = d0 % n, d1 % n
    perm[d0], perm[d1] = perm[d1], perm[d0]
    _out(g, call, g.node("Transpose", [g.name(t)], perm=perm))


@_reg("t")
def _t(g, call):
    t = call.args[0]
    perm = [1, 0] if t.dim() == 2 else list(range(t.dim()))
    _out(g, call, g.node("Transpose", [g.name(t)], perm=perm))


@_reg("permute")
def _permute(g, call):
    t, dims = call.args[0], call.args[1:]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = dims[0]
    n = t.dim()
    _out(g, call, g.node("Transpose", [g.name(t)], perm=[int(d) % n for d in dims]))


@_reg("cat", "concat", "concatenate")
def _cat(g, call):
    a = call.bound()
    ts = list(_first(a))
    dim = a.get("dim", 0)
    ts = [t for t in ts if not (t.dim() == 1 and t.shape[0] == 0)]  # PyTorch skips empty 1-d
    n = call.out.dim()
    _out(g, call, g.node("Concat", [g.name(t) for t in ts], axis=int(dim) % n))


@_reg("stack")
def _stack(g, call):
    a = call.bound()
    ts = list(_first(a))
    dim = int(a.get("dim", 0)) % call.out.dim()
    parts = [g.node("Unsqueeze", [g.name(t), g.ints([dim])]) for t in ts]
    _out(g, call, g.node("Concat", parts, axis=dim))


def _split_outputs(g, call, src: Tensor, dim: int):
    outs = call.out
    dim = dim % src.dim()
    sizes = [o.shape[dim] for o in outs]
    names = g.node("Split", [g.name(src), g.ints(sizes)], n_out=len(outs), axis=dim)
    names = [names] if isinstance(names, str) else names
    for o, n in zip(outs, names):
        g.bind(o, n)


@_reg("chunk", "split", "tensor_split")
def _split(g, call):
    a = call.bound()
    _split_outputs(g, call, _first(a), int(a.get("dim", 0)))


@_reg("unbind")
def _unbind(g, call):
    a = call.bound()
    src, dim = _first(a), int(a.get("dim", 0)) % _first(a).dim()
    outs = call.out
    names = g.node("Split", [g.name(src), g.ints([1] * len(outs))], n_out=len(outs), axis=dim)
    names = [names] if isinstance(names, str) else names
    for o, n in zip(outs, names):
        g.bind(o, g.node("Squeeze", [n, g.ints([dim])]))


@_reg("getitem")
def _getitem(g, call):
    t, idx = call.args[0], call.args[1]
    if not isinstance(idx, tuple):
        idx = (idx,)
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (t.dim() - n_real) + idx[k + 1:]
    cur = g.name(t)
    axis = 0
    shape = list(t.shape)
    for i in idx:
        if i is None:
            cur = g.node("Unsqueeze", [cur, g.ints([axis])])
            shape.insert(axis, 1)
            axis += 1
        elif isinstance(i, slice):
            start, stop, step = i.indices(shape[axis])
            if (start, stop, step) != (0, shape[axis], 1):
                if step < 0:
                    raise UnsupportedOperatorError("Exporting the operator 'aten::getitem' "
                                                   "with a negative step is not supported.")
                cur = g.node("Slice", [cur, g.ints([start]), g.ints([stop]), g.ints([axis]),
                                       g.ints([step])])
                shape[axis] = len(range(start, stop, step))
            axis += 1
        elif isinstance(i, int) and not isinstance(i, bool):
            cur = g.node("Gather", [cur, g.const(np.asarray(i % shape[axis], np.int64))],
                         axis=axis)
            shape.pop(axis)
        elif isinstance(i, Tensor) and not i.dtype.is_floating_point and i.dtype is not \
                _dtype.bool and n_real == 1:
            cur = g.node("Gather", [cur, g.name(i)], axis=axis)
            shape[axis:axis + 1] = list(i.shape)
            axis += i.dim()
        else:
            raise UnsupportedOperatorError(f"Exporting the operator 'aten::getitem' with an "
                                           f"index of type {type(i).__name__} is not "
                                           "supported.")
    _out(g, call, cur)


# --- reductions -----------------------------------------------------------------------------

def _dims(a, t):
    d = a.get("dim")
    if d is None:
        return list(range(t.dim()))
    return [int(x) % t.dim() for x in (d if isinstance(d, (list, tuple)) else (d,))]


@_reg("mean", "sum", "amax", "amin")
def _reduce(g, call):
    a = call.bound()
    t = _first(a)
    dims = _dims(a, t)
    keep = int(bool(a.get("keepdim", False)))
    op = {"mean": "ReduceMean", "sum": "ReduceSum", "amax": "ReduceMax",
          "amin": "ReduceMin"}[call.name]
    x = g.name(t)
    if op == "ReduceSum" or g.opset >= 18:
        y = g.node(op, [x, g.ints(dims)], keepdims=keep)
    else:
        y = g.node(op, [x], axes=dims, keepdims=keep)
    if call.out.dtype is not t.dtype:
        y = g.node("Cast", [y], to=onnx_dtype(call.out.dtype))
    _out(g, call, y)


# --- layers ---------------------------------------------------------------------------------

def _conv_pads(padding, k: list, dilation: list, n: int) -> list:
    if isinstance(padding, str):
        if padding == "valid":
            return [0] * (2 * n)
        total = [d * (kk - 1) for kk, d in zip(k, dilation)]  # "same"
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    p = _tup(padding, n)
    return p + p


@_reg("conv1d", "conv2d", "conv3d")
def _conv(g, call):
    a = call.bound()
    w = a["weight"]
    n = w.dim() - 2
    k = list(w.shape[2:])
    dil = _tup(a.get("dilation", 1), n)
    ins = [g.name(a["input"]), g.name(w)]
    if a.get("bias") is not None:
        ins.append(g.name(a["bias"]))
    _out(g, call, g.node("Conv", ins, kernel_shape=k, strides=_tup(a.get("stride", 1), n),
                         pads=_conv_pads(a.get("padding", 0), k, dil, n), dilations=dil,
                         group=int(a.get("groups", 1))))


@_reg("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def _conv_t(g, call):
    a = call.bound()
    w = a["weight"]
    n = w.dim() - 2
    ins = [g.name(a["input"]), g.name(w)]
    if a.get("bias") is not None:
        ins.append(g.name(a["bias"]))
    p = _tup(a.get("padding", 0), n)
    _out(g, call, g.node("ConvTranspose", ins, kernel_shape=list(w.shape[2:]),
                         strides=_tup(a.get("stride", 1), n), pads=p + p,
                         output_padding=_tup(a.get("output_padding", 0), n),
                         dilations=_tup(a.get("dilation", 1), n),
                         group=int(a.get("groups", 1))))


@_reg("batch_norm")
def _batch_norm(g, call):
    a = call.bound()
    x = a["input"]
    c = x.shape[1]
    if a.get("training") or a.get("running_mean") is None:
        raise UnsupportedOperatorError("Exporting batch_norm in training mode (or without "
                                       "running statistics) is not supported: call "
                                       "model.eval() first.")
    np_dt = to_numpy(a["running_mean"]).dtype
    w = g.name(a["weight"]) if a.get("weight") is not None else g.const(np.ones(c, np_dt))
    b = g.name(a["bias"]) if a.get("bias") is not None else g.const(np.zeros(c, np_dt))
    _out(g, call, g.node("BatchNormalization", [g.name(x), w, b, g.name(a["running_mean"]),
                                                g.name(a["running_var"])],
                         epsilon=float(a.get("eps", 1e-5))))


@_reg("layer_norm")
def _layer_norm(g, call):
    a = call.bound()
    x = a["input"]
    ns = a["normalized_shape"]
    ns = [ns] if isinstance(ns, int) else list(ns)
    np_dt = np.float64 if x.dtype is _dtype.float64 else np.float32
    w = g.name(a["weight"]) if a.get("weight") is not None else g.const(np.ones(ns, np_dt))
    ins = [g.name(x), w]
    if a.get("bias") is not None:
        ins.append(g.name(a["bias"]))
    _out(g, call, g.node("LayerNormalization", ins, axis=-len(ns),
                         epsilon=float(a.get("eps", 1e-5))))


@_reg("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d")
def _pool(g, call):
    a = call.bound()
    x = a["input"]
    n = x.dim() - 2
    k = _tup(a["kernel_size"], n)
    s = a.get("stride")
    s = k if s is None or (isinstance(s, (list, tuple)) and len(s) == 0) else _tup(s, n)
    p = _tup(a.get("padding", 0), n)
    ceil = int(bool(a.get("ceil_mode", False)))
    if call.name.startswith("max"):
        if a.get("return_indices"):
            raise UnsupportedOperatorError("Exporting max pooling with return_indices=True is "
                                           "not supported.")
        y = g.node("MaxPool", [g.name(x)], kernel_shape=k, strides=s, pads=p + p,
                   dilations=_tup(a.get("dilation", 1), n), ceil_mode=ceil)
    else:
        if a.get("divisor_override"):
            raise UnsupportedOperatorError("Exporting avg pooling with divisor_override is not "
                                           "supported.")
        y = g.node("AveragePool", [g.name(x)], kernel_shape=k, strides=s, pads=p + p,
                   ceil_mode=ceil, count_include_pad=int(bool(a.get("count_include_pad", True))))
    _out(g, call, y)


@_reg("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
      "adaptive_max_pool2d")
def _adaptive(g, call):
    a = call.bound()
    x = a["input"]
    n = x.dim() - 2
    ins, outs = list(x.shape[2:]), list(call.out.shape[2:]) if isinstance(call.out, Tensor) \
        else None
    mx = "max" in call.name
    if outs is None:
        raise UnsupportedOperatorError(f"Exporting the operator 'aten::{call.name}' with "
                                       "return_indices=True is not supported.")
    if all(o == 1 for o in outs):
        _out(g, call, g.node("GlobalMaxPool" if mx else "GlobalAveragePool", [g.name(x)]))
        return
    if any(i % o for i, o in zip(ins, outs)):
        raise UnsupportedOperatorError(f"Exporting the operator 'aten::{call.name}' to ONNX "
                                       "is supported only when the input size is a multiple "
                                       "of the output size.")
    k = [i // o for i, o in zip(ins, outs)]
    _out(g, call, g.node("MaxPool" if mx else "AveragePool", [g.name(x)], kernel_shape=k,
                         strides=k, pads=[0] * (2 * n)))


@_reg("embedding")
def _embedding(g, call):
    a = call.bound()
    if a.get("max_norm") is not None:
        raise UnsupportedOperatorError("Exporting embedding with max_norm is not supported.")
    _out(g, call, g.node("Gather", [g.name(a["weight"]), g.name(a["input"])], axis=0))


@_reg("scaled_dot_product_attention")
def _sdpa(g, call):
    a = call.bound()
    q, k, v = a["query"], a["key"], a["value"]
    scale = a.get("scale") or 1.0 / math.sqrt(q.shape[-1])
    n = k.dim()
    perm = list(range(n))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    kt = g.node("Transpose", [g.name(k)], perm=perm)
    s = g.node("MatMul", [g.node("Mul", [g.name(q), g.name(float(scale), q)]), kt])
    L, S = q.shape[-2], k.shape[-2]
    if a.get("is_causal"):
        mask = np.triu(np.full((L, S), -np.inf, dtype=to_numpy(q.reshape(-1)[:1]).dtype), 1)
        s = g.node("Add", [s, g.const(mask)])
    m = a.get("attn_mask")
    if m is not None:
        if m.dtype is _dtype.bool:
            s = g.node("Where", [g.name(m), s, g.name(float("-inf"), q)])
        else:
            s = g.node("Add", [s, g.name(m)])
    w = g.node("Softmax", [s], axis=-1)
    _out(g, call, g.node("MatMul", [w, g.name(v)]))


@_reg("run_rnn")
def _run_rnn(g, call):
    """A whole ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` run as ONNX LSTM / GRU / RNN nodes,
    one per layer, the gate blocks reordered (PyTorch i,f,g,o -> ONNX i,o,f,c; r,z,n ->
    z,r,h with ``linear_before_reset``)."""
    mode, x, hx, cx, weights, num_layers, _drop, training, bidir = call.args[:9]
    dirs = 2 if bidir else 1
    out, hn, cn = call.out
    H = hx.shape[-1]
    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    order = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}.get(mode, [0])
    nb = len(order)

    def reorder(w):
        blocks = np.split(to_numpy(w), nb, axis=0)
        return np.concatenate([blocks[i] for i in order], axis=0)

    cur = g.name(x)
    h0, c0 = g.name(hx), (g.name(cx) if cx is not None else None)
    hs, cs = [], []
    for layer in range(num_layers):
        W, R, B = [], [], []
        for d in range(dirs):
            p = weights[layer * dirs + d]
            if mode == "LSTM" and len(p) in (3, 5):
                raise UnsupportedOperatorError("Exporting LSTM with proj_size is not "
                                               "supported.")
            W.append(reorder(p[0]))
            R.append(reorder(p[1]))
            if len(p) >= 4:
                B.append(np.concatenate([reorder(p[2]), reorder(p[3])]))
            else:
                B.append(np.zeros(2 * nb * H, W[-1].dtype))
        sl = slice(layer * dirs, (layer + 1) * dirs)
        ins = [cur, g.const(np.stack(W)), g.const(np.stack(R)), g.const(np.stack(B)), "",
               g.node("Slice", [h0, g.ints([sl.start]), g.ints([sl.stop]), g.ints([0])])]
        if op == "LSTM":
            ins.append(g.node("Slice", [c0, g.ints([sl.start]), g.ints([sl.stop]),
                                        g.ints([0])]))
        attrs = {"hidden_size": H, "direction": "bidirectional" if bidir else "forward"}
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        if op == "RNN":
            attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * dirs
        res = g.node(op, ins, n_out=3 if op == "LSTM" else 2, **attrs)
        y, yh = res[0], res[1]
        hs.append(yh)
        if op == "LSTM":
            cs.append(res[2])
        # Y (T, D, B, H) -> (T, B, D*H)
        y = g.node("Transpose", [y], perm=[0, 2, 1, 3])
        cur = g.node("Reshape", [y, g.ints([0, 0, -1])])
    g.bind(out, cur)
    g.bind(hn, hs[0] if len(hs) == 1 else g.node("Concat", hs, axis=0))
    if cn is not None:
        g.bind(cn, cs[0] if len(cs) == 1 else g.node("Concat", cs, axis=0))


# --- tensors made inside forward: constants of their traced value ---------------------------

@_reg("tensor", "as_tensor", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
      "full_like", "arange", "eye", "linspace", "scalar_tensor", "new_zeros", "new_ones",
      "new_full", "new_tensor", "triu", "tril")
def _constant(g, call):
    src = call.args[0] if call.args else None
    if call.name in ("triu", "tril") and isinstance(src, Tensor) and id(src) in g.values:
        diag = call.args[1] if len(call.args) > 1 else call.kwargs.get("diagonal", 0)
        _out(g, call, g.node("Trilu", [g.name(src), g.const(np.asarray(int(diag), np.int64))],
                             upper=int(call.name == "triu")))
        return
    g.bind(call.out, g.const(to_numpy(call.out)))


@_reg("pad")
def _pad(g, call):
    a = call.bound()
    x = a["input"]
    pad = list(a["pad"])
    mode = a.get("mode", "constant")
    n = x.dim()
    begins, ends = [0] * n, [0] * n
    for k in range(len(pad) // 2):  # PyTorch lists (left, right) pairs from the last dim
        begins[n - 1 - k], ends[n - 1 - k] = int(pad[2 * k]), int(pad[2 * k + 1])
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}.get(mode)
    if onnx_mode is None or (onnx_mode == "wrap" and g.opset < 19):
        raise UnsupportedOperatorError(f"Exporting the operator 'aten::pad' with mode "
                                       f"'{mode}' to ONNX opset version {g.opset} is not "
                                       "supported.")
    ins = [g.name(x), g.ints(begins + ends)]
    if onnx_mode == "constant":
        ins.append(g.name(float(a.get("value") or 0.0), x))
    _out(g, call, g.node("Pad", ins, mode=onnx_mode))


@_reg("index_select")
def _index_select(g, call):
    a = call.bound()
    x = _first(a)
    dim = int(a["dim"]) % max(x.dim(), 1)
    _out(g, call, g.node("Gather", [g.name(x), g.name(a["index"])], axis=dim))
