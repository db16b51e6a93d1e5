"""The state of a compiled function as a flat list of places ("slots") holding tensors.

A slot is a place a step reads or writes: a module's parameter or buffer entry, a
parameter's ``.grad``, an optimizer's per-parameter state entry, a global or closure
tensor. ``gather`` lists them (and the distinct tensor objects in them) on every call;
their shapes, dtypes, ``requires_grad`` and aliasing, the parameters' identities, the
modules' train/eval flags and the optimizers' hyper-parameters form the guard key. A trace
binds each distinct tensor to a program input, and afterwards the slots are read again to
see what the step wrote: those values are the program's outputs, written back after
every run. ``save``/``restore`` undo whatever a trace did to the real objects.
"""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Snapshot", "gather", "restore", "save"]

_GRAD = "grad"


def _hashable(v):
    try:
        hash(v)
    except TypeError:
        if isinstance(v, (list, tuple)):
            return tuple(_hashable(x) for x in v)
        if isinstance(v, dict):
            return tuple((k, _hashable(x)) for k, x in v.items())
        return ("id", id(v))
    return v


class Snapshot:
    """The slots of one call: ``slots`` (container, key) pairs (key ``_GRAD`` means the
    attribute ``.grad`` of the container tensor; key None a closure cell), ``values``
    what each holds, ``tensors`` the distinct tensors among them, ``where`` per slot the
    index into ``tensors`` (or -1), ``modules`` every module reached, ``sig`` the
    structure (no identities) and ``key`` the guard key part."""

    __slots__ = ("slots", "values", "tensors", "where", "modules", "params", "lr_groups",
                 "sig", "key")


def _get(container, key):
    if key is _GRAD:
        return container.grad
    if key is None:
        return container.cell_contents
    return container.get(key)


def set_slot(container, key, value) -> None:
    if key is _GRAD:
        container.grad = value
    elif key is None:
        container.cell_contents = value
    else:
        container[key] = value


def _modules(roots) -> list:
    out, seen = [], set()
    stack = list(reversed(roots.modules))
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        out.append(m)
        stack.extend(c for c in reversed(list(m._modules.values())) if c is not None)
    return out


def gather(roots, grads: bool = True) -> Snapshot:
    snap = Snapshot()
    slots: list = []
    values: list = []
    mods = _modules(roots)
    params: list = []
    pseen: set = set()
    train = []
    for m in mods:
        train.append(m.training)
        pd = m._parameters
        for k, p in pd.items():
            slots.append((pd, k))
            values.append(p)
            if p is not None and id(p) not in pseen:
                pseen.add(id(p))
                params.append(p)
        bd = m._buffers
        for k, b in bd.items():
            slots.append((bd, k))
            values.append(b)
    hyper = []
    lr_groups = []
    for opt in roots.optimizers:
        for group in opt.param_groups:
            # a float learning rate is a program input (an LR scheduler changes it every
            # epoch or step); the other hyper-parameters are constants of the program
            lr = group.get("lr")
            if type(lr) is float or type(lr) is int:
                lr_groups.append(group)
            hyper.append(tuple((k, _hashable(v)) for k, v in group.items()
                               if k != "params" and not (k == "lr" and (type(v) is float
                                                                        or type(v) is int))))
            for p in group["params"]:
                if id(p) not in pseen:
                    pseen.add(id(p))
                    params.append(p)
    for c, k in roots.free:
        v = _get(c, k)
        slots.append((c, k))
        values.append(v)
        if isinstance(v, Tensor) and v._grad_fn is None and v._requires_grad \
                and id(v) not in pseen:
            pseen.add(id(v))
            params.append(v)
    for p in params if grads else ():
        slots.append((p, _GRAD))
        values.append(p.grad)
    for opt in roots.optimizers:
        state = opt.state
        for group in opt.param_groups:
            for p in group["params"]:
                st = state.get(p)
                if st:
                    for k, v in st.items():
                        slots.append((st, k))
                        values.append(v)
    tensors: list = []
    index: dict = {}
    where = []
    sig = []
    for (c, k), v in zip(slots, values):
        if isinstance(v, Tensor):
            i = index.get(id(v))
            if i is None:
                i = index[id(v)] = len(tensors)
                tensors.append(v)
            where.append(i)
            sig.append((id(c), k, i, v._data.shape, v.dtype, v._requires_grad))
        else:
            where.append(-1)
            sig.append((id(c), k, _hashable(v)))
    snap.slots, snap.values, snap.tensors, snap.where = slots, values, tensors, where
    snap.modules, snap.params, snap.lr_groups = mods, params, lr_groups
    snap.sig = tuple(sig)
    # parameter identity is part of the guard (a replaced Parameter retraces)
    snap.key = (snap.sig, tuple(train), tuple(hyper), tuple(id(p) for p in params))
    return snap


def save(snap: Snapshot, roots, gens) -> tuple:
    """Everything a trace may change on the real objects, for ``restore``."""
    fields = [(t, t._data, t._grad_fn, t._requires_grad, t._vc[0] if t._vc else None, t.grad)
              for t in snap.tensors]
    dicts = []
    for m in snap.modules:
        dicts.append((m._parameters, dict(m._parameters)))
        dicts.append((m._buffers, dict(m._buffers)))
    opts = [(opt.state, {p: (st, dict(st)) for p, st in opt.state.items()})
            for opt in roots.optimizers]
    free = [(c, k, _get(c, k)) for c, k in roots.free]
    grads = [(p, p.grad) for p in snap.params]  # (restored even where not slots)
    keys = [(g, g.key) for g in gens]
    lrs = [(group, group["lr"]) for group in snap.lr_groups]
    return fields, dicts, opts, free, grads, keys, lrs


def restore(saved: tuple) -> None:
    fields, dicts, opts, free, grads, keys, lrs = saved
    for group, lr in lrs:
        group["lr"] = lr
    for t, data, fn, rg, v, grad in fields:
        t._data, t._grad_fn, t._requires_grad, t.grad = data, fn, rg, grad
        if v is not None:
            t._vc[0] = v
    for d, copy in dicts:
        if len(d) != len(copy) or any(d.get(k, d) is not v for k, v in copy.items()):
            d.clear()
            d.update(copy)
    for state, copy in opts:
        for p in [p for p in state if p not in copy]:
            del state[p]
        for p, (st, items) in copy.items():
            st.clear()
            st.update(items)
            state[p] = st
    for c, k, v in free:
        set_slot(c, k, v)
    for p, g in grads:
        p.grad = g
    for g, k in keys:
        g.key = k
