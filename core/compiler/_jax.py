"""Compiling a step with JAX: one ``jax.jit`` program per guard key.

The step runs once with ember tensors whose arrays are JAX tracers: every state tensor
(``_slots``) and every tensor argument is bound to a program input, the RNG keys of the
generators in play too. What the step leaves in the slots afterwards, the tensors it
returns, and the advanced keys are the outputs. Running the program then means: arrays
in, arrays out, written back into the same objects, so parameters, optimizer state,
BatchNorm running stats and dropout's RNG move exactly as in eager mode.

A step that returns tensors needing gradients (a compiled forward) also has its backward
traced, by ember's own autograd engine, into a second program: ``jax.make_jaxpr`` of
``autograd.grad`` inside the forward's trace closes over the forward's intermediate values,
which come back from the forward program as residuals. Autograd then gets one node,
``CompiledFunctionBackward``, whose backward runs that program (PyTorch's AOTAutograd does
the same split).

On a CPU the steady-state program keeps the transposed operand of each weight gradient
``g.T @ x`` as a copy (``_kept_transposes``): XLA would fold the transpose into the
product, which its CPU matrix kernels then run up to twice as slowly.
"""
from __future__ import annotations

import functools
import sys

from .._tensor import Tensor, wrap
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as GRAD
from ..ops import _views
from . import _slots
from ._breaks import print_breaks
from ._state import tracing

__all__ = ["FirstRun", "Program", "build", "first_capture", "run", "run_first"]


class Program:
    """A compiled step and how to write its outputs back."""

    __slots__ = ("exe", "data_writes", "slot_plan", "gen_writes", "arg_writes", "new_meta",
                 "out_spec", "diff", "leaves", "res_pos", "bwd_jaxpr", "bwd_used", "bwd_exe",
                 "donate", "keep", "n_outs", "key_in", "lr_cache")


def _flatten_out(obj, refs: list):
    """A result's structure, with each tensor replaced by its index in ``refs``."""
    if isinstance(obj, Tensor):
        refs.append(obj)
        return ("T", len(refs) - 1)
    if type(obj) in (tuple, list):
        return (type(obj), [_flatten_out(v, refs) for v in obj])
    if hasattr(obj, "_fields") and isinstance(obj, tuple):  # namedtuple (return_types)
        return ("N", type(obj), [_flatten_out(v, refs) for v in obj])
    if type(obj) is dict:
        return ("D", list(obj), [_flatten_out(v, refs) for v in obj.values()])
    return ("S", obj)


def _unflatten_out(spec, vals: list):
    kind = spec[0]
    if kind == "T":
        return vals[spec[1]]
    if kind in (tuple, list):
        return kind(_unflatten_out(s, vals) for s in spec[1])
    if kind == "N":
        return spec[1](*[_unflatten_out(s, vals) for s in spec[2]])
    if kind == "D":
        return dict(zip(spec[1], (_unflatten_out(s, vals) for s in spec[2])))
    return spec[1]


def build(jax, fn, roots, snap, gens, arg_leaves, rebuild, grads=True):
    """Trace ``fn`` and compile it. Returns the Program; or, when the step changed the
    structure of its state (made new optimizer buffers, gradients where there were none),
    a ``FirstRun`` that runs this one call as a program and installs the new state (the
    next call, with the new structure, compiles the steady state), or None where that
    call must run eagerly (a forward returning its graph, a write into an argument).
    Graph-break exceptions propagate; the caller restores the state either way."""
    prog = Program()
    rec: dict = {}
    tensors = snap.tensors
    grad_slots = [i for i, (_, k) in enumerate(snap.slots) if k is _slots._GRAD]
    grad_js = {snap.where[i] for i in grad_slots if snap.where[i] >= 0}

    lr_groups = snap.lr_groups

    def pure(state_in, keys_in, args_in, lrs_in):
        for t, a in zip(tensors, state_in):
            t._data = a
        for group, lr in zip(lr_groups, lrs_in):
            group["lr"] = lr  # a weakly typed scalar: lr * float32 stays float32, as eager
        for g, k in zip(gens, keys_in):
            g.key = k
        wrappers = []
        for t, a in zip(arg_leaves, args_in):
            w = wrap(a, t.dtype, t._device)
            w._requires_grad = t._requires_grad
            wrappers.append(w)
        args, kwargs = rebuild(wrappers)
        with tracing(), print_breaks():
            result = fn(*args, **kwargs)
        after = _slots.gather(roots, grads)
        rec["changed"] = after.sig != snap.sig
        if rec["changed"]:
            return _first_outputs(rec, result, after, tensors, state_in, wrappers, args_in,
                                  gens, keys_in)
        outs: list = []
        index = {id(t): j for j, t in enumerate(tensors)}
        warg = {id(w): k for k, w in enumerate(wrappers)}
        new_ids: dict = {}
        new_meta: list = []

        def ref(v):
            j = index.get(id(v))
            if j is not None:
                return ("old", j)
            k = warg.get(id(v))
            if k is not None:
                return ("arg", k)
            n = new_ids.get(id(v))
            if n is None:
                n = new_ids[id(v)] = len(new_meta)
                new_meta.append((len(outs), v.dtype, v._device, v._requires_grad
                                 and v._grad_fn is None))
                outs.append(v._data)
            return ("new", n)

        data_writes = []
        for j, t in enumerate(tensors):
            if t._data is not state_in[j]:
                data_writes.append((j, len(outs)))
                outs.append(t._data)
        slot_plan = []
        for i, v in enumerate(after.values):
            if v is snap.values[i]:
                continue
            if isinstance(v, Tensor):
                slot_plan.append((i, ref(v)))
            else:
                slot_plan.append((i, ("static", v)))
        arg_writes = []
        for k, w in enumerate(wrappers):
            if w._data is not args_in[k]:
                arg_writes.append((k, len(outs)))
                outs.append(w._data)
        refs: list = []
        prog.out_spec = _flatten_out(result, refs)
        stepped = any(i in grad_slots for i, _ in slot_plan) or \
            any(j in grad_js for j, _ in data_writes)
        out_refs, diff = [], []
        for v in refs:
            r = ref(v)
            out_refs.append(r)
            if r[0] == "new" and GRAD.enabled and not stepped and v._requires_grad and \
                    (v.dtype.is_floating_point or v.dtype.is_complex):
                diff.append((len(out_refs) - 1, v))
        prog.data_writes, prog.slot_plan, prog.arg_writes = data_writes, slot_plan, arg_writes
        prog.new_meta, prog.diff = new_meta, [d[0] for d in diff]
        rec["out_refs"] = out_refs
        prog.gen_writes = []
        keys_out = []
        for n, g in enumerate(gens):
            if g.key is not keys_in[n]:
                prog.gen_writes.append(n)
                keys_out.append(g.key)
        prog.leaves, prog.res_pos, prog.bwd_jaxpr = [], len(outs), None
        if diff:
            _trace_backward(jax, prog, [v for _, v in diff], tensors, wrappers, outs)
        prog.n_outs = len(outs)
        return outs, keys_out

    state_in = [t._data for t in tensors]
    keys_in = [g.key for g in gens]
    args_in = [t._data for t in arg_leaves]
    lrs_in = [float(group["lr"]) for group in lr_groups]
    traced = jax.jit(pure).trace(state_in, keys_in, args_in, lrs_in)
    if rec["changed"]:
        first = rec.get("first")
        if first is None:
            return None
        first.exe = traced.lower().compile()
        return first
    prog.exe = _donating(jax, prog, traced.jaxpr, state_in, keys_in, args_in, lrs_in)
    prog.out_spec = (prog.out_spec, rec["out_refs"])
    prog.bwd_exe = None
    return prog


class FirstRun:
    """A call that creates state (the first step makes gradients and optimizer buffers):
    compiled once and run once, instead of op by op (each op's first eager run on JAX is
    an XLA compile of its own). ``after``: the slots and tensors the trace left, which
    become the real state with the program's values in place of the tracers."""

    __slots__ = ("exe", "after", "patch", "new_state", "result", "gen_writes")


def _first_outputs(rec, result, after, tensors, state_in, wrappers, args_in, gens, keys_in):
    """The outputs of a state-creating call: every tensor the slots hold afterwards that
    the step wrote or made, the returned tensors, the advanced keys. Only plain cases:
    a training step or a function returning no graph, arguments unchanged; else no
    outputs and no ``rec["first"]`` (the call runs eagerly)."""
    if any(w._data is not a for w, a in zip(wrappers, args_in)):
        return [], []
    refs: list = []
    spec = _flatten_out(result, refs)
    warg = {id(w) for w in wrappers}
    # a returned graph is kept only by a step that ran backward (its loss comes back
    # without one, as from the steady-state program); a forward's graph needs eager mode
    stepped = any(k is _slots._GRAD and v is not None
                  for (_, k), v in zip(after.slots, after.values))
    if any((v._grad_fn is not None and not stepped) or id(v) in warg for v in refs):
        return [], []
    first = FirstRun()
    old = {id(t): j for j, t in enumerate(tensors)}
    outs: list = []
    patch: list = []
    seen: dict = {}
    for t in after.tensors:
        j = old.get(id(t))
        if j is not None and t._data is state_in[j]:
            continue
        seen[id(t)] = len(outs)
        patch.append((t, len(outs)))
        outs.append(t._data)
    res = []
    for v in refs:
        pos = seen.get(id(v))
        if pos is None:
            j = old.get(id(v))
            if j is not None and v._data is state_in[j]:
                res.append(("old", j))
                continue
            pos = len(outs)
            outs.append(v._data)
        res.append(("new", pos, v.dtype, v._device, v._requires_grad and v._grad_fn is None))
    first.after, first.patch, first.result = after, patch, (spec, res)
    first.gen_writes = [n for n, g in enumerate(gens) if g.key is not keys_in[n]]
    rec["first"] = first
    return outs, [gens[n].key for n in first.gen_writes]


def first_capture(first, roots, saved_opts) -> None:
    """Before ``_slots.restore``: the optimizer state entries the trace created."""
    first.new_state = [(opt.state, p, st) for opt, (_, copy) in zip(roots.optimizers,
                                                                      saved_opts)
                       for p, st in opt.state.items() if p not in copy]


def run_first(first, snap, gens, arg_leaves):
    """After ``_slots.restore``: run the state-creating program on the restored state and
    install what the trace created, holding the program's values."""
    tensors = snap.tensors
    outs, keys = first.exe([t._data for t in tensors], [g.key for g in gens],
                           [t._data for t in arg_leaves],
                           [float(group["lr"]) for group in snap.lr_groups])
    for t, pos in first.patch:
        _write(t, outs[pos])
    for state, p, st in first.new_state:
        state[p] = st
    for (c, k), v in zip(first.after.slots, first.after.values):
        _slots.set_slot(c, k, v)
    for n, key in zip(first.gen_writes, keys):
        gens[n].key = key
    spec, res = first.result
    vals = []
    for r in res:
        if r[0] == "old":
            vals.append(tensors[r[1]])
        else:
            t = wrap(outs[r[1]], r[2], r[3])
            t._requires_grad = r[4]
            vals.append(t)
    return _unflatten_out(spec, vals)


def _donating(jax, prog, closed, state_in, keys_in, args_in, lrs_in):
    """The traced step compiled with the arrays it replaces donated to XLA: the state
    tensors whose ``_data`` the step rebinds (parameters, in-place optimizer state) are
    one argument list, given with ``donate_argnums``, so XLA writes the new values into
    their buffers instead of allocating (PyTorch's in-place update). The rest of the state
    is another list. ``run`` hands over an array only where nothing but its tensor holds
    it (a copy otherwise), so no array the user can still reach is ever deleted."""
    written = {j for j, _ in prog.data_writes}
    prog.donate = [j for j in range(len(state_in)) if j in written]
    prog.keep = [j for j in range(len(state_in)) if j not in written]
    n = len(state_in)
    jaxpr, consts = closed.jaxpr, closed.consts
    # only the RNG keys the step draws from are inputs: passing a typed key array costs a
    # Python-side flatten per call; an unread one is a constant of the trace (dead code)
    used = _used_vars(jaxpr)
    prog.key_in = [i for i, v in enumerate(jaxpr.invars[n:n + len(keys_in)]) if v in used]
    key_in = prog.key_in
    fixed = list(keys_in)

    def flat(don, keep, keys, args, lrs):
        state: list = [None] * n
        for j, a in zip(prog.donate, don):
            state[j] = a
        for j, a in zip(prog.keep, keep):
            state[j] = a
        ks = list(fixed)
        for i, k in zip(key_in, keys):
            ks[i] = k
        return _eval(jax, jaxpr, consts, [*state, *ks, *args, *lrs], kept)

    kept = _kept_transposes(jaxpr) if _on_cpu(state_in + args_in) else frozenset()

    don = [state_in[j] for j in prog.donate]
    keep = [state_in[j] for j in prog.keep]
    prog.lr_cache = (None, None)
    return jax.jit(flat, donate_argnums=(0,) if don else ()).lower(
        don, keep, [keys_in[i] for i in key_in], args_in, lrs_in).compile()


def _on_cpu(arrays) -> bool:
    for a in arrays:
        devs = getattr(a, "devices", None)
        if devs is not None:
            return all(d.platform == "cpu" for d in devs())
    return False


def _kept_transposes(jaxpr) -> frozenset:
    """The 2-D transposes whose result is the left operand of a matrix product: a weight
    gradient ``g.T @ x``. XLA's CPU compiler folds such a transpose into the product,
    which then contracts both operands over their leading axis, a form its matrix
    kernels run up to twice as slowly as the plain product of the transposed copy
    (YNNPACK's); the copy costs little next to it. Kept as copies, see ``_eval``."""
    lhs = {e.invars[0] for e in jaxpr.eqns if e.primitive.name == "dot_general"
           and e.params["dimension_numbers"] == (((1,), (0,)), ((), ()))
           and len(e.invars[0].aval.shape) == 2 and len(e.invars[1].aval.shape) == 2}
    return frozenset(e.outvars[0] for e in jaxpr.eqns if e.primitive.name == "transpose"
                     and e.params["permutation"] == (1, 0) and e.outvars[0] in lhs)


def _eval(jax, jaxpr, consts, args, keep):
    """``jax.core.eval_jaxpr``, except that the results of the equations named in
    ``keep`` pass through ``lax.optimization_barrier``, so XLA materialises them instead
    of folding them into their consumers."""
    if not keep:
        return jax.core.eval_jaxpr(jaxpr, consts, *args)
    env: dict = {}

    def read(v):
        return v.val if hasattr(v, "val") else env[v]  # a Literal, or a variable

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    barrier = jax.lax.optimization_barrier
    for eqn in jaxpr.eqns:
        with eqn.ctx.manager:
            ans = eqn.primitive.bind(*map(read, eqn.invars),
                                     **eqn.primitive.get_bind_params(eqn.params))
        if not eqn.primitive.multiple_results:
            ans = [ans]
        for v, a in zip(eqn.outvars, ans):
            env[v] = barrier(a) if v in keep else a
    return [read(v) for v in jaxpr.outvars]


def _used_vars(jaxpr) -> set:
    """The variables a jaxpr's equations read or its outputs name."""
    used = set()
    for eqn in jaxpr.eqns:
        used.update(v for v in eqn.invars if not hasattr(v, "val"))  # (not a Literal)
    used.update(v for v in jaxpr.outvars if not hasattr(v, "val"))
    return used


def _lrs(jax, prog, groups) -> list:
    """The learning rates as program inputs: the arrays made for the last values seen,
    while they stay the same (a float argument is converted to a device array on every
    call otherwise)."""
    vals = tuple(float(g["lr"]) for g in groups)
    seen, arrays = prog.lr_cache
    if vals != seen:
        arrays = [jax.numpy.asarray(v) for v in vals]  # weakly typed, as a float traces
        prog.lr_cache = (vals, arrays)
    return arrays


def _trace_backward(jax, prog, douts, tensors, wrappers, outs) -> None:
    """Trace ember's backward of ``douts`` into a jaxpr whose constants are the forward's
    values it needs (residuals, appended to ``outs``)."""
    from ..autograd.api import grad
    leaves = [("old", j) for j, t in enumerate(tensors) if t._requires_grad and
              t._grad_fn is None] + \
             [("arg", k) for k, w in enumerate(wrappers) if w._requires_grad]
    if not leaves:
        return
    leaf_t = [tensors[n] if kind == "old" else wrappers[n] for kind, n in leaves]
    used: list = []

    def bwd(*cts):
        gs = [wrap(c, o.dtype, o._device) for c, o in zip(cts, douts)]
        with tracing():
            got = grad(douts, leaf_t, gs, retain_graph=True, allow_unused=True)
        used[:] = [g is not None for g in got]
        return [g._data for g in got if g is not None]

    avals = [jax.ShapeDtypeStruct(o._data.shape, o._data.dtype) for o in douts]
    closed = jax.make_jaxpr(bwd)(*avals)
    prog.leaves, prog.bwd_used = leaves, used
    prog.bwd_jaxpr = closed.jaxpr
    prog.res_pos = len(outs)
    outs.extend(closed.consts)


class CompiledFunction(Function):
    """The autograd node of a compiled forward: its backward runs the compiled backward
    program (``grad_fn`` prints as ``CompiledFunctionBackward``, as in PyTorch)."""

    @staticmethod
    def forward(ctx, runner, *leaves):
        ctx.runner = runner
        return tuple(runner.outs)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.runner.backward(grads))


def _eval_jaxpr(jax, jaxpr, consts, cts):
    return jax.core.eval_jaxpr(jaxpr, consts, *cts)


class _Runner:
    __slots__ = ("prog", "jax", "res", "outs", "leaf_t")

    def backward(self, grads):
        prog, jax = self.prog, self.jax
        if prog.bwd_exe is None:
            prog.bwd_exe = jax.jit(functools.partial(_eval_jaxpr, jax, prog.bwd_jaxpr))
        cts = [g._data for g in grads]
        got = iter(prog.bwd_exe(self.res, cts))
        out = []
        for t, u in zip(self.leaf_t, prog.bwd_used):
            out.append(wrap(next(got), t.dtype, t._device) if u else None)
        return out


def _refs(t) -> int:
    """sys.getrefcount of ``t._data``, as read here (the attribute, a local, the call)."""
    a = t._data
    return sys.getrefcount(a)


class _Probe:
    __slots__ = ("_data",)


def _only_tensor() -> int:
    """What ``_refs`` reads for an array held by nothing but its tensor: measured, not
    assumed, since the interpreter's own counting of locals differs between versions."""
    p = _Probe()
    p._data = object()
    return _refs(p)


_ONLY_TENSOR = _only_tensor()


def _hop_refs(t) -> int:
    """sys.getrefcount of the tensor ``t`` was made of (``t._view_src[0]``), as read here."""
    b = t._view_src[0]
    return sys.getrefcount(b)


class _HopProbe:
    __slots__ = ("_view_src",)


def _hop_only() -> int:
    """What ``_hop_refs`` reads for a source held by nothing but the hop (measured)."""
    p = _HopProbe()
    p._view_src = (object(), None)
    return _hop_refs(p)


_HOP_ONLY = _hop_only()


def _write(t, a) -> None:
    """``t`` takes the program's new array ``a`` as a write, seen as eager mode's writes
    are (``_views.store``): by the tensor it was made of (``Parameter(w)``, ``detach``,
    ``.data``) and the other views of its storage. An alias's source that nothing else
    holds (every JAX Parameter keeps the tensor it was made of: ``Parameter(torch.empty
    (...))``) is dropped instead: nobody can read it, and handing it the array would hold
    that array twice, so the next run would donate a copy of every parameter."""
    t._data = a
    t._bump()
    src = t._view_src
    if src is not None and src[1] is _views.ALIAS and _hop_refs(t) <= _HOP_ONLY:
        t._view_src = src = None
    if src is not None or id(t if t._base is None else t._base) in _views._LIVE:
        _views.propagate(t, False)


def _donated(jax, tensors, donate) -> list:
    """The arrays to donate: each tensor's own, or a copy where anything else (a
    ``detach()``-ed tensor, ``.data``, a user's variable, another state tensor) holds the
    same array, because donation deletes it."""
    out = []
    for j in donate:
        t = tensors[j]
        a = t._data if _refs(t) <= _ONLY_TENSOR else jax.numpy.array(t._data, copy=True)
        out.append(a)
    return out


def run(jax, prog: Program, snap, gens, arg_leaves):
    """Run a compiled step on the current state and write its results back."""
    tensors = snap.tensors
    res = prog.exe(_donated(jax, tensors, prog.donate), [tensors[j]._data for j in prog.keep],
                   [gens[i].key for i in prog.key_in], [t._data for t in arg_leaves],
                   _lrs(jax, prog, snap.lr_groups))
    outs, keys = res[:prog.n_outs], res[prog.n_outs:]
    new: list = [None] * len(prog.new_meta)

    def obj(r):
        kind, n = r
        if kind == "old":
            return tensors[n]
        if kind == "arg":
            return arg_leaves[n]
        t = new[n]
        if t is None:
            pos, dt, dev, rg = prog.new_meta[n]
            t = new[n] = wrap(outs[pos], dt, dev)
            t._requires_grad = rg
        return t

    for j, pos in prog.data_writes:
        _write(tensors[j], outs[pos])
    slots = snap.slots
    for i, r in prog.slot_plan:
        c, k = slots[i]
        _slots.set_slot(c, k, r[1] if r[0] == "static" else obj(r))
    for n, key in zip(prog.gen_writes, keys):
        gens[n].key = key
    for k, pos in prog.arg_writes:
        _write(arg_leaves[k], outs[pos])
    spec, out_refs = prog.out_spec
    vals = [obj(r) for r in out_refs]
    if prog.diff and prog.leaves and GRAD.enabled:
        runner = _Runner()
        runner.prog, runner.jax = prog, jax
        runner.res = outs[prog.res_pos:]
        runner.outs = [vals[i] for i in prog.diff]
        runner.leaf_t = [tensors[n] if kind == "old" else arg_leaves[n]
                         for kind, n in prog.leaves]
        got = CompiledFunction.apply(runner, *runner.leaf_t)
        for i, t in zip(prog.diff, got):
            vals[i] = t
    return _unflatten_out(spec, vals)
