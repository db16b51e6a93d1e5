"""Logical strides for backends whose arrays have none (JAX, array_api_strict, ...).

PyTorch code asks ``t.stride()``, ``t.is_contiguous()`` and relies on ``t.view(...)``
raising where the strides forbid it. numpy and CuPy arrays carry real strides, and ember
reads them. A backend without strides used to report every array C-contiguous, so on JAX
``t.t().is_contiguous()`` was True and ``t.t().view(-1)`` worked. Here the strides PyTorch
would have are derived from how the tensor was made: each view remembers its source and
how it views it (``Tensor._view_src``, see ``ops._views``: permute, transpose,
reshape/view, detach, expand, ``t[i]``), so the strides follow that chain from a
C-contiguous array. A hop this module does not know (an indexing view with a key, a
diagonal) restarts from C-contiguous strides, the old behaviour. Nothing here runs on numpy/CuPy, nor on any op's hot path: only
when strides are asked for, or a view is taken, on a stride-less backend.

Not tracked (yet): ops that are not views keep C-contiguous strides, where PyTorch's
elementwise ops and ``clone()`` give a transposed input's layout to their result.
"""
from __future__ import annotations

__all__ = ["contiguous_strides", "logical_strides", "is_contiguous", "view_strides"]


def contiguous_strides(shape: tuple) -> tuple:
    """Strides of a C-contiguous tensor of ``shape`` (PyTorch's: a 0-sized dim counts 1)."""
    acc, rev = 1, []
    for n in reversed(shape):
        rev.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(rev))


def logical_strides(t) -> tuple:
    """The strides ``t`` has in PyTorch, from the chain of views that made it. Each view
    remembers its result (with the shape it was for), so a chain is walked once; the walk is
    a loop, so a chain of any length is fine."""
    chain = []
    node = t
    while True:
        src = node._view_src
        shape = tuple(node._data.shape)
        if src is None:
            st = contiguous_strides(shape)
            break
        seen = node.__dict__.get("_lstrides")
        if seen is not None and seen[0] == shape:
            st = seen[1]
            break
        chain.append((node, shape, src[1]))
        base = src[0]
        if getattr(base._data, "strides", None) is not None:  # (a stride-ful base)
            st = base.stride()
            break
        node = base
    for node, shape, how in reversed(chain):
        st = _through(how, st, tuple(node._view_src[0]._data.shape), shape)
        node.__dict__["_lstrides"] = (shape, st)
    return st


def _through(how, bs: tuple, base_shape: tuple, shape: tuple) -> tuple:
    """The strides of a view made by ``how`` of a base with strides ``bs``."""
    from .ops import _views, shape as _shape  # (ops import this package's Tensor)
    if how is _views.ALIAS or how is _views.SAME:
        return bs if base_shape == shape else contiguous_strides(shape)
    if how is _views.EXPANDED:  # repeated elements step 0, as PyTorch's expand
        lead = len(shape) - len(base_shape)
        if lead >= 0 and len(bs) == len(base_shape):
            return (0,) * lead + tuple(
                st if n == base_shape[i] else 0
                for i, (n, st) in enumerate(zip(shape[lead:], bs)))
    if type(how) is int and len(bs) == len(shape) + 1:  # t[i]: a select on dim 0
        return tuple(bs[1:])
    if isinstance(how, tuple) and how:
        kind = how[0]
        if kind is _shape._permute_full:
            order = how[1]
        elif kind is _shape._transpose_full:
            order = how[3]
        elif kind is _shape._reshape_full:
            return view_strides(base_shape, bs, shape) or contiguous_strides(shape)
        else:
            order = None
        if order is not None and len(order) == len(bs) == len(shape):
            return tuple(bs[i] for i in order)
    return contiguous_strides(shape)


def is_contiguous(shape: tuple, strides: tuple) -> bool:
    """PyTorch's rule: dims of size 1 do not count; an empty tensor is contiguous."""
    expected = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n == 0:
            return True
        if n != 1:
            if s != expected:
                return False
            expected *= n
    return True


def view_strides(old: tuple, strides: tuple, new: tuple) -> tuple | None:
    """The strides a view of shape ``new`` of a tensor (``old``, ``strides``) has, or None
    when no strides express it: ATen's ``computeStride`` (what decides whether ``view``
    works or raises)."""
    numel = 1
    for n in old:
        numel *= n
    if numel == 0:
        return tuple(strides) if tuple(old) == tuple(new) else contiguous_strides(new)
    if not old:
        return contiguous_strides(new)
    out = [0] * len(new)
    view_d = len(new) - 1
    chunk_base_stride = strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(old) - 1, -1, -1):
        tensor_numel *= old[tensor_d]
        if tensor_d == 0 or (old[tensor_d - 1] != 1 and
                             strides[tensor_d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                out[view_d] = view_numel * chunk_base_stride
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base_stride = strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(out)
