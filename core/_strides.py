"""Logical strides for backends whose arrays have none (JAX, array_api_strict, ...).

PyTorch code asks ``t.stride()``, ``t.is_contiguous()`` and relies on ``t.view(...)``
raising where the strides forbid it. numpy and CuPy arrays carry real strides, and ember
reads them. A backend without strides used to report every array C-contiguous, so on JAX
``t.t().is_contiguous()`` was True and ``t.t().view(-1)`` worked. Here the strides PyTorch
would have are derived from how the tensor was made: each view remembers its source and
how it views it (``Tensor._view_src``, see ``ops._views``: permute, transpose,
reshape/view, detach, expand, ``t[i]``), so the strides follow that chain from a
C-contiguous array. A hop this module does not know (an advanced-indexing key, a diagonal)
restarts from C-contiguous strides, the old behaviour. Nothing here runs on numpy/CuPy, nor
on any op's hot path: only when strides are asked for, or a view is taken, on a stride-less
backend.

The same walk also gives a view's storage offset (:func:`logical_layout`): where every hop
is known, a view is ``(root, offset, strides)`` into its root's C-contiguous buffer, which
is what ``storage_offset()`` reports and what lets ``ember.save`` write views of one
tensor as one storage, as PyTorch does, on backends whose arrays do not alias. On numpy and
CuPy the offset is read off the arrays' own addresses (:func:`buffer_layout`).

Not tracked (yet): ops that are not views keep C-contiguous strides, where PyTorch's
elementwise ops and ``clone()`` give a transposed input's layout to their result.
"""
from __future__ import annotations

__all__ = ["contiguous_strides", "logical_strides", "logical_layout", "buffer_layout",
           "is_contiguous", "view_strides"]


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
    got = _hop(how, 0, bs, base_shape, shape)
    return contiguous_strides(shape) if got is None else got[1]


def _hop(how, off: int, bs: tuple, base_shape: tuple, shape: tuple):
    """``(offset, strides)`` of a view made by ``how`` of a base at ``off`` with strides
    ``bs``, or None for a hop whose layout is not known here."""
    from .ops import _views, indexing, shape as _shape  # (ops import this package's Tensor)
    if how is _views.ALIAS or how is _views.SAME:
        if base_shape == shape:
            return off, bs
        st = view_strides(base_shape, bs, shape)
        return None if st is None else (off, st)
    if how is _views.EXPANDED:  # repeated elements step 0, as PyTorch's expand
        lead = len(shape) - len(base_shape)
        if lead >= 0 and len(bs) == len(base_shape):
            return off, (0,) * lead + tuple(
                st if n == base_shape[i] else 0
                for i, (n, st) in enumerate(zip(shape[lead:], bs)))
        return None
    if type(how) is int:  # t[i]: a select on dim 0
        if len(bs) == len(shape) + 1 and base_shape:
            return off + (how % base_shape[0]) * bs[0], tuple(bs[1:])
        return None
    if type(how) is _views.MultiOutput:
        return _key_layout(how.key + (Ellipsis,), off, bs, base_shape, shape)
    if type(how) is indexing._Spec:
        return None if how.adv else _key_layout(how.key, off, bs, base_shape, shape)
    if isinstance(how, tuple) and how:
        kind = how[0]
        if kind is _shape._permute_full:
            order = how[1]
        elif kind is _shape._transpose_full:
            order = how[3]
        elif kind is _shape._reshape_full:
            st = view_strides(base_shape, bs, shape)
            return None if st is None else (off, st)
        else:  # a factory of an indexing spec (narrow, select) or a PartView (diagonal)
            built = kind(*how[1:])
            if type(built) is indexing._Spec or isinstance(built, _views.PartView):
                return _hop(built, off, bs, base_shape, shape)
            return None
        if len(order) == len(bs) == len(shape):
            return off, tuple(bs[i] for i in order)
        return None
    if isinstance(how, _views.PartView):
        return _part_layout(how, off, bs, shape)
    return None


def _part_layout(how, off: int, bs: tuple, shape: tuple):
    """A PartView's own ``layout(off, bs)`` (a diagonal, unfold's windows), checked."""
    layout = getattr(how, "layout", None)
    got = None if layout is None else layout(off, bs)
    return got if got is not None and len(got[1]) == len(shape) else None


def _key_layout(key: tuple, off: int, bs: tuple, base_shape: tuple, shape: tuple):
    """``(offset, strides)`` of ``base[key]`` for a basic key (ints, slices with a positive
    step, None, one Ellipsis), as ATen's select/slice/unsqueeze compute them."""
    used = sum(1 for k in key if type(k) is int or type(k) is slice)
    nd = len(base_shape)
    if used > nd or len(bs) != nd:
        return None
    st = []
    dim = 0
    for k in key:
        tk = type(k)
        if tk is int:
            off += (k % base_shape[dim]) * bs[dim] if base_shape[dim] else 0
            dim += 1
        elif tk is slice:
            start, _, step = k.indices(base_shape[dim])
            if step <= 0:
                return None
            off += min(start, base_shape[dim]) * bs[dim]
            st.append(bs[dim] * step)
            dim += 1
        elif k is None:  # unsqueeze: ATen's stride for a new dim
            st.append(bs[dim] * base_shape[dim] if dim < nd else 1)
        elif k is Ellipsis:
            st.extend(bs[dim:dim + nd - used])
            dim += nd - used
        else:
            return None
    st.extend(bs[dim:])
    return (off, tuple(st)) if len(st) == len(shape) else None


def logical_layout(t):
    """``(root, offset, strides)``: ``t`` as a view into the C-contiguous buffer of the
    tensor at the start of its chain of views (a stride-less backend), or None where a hop
    is not known (an advanced-indexing key, a stride-ful base)."""
    from .ops import _views
    chain = []
    node = t
    # an ALIAS hop (a Parameter made of a tensor, detach, .data) ends the walk: code that
    # updates a parameter in place by giving it a new array (the optimizers' fast paths)
    # does not refresh the tensor it was made of, so only the alias holds current values
    while node._view_src is not None and node._view_src[1] is not _views.ALIAS:
        chain.append(node)
        node = node._view_src[0]
        if getattr(node._data, "strides", None) is not None:
            return None
    root = node
    off, st = 0, contiguous_strides(tuple(root._data.shape))
    for node in reversed(chain):
        base, how = node._view_src
        got = _hop(how, off, st, tuple(base._data.shape), tuple(node._data.shape))
        if got is None:
            return None
        off, st = got
    return root, off, st


def buffer_layout(arr):
    """``(root array, offset, strides)`` in elements for a numpy/CuPy array ``arr`` viewing
    the memory of the array at the end of its ``.base`` chain, or None where that root is
    not one contiguous buffer holding ``arr`` at a whole-element offset with non-negative
    strides (then ``arr`` is best written as its own storage)."""
    root, kind = arr, type(arr)
    while True:
        up = getattr(root, "base", None)
        if type(up) is not kind:  # numpy's as_strided: a holder between array and base
            up = getattr(up, "base", None)
            if type(up) is not kind:
                break
        root = up
    start, ptr = _address(root), _address(arr)
    if start is None or ptr is None:
        return None
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    item = arr.itemsize
    if any(s < 0 or s % item for s in arr.strides) or (ptr - start) % item or \
            root.nbytes % item:
        return None
    extent = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + item \
        if arr.size else 0
    if ptr < start or ptr + extent > start + root.nbytes:
        return None
    return root, (ptr - start) // item, tuple(s // item for s in arr.strides)


def _address(arr):
    """The address of ``arr``'s first element (numpy, or CuPy's device pointer)."""
    face = getattr(arr, "__array_interface__", None)
    if face is None:
        face = getattr(arr, "__cuda_array_interface__", None)
    return None if face is None else face["data"][0]


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
