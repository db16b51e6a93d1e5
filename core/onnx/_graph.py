"""Building an ONNX graph from traced op calls: value names for tensors, initializers for
parameters and constants, nodes from the per-op translations in :mod:`ember.onnx._ops`."""
from __future__ import annotations

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from .errors import UnsupportedOperatorError

__all__ = ["GraphBuilder", "onnx_dtype"]


def onnx_dtype(dt) -> int:
    from onnx import TensorProto
    table = {_dtype.float32: TensorProto.FLOAT, _dtype.float64: TensorProto.DOUBLE,
             _dtype.float16: TensorProto.FLOAT16, _dtype.bfloat16: TensorProto.BFLOAT16,
             _dtype.int64: TensorProto.INT64, _dtype.int32: TensorProto.INT32,
             _dtype.int16: TensorProto.INT16, _dtype.int8: TensorProto.INT8,
             _dtype.uint8: TensorProto.UINT8, _dtype.bool: TensorProto.BOOL}
    if dt not in table:
        raise UnsupportedOperatorError(f"dtype {dt} has no ONNX counterpart")
    return table[dt]


def to_numpy(t: Tensor) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


class GraphBuilder:
    """Nodes, initializers and the tensor -> value-name map of the graph being built."""

    def __init__(self, opset: int, param_names: dict, preexisting: set | None = None):
        self.opset = opset
        # ids of the tensors that existed before the traced forward: the only unknown
        # tensors that may become constants (a tensor made during forward by something the
        # tracer did not see would be baked in wrongly)
        self.preexisting = preexisting
        self.current = None
        self.nodes: list = []
        self.initializers: list = []
        self.values: dict = {}        # id(tensor) -> value name
        self.keep: list = []          # tensors whose ids are keys (kept alive)
        self.param_names = param_names  # id(parameter or buffer) -> its state_dict name
        self._n = 0
        self._inits: dict = {}

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    # -- values ------------------------------------------------------------------------
    def bind(self, t, name: str) -> None:
        if isinstance(t, Tensor):
            self.values[id(t)] = name
            self.keep.append(t)

    def const(self, arr, hint: str = "onnx::Constant") -> str:
        from onnx import numpy_helper
        arr = np.asarray(arr)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def name(self, t, like: Tensor | None = None) -> str:
        """The value name of a tensor (a parameter/buffer or an unknown tensor becomes an
        initializer), or of a Python number (a constant of ``like``'s dtype)."""
        if isinstance(t, Tensor):
            v = self.values.get(id(t))
            if v is not None:
                return v
            key = id(t)
            pname = self.param_names.get(key)
            if pname is None and self.preexisting is not None and key not in \
                    self.preexisting:
                op = self.current.name if self.current is not None else "?"
                raise UnsupportedOperatorError(
                    f"An input of 'aten::{op}' (a tensor of shape {list(t.shape)}) was "
                    "computed during forward by code the tracer does not see (not an ember "
                    "op); it cannot be exported.")
            from onnx import numpy_helper
            arr = to_numpy(t)
            name = pname if pname is not None else self.fresh("onnx::Constant")
            self.initializers.append(numpy_helper.from_array(arr, name))
            self.bind(t, name)
            return name
        if isinstance(t, (bool, int, float)):
            dt = _np_dtype(like.dtype) if isinstance(like, Tensor) else \
                (np.float32 if isinstance(t, float) else np.int64)
            return self.const(np.asarray(t, dtype=dt))
        raise UnsupportedOperatorError(f"cannot export a value of type {type(t).__name__}")

    # -- nodes -------------------------------------------------------------------------
    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        """Append a node; returns its output name (or the list of names for n_out > 1)."""
        from onnx import helper
        outs = [self.fresh(op) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=self.fresh(op + "_n"),
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return outs[0] if n_out == 1 else outs

    def emit(self, call, handlers: dict) -> None:
        """Translate one call: its own translation if it has one, else its inner calls."""
        h = handlers.get(call.name)
        if h is not None:
            prev, self.current = self.current, call
            try:
                h(self, call)
            finally:
                self.current = prev
            return
        if call.children and _all_bound_after(self, call, handlers):
            return
        raise UnsupportedOperatorError(
            f"Exporting the operator 'aten::{call.name}' to ONNX opset version {self.opset} "
            "is not supported.")


def _all_bound_after(g: GraphBuilder, call, handlers) -> bool:
    for child in call.children:
        g.emit(child, handlers)
    outs = call.out if isinstance(call.out, (tuple, list)) else (call.out,)
    return all(id(o) in g.values for o in outs if isinstance(o, Tensor))


def _np_dtype(dt):
    return np.dtype(str(dt).replace("torch.", "").replace("ember.", "")) \
        if dt is not _dtype.bool else np.bool_
