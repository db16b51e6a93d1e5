"""``einsum``: PyTorch's equation rules (explicit and implicit output, ellipsis, size-1
broadcasting, repeated subscripts for diagonals, the sublist form) and its error messages.

The equation is first made explicit: ellipses become fresh letters, operands with size-1
dims that broadcast are expanded (a differentiable view). The forward is then one
``xp.einsum`` (a numpy host round trip where the namespace has none). The gradient of each
operand is again an einsum: the output gradient with the other operands, plus constants
(``eye`` for a repeated subscript, ``ones`` for a subscript summed only within this
operand), so gradients of every order come from the same code. Deliberate difference: the
node is called ``EinsumBackward0`` (PyTorch names the last op of its own decomposition).
"""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, record, wrap

__all__ = ["einsum"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _err(msg: str) -> RuntimeError:
    return RuntimeError(f"einsum(): {msg}")


def _parse(eq: str, nops: int):
    """(list of per-operand terms, output term or None); a term is a list of letters with
    ``...`` standing for an ellipsis."""
    terms, cur, out, i, n = [], [], None, 0, len(eq)
    ell_seen = False
    while i < n:
        c = eq[i]
        if c == " ":
            pass
        elif c == "." :
            if eq[i:i + 3] != "..." or ell_seen:
                raise _err(f"found '.' for operand {len(terms)} that is not part of any "
                           "ellipsis")
            cur.append("...")
            ell_seen = True
            i += 2
        elif c == "," and out is None:
            terms.append(cur)
            cur, ell_seen = [], False
        elif c == "-" and eq[i + 1:i + 2] == ">" and out is None:
            terms.append(cur)
            cur, ell_seen, out = [], False, []
            i += 1
        elif c in _LETTERS:
            cur.append(c)
        else:
            raise _err(f"invalid subscript given at index {i} in the equation string, "
                       "subscripts must be in [a-zA-Z]")
        i += 1
    if out is None:
        terms.append(cur)
    else:
        out = cur
    if len(terms) > nops:
        raise _err("fewer operands were provided than specified in the equation")
    if len(terms) < nops:
        raise _err("more operands were provided than specified in the equation")
    return terms, out


def _from_sublists(args) -> tuple:
    """``einsum(op1, [0, 1], op2, [1, 2], [0, 2])`` as an equation and its operands."""
    ops, terms = [], []
    args = list(args)
    while len(args) >= 2 and isinstance(args[0], Tensor):
        ops.append(args.pop(0))
        terms.append(args.pop(0))
    out = args.pop(0) if args else None

    def term(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
    eq = ",".join(term(t) for t in terms) + ("" if out is None else "->" + term(out))
    return eq, ops


def einsum(*args) -> Tensor:
    """Mirrors ``torch.einsum(equation, *operands)`` (operands also as one list) and the
    sublist form ``einsum(op1, sublist1, op2, sublist2, ..., [out_sublist])``."""
    if not args or (isinstance(args[0], str) and len(args) < 2):
        raise ValueError("einsum(): must specify the equation string and at least one "
                         "operand, or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        eq, ops = args[0], args[1:]
        if len(ops) == 1 and not isinstance(ops[0], Tensor):
            ops = tuple(ops[0])
    else:
        eq, ops = _from_sublists(args)
    ops = list(ops)
    terms, out = _parse(eq, len(ops))
    dt = ops[0].dtype
    for t in ops[1:]:
        if t.dtype is not dt:
            raise RuntimeError(f"expected scalar type {dt.scalar_name} but found "
                               f"{t.dtype.scalar_name}")
    subs, out_sub, ops = _explicit(terms, out, ops)
    if not (dt.is_floating_point or dt.is_complex):
        return _integer_einsum(subs, out_sub, ops)
    return _einsum(subs, out_sub, ops)


def _explicit(terms, out, ops):
    """Letters-only subscripts, the output subscript, and operands expanded where a size-1
    dim meets a larger size for the same letter (broadcasting, as PyTorch allows)."""
    used = {c for t in terms for c in t if c != "..."} | {c for c in (out or ()) if c != "..."}
    fresh = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for k, (t, x) in enumerate(zip(terms, ops)):
        labels = len(t) - (1 if "..." in t else 0)
        if "..." in t:
            if labels > x.ndim:
                raise _err(f"the number of subscripts in the equation ({labels}) is more than "
                           f"the number of dimensions ({x.ndim}) for operand {k}")
            n_ell = max(n_ell, x.ndim - labels)
        elif labels != x.ndim:
            raise _err(f"the number of subscripts in the equation ({labels}) does not match "
                       f"the number of dimensions ({x.ndim}) for operand {k} and no ellipsis "
                       "was given")
    ell = fresh[:n_ell]
    subs = []
    for t, x in zip(terms, ops):
        s = ""
        for c in t:
            s += "".join(ell[n_ell - (x.ndim - len(t) + 1):]) if c == "..." else c
        subs.append(s)
    sizes: dict = {}
    for k, (s, x) in enumerate(zip(subs, ops)):
        seen: dict = {}
        for c, n in zip(s, x._data.shape):
            if c in seen and seen[c] != n:
                raise _err(f"subscript {c} is repeated for operand {k} but the sizes don't "
                           f"match, {n} != {seen[c]}")
            seen[c] = n
            old = sizes.get(c)
            if old is None or old == 1:
                sizes[c] = n
            elif n != 1 and n != old:
                raise _err(f"subscript {c} has size {n} for operand {k} which does not "
                           f"broadcast with previously seen size {old}")
    if out is None:
        counts: dict = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out_sub = "".join(ell) + "".join(sorted(c for c in counts
                                                if counts[c] == 1 and c not in ell))
    else:
        out_sub = ""
        for c in out:
            piece = "".join(ell) if c == "..." else c
            for p in piece:
                if p in out_sub:
                    raise _err(f"output subscript {p} appears more than once in the output")
                if p not in sizes:
                    raise _err(f"output subscript {p} does not appear in the equation for any "
                               "input operand")
            out_sub += piece
    ops = [x if all(sizes[c] == n for c, n in zip(s, x._data.shape))
           else x.expand(tuple(sizes[c] for c in s)) for s, x in zip(subs, ops)]
    return subs, out_sub, ops


def _integer_einsum(subs, out_sub, ops) -> Tensor:
    """PyTorch on integers and bool: a sum within a lone operand runs as ``sum`` (so
    int64); bool contractions of several operands have no kernel."""
    summed = {c for s in subs for c in s} - set(out_sub)
    if summed and len(ops) == 1:
        return _einsum(subs, out_sub, [ops[0].to(_dtype.int64)])
    if summed and ops[0].dtype is _dtype.bool:
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    return _einsum(subs, out_sub, ops)


def _kernel(eq: str, arrays, be):
    xp = be.xp
    fn = getattr(xp, "einsum", None)
    if fn is None:  # namespaces without einsum: the documented host round trip
        import numpy as np
        host = np.einsum(eq, *[be.to_numpy(a) for a in arrays])
        return be.from_numpy(np.array(host, order="C"), None)  # (0-d stays 0-d)
    if len(arrays) > 2 or (len(arrays) == 2 and arrays[0].size * arrays[1].size > 1 << 16):
        try:  # a contraction order (and BLAS) pays off beyond small operands
            return fn(eq, *arrays, optimize=True)
        except TypeError:
            pass
    return fn(eq, *arrays)


def _einsum(subs: list, out_sub: str, ops: list) -> Tensor:
    """The einsum of explicit, size-consistent operands, with its gradient recorded."""
    dev = ops[0]._device
    for x in ops[1:]:
        if x._device is not dev and x._device != dev:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {dev} and {x._device}!")
    eq = ",".join(subs) + "->" + out_sub
    data = _kernel(eq, [x._data for x in ops], dev._be)
    res = wrap(data, ops[0].dtype, dev)
    if res._data.dtype != ops[0]._data.dtype:
        res._data = dev._be.astype(res._data, res.dtype)
    if GRAD.enabled and any(x._requires_grad for x in ops):
        need = [x._requires_grad for x in ops]

        def back(g):
            return tuple(_operand_grad(g, i, subs, out_sub, ops) if need[i] else None
                         for i in range(len(ops)))
        record(res, "EinsumBackward0", tuple(ops), back, saved=tuple(ops),
               holomorphic=False)  # _operand_grad conjugates itself
    return res


def _operand_grad(g: Tensor, i: int, subs: list, out_sub: str, ops: list) -> Tensor:
    """d(einsum)/d(ops[i]) contracted with ``g``: itself an einsum."""
    from .._creation import eye, ones
    target = subs[i]
    x = ops[i]
    cx = x.dtype.is_complex
    in_subs = [out_sub] + [s for j, s in enumerate(subs) if j != i]
    in_ops = [g] + [o.conj() if cx else o for j, o in enumerate(ops) if j != i]
    used = set("".join(subs) + out_sub)
    fresh = iter(c for c in _LETTERS if c not in used)
    shape = x._data.shape
    out = ""
    for c, n in zip(target, shape):
        if c in out:  # a repeated subscript: the gradient lies on a diagonal
            new = next(fresh)
            in_subs.append(c + new)
            in_ops.append(eye(n, dtype=g.dtype, device=g._device))
            out += new
        else:
            out += c
    have = set("".join(in_subs))
    for c, n in zip(target, shape):
        if c not in have:  # summed only inside this operand: every entry gets g
            in_subs.append(c)
            in_ops.append(ones(n, dtype=g.dtype, device=g._device))
            have.add(c)
    return _einsum(in_subs, out, in_ops)
