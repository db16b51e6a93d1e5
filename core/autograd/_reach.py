"""Which leaves a tensor's graph reaches: how ``ember.func`` transforms and
``autograd.forward_ad`` decide whether a result's gradient requirement is their own (then
they return it detached, as PyTorch unwraps a level) or the caller's."""
from __future__ import annotations

from typing import Callable

from .graph import AccumulateGrad

__all__ = ["reaches_leaf"]


def reaches_leaf(node, wanted: Callable, memo: dict | None = None) -> bool:
    """True where a leaf tensor ``v`` with ``wanted(v)`` lies upstream of ``node``;
    ``memo`` (``id(node) -> bool``) may be shared between calls over one graph."""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        if memo is not None and id(n) in memo:
            if memo[id(n)]:
                return True
            continue
        if type(n) is AccumulateGrad:
            if wanted(n.variable):
                if memo is not None:
                    memo[id(node)] = True
                return True
            continue
        stack.extend(nxt for nxt, _ in n.next_functions)
    if memo is not None:
        memo[id(node)] = False
    return False
