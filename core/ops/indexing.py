"""Indexing: ``t[key]``, ``t[key] = value``, ``index_put`` and ``take``, with PyTorch's
semantics and error messages (the dim-wise ops, gather/scatter/index_*, are in
``scatter.py``; the mask ops in ``selection.py``).

A key is parsed once into a :class:`_Spec`: a backend key in numpy's indexing language
(numpy, cupy and ``jax.numpy`` all speak it) plus what autograd needs. PyTorch departs from
numpy in one place: it applies integer indices first (as ``select``), so an int never counts
as an advanced index when deciding where the advanced dimensions go (``x[0, :, [0, 1]]`` of
a ``[2, 3, 4]`` tensor is ``[3, 2]`` in PyTorch, ``[2, 3]`` in numpy). A spec carries the
permutation from numpy's order to PyTorch's when the two differ.

Backward of indexing places the gradient into zeros; with integer index arrays duplicate
indices must accumulate, so it goes through ``backend.index_add`` (``np.add.at``
semantics; numpy's ``z[idx] += g`` would drop them). Every backward is itself recorded, so
higher-order gradients work.
"""
from __future__ import annotations

import operator
import warnings

from .. import _dtype
from ._util import GRAD, Tensor, method, record, same_device, wrap
from ._views import check_write, propagate, view_of

__all__ = ["index_put", "take"]

_INDEX_INTS = frozenset((_dtype.int64, _dtype.int32, _dtype.int16, _dtype.int8))


class _Spec:
    """A parsed index key.

    ``key``: the backend key. ``adv``: advanced indexing (the result is a copy, not a view).
    ``dup``: integer index arrays present (placing a gradient must accumulate duplicates).
    ``perm``/``inv``: numpy's result order to PyTorch's and back (None when equal).
    ``name``: the grad_fn name PyTorch gives the result. ``ndim``: the result's ndim.
    ``arrays``: ``(array, size, dim)`` of every integer index array, for bounds errors.
    """

    __slots__ = ("key", "adv", "dup", "perm", "inv", "name", "ndim", "arrays")

    def __init__(self, key, adv=False, dup=False, perm=None, inv=None, name="IndexBackward0",
                 ndim=0, arrays=()):
        self.key, self.adv, self.dup, self.perm, self.inv = key, adv, dup, perm, inv
        self.name, self.ndim, self.arrays = name, ndim, arrays


# --- parsing ----------------------------------------------------------------------------------

def _parse(x: Tensor, key) -> _Spec:
    shape = x._data.shape
    tk = type(key)
    if tk is int:  # the hot path: t[i]
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        n = shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        return _select_spec(key, len(shape))
    if tk is tuple:
        return _parse_basic(shape, key) or _parse_tuple(x, shape, key)
    if tk is slice or key is None or key is Ellipsis:
        return _parse_basic(shape, (key,))
    if tk is Tensor and key.dtype in _INDEX_INTS and key._data.shape and shape:
        arr = _on(x, key)._data  # t[idx]: one integer index tensor
        spec = _Spec((arr, Ellipsis), True, True, None, None, "IndexBackward0",
                     len(shape) - 1 + len(arr.shape), ((arr, shape[0], 0),))
        if not x._device._be.checks_index_bounds:
            _check_arrays(x._device._be, spec)
        return spec
    if isinstance(key, tuple):  # a tuple subclass (Size, namedtuple) is a tuple key too
        return _parse_tuple(x, shape, tuple(key))
    if tk is list:
        if key and _all_ints(key):  # t[[0, 2]]: no detour through ember.tensor
            return _parse(x, wrap(x._device._be.asarray(key, _dtype.int64, x._device.index),
                                  _dtype.int64, x._device))
        if _seq_as_tuple(key):
            return _parse_tuple(x, shape, tuple(key))
    return _parse_tuple(x, shape, (key,))


def _select_spec(key: int, ndim: int) -> _Spec:
    """The spec of ``t[key]`` for an int ``key`` already checked against ``t``'s shape."""
    return _Spec((key, Ellipsis), False, False, None, None, "SelectBackward0", ndim - 1)


def _all_ints(seq) -> bool:
    for v in seq:
        if type(v) is not int:
            return False
    return True


def _parse_basic(shape, key: tuple):
    """The spec of a key of ints, slices, None and at most one Ellipsis (a view), or None
    for anything else."""
    ndim = len(shape)
    used = 0
    ell = False
    for k in key:
        t = type(k)
        if t is int or t is slice:
            used += 1
        elif k is Ellipsis:
            if ell:
                return None
            ell = True
        elif k is not None:
            return None
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    dim = nout = 0
    name = "AliasBackward0"
    for k in key:
        t = type(k)
        if t is int:
            n = shape[dim]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
            dim += 1
            name = "SelectBackward0"
        elif t is slice:
            if k.step is not None:
                _check_slice(k)
            dim += 1
            nout += 1
            name = "SliceBackward0"
        elif k is None:
            nout += 1
            name = "UnsqueezeBackward0"
        else:
            dim += ndim - used
            nout += ndim - used
    return _Spec(key if ell else key + (Ellipsis,), False, False, None, None, name,
                 nout + ndim - dim)


def _seq_as_tuple(key: list) -> bool:
    """PyTorch's (and old numpy's) rule: a short list holding slices, None, Ellipsis,
    tensors or sequences is read as a tuple, with a deprecation warning."""
    if len(key) >= 32:
        return False
    for item in key:
        if (isinstance(item, (Tensor, list, tuple, slice, range)) or item is None
                or item is Ellipsis or type(item).__name__ == "ndarray"):
            warnings.warn("Using a non-tuple sequence for multidimensional indexing is "
                          "deprecated and will be changed in pytorch 2.9; use x[tuple(seq)] "
                          "instead of x[seq]. In pytorch 2.9 this will be interpreted as tensor "
                          "index, x[torch.tensor(seq)], which will result either in an error or "
                          "a different result", UserWarning, stacklevel=4)
            return True
    return False


def _check_slice(s: slice) -> slice:
    st = s.step
    if st is not None:
        st = operator.index(st)
        if st <= 0:
            raise ValueError("slice step cannot be zero" if st == 0 else
                             "step must be greater than zero")
    return s


def _index_tensor(x: Tensor, k: Tensor):
    """An index tensor as (kind, value): "i" int, "b" 0-d mask, "m" mask tensor, "a" array."""
    dt = k.dtype
    if dt in _INDEX_INTS:
        if k.ndim == 0:  # PyTorch reads a 0-d integer tensor as an int (a view results)
            return "i", int(k.item())
        return "a", _on(x, k)._data
    if dt is _dtype.bool or dt is _dtype.uint8:
        if dt is _dtype.uint8:
            warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                          "torch.bool instead.", UserWarning, stacklevel=4)
            k = k.to(_dtype.bool)
        k = _on(x, k)
        return ("b", k._data) if k.ndim == 0 else ("m", k)
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _on(x: Tensor, k: Tensor, strict: bool = False) -> Tensor:
    """k on x's device. Indexing accepts indices from another device (as PyTorch accepts
    CPU indices for CUDA tensors); ``strict`` ops raise PyTorch's device error instead."""
    if k._device is x._device:
        return k
    if strict:
        same_device(x, k)
    return k.to(x._device)


def _index_entry(x: Tensor, k):
    """Anything but int/slice/None/Ellipsis/bool in a key, as (kind, value)."""
    if isinstance(k, Tensor):
        return _index_tensor(x, k)
    if isinstance(k, (list, tuple, range)) or type(k).__name__ == "ndarray":
        from .._creation import as_tensor, tensor
        t = as_tensor(k, device=x._device) if not isinstance(k, (list, tuple, range)) \
            else tensor(list(k) if isinstance(k, range) else k, device=x._device)
        if t.numel() == 0 and t.dtype.is_floating_point:
            t = t.to(_dtype.int64)  # ``x[[]]`` selects nothing
        return _index_tensor(x, t)
    if hasattr(k, "dtype") and getattr(k.dtype, "kind", "") == "b":
        return "b", bool(k)  # numpy bool scalar
    if hasattr(k, "__index__") and not isinstance(k, float):
        try:
            return "i", operator.index(k)
        except TypeError:
            pass
    if isinstance(k, str):
        raise TypeError("new(): invalid data type 'str'")
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(k).__name__})")


def _parse_tuple(x: Tensor, shape, key: tuple) -> _Spec:
    ents = []
    used = 0
    has_ell = False
    for k in key:
        tk = type(k)
        if tk is int:
            ents.append(("i", k))
            used += 1
        elif tk is slice:
            ents.append(("s", _check_slice(k)))
            used += 1
        elif k is None:
            ents.append(("n", None))
        elif k is Ellipsis:
            if not has_ell:  # PyTorch lets later ellipses match nothing
                has_ell = True
                ents.append(("e", None))
        elif tk is bool:
            ents.append(("b", k))
        else:
            kind, v = _index_entry(x, k)
            used += v.ndim if kind == "m" else (kind != "b")
            ents.append((kind, v))
    ndim = len(shape)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    nkey = []
    kinds = []  # one per entry (ellipsis expanded): "i" int, "s" slice, "n" None, "a" advanced
    arrays = []
    dim = ords = nb = nout = 0
    has_int = adv = dup = False
    name = "AliasBackward0"
    for kind, v in ents:
        if kind == "i":
            n = shape[dim]
            if not -n <= v < n:
                raise IndexError(f"index {v} is out of bounds for dimension {dim} with size {n}")
            nkey.append(v)
            kinds.append("i")
            dim += 1
            has_int = True
            name = "SelectBackward0"
        elif kind == "s":
            nkey.append(v)
            kinds.append("s")
            dim += 1
            nout += 1
            name = "SliceBackward0"
        elif kind == "n":
            nkey.append(None)
            kinds.append("n")
            nout += 1
            name = "UnsqueezeBackward0"
        elif kind == "e":
            k = ndim - used
            nkey.append(Ellipsis)
            kinds.extend("s" * k)
            dim += k
            nout += k
        elif kind == "b":
            nkey.append(v)
            kinds.append("a")
            adv = True
            nb = max(nb, 1)
        elif kind == "m":
            mshape = v._data.shape
            for j, s in enumerate(mshape):
                if s != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(mshape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {list(shape)} at "
                                     f"index {dim + j}")
            nkey.append(v._data)
            kinds.append("a")
            dim += len(mshape)
            ords += len(mshape)
            adv = True
            nb = max(nb, 1)
        else:
            nkey.append(v)
            kinds.append("a")
            arrays.append((v, shape[dim], ords))
            dim += 1
            ords += 1
            adv = dup = True
            nb = max(nb, v.ndim)
    if not has_ell:
        nkey.append(Ellipsis)  # numpy then returns a 0-d array (a view), never a scalar
    rest = ndim - dim
    if not adv:
        return _Spec(tuple(nkey), name=name, ndim=nout + rest)
    perm = inv = None
    if has_int:
        perm = _torch_order(kinds + ["s"] * rest, nb)
        if perm is not None:
            inv = [0] * len(perm)
            for i, p in enumerate(perm):
                inv[p] = i
            inv = tuple(inv)
    spec = _Spec(tuple(nkey), True, dup, perm, inv, "IndexBackward0", nout + rest + nb,
                 tuple(arrays))
    if arrays and not getattr(x._device._be, "checks_index_bounds", False):
        _check_arrays(x._device._be, spec)
    return spec


def _order(entries, advk, nb):
    """The result's dims as labels: an entry's position, or ("B", r) for the broadcast
    block of the advanced indices, placed numpy's way (in place when adjacent, else first)."""
    pos = [p for p, (_, k) in enumerate(entries) if k in advk]
    block = [("B", r) for r in range(nb)]
    if pos[-1] - pos[0] + 1 != len(pos):
        return block + [j for j, k in entries if k not in advk]
    out = []
    for p, (j, k) in enumerate(entries):
        if k not in advk:
            out.append(j)
        elif p == pos[0]:
            out.extend(block)
    return out


def _torch_order(kinds, nb):
    """The permutation taking numpy's result (ints are advanced indices) to PyTorch's (ints
    are applied first), or None when they agree."""
    entries = list(enumerate(kinds))
    np_order = _order(entries, "ai", nb)
    t_order = _order([e for e in entries if e[1] != "i"], "a", nb)
    if np_order == t_order:
        return None
    at = {lbl: i for i, lbl in enumerate(np_order)}
    return tuple(at[lbl] for lbl in t_order)


def _check_arrays(be, spec: _Spec, err=IndexError) -> None:
    """PyTorch's out-of-bounds error for the first bad index array (where the backend does
    not check, or to word the error the backend raised)."""
    for arr, size, dim in spec.arrays:
        _bounds(be, arr, size, dim, -size, err)


def _bounds(be, arr, size, dim, low, err) -> None:
    if not _numel(arr):
        return
    xp = be.xp
    if int(xp.min(arr)) >= low and int(xp.max(arr)) < size:
        return
    bad = arr[(arr >= size) | (arr < low)]
    raise err(f"index {int(bad[0])} is out of bounds for dimension {dim} with size {size}")


def _numel(arr) -> int:
    n = 1
    for s in arr.shape:
        n *= s
    return n


def _backend_error(x: Tensor, spec: _Spec, e: Exception, fallback: bool = False):
    """Reword an IndexError from the backend in PyTorch's terms (JAX raises ValueError for
    index arrays that do not broadcast: checked here by shape, not by message)."""
    _check_arrays(x._device._be, spec)
    shapes = []
    for k in spec.key:
        if k is None or k is Ellipsis or isinstance(k, (int, slice)) and type(k) is not bool:
            continue
        if type(k) is bool or getattr(k, "dtype", None) == bool:  # noqa: E721 - numpy dtype equality
            n = _numel(x._device._be.xp.nonzero(k)[0]) if getattr(k, "ndim", 0) else int(k)
            shapes.append([n])
        else:
            shapes.append(list(k.shape))
    if str(e).startswith("shape mismatch") or not _broadcastable(shapes):
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {', '.join(map(str, shapes))}") from None
    if fallback:  # a key the namespace refuses (beyond the array API standard's)
        try:
            return x._device._be.getitem(x._data, spec.key)
        except Exception:  # noqa: BLE001 - the backend's own error is the one to show
            pass
    raise e


def _broadcastable(shapes) -> bool:
    from .shape import broadcast_shapes
    try:
        broadcast_shapes(*shapes)
    except RuntimeError:
        return False
    return True


# --- getitem / setitem --------------------------------------------------------------------------

@method("__getitem__")
def getitem(self: Tensor, key) -> Tensor:
    """Mirrors ``Tensor.__getitem__``: basic indexing (ints, slices, None, ...) gives a view
    sharing memory and version counter; advanced indexing (integer/bool tensors, lists,
    numpy arrays) gives a copy, dims placed as PyTorch places them."""
    if type(key) is int and not (self._requires_grad and GRAD.enabled):
        # the hot path (a Dataset's ``data[i]``): a select view, no graph; the spec a write
        # through the view needs is made only then (see _views.write_back)
        data = self._data
        shape = data.shape
        if shape and -shape[0] <= key < shape[0]:
            res = view_of(self, data[key, ...])
            res._view_src = (self, key)
            return res
    return _index(self, _parse(self, key))


def _index(x: Tensor, spec: _Spec) -> Tensor:
    data = x._data
    try:
        out = data[spec.key]
    except (IndexError, ValueError) as e:
        out = _backend_error(x, spec, e, fallback=True)
    if spec.adv:
        if spec.perm is not None:
            out = x._device._be.xp.permute_dims(out, spec.perm)
        res = wrap(out, x.dtype, x._device)
    else:
        res = view_of(x, out)
        res._view_src = (x, spec)  # how a write into the view reaches x
    if GRAD.enabled and x._requires_grad:
        shape = data.shape
        record(res, spec.name, (x,), lambda g: (_put(g, shape, spec),))
    return res


def _put(g: Tensor, shape, spec: _Spec) -> Tensor:
    """Zeros of ``shape`` with ``g`` placed at ``spec`` (duplicates accumulating): the
    gradient of indexing, recorded so that its own gradient is indexing again."""
    from .._creation import zeros
    be = g._device._be
    z = zeros(shape, dtype=g.dtype, device=g._device)._data
    gd = g._data
    if spec.perm is not None:
        gd = be.xp.permute_dims(gd, spec.inv)
    data = be.index_add(z, spec.key, gd) if spec.dup else be.setitem(z, spec.key, gd)
    res = wrap(data, g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        record(res, spec.name.replace("Backward0", "BackwardBackward0"), (g,),
               lambda gg: (_index(gg, spec),))
    return res


def _fill(x: Tensor, spec: _Spec, value=0) -> Tensor:
    """A copy of ``x`` with the indexed region set to ``value`` (differentiable in x: the
    gradient is the incoming one with the region zeroed)."""
    be = x._device._be
    data = be.setitem(be.copy(x._data), spec.key, value)
    res = wrap(data, x.dtype, x._device)
    if GRAD.enabled and x._requires_grad:
        record(res, "IndexFillBackward0", (x,), lambda g: (_fill(g, spec),))
    return res


_LEAF_ERR = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF_ERR = ("a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation.")


@method("__setitem__")
def setitem(self: Tensor, key, value) -> None:
    """Mirrors ``Tensor.__setitem__``: ``value`` (a number or tensor) is broadcast to the
    indexed shape, cast to self's dtype and written in place (numpy buffers are mutated,
    so views and ``from_numpy`` arrays see it; immutable backends rebind). Under autograd
    self takes a CopySlices node: its gradient is the incoming one with the region zeroed,
    and value's is the incoming one indexed by ``key``."""
    spec = _parse(self, key)
    _assign(self, spec, value, False)


def _assign(self: Tensor, spec: _Spec, value, accumulate: bool) -> Tensor:
    if self._view_src is not None:
        check_write(self, GRAD.enabled)
    be = self._device._be
    v = None
    if isinstance(value, Tensor):
        v = value
        if v._device is not self._device:
            same_device(self, v)
            v = v.to(self._device)
        if v.dtype is not self.dtype:
            v = v.to(self.dtype)
        while v.ndim > spec.ndim and v._data.shape[0] == 1:  # PyTorch drops leading 1s
            v = v.reshape(v._data.shape[1:])
        vd = v._data
    elif type(value) in (int, float, bool, complex) or (
            hasattr(value, "item") and getattr(value, "ndim", 1) == 0
            and not hasattr(value, "__len__")):
        vd = value.item() if not isinstance(value, (int, float, complex)) else value
    else:
        from .._tensor import _type_string
        tn = type(value)
        qual = tn.__qualname__ if tn.__module__ == "builtins" else \
            f"{tn.__module__}.{tn.__qualname__}"
        raise TypeError(f"can't assign a {qual} to a {_type_string(self)}")
    tracked = GRAD.enabled and (self._requires_grad or (v is not None and v._requires_grad))
    if tracked and self._requires_grad:
        if self._grad_fn is None:
            raise RuntimeError(_VIEW_LEAF_ERR if not spec.adv and spec.name != "AliasBackward0"
                               else _LEAF_ERR)
        base = self._base
        if base is not None and base._requires_grad and base._grad_fn is None:
            raise RuntimeError(_VIEW_LEAF_ERR)
    if (v is not None and spec.adv and not accumulate and value.dtype is not self.dtype
            and not (v.numel() == 1 and _single_mask(spec))):
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{self.dtype.scalar_name} for the destination and "
                           f"{value.dtype.scalar_name} for the source.")
    if spec.perm is not None and v is not None and v.ndim:
        vd = be.xp.permute_dims(_broadcast_value(self, spec, v), spec.inv)
    if tracked:
        from .inplace import shallow
        prev = shallow(self)
    try:
        if accumulate:
            data = be.index_add(self._data, spec.key, vd)
            if be.mutable and hasattr(self._data, "__setitem__"):
                self._data[...] = data
                data = self._data
        else:
            data = be.setitem(self._data, spec.key, vd)
    except IndexError as e:
        _backend_error(self, spec, e)
    except ValueError:
        _broadcast_value(self, spec, v)
        raise
    self._data = data
    self._bump()
    if tracked:
        vt = v if v is not None and v._requires_grad else None
        keep = prev._requires_grad

        def fn(g):
            gs = (g if accumulate else _fill(g, spec)) if keep else None
            return (gs,) if vt is None else (gs, _index(g, spec))
        record(self, "IndexPutBackward0" if accumulate or spec.adv else "CopySlices",
               (prev,) if vt is None else (prev, vt), fn)
        self._out_nr = 0
    propagate(self, tracked)
    return self


def _copy_slices(spec: _Spec, keep: bool):
    return lambda g: (_fill(g, spec) if keep else None, _index(g, spec))


def _single_mask(spec: _Spec) -> bool:
    """The key is one bool mask (PyTorch then fills, casting a one-element value)."""
    k = spec.key
    return len(k) == 2 and k[1] is Ellipsis and getattr(k[0], "dtype", None) == bool  # noqa: E721 - numpy dtype equality


def _broadcast_value(self: Tensor, spec: _Spec, v: Tensor):
    """v's array broadcast to the indexed shape (PyTorch's order); PyTorch's error if it
    does not broadcast."""
    be = self._device._be
    try:
        ishape = tuple(self._data[spec.key].shape)
    except IndexError:  # a key beyond the array API standard's (array_api_strict)
        ishape = tuple(be.getitem(self._data, spec.key).shape)
    if spec.perm is not None:
        ishape = tuple(ishape[p] for p in spec.perm)
    vs = tuple(v._data.shape)
    if spec.adv:
        from .shape import broadcast_shapes
        try:
            if tuple(broadcast_shapes(vs, ishape)) == ishape:
                return be.xp.broadcast_to(v._data, ishape)
        except RuntimeError:
            pass
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be "
                           f"broadcast to indexing result of shape {list(ishape)}")
    if len(vs) > len(ishape):
        from .._tensor import _type_string
        raise RuntimeError(f"expand({_type_string(v)}{{{list(vs)}}}, size={list(ishape)}): the "
                           f"number of sizes provided ({len(ishape)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(vs)})")
    for i in range(1, len(vs) + 1):
        if vs[-i] != ishape[-i] and vs[-i] != 1:
            raise RuntimeError(f"The expanded size of the tensor ({ishape[-i]}) must match the "
                               f"existing size ({vs[-i]}) at non-singleton dimension "
                               f"{len(ishape) - i}.  Target sizes: {list(ishape)}.  Tensor "
                               f"sizes: {list(vs)}")
    return be.xp.broadcast_to(v._data, ishape)


# --- key-based ops ----------------------------------------------------------------------------

@method("index_put")
def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """Mirrors ``torch.index_put``: ``input[indices] = values`` out of place
    (``accumulate=True``: ``+=`` with duplicates accumulating)."""
    out = input.clone()
    return index_put_(out, indices, values, accumulate)


@method("index_put_")
def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """Mirrors ``Tensor.index_put_``."""
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    if values.dtype is not input.dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{input.dtype.scalar_name} for the destination and "
                           f"{values.dtype.scalar_name} for the source.")
    spec = _parse(input, tuple(indices))
    return _assign(input, spec, values, accumulate)


@method("take")
def take(input: Tensor, index: Tensor) -> Tensor:
    """Mirrors ``torch.take``: ``input`` read as 1-D at ``index`` (negative counts back)."""
    if index.dtype is not _dtype.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{index.dtype.scalar_name}")
    n = input.numel()
    idx = _on(input, index)._data
    be = input._device._be
    if _numel(idx):
        xp = be.xp
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if hi >= n or lo < -n:
            raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a "
                             f"tensor of {n} elements.")
    flat = input.reshape(-1)
    spec = _Spec((idx, Ellipsis), True, True, name="TakeBackward0", ndim=len(idx.shape),
                 arrays=((idx, n, 0),))
    return _index(flat, spec)
