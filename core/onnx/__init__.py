"""``ember.onnx``: mirrors ``torch.onnx.export`` (the TorchScript-style exporter: trace one
forward, translate each op).

The forward runs once under the op interceptor (:mod:`ember.onnx._trace`); every op call
it makes is translated by :mod:`ember.onnx._ops` into ONNX nodes built with the ``onnx``
package, parameters and buffers become named initializers, and ``onnx.checker`` validates
the model before it is written. A composite op with no translation of its own (such as
``multi_head_attention_forward``) is exported through the ops it calls; a primitive with
none raises :class:`~ember.onnx.errors.UnsupportedOperatorError` naming it. As with
PyTorch's tracer, Python control flow and sizes read in forward are fixed at their traced
values; ``dynamic_axes`` marks input/output dimensions symbolic, and reshapes keep a
dimension that equals the input's as ONNX's "copy this dimension".

Needs the ``onnx`` package: ``pip install 'ember[export]'``.
"""
from __future__ import annotations

import io
import os
from typing import Any

from .._tensor import Tensor
from .errors import OnnxExporterError, UnsupportedOperatorError

__all__ = ["export", "is_in_onnx_export", "OnnxExporterError", "UnsupportedOperatorError",
           "TrainingMode"]

_DEFAULT_OPSET = 17
_exporting = [False]


class TrainingMode:
    """Mirrors ``torch.onnx.TrainingMode``."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export() -> bool:
    return _exporting[0]


def _need_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ModuleNotFoundError("ember.onnx.export needs the 'onnx' package: install it "
                                  "with `pip install 'ember[export]'` (or `pip install "
                                  "onnx`)") from e
    return onnx


def _flatten(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    if out is None:
        return []
    raise OnnxExporterError(f"cannot export a model output of type {type(out).__name__}")


def export(model, args, f, *, kwargs: dict | None = None, export_params: bool = True,
           verbose: bool = False, input_names: list | None = None,
           output_names: list | None = None, opset_version: int | None = None,
           dynamic_axes: dict | None = None, training: int = TrainingMode.EVAL,
           do_constant_folding: bool = True, keep_initializers_as_inputs: bool | None = None,
           dynamo: bool = False, **_ignored: Any):
    """Mirrors ``torch.onnx.export(model, args, f, input_names=..., output_names=...,
    dynamic_axes=..., opset_version=...)``: write ``model``'s forward on ``args`` (a tensor
    or a tuple; a trailing dict is keyword arguments) as an ONNX model to ``f`` (a path or
    a binary file). Returns the ``onnx.ModelProto``. Default opset: 17."""
    onnx = _need_onnx()
    from onnx import helper
    from . import _ops
    from ._graph import GraphBuilder, onnx_dtype
    from ._trace import trace
    opset = _DEFAULT_OPSET if opset_version is None else int(opset_version)
    if isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs.update(args[-1])
        args = args[:-1]

    from ..nn.modules.module import Module
    param_names = {}
    was_training = None
    if isinstance(model, Module):
        for n, p in model.named_parameters():
            param_names.setdefault(id(p), n)
        for n, b in model.named_buffers():
            param_names.setdefault(id(b), n)
        was_training = model.training
        if training == TrainingMode.EVAL:
            model.train(False)
        elif training == TrainingMode.TRAINING:
            model.train(True)
    import gc
    # (type(), not isinstance: some objects answer __class__ lazily, with warnings)
    before = [o for o in gc.get_objects() if issubclass(type(o), Tensor)]  # kept alive
    _exporting[0] = True
    try:
        calls, out = trace(model, args, kwargs)
    finally:
        _exporting[0] = False
        if was_training is not None:
            model.train(was_training)

    g = GraphBuilder(opset, param_names, {id(t) for t in before})
    inputs = _flatten([a for a in args if isinstance(a, (Tensor, list, tuple))])
    inputs += _flatten([v for v in kwargs.values() if isinstance(v, (Tensor, list, tuple))])
    names_in = list(input_names or [])
    in_names = [names_in[i] if i < len(names_in) else f"input_{i}" for i in range(len(inputs))]
    for t, n in zip(inputs, in_names):
        g.bind(t, n)
    for call in calls:
        g.emit(call, _ops.HANDLERS)

    outs = _flatten(out)
    names_out = list(output_names or [])
    out_names = [names_out[i] if i < len(names_out) else f"output_{i}" for i in range(len(outs))]
    for t, n in zip(outs, out_names):
        g.nodes.append(helper.make_node("Identity", [g.name(t)], [n], name=g.fresh("output")))

    dyn = _dynamic(dynamic_axes or {})

    def info(name, t):
        shape = [dyn.get(name, {}).get(i, s) for i, s in enumerate(t.shape)]
        return helper.make_tensor_value_info(name, onnx_dtype(t.dtype), shape)

    graph = helper.make_graph(g.nodes, "main_graph", [info(n, t) for t, n in
                                                      zip(inputs, in_names)],
                              [info(n, t) for t, n in zip(outs, out_names)],
                              initializer=g.initializers)
    if keep_initializers_as_inputs:
        graph.input.extend(helper.make_tensor_value_info(i.name, i.data_type, list(i.dims))
                           for i in g.initializers)
    model_proto = helper.make_model(graph, producer_name="ember",
                                    opset_imports=[helper.make_opsetid("", opset)])
    model_proto.ir_version = min(model_proto.ir_version, 9)  # readable by onnxruntime
    onnx.checker.check_model(model_proto)
    if verbose:
        print(helper.printable_graph(graph))
    data = model_proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    return model_proto


def _dynamic(dynamic_axes: dict) -> dict:
    """{value name: {axis: symbolic name}} from PyTorch's two spellings (a dict of axis ->
    name, or a list of axes named ``<value>_dynamic_axes_<k>``)."""
    out = {}
    for name, axes in dynamic_axes.items():
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
    return out
