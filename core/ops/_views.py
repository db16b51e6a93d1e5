"""Views, in one place: making a view, remembering how it views its base, and making a
write through a view reach the base (its values and its place in the graph).

A view shares its base's version counter (so autograd sees a change made through either)
and, on backends that can alias memory (numpy, CuPy), its buffer. Each view keeps in the
``Tensor._view_src`` slot ``(base, how)``: how it maps onto the base, so that a write into
the view can be replayed on the base where memory is not shared (JAX) and recorded for
autograd as PyTorch's ``CopySlices``. ``how`` is one of

- an int (``t[i]``'s fast path) or an indexing spec (``ops.indexing._Spec``): a part of the
  base an indexing key names;
- a :class:`FullView`: all of the base, rearranged (reshape, permute, transpose, detach);
- a :class:`PartView`: a part no key names (a diagonal);
- a :class:`MultiOutput`: one piece of ``unbind``/``split``/``chunk``, which PyTorch does
  not let autograd see written in place;
- :data:`EXPANDED`: an ``expand`` that repeats elements; writing into it is PyTorch's
  "more than one element ... refers to a single memory location" error;
- a ``(factory, *args)`` tuple that builds any of those when first needed, so a view that
  is never written pays for no closures.

Where memory is not shared (JAX's immutable arrays) a write must also reach the *other*
views of the same storage, as it does through shared memory: every view made there is
registered (weakly) with its root base, and after a write has reached the root, each live
view takes its new values from its base again (:func:`refresh_views`), oldest first, so a
view of a view sees its base's new values. Mutable backends register nothing and pay
nothing.
"""
from __future__ import annotations

import weakref

from .._tensor import Tensor, wrap

__all__ = ["FullView", "PartView", "MultiOutput", "ALIAS", "SAME", "EXPANDED", "alias", "view_of",
           "mark_view", "write_back", "propagate", "store", "check_write"]


class FullView:
    """How a view covering all of its base maps back and forth (reshape, permute,
    transpose): ``fwd`` turns a base-shaped tensor into the view's shape, ``inv`` a
    view-shaped array into the base's."""

    __slots__ = ("fwd", "inv")

    def __init__(self, fwd, inv):
        self.fwd, self.inv = fwd, inv


class PartView:
    """How a view of part of its base that no indexing key expresses (a diagonal) maps
    back: ``set(be, base_array, view_array)`` gives the base's new array (immutable
    backends), ``get(base)`` the view's array of the base tensor's current values, ``grads(keep)`` the
    CopySlices backward ``g -> (grad of the old base or None, grad of the view)``."""

    __slots__ = ()


class MultiOutput:
    """Piece ``index`` of a function returning several views (``node``: PyTorch's name for
    it in the error, "Unbind", "Split"); ``key`` is the indexing key of the piece."""

    __slots__ = ("key", "node", "index")

    def __init__(self, key: tuple, node: str, index: int):
        self.key, self.node, self.index = key, node, index


# detach()/.data on an immutable backend: a write through the alias gives the source its
# new array, but no place in the graph (PyTorch: detached writes are hidden from autograd)
ALIAS = FullView(None, lambda a: a)
SAME = FullView(lambda t: t, lambda a: a)  # a view with its base's shape
EXPANDED = object()

_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers "
            "to a single memory location. Please clone() the tensor before performing the "
            "operation.")


def view_of(base: Tensor, data) -> Tensor:
    """Wrap ``data`` (a view of base's array) as a tensor sharing base's version counter."""
    out = wrap(data, base.dtype, base._device)
    if base._vc is None:
        base._vc = [0]
    out._vc = base._vc
    out._base = root = base if base._base is None else base._base
    if not base._device._be.mutable:
        register_view(root, out)
    return out


# id(root) -> weak references to the views of root, oldest first (immutable backends)
_LIVE: dict = {}


def register_view(root: Tensor, view: Tensor) -> None:
    """Remember ``view`` as a view of ``root`` whose values a write must refresh."""
    refs = _LIVE.get(id(root))
    if refs is None:
        refs = _LIVE[id(root)] = [0]  # [0]: the live count at the last pruning
        weakref.finalize(root, _LIVE.pop, id(root), None)
    refs.append(weakref.ref(view))
    if len(refs) > 2 * refs[0] + 32:  # views made in a loop: drop the dead ones now and then
        refs[1:] = [r for r in refs[1:] if r() is not None]
        refs[0] = len(refs) - 1


def alias(t: Tensor, src: Tensor) -> None:
    """``t`` shares ``src``'s storage (``detach``, ``Parameter(src)``, ``t.data = src``): on
    a backend without shared buffers (JAX) writes through either now reach the other."""
    if not src._device._be.mutable:
        t._view_src = (src, ALIAS)
        register_view(src if src._base is None else src._base, t)


def refresh_views(t: Tensor) -> None:
    """After a write into ``t`` (or a base it passed the write on to) on an immutable
    backend: every other live view of the same root takes its values from its base again."""
    root = t if t._base is None else t._base
    refs = _LIVE.get(id(root))
    if refs is None or len(refs) == 1:
        return
    live = [0]
    for r in refs[1:]:
        v = r()
        if v is None:
            continue
        live.append(r)
        src = v._view_src
        if v is not t and src is not None:
            data = _viewed(src[0], src[1], v)
            if data is not None:
                v._data = data
    live[0] = len(live) - 1
    refs[:] = live


def _viewed(base: Tensor, how, view: Tensor):
    """The array ``view`` shows of ``base``'s current values (None: not recomputable)."""
    data = base._data
    if type(how) is int:
        return data[how]
    if type(how) is tuple:
        how = how[0](*how[1:])
    if how is ALIAS or how is SAME:
        return data if how is ALIAS else data.reshape(view._data.shape)
    if how is EXPANDED:
        return base._device._be.xp.broadcast_to(data, view._data.shape)
    if isinstance(how, FullView):
        return how.fwd(wrap(data, base.dtype, base._device))._data
    if isinstance(how, PartView):
        return how.get(base)
    key = how.key + (Ellipsis,) if type(how) is MultiOutput else how.key
    if getattr(how, "adv", False):
        return None
    try:
        return data[key]
    except (IndexError, TypeError):
        return base._device._be.getitem(data, key)


def mark_view(res: Tensor, base: Tensor, how) -> None:
    """Remember how ``res`` views ``base`` (see the module docstring for ``how``)."""
    res._view_src = (base, how)


def check_write(t: Tensor, grad_enabled: bool) -> None:
    """PyTorch's refusals of an in-place write into ``t`` that only its view record can
    tell: a tensor that repeats elements (an expand), and, under autograd, a piece of a
    multi-output view function."""
    src = t._view_src
    if src is None:
        return
    how = src[1]
    if how is EXPANDED:
        raise RuntimeError(_OVERLAP)
    if type(how) is MultiOutput and grad_enabled and t._requires_grad:
        raise RuntimeError(
            f"Output {how.index} of {how.node} is a view and is being modified inplace. This "
            "view is the output of a function that returns multiple views. Such functions do "
            "not allow the output views to be modified inplace. You should replace the "
            "inplace operation by an out-of-place one.")


def store(t: Tensor, data) -> None:
    """Give ``t`` the values ``data`` (same shape, t's dtype) as a write: into its own
    buffer where the backend shares memory (views and numpy aliases see it), else by
    rebinding and passing the values on to its bases; the version counter is bumped."""
    be = t._device._be
    if be.mutable and hasattr(t._data, "__setitem__"):
        check_write(t, False)
        t._data[...] = data
    else:
        check_write(t, False)
        t._data = data
        propagate(t, False)
    t._bump()


def propagate(t: Tensor, tracked: bool) -> None:
    """After a write into ``t``: if it is a view, make the write reach its bases where the
    backend does not share memory, and (``tracked``) give them their place in the graph."""
    src = t._view_src
    mutable = t._device._be.mutable
    if src is not None and (tracked or not mutable):
        write_back(t, src, tracked)
    if not mutable:
        refresh_views(t)


def write_back(view: Tensor, src, tracked: bool) -> None:
    """A write into a view made visible through its bases (PyTorch's view + in-place
    semantics): on immutable backends the bases' arrays take the view's new values; under
    autograd each base takes a CopySlices node whose inputs are its old self and the view,
    so gradients flow through the write."""
    # indexing builds on this module (view_of): its spec helpers are imported here, late
    from ..autograd.graph import record
    from .indexing import _copy_slices, _select_spec
    from .inplace import shallow
    while src is not None:
        base, spec = src
        if type(spec) is int:  # left by getitem's fast path for t[i]
            spec = _select_spec(spec, base.ndim)
        elif type(spec) is tuple:  # (factory, *args), left by mark_view
            spec = spec[0](*spec[1:])
        if type(spec) is MultiOutput:
            from .indexing import _Spec
            spec = _Spec(spec.key + (Ellipsis,))
        be = base._device._be
        full = isinstance(spec, FullView)  # reshape/permute/transpose: all of base is written
        if spec is ALIAS:
            tracked = False
        part = isinstance(spec, PartView)  # a diagonal
        if not be.mutable:
            base._data = spec.inv(view._data) if full else \
                spec.set(be, base._data, view._data) if part else \
                be.setitem(base._data, spec.key, view._data)
        if tracked:
            # (a write's routing of gradients already speaks the complex convention:
            # holomorphic=False, see autograd.graph)
            if full:
                record(base, "CopySlices", (view,), lambda g, f=spec.fwd: (f(g),),
                       holomorphic=False)
            else:
                prev = shallow(base)
                keep = prev._requires_grad
                record(base, "CopySlices", (prev, view),
                       spec.grads(keep) if part else _copy_slices(spec, keep),
                       holomorphic=False)
            base._out_nr = 0
        view, src = base, base._view_src
