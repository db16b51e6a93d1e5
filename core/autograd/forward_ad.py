"""``ember.autograd.forward_ad``: mirrors ``torch.autograd.forward_ad`` (``dual_level``,
``enter_dual_level``/``exit_dual_level``, ``make_dual``, ``unpack_dual``,
``UnpackedDualTensor``) with PyTorch's single public level and its error texts.

Mechanism: a dual tensor is marked to need gradients, so every op on it goes through
:func:`ember.autograd.graph.record`, which, only while a level is open, hands the new node to
:func:`_propagate` (``graph.FORWARD``: the whole cost to code outside a level is one global
read per recorded op). The output's tangent is computed there from its inputs' tangents:

- a rule table (:data:`RULES`) for the common ops: elementwise ops (a diagonal Jacobian per
  broadcast input: ``J_i t_i`` is the op's own backward applied to ``t_i``), ops whose
  Jacobian is symmetric (softmax, transposes: the backward applied to the tangent), and the
  reshapes/expands/copies, which apply to the tangent directly;
- every other op (matmul, conv, reductions, indexing, cat/stack, log_softmax, ...) takes the
  generic rule, the double-vjp identity (:class:`ember.autograd.functional.DoubleBackward`,
  shared with ``autograd.functional.jvp`` and ``ember.func``): exact wherever the op's
  backward is differentiable, which every backward written with Tensor ops is.

Tangents live on the tensors (tagged with the level, so they vanish when it exits).

Deliberate differences: a dual tensor reports ``requires_grad=True`` and a ``grad_fn``
(``MakeDualBackward0``, no inputs) where the primal had neither: that is how its ops are
seen (``unpack_dual(...).primal`` has neither again) and tangents
propagate only while grad mode is on; complex tangents follow the op's backward formula
(not checked against PyTorch's conjugation convention); tangents carry no graph of their own
(reverse-over-forward is not supported; forward-over-reverse is: a backward run with
``create_graph=True`` inside the level gives its gradients tangents). ``torch.func.jvp``
nests; ``ember.func.jvp`` does so through the double-vjp identity, not through this module.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

from . import graph
from .grad_mode import STATE, enable_grad, no_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_current_level = -1
_token = None  # a fresh object per entered level: tangents tagged with an older one are stale

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
UnpackedDualTensor.__doc__ = ("Mirrors ``torch.autograd.forward_ad.UnpackedDualTensor``: "
                              "``(primal, tangent)``.")


def enter_dual_level() -> int:
    """Mirrors ``torch.autograd.forward_ad.enter_dual_level``: one level at a time."""
    global _current_level, _token
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level, _token = 0, object()
    graph.FORWARD = _propagate
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Mirrors ``torch.autograd.forward_ad.exit_dual_level``; the level's tangents are gone."""
    global _current_level, _token
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    _current_level, _token = level - 1, None
    graph.FORWARD = None


class dual_level:
    """Mirrors ``torch.autograd.forward_ad.dual_level``: ``with dual_level(): ...`` (also a
    decorator)."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapped


def _check_level(level, what: str) -> None:
    if level is not None and level != _current_level:
        raise RuntimeError(f"Invalid level given to {what}")


def make_dual(tensor, tangent, *, level: int | None = None):
    """Mirrors ``torch.autograd.forward_ad.make_dual``: ``tensor`` carrying ``tangent``."""
    lvl = _current_level if level is None else level
    if lvl < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    _check_level(level, "_make_dual")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError("Trying to set a forward gradient that has a different device than "
                           f"that of the original Tensor: {tensor.device} vs {tangent.device}")
    saved, graph.FORWARD = graph.FORWARD, None
    try:
        if tensor.requires_grad:
            dual = tensor.view_as(tensor)  # reverse mode still reaches the primal
        else:
            # needing gradients makes the ops on it be recorded (module docstring); a node
            # with no inputs (not a leaf) lets in-place ops run on it as on PyTorch's dual
            dual = graph.record(tensor.detach(), "MakeDualBackward0", (), _no_grads)
    finally:
        graph.FORWARD = saved
    t = tangent.detach()
    if t.dtype is not tensor.dtype:
        t = t.to(tensor.dtype)
    dual.__dict__["_fw"] = (_token, t)
    return dual


def _no_grads(g):
    return ()


def _tangent_of(t):
    fw = t.__dict__.get("_fw")
    if fw is None or fw[0] is not _token:
        return None
    return fw[1]


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """Mirrors ``torch.autograd.forward_ad.unpack_dual``: ``(primal, tangent)``, the tangent
    None where there is none (or no level)."""
    lvl = _current_level if level is None else level
    if lvl < 0:
        return UnpackedDualTensor(tensor, None)
    _check_level(level, "_unpack_dual")
    tangent = _tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_primal(tensor), tangent)


def _primal(t):
    """``t`` without its tangent: a view where its graph reaches a real leaf, otherwise
    detached (its gradient requirement came from the dual tensors alone)."""
    from ._reach import reaches_leaf
    saved, graph.FORWARD = graph.FORWARD, None
    try:
        if t._grad_fn is None or reaches_leaf(t._grad_fn, lambda leaf: True):
            return t.view_as(t)
        return t.detach()
    finally:
        graph.FORWARD = saved


def rebind_tangent(self, out) -> None:
    """An in-place op made ``out`` and ``self`` now holds it: so does its tangent."""
    fw = out.__dict__.get("_fw")
    if fw is not None or "_fw" in self.__dict__:
        self.__dict__["_fw"] = fw


# --- tangent rules --------------------------------------------------------------------------
def _elementwise(out, inputs, tangents, fn):
    """Diagonal Jacobian per (broadcast) input: ``J_i t_i`` is the backward applied to
    ``t_i`` expanded to the output's shape."""
    res = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        g = fn(t.expand(out.shape) if t.shape != out.shape else t)
        g = g[i] if isinstance(g, (tuple, list)) else g
        if g is not None:
            res = g if res is None else res + g
    return res


def _symmetric(out, inputs, tangents, fn):
    """A one-input op whose Jacobian is its own transpose (softmax, transposes)."""
    g = fn(tangents[0])
    return g[0] if isinstance(g, (tuple, list)) else g


def _reshape(out, inputs, tangents, fn):
    return tangents[0].reshape(out.shape)


def _expand(out, inputs, tangents, fn):
    return tangents[0].expand(out.shape)


def _copy(out, inputs, tangents, fn):
    t = tangents[0]
    return t if t.dtype is out.dtype else t.to(out.dtype)


RULES: dict = {name: _elementwise for name in (
    "AddBackward0", "SubBackward0", "RsubBackward0", "RsubBackward1", "MulBackward0",
    "DivBackward0", "NegBackward0", "PowBackward0", "PowBackward1", "PowBackward2",
    "ExpBackward0", "LogBackward0", "SinBackward0", "CosBackward0", "TanBackward0",
    "TanhBackward0", "SigmoidBackward0", "ReluBackward0", "SqrtBackward0", "RsqrtBackward0",
    "AbsBackward0", "Log1PBackward0", "Expm1Backward0", "ReciprocalBackward0",
    "GeluBackward0", "SiluBackward0", "LeakyReluBackward0", "SoftplusBackward0",
    "EluBackward0", "MaximumBackward0", "MinimumBackward0", "WhereBackward0",
    "ClampBackward1", "Atan2Backward0", "HypotBackward0")}
RULES.update({name: _symmetric for name in ("SoftmaxBackward0", "TBackward0",
                                             "TransposeBackward0")})
RULES.update({name: _reshape for name in ("ViewBackward0", "UnsafeViewBackward0",
                                          "UnsqueezeBackward0", "SqueezeBackward0",
                                          "SqueezeBackward1", "SqueezeBackward2")})
RULES.update(ExpandBackward0=_expand, CloneBackward0=_copy, ToCopyBackward0=_copy)


def _generic(out, inputs, tangents, fn):
    """Any op: the double-vjp identity (:class:`~ember.autograd.functional.DoubleBackward`)
    over the op's own backward ``fn``, gradients summed back to broadcast inputs' shapes as
    the engine does."""
    from .functional import DoubleBackward
    keep = [i for i, t in enumerate(tangents) if t is not None]

    def vjp(us):
        grads = fn(*us)
        if type(grads) is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        res = []
        for i in keep:
            g, x = grads[i], inputs[i]
            if g is not None and (g.shape != x.shape or g.dtype is not x.dtype):
                g = graph._fit(g, (x.shape, x.dtype, x.device))
            res.append(g)
        return res

    outs = out if type(out) is tuple else (out,)
    lin = DoubleBackward(outs, [inputs[i] for i in keep], vjp=vjp)
    with enable_grad():
        res = lin([tangents[i] for i in keep], create_graph=False)
    return res if type(out) is tuple else res[0]


_UNSET = object()


def _propagate(out, name, inputs, fn) -> None:
    """``graph.FORWARD`` while a level is open: set ``out``'s tangent from its inputs'."""
    tangents = [_tangent_of(t) for t in inputs]
    if all(t is None for t in tangents):
        return
    graph.FORWARD = None  # the rules' own ops carry no tangents
    try:
        rule = RULES.get(name)
        res = _UNSET
        if rule is not None and type(out) is not tuple:
            try:
                with no_grad():
                    res = rule(out, inputs, tangents, fn)
                if res is not None and res.shape != out.shape:
                    res = _UNSET
            except Exception:  # noqa: BLE001 - an op under a shared name the rule misreads
                res = _UNSET
        if res is _UNSET:
            res = _generic(out, inputs, tangents, fn)
    finally:
        graph.FORWARD = _propagate
    outs, ress = (out, res) if type(out) is tuple else ((out,), (res,))
    for o, r in zip(outs, ress):
        if r is not None:
            if r.requires_grad:
                r = r.detach()
            if r.dtype is not o.dtype:
                r = r.to(o.dtype)
            o.__dict__["_fw"] = (_token, r)


_ = STATE  # grad mode is read by the ops themselves: tangents flow only where they record
