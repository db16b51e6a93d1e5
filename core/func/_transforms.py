"""``ember.func``'s differentiation transforms: mirrors ``torch.func.grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian``.

Mechanism: each transform differentiates through ember's ordinary (reverse-mode) autograd
with ``create_graph``, so the transforms nest (``grad(grad(f))``, ``jacfwd(jacrev(f))``,
``vmap(grad(f))``) and compose with a surrounding ``backward()``. Each call makes its own
differentiable copies of the inputs it differentiates (a fresh leaf, or a view where the
input already requires grad for an outer transform); a result whose graph reaches nothing
beyond those copies is returned detached, as PyTorch unwraps its level.

Forward mode (``jvp``, ``jacfwd``) is the double-vjp identity shared with
``autograd.functional.jvp``: the vjp ``u -> J^T u`` is linear in ``u``, so differentiating
``<J^T u, t>`` with respect to ``u`` gives ``J t`` exactly wherever the backward formulas
are differentiable (all of ember's are written with Tensor ops). ``jacfwd`` linearises once
and asks for one column per input element; ``jacrev`` asks for one row per output element.
Deliberate differences: ``chunk_size`` is validated, not needed (rows are computed one at a
time); ``jacfwd``'s ``randomness`` is validated (the function runs once).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.functional import DoubleBackward, _autograd_grad
from ..autograd._reach import reaches_leaf
from ..autograd.grad_mode import enable_grad
from ._pytree import tree_flatten, tree_unflatten
from ._vmap import check_randomness_arg

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize"]


# --- argnums (PyTorch's checks and texts) ---------------------------------------------------
def _wrap_argnum(argnum, num_args: int) -> int:
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _slice_argnums(args: tuple, argnums):
    """The differentiated arguments (one, or a tuple) and their wrapped indices."""
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        i = _wrap_argnum(argnums, len(args))
        return args[i], i
    idx = tuple(_wrap_argnum(a, len(args)) for a in argnums)
    if len(idx) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(idx)) != len(idx):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(args[i] for i in idx), idx


def _replace_args(args: tuple, new, idx) -> tuple:
    if isinstance(idx, int):
        return tuple(new if i == idx else a for i, a in enumerate(args))
    return tuple(new[idx.index(i)] if i in idx else a for i, a in enumerate(args))


# --- levels: fresh differentiable copies, and unwrapping the results ------------------------
class _Level:
    """One transform's differentiable copies of its inputs (``ours``: their grad nodes)."""

    def __init__(self):
        self.ours: set = set()

    def differentiable(self, x):
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if x.requires_grad:
            # an outer transform (or the caller's autograd) differentiates x: stay connected
            return x.view_as(x)
        y = x.detach().requires_grad_(True)
        self.ours.add(y)
        return y

    def make(self, tree):
        flat, spec = tree_flatten(tree)
        return tree_unflatten([self.differentiable(x) for x in flat], spec)

    def run(self, func, primals: tuple, argnums, has_aux: bool, api: str):
        """``func`` on copies of the differentiated arguments (all where ``argnums`` is
        None): ``(diff, out, aux, flat_out, out_spec)``, the outputs checked to be tensors."""
        if argnums is None:
            diff = args = self.make(primals)
        else:
            diff, idx = _slice_argnums(primals, argnums)
            diff = self.make(diff)
            args = _replace_args(primals, diff, idx)
        out, aux = _split_aux(func(*args), has_aux, api)
        flat_out, out_spec = tree_flatten(out)
        _check_tensor_outputs(flat_out, api)
        return diff, out, aux, flat_out, out_spec

    def unwrap(self, tree):
        """Detach each result whose graph reaches only this level's copies."""
        ours = {id(t) for t in self.ours}
        memo: dict = {}

        def outside(leaf) -> bool:
            return id(leaf) not in ours

        def one(t):
            if not isinstance(t, Tensor) or not t.requires_grad:
                return t
            if t.grad_fn is None:
                return t.detach() if id(t) in ours else t
            return t if reaches_leaf(t.grad_fn, outside, memo) else t.detach()

        flat, spec = tree_flatten(tree)
        return tree_unflatten([one(t) for t in flat], spec)

    def unwrap_aux(self, aux):
        """``aux`` as :meth:`unwrap`; PyTorch refuses anything but tensors in it."""
        for x in tree_flatten(aux)[0]:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
        return self.unwrap(aux)


def _grads(outputs, inputs, cotangents, retain_graph=True):
    """``autograd.grad`` over flat lists with zeros where an input is unused (as
    ``torch._functorch``'s ``_autograd_grad``); always builds the graph of the gradient so
    an outer transform can differentiate it."""
    from .._creation import zeros_like
    got = _autograd_grad(tuple(outputs), tuple(inputs), tuple(cotangents),
                         create_graph=True, retain_graph=retain_graph)
    return [zeros_like(x) if g is None else g for g, x in zip(got, inputs)]


def _split_aux(out, has_aux: bool, api: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if "
                           "has_aux is True")
    return out


def _check_tensor_outputs(flat: list, api: str) -> None:
    if len(flat) == 0:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {flat})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")


# --- grad, grad_and_value -------------------------------------------------------------------
def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """Mirrors ``torch.func.grad_and_value``: ``(gradient, value)`` of a scalar function
    (``(gradient, (value, aux))`` with ``has_aux``)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        level = _Level()
        with enable_grad():
            diff, idx = _slice_argnums(args, argnums)
            diff = level.make(diff)
            output = func(*_replace_args(args, diff, idx), **kwargs)
            output, aux = _split_aux(output, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(output, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(output)}")
            if output.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {output.dim()} dims. Maybe you wanted to use the vjp or "
                    "jacrev APIs instead?")
            flat_diff, spec = tree_flatten(diff)
            if output.requires_grad:
                flat_grads = _grads([output], flat_diff, [None], retain_graph=None)
            else:
                from .._creation import zeros_like
                flat_grads = [zeros_like(x) for x in flat_diff]
            grads = level.unwrap(tree_unflatten(flat_grads, spec))
            output = level.unwrap(output)
            if has_aux:
                return grads, (output, level.unwrap_aux(aux))
            return grads, output

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """Mirrors ``torch.func.grad``: the gradient of a scalar function w.r.t. ``argnums``
    (``(gradient, aux)`` with ``has_aux``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# --- vjp, jacrev ----------------------------------------------------------------------------
def _vjp(func, primals: tuple, argnums, has_aux: bool):
    level = _Level()
    with enable_grad():
        diff, out, aux, flat_out, out_spec = level.run(func, primals, argnums, has_aux,
                                                       "vjp(f, *primals)")
        for o in flat_out:
            if not (o.is_floating_point() or o.is_complex()):
                raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {o.dtype}")
    flat_diff, diff_spec = tree_flatten(diff)

    def vjp_fn(cotangents, retain_graph: bool = True, create_graph: bool | None = None):
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {ct_spec}, primal output: {out_spec}")
        with enable_grad():
            got = _grads(flat_out, flat_diff, flat_ct, retain_graph=retain_graph)
        return level.unwrap(tree_unflatten(got, diff_spec))

    return level.unwrap(out), vjp_fn, (level.unwrap_aux(aux) if has_aux else None)


def vjp(func: Callable, *primals, has_aux: bool = False):
    """Mirrors ``torch.func.vjp``: ``(func(*primals), vjp_fn)`` (and ``aux``); ``vjp_fn``
    maps cotangents shaped as the output to a tuple of gradients, one per primal."""
    out, fn, aux = _vjp(func, primals, None, has_aux)
    return (out, fn, aux) if has_aux else (out, fn)


def _basis(t: Tensor, j: int) -> Tensor:
    from .._creation import zeros
    e = zeros(t.numel(), dtype=t.dtype, device=t.device)
    e[j] = 1
    return e.view(t.shape)


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable:
    """Mirrors ``torch.func.jacrev``: the Jacobian by one vjp per output element. For each
    output the result has the structure of the differentiated arguments, each entry shaped
    ``output.shape + input.shape``."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args):
        out, fn, aux = _vjp(func, args, argnums, has_aux)
        flat_out, out_spec = tree_flatten(out)
        jac_per_out = []
        from ..ops.joining import stack
        for k, o in enumerate(flat_out):
            rows = []
            for j in range(o.numel()):
                ct = [_basis(p, j) if i == k else p.new_zeros(p.shape)
                      for i, p in enumerate(flat_out)]
                rows.append(tree_flatten(fn(tree_unflatten(ct, out_spec)))[0])
            diff_flat, diff_spec = tree_flatten(_slice_argnums(args, argnums)[0])
            per_in = []
            for m, x in enumerate(diff_flat):
                if rows:
                    col = stack([r[m] for r in rows], 0)
                else:
                    col = x.new_zeros((0,) + tuple(x.shape))
                per_in.append(col.reshape(tuple(o.shape) + tuple(x.shape)))
            jac_per_out.append(tree_unflatten(per_in, diff_spec))
        jac = tree_unflatten(jac_per_out, out_spec)
        return (jac, aux) if has_aux else jac

    return wrapper


# --- jvp, jacfwd ----------------------------------------------------------------------------
def _linearize(func, primals: tuple, argnums, has_aux: bool, api: str):
    """Run ``func`` once; returns ``(out, flat_out, out_spec, aux, level, flat_diff,
    jvp_of(flat_tangents))``."""
    level = _Level()
    with enable_grad():
        diff, out, aux, flat_out, out_spec = level.run(func, primals, argnums, has_aux, api)
        flat_diff = tree_flatten(diff)[0]
        lin = DoubleBackward(flat_out, flat_diff)

    def tangents_out(flat_tangents, strict: bool = False):
        with enable_grad():
            if strict and any(r is None for r in lin(flat_tangents)):
                raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is "
                                   "independent of the inputs. This is not allowed with "
                                   "strict=True.")
            return lin.filled(flat_tangents)

    return out, flat_out, out_spec, aux, level, flat_diff, tangents_out


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False):
    """Mirrors ``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (and ``aux``), by the
    double-vjp identity (module docstring)."""
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            f"{api}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {p_spec} and tangents with structure {t_spec}")
    for what, flat in (("primals", flat_p), ("tangents", flat_t)):
        if len(flat) == 0:
            raise RuntimeError(f"{api}: Expected {what} to contain at least one Tensor.")
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected {what} to only contain Tensors, got "
                                   f"{type(x)}")
    out, flat_out, spec, aux, level, _, jvp_of = _linearize(func, primals, None, has_aux, api)
    tang = level.unwrap(tree_unflatten(jvp_of(flat_t, strict), spec))
    out = level.unwrap(out)
    if has_aux:
        return out, tang, level.unwrap_aux(aux)
    return out, tang


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """Mirrors ``torch.func.jacfwd``: the Jacobian by one jvp per input element (the
    function runs once); the result is laid out as :func:`jacrev`'s."""
    check_randomness_arg(randomness)

    @functools.wraps(func)
    def wrapper(*args):
        out, flat_out, out_spec, aux, level, flat_diff, jvp_of = _linearize(
            func, args, argnums, has_aux, "jvp(f, primals, tangents)")
        from ..ops.joining import stack
        diff_spec = tree_flatten(_slice_argnums(args, argnums)[0])[1]
        cols = [[None] * len(flat_diff) for _ in flat_out]  # cols[k][m]: d out_k / d in_m
        for m, x in enumerate(flat_diff):
            per = []
            for j in range(x.numel()):
                t = [_basis(y, j) if i == m else y.new_zeros(y.shape)
                     for i, y in enumerate(flat_diff)]
                per.append(jvp_of(t))
            for k, o in enumerate(flat_out):
                c = (stack([p[k] for p in per], -1) if per
                     else o.new_zeros(tuple(o.shape) + (0,)))
                cols[k][m] = level.unwrap(c.reshape(tuple(o.shape) + tuple(x.shape)))
        jac = tree_unflatten([tree_unflatten(c, diff_spec) for c in cols], out_spec)
        return (jac, level.unwrap_aux(aux)) if has_aux else jac

    return wrapper


def hessian(func: Callable, argnums=0) -> Callable:
    """Mirrors ``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)


def linearize(func: Callable, *primals):
    """Mirrors ``torch.func.linearize``: ``(func(*primals), jvp_fn)``, ``jvp_fn(*tangents)``
    giving ``J @ tangents`` shaped as the output. ember keeps the linearisation as the
    retained graph of one vjp (the double-vjp identity) where PyTorch traces an FX graph;
    each call is one backward through it."""
    flat_p, p_spec = tree_flatten(primals)
    out, flat_out, spec, _, level, _, jvp_of = _linearize(func, primals, None, False,
                                                          "jvp(f, primals, tangents)")

    def jvp_fn(*tangents):
        flat_t, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"Expected the tangents {t_spec} to have the same argspec as "
                               f"the primals {p_spec}")
        for idx, (t, p) in enumerate(zip(flat_t, flat_p)):
            for what, a, b in (("shape", t.shape, p.shape), ("device", t.device, p.device),
                               ("dtype", t.dtype, p.dtype)):
                if a != b:
                    raise RuntimeError(f"tangent:{idx} with {what} {a} in flattened pytree "
                                       f"doesn't match the {what} {b} of the corresponding "
                                       "primal.")
        return level.unwrap(tree_unflatten(jvp_of(flat_t), spec))

    return level.unwrap(out), jvp_fn
