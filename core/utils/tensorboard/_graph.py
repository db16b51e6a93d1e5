"""A TensorBoard ``GraphDef`` of one forward of a model: one node per input, parameter and
traced op call (from the op interceptor, as ONNX export traces it), edges by tensor."""
from __future__ import annotations

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.versions_pb2 import VersionDef

from ..._tensor import Tensor

__all__ = ["graph_def"]


def _flat(x) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flat(v)]
    return []


def _shape_attr(t: Tensor) -> dict:
    return {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=[
        _shape_proto(t.shape)])), "dtype": AttrValue(s=str(t.dtype).encode())}


def _shape_proto(shape):
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(s)) for s in shape])


def graph_def(model, input_to_model) -> GraphDef:
    from ...onnx._trace import trace
    args = input_to_model
    if args is None:
        args = ()
    elif isinstance(args, Tensor):
        args = (args,)
    args = tuple(args)
    calls, out = trace(model, args)
    names: dict = {}
    nodes = []
    for i, t in enumerate(_flat(args)):
        names[id(t)] = f"input/input.{i}"
        nodes.append(NodeDef(name=names[id(t)], op="IO Node", attr=_shape_attr(t)))
    params = {}
    if hasattr(model, "named_parameters"):
        for n, p in model.named_parameters():
            params[id(p)] = n
        for n, b in model.named_buffers():
            params[id(b)] = n
    counts: dict = {}
    prefix = type(model).__name__

    def ref(t) -> str:
        name = names.get(id(t))
        if name is None:
            pname = params.get(id(t))
            name = names[id(t)] = f"{prefix}/{pname}" if pname else f"{prefix}/constant." \
                                                                     f"{len(names)}"
            nodes.append(NodeDef(name=name, op="prim::GetAttr" if pname else "prim::Constant",
                                 attr=_shape_attr(t)))
        return name

    for call in calls:
        k = counts[call.name] = counts.get(call.name, 0) + 1
        node_name = f"{prefix}/aten::{call.name}.{k}"
        inputs = [ref(t) for t in _flat(call.args) + _flat(call.kwargs)]
        outs = _flat(call.out)
        attr = _shape_attr(outs[0]) if outs else {}
        nodes.append(NodeDef(name=node_name, op=f"aten::{call.name}", input=inputs, attr=attr))
        for t in outs:
            names[id(t)] = node_name
    for i, t in enumerate(_flat(out)):
        nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node", input=[ref(t)],
                             attr=_shape_attr(t)))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
