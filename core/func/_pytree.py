"""The nested containers ``torch.func`` transforms accept (tuples, lists, dicts, namedtuples
and leaves), flattened and rebuilt as ``torch.utils._pytree`` does it, for ``vmap``'s
``in_dims``/``out_dims`` and the ``argnums`` of the differentiation transforms."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["TreeSpec", "tree_flatten", "tree_unflatten", "tree_map", "broadcast_to_and_flatten"]


class TreeSpec:
    """How a tree is built: ``kind`` (None for a leaf), the container's type, its keys (dict)
    and the children's specs."""

    __slots__ = ("kind", "type", "keys", "children")

    def __init__(self, kind, typ=None, keys=None, children=()):
        self.kind, self.type, self.keys, self.children = kind, typ, keys, tuple(children)

    @property
    def num_leaves(self) -> int:
        return 1 if self.kind is None else sum(c.num_leaves for c in self.children)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TreeSpec) and self.kind == other.kind
                and self.type is other.type and self.keys == other.keys
                and self.children == other.children)

    def __hash__(self) -> int:
        return hash((self.kind, self.keys, self.children))

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children))
            return "{" + inner + "}"
        if self.kind == "list":
            return "[" + inner + "]"
        return "(" + inner + ("," if len(self.children) == 1 else "") + ")"


def _kind(x) -> str | None:
    if isinstance(x, tuple):
        return "tuple"
    if isinstance(x, list):
        return "list"
    if isinstance(x, dict):
        return "dict"
    return None


def tree_flatten(tree: Any) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` in order, and its spec (mirrors ``torch.utils._pytree``)."""
    leaves: list = []

    def go(x):
        kind = _kind(x)
        if kind is None:
            leaves.append(x)
            return TreeSpec(None)
        if kind == "dict":
            keys = tuple(x.keys())
            return TreeSpec(kind, type(x), keys, [go(x[k]) for k in keys])
        return TreeSpec(kind, type(x), None, [go(v) for v in x])

    return leaves, go(tree)


def tree_unflatten(leaves, spec: TreeSpec) -> Any:
    """Rebuild the tree ``spec`` describes from its leaves."""
    it = iter(leaves)

    def go(s):
        if s.kind is None:
            return next(it)
        kids = [go(c) for c in s.children]
        if s.kind == "dict":
            return s.type(zip(s.keys, kids)) if s.type is not dict else dict(zip(s.keys, kids))
        if s.kind == "tuple" and hasattr(s.type, "_make"):  # a namedtuple
            return s.type._make(kids)
        return s.type(kids)  # tuple, list, and tuple types built from a sequence (return_types)

    return go(spec)


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_to_and_flatten(prefix: Any, spec: TreeSpec) -> list | None:
    """``prefix`` (a tree whose leaves may stand for whole subtrees of ``spec``) broadcast to
    one value per leaf of ``spec``; None where the structures do not match."""
    out: list = []

    def go(p, s) -> bool:
        kind = _kind(p)
        if kind is None:
            out.extend([p] * s.num_leaves)
            return True
        if kind != s.kind or len(p) != len(s.children):
            return False
        if kind == "dict":
            if set(p.keys()) != set(s.keys):
                return False
            return all(go(p[k], c) for k, c in zip(s.keys, s.children))
        return all(go(v, c) for v, c in zip(p, s.children))

    return out if go(prefix, spec) else None
