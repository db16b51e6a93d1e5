"""Ops that rearrange elements: narrow, movedim, unflatten (views, as in PyTorch) and flip,
roll, rot90, repeat, tile, repeat_interleave, tril/triu, diag, diagonal (a view), diag_embed,
trace. Each backward sits beside its forward; ``_take``/``_embed`` and ``_diag_place`` are the
small differentiable helpers that put a gradient back into zeros at a slice or a diagonal."""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim
from ._views import PartView, mark_view, view_of
from .shape import _as_shape, _infer_shape, permute, reshape, transpose

__all__ = ["diag", "diag_embed", "diagonal", "flip", "fliplr", "flipud", "moveaxis", "movedim",
           "narrow", "repeat_interleave", "roll", "rot90", "select", "tile", "trace", "tril",
           "triu", "unflatten"]


def _zeros(shape, like: Tensor):
    from .._creation import zeros
    return zeros(shape, dtype=like.dtype, device=like._device)._data


# --- slices ---------------------------------------------------------------------------------

def _slice_spec(key: tuple, name: str):
    from .indexing import _Spec
    return _Spec(key, name=name)


def _take(input: Tensor, key: tuple, name: str = "SliceBackward0") -> Tensor:
    """``input[key]`` for a basic key (ints, slices): a view whose gradient is ``_embed``."""
    # the trailing Ellipsis makes numpy return a 0-d *view* (not a scalar copy) when every
    # dim is indexed by an int, so writes through select() reach the base
    res = view_of(input, input._data[key + (Ellipsis,)])
    mark_view(res, input, (_slice_spec, key, name))
    if GRAD.enabled and input._requires_grad:
        shape = input._data.shape
        record(res, name, (input,), lambda g: (_embed(g, shape, key),))
    return res


def _embed(g: Tensor, shape: tuple, key: tuple) -> Tensor:
    """Zeros of ``shape`` holding ``g`` at ``key``; its gradient is ``_take`` again, so
    gradients of any order come out right."""
    res = wrap(g._device._be.setitem(_zeros(shape, g), key, g._data), g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        record(res, "SliceBackwardBackward0", (g,), lambda gg: (_take(gg, key),))
    return res


def _slice_key(d: int, start: int, stop: int) -> tuple:
    return (slice(None),) * d + (slice(start, stop),)


@method("narrow")
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """Mirrors ``torch.narrow``: a view of ``length`` entries from ``start`` along ``dim``
    (``start`` may be a 0-d integer tensor, or negative)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = wrap_dim(dim, len(shape))
    start = int(start)
    size = shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if start > size - length:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return _take(input, _slice_key(d, start, start + length))


@method("select")
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """Mirrors ``torch.select``: the view at ``index`` along ``dim``, that dim removed."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, len(shape))
    index = int(index)
    if not -shape[d] <= index < shape[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(shape)} at dimension {d}")
    return _take(input, (slice(None),) * d + (index % shape[d],), "SelectBackward0")


# --- views that reorder dims ------------------------------------------------------------------

def _dim_list(x) -> list:
    return [int(x)] if isinstance(x, int) else [int(v) for v in x]


@method("movedim", "moveaxis")
def movedim(input: Tensor, source, destination) -> Tensor:
    """Mirrors ``torch.movedim`` (ints or sequences of ints)."""
    n = input.ndim
    src, dst = _dim_list(source), _dim_list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [wrap_dim(d, n) for d in src]
    dst = [wrap_dim(d, n) for d in dst]
    for name, lst in (("source", src), ("destination", dst)):
        if len(set(lst)) != len(lst):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({lst})")
    order = [-1] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    order = [next(rest) if o < 0 else o for o in order]
    return permute(input, order)


moveaxis = movedim


@method("unflatten")
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Mirrors ``torch.unflatten``: dim ``dim`` becomes ``sizes`` (one may be -1)."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    sizes = [int(s) for s in sizes]
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        new = _infer_shape(tuple(sizes), shape[d])
    except RuntimeError as e:
        if "only one dimension" in str(e) or "ambiguous" in str(e):
            raise
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size of "
                           f"dim {d} ({shape[d]}) in the input tensor") from None
    return _as_shape(input, shape[:d] + new + shape[d + 1:], "ViewBackward0")


# --- copies that reorder elements --------------------------------------------------------------

def _copy(input: Tensor, data) -> Tensor:
    """A fresh tensor of ``data`` (copied if the namespace returned a view of input)."""
    be = input._device._be
    if be.mutable:
        data = be.copy(data)
    return wrap(data, input.dtype, input._device)


@method("flip")
def flip(input: Tensor, *args, dims=None) -> Tensor:
    """Mirrors ``torch.flip`` (``x.flip(0, 1)``, ``torch.flip(x, (0, 1))``); a copy."""
    if dims is None:
        dims = args[0] if len(args) == 1 else args
    axes = _dims_unique(dims, input.ndim)
    key = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(input.ndim))
    res = _copy(input, input._data[key])  # negative steps: cheaper than xp.flip
    if GRAD.enabled and input._requires_grad:
        record(res, "FlipBackward0", (input,), lambda g: (flip(g, axes),))
    return res


def _dims_unique(dim, ndim: int) -> tuple:
    out = []
    for d in _dim_list(dim):
        a = wrap_dim(d, ndim)
        if a in out:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
        out.append(a)
    return tuple(out)


@method("fliplr")
def fliplr(input: Tensor) -> Tensor:
    """Mirrors ``torch.fliplr``."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@method("flipud")
def flipud(input: Tensor) -> Tensor:
    """Mirrors ``torch.flipud``."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


@method("roll")
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Mirrors ``torch.roll``: with ``dims`` None the flattened tensor is rolled and the
    shape restored."""
    sh = _dim_list(shifts)
    if not sh:
        raise RuntimeError("`shifts` required")
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        axes = None
    else:
        ds = _dim_list(dims)
        if len(sh) != len(ds):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, "
                               f"dims:{len(ds)}")
        if not input.ndim:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        axes = tuple(wrap_dim(d, input.ndim) for d in ds)
    xp = input._device._be.xp
    src = xp.reshape(input._data, (-1,)) if axes is None else input._data
    data = _roll_data(xp, src, sh, (0,) if axes is None else axes)
    if data is src:  # nothing moved: still a fresh tensor, as in PyTorch
        res = _copy(input, input._data)
    else:
        if axes is None:
            data = xp.reshape(data, input._data.shape)
        res = wrap(data, input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        back = [-s for s in sh]
        record(res, "RollBackward0", (input,),
               lambda g: (roll(g, back[0] if axes is None else back, axes),))
    return res


def _roll_data(xp, data, shifts, axes):
    """Roll by joining two slices per axis (cheaper than ``xp.roll``)."""
    for s, ax in zip(shifts, axes):
        n = data.shape[ax]
        if not n or not s % n:
            continue
        cut = n - s % n
        pre = (slice(None),) * ax
        data = xp.concat([data[pre + (slice(cut, None), ...)], data[pre + (slice(0, cut), ...)]],
                         axis=ax)
    return data


@method("rot90")
def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Mirrors ``torch.rot90`` (built from flip and transpose, so differentiable)."""
    dims = list(dims)
    n = input.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = wrap_dim(dims[0], n), wrap_dim(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return input.clone()


@method("repeat")
def repeat(input: Tensor, *sizes) -> Tensor:
    """Mirrors ``Tensor.repeat`` (there is no ``torch.repeat``): tiles the tensor, with
    new leading dims where ``sizes`` is longer than the shape."""
    if len(sizes) == 1 and not isinstance(sizes[0], int):
        sizes = tuple(sizes[0])
    reps = tuple(int(s) for s in sizes)
    shape = input._data.shape
    lead = len(reps) - len(shape)
    if lead < 0:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * lead + shape
    out_shape = [r * s for r, s in zip(reps, padded)]
    for v in out_shape:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: "
                               f"{out_shape}")
    xp = input._device._be.xp
    data = input._data if not lead else xp.reshape(input._data, padded)
    res = wrap(xp.tile(data, reps), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        inter = []
        for r, s in zip(reps, padded):
            inter += [r, s]
        axes = tuple(range(0, 2 * len(reps), 2))

        def back(g):
            return (reshape(reshape(g, inter).sum(axes), shape),)
        record(res, "RepeatBackward0", (input,), back)
    return res


@method("tile")
def tile(input: Tensor, *dims) -> Tensor:
    """Mirrors ``torch.tile``: like ``repeat``, with ``dims`` padded by leading 1s when it is
    shorter than the shape."""
    if len(dims) == 1 and not isinstance(dims[0], int):
        dims = tuple(dims[0])
    dims = tuple(int(d) for d in dims)
    lead = input.ndim - len(dims)
    return repeat(input, (1,) * lead + dims if lead > 0 else dims)


@method("repeat_interleave")
def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Mirrors ``torch.repeat_interleave``: ``repeats`` an int or a tensor (one count per
    entry along ``dim``); ``dim`` None works on the flattened input. With only a tensor of
    counts, returns the indices repeated (``torch.repeat_interleave(repeats)``)."""
    if repeats is None:
        from .._creation import arange
        counts = input
        return repeat_interleave(arange(counts.numel(), device=counts._device), counts, 0)
    if dim is None:
        input = reshape(input, (-1,))
        dim = 0
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    n = shape[d] if shape else 1
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point or repeats.dtype.is_complex or \
                repeats.dtype is _dtype.bool:
            raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                      f"'{repeats.dtype.scalar_name}'")
        counts = [int(c) for c in repeats.reshape(-1).tolist()]
        if len(counts) == 1:
            repeats = counts[0]
        elif len(counts) != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {len(counts)} and input.size({d}) = {n}")
        elif any(c < 0 for c in counts):
            raise RuntimeError("repeats can not be negative")
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        counts = None
    xp = input._device._be.xp
    arg = repeats if counts is None else xp.asarray(counts)
    res = wrap(xp.repeat(input._data, arg, axis=d), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        def back(g):
            if counts is None:
                return (reshape(g, shape[:d] + (n, repeats) + shape[d + 1:]).sum(d + 1),)
            from .joining import cat, split
            return (cat([p.sum(d, keepdim=True) for p in split(g, counts, d)], d),)
        record(res, "IndexSelectBackward0", (input,), back)
    return res


# --- triangles and diagonals ------------------------------------------------------------------

def _tri(name: str, input: Tensor, diagonal: int) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    xp = input._device._be.xp
    res = wrap(getattr(xp, name)(input._data, k=diagonal), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, name.capitalize() + "Backward0", (input,),
               lambda g: (_tri(name, g, diagonal),))
    return res


@method("tril")
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Mirrors ``torch.tril`` (batched over leading dims)."""
    return _tri("tril", input, diagonal)


@method("triu")
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Mirrors ``torch.triu`` (batched over leading dims)."""
    return _tri("triu", input, diagonal)


def _diag_dims(d1: int, d2: int, n: int) -> tuple:
    a, b = wrap_dim(d1, n), wrap_dim(d2, n)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {d1}, {d2}")
    return a, b


def _diagonal_data(input: Tensor, offset: int, d1: int, d2: int):
    xp = input._device._be.xp
    fn = getattr(xp, "diagonal", None)
    if fn is not None:
        data = fn(input._data, offset=offset, axis1=d1, axis2=d2)
    else:  # the array API's diagonal works on the last two axes only
        n = input.ndim
        rest = [i for i in range(n) if i not in (d1, d2)]
        data = xp.linalg.diagonal(xp.permute_dims(input._data, tuple(rest) + (d1, d2)),
                                  offset=offset)
    flags = getattr(data, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        try:  # numpy hands out read-only diagonals; PyTorch's are writable views
            flags.writeable = True
        except ValueError:  # the base itself is read-only
            pass
    elif flags is None and input._device._be.mutable:
        data = _writable_diagonal(input, data, offset, d1, d2)
    return data


def _writable_diagonal(input: Tensor, data, offset: int, d1: int, d2: int):
    """A namespace over numpy without ``flags`` (array_api_strict) keeps numpy's read-only
    diagonal: take a writable one on the host array, which shares memory with the base
    where the backend's ``to_numpy``/``from_numpy`` do (CPU namespaces)."""
    try:
        data[...] = data
        return data
    except ValueError:
        import numpy as np
        be = input._device._be
        view = np.diagonal(np.asarray(be.to_numpy(input._data)), offset, d1, d2)
        try:
            view.flags.writeable = True
        except ValueError:
            return data
        return be.from_numpy(view, None)


@method("diagonal")
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """Mirrors ``torch.diagonal``: a view; the diagonal becomes the last dim."""
    d1, d2 = _diag_dims(dim1, dim2, input.ndim)
    res = view_of(input, _diagonal_data(input, offset, d1, d2))
    shape = input._data.shape
    mark_view(res, input, (_DiagView, offset, d1, d2, shape))
    if GRAD.enabled and input._requires_grad:
        record(res, "DiagonalBackward0", (input,),
               lambda g: (_diag_place(g, shape, offset, d1, d2, "DiagonalBackwardBackward0"),))
    return res


class _DiagView(PartView):
    """A diagonal as the part of its base a write through it replaces (see PartView)."""

    __slots__ = ("offset", "d1", "d2", "shape")

    def __init__(self, offset: int, d1: int, d2: int, shape: tuple):
        self.offset, self.d1, self.d2, self.shape = offset, d1, d2, shape

    def get(self, base: Tensor):
        return _diagonal_data(base, self.offset, self.d1, self.d2)

    def layout(self, off: int, bs: tuple) -> tuple:
        """(offset, strides) of the diagonal of a base at ``off`` with strides ``bs``."""
        o, d1, d2 = self.offset, self.d1, self.d2
        off += o * bs[d2] if o >= 0 else -o * bs[d1]
        rest = tuple(s for i, s in enumerate(bs) if i not in (d1, d2))
        return off, rest + (bs[d1] + bs[d2],)

    def set(self, be, base, view):
        xp = be.xp
        n = len(self.shape)
        rest = [i for i in range(n) if i not in (self.d1, self.d2)]
        order = rest + [self.d1, self.d2]
        inv = [0] * n
        for i, p in enumerate(order):
            inv[p] = i
        idx = xp.arange(view.shape[-1])
        key = (Ellipsis, idx + max(-self.offset, 0), idx + max(self.offset, 0))
        moved = be.setitem(xp.permute_dims(base, tuple(order)), key, view)
        return xp.permute_dims(moved, tuple(inv))

    def grads(self, keep: bool):
        o, d1, d2, shape = self.offset, self.d1, self.d2, self.shape

        def fn(g):
            diag = diagonal(g, o, d1, d2)
            return (g - _diag_place(diag, shape, o, d1, d2, "DiagonalBackwardBackward0")
                    if keep else None, diag)
        return fn


def _diag_place(g: Tensor, shape: tuple, offset: int, d1: int, d2: int, name: str) -> Tensor:
    """Zeros of ``shape`` with ``g``'s last dim on the (``offset``, ``d1``, ``d2``) diagonal
    (``torch.diagonal_scatter`` into zeros); its gradient is ``diagonal``."""
    be = g._device._be
    xp = be.xp
    n = len(shape)
    rest = [i for i in range(n) if i not in (d1, d2)]
    moved = tuple(shape[i] for i in rest) + (shape[d1], shape[d2])
    length = g._data.shape[-1]
    idx = xp.arange(length)
    key = (Ellipsis, idx + max(-offset, 0), idx + max(offset, 0))
    data = be.setitem(_zeros(moved, g), key, g._data)
    order = rest + [d1, d2]
    inv = [0] * n
    for i, p in enumerate(order):
        inv[p] = i
    res = wrap(xp.permute_dims(data, tuple(inv)), g.dtype, g._device)
    if GRAD.enabled and g._requires_grad:
        record(res, name, (g,), lambda gg: (diagonal(gg, offset, d1, d2),))
    return res


@method("diag_embed")
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Mirrors ``torch.diag_embed``: the last dim of ``input`` on a diagonal of new dims
    ``dim1``, ``dim2`` of size ``n + |offset|``."""
    shape = input._data.shape
    d1, d2 = _diag_dims(dim1, dim2, len(shape) + 1)
    size = (shape[-1] if shape else 1) + abs(offset)
    batch = iter(shape[:-1])
    out = tuple(size if i in (d1, d2) else next(batch) for i in range(len(shape) + 1))
    src = input if shape else reshape(input, (1,))
    return _diag_place(src, out, offset, d1, d2, "DiagEmbedBackward0")


@method("diag")
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """Mirrors ``torch.diag``: a 1-D tensor becomes a 2-D diagonal matrix; a 2-D tensor
    gives a copy of its ``diagonal``-th diagonal."""
    n = input.ndim
    if n == 1:
        return diag_embed(input, diagonal, 0, 1)
    if n != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")
    res = _copy(input, _diagonal_data(input, diagonal, 0, 1))
    if GRAD.enabled and input._requires_grad:
        shape = input._data.shape
        record(res, "DiagonalBackward0_copy", (input,),
               lambda g: (_diag_place(g, shape, diagonal, 0, 1, "DiagonalBackwardBackward0"),))
    return res


@method("trace")
def trace(input: Tensor) -> Tensor:
    """Mirrors ``torch.trace``: the sum of a matrix's main diagonal (integers sum in int64)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype is _dtype.bool:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    dt = input.dtype if input.dtype.is_floating_point or input.dtype.is_complex \
        else _dtype.int64
    be = input._device._be
    d = _diagonal_data(input, 0, 0, 1)
    res = wrap(be.xp.sum(be.astype(d, dt) if dt is not input.dtype else d), dt, input._device)
    if GRAD.enabled and input._requires_grad:
        shape = input._data.shape
        length = min(shape)

        def back(g):
            return (_diag_place(g.expand(length), shape, 0, 0, 1, "TraceBackwardBackward0"),)
        record(res, "TraceBackward0", (input,), back)
    return res


# --- Tensor.unfold: sliding windows ---------------------------------------------------------

def _window_index(xp, n_out: int, size: int, step: int):
    """The positions along the dim that window i's element k reads, window-major (flat)."""
    idx = xp.reshape(xp.arange(n_out) * step, (-1, 1)) + xp.reshape(xp.arange(size), (1, -1))
    return xp.reshape(idx, (-1,))


def _windows_data(be, data, d: int, size: int, step: int, n_out: int):
    """The windows of ``data`` along ``d`` (window dim at ``d``, window elements last): a
    strided view where the backend's arrays have strides, else a gathered copy."""
    shape = tuple(data.shape)
    out = shape[:d] + (n_out,) + shape[d + 1:] + (size,)
    strides = getattr(data, "strides", None)
    tricks = getattr(getattr(be.xp, "lib", None), "stride_tricks", None)
    if be.mutable and strides is not None and hasattr(tricks, "as_strided"):
        new = strides[:d] + (strides[d] * step,) + strides[d + 1:] + (strides[d],)
        return tricks.as_strided(data, out, new)
    if be.mutable:  # a namespace over numpy without strides (array_api_strict): see below
        view = _host_windows(be, data, out, d, step)
        if view is not None:
            return view
    xp = be.xp
    taken = xp.take(data, _window_index(xp, n_out, size, step), axis=d)
    taken = xp.reshape(taken, shape[:d] + (n_out, size) + shape[d + 1:])
    order = tuple(i for i in range(len(out)) if i != d + 1) + (d + 1,)
    return xp.permute_dims(taken, order)


def _host_windows(be, data, out: tuple, d: int, step: int):
    """The windows as a strided numpy view wrapped back by the backend, where its
    ``to_numpy``/``from_numpy`` share memory with the base (as for ``diagonal``); else
    None."""
    import numpy as np
    host = np.asarray(be.to_numpy(data))
    if not host.flags.writeable:
        return None
    st = host.strides
    view = np.lib.stride_tricks.as_strided(host, out, st[:d] + (st[d] * step,) + st[d + 1:] +
                                           (st[d],))
    res = be.from_numpy(view, None)
    back = np.asarray(be.to_numpy(res))
    return res if back.size == 0 or np.shares_memory(back, host) else None


def _windows_flat(g, d: int):
    """(..., n_out at d, ..., size) -> (..., n_out * size at d, ...): the windows' elements in
    the order ``_window_index`` lists their positions."""
    return g.movedim(-1, d + 1).flatten(d, d + 1)


def _unfold_backward(g: Tensor, shape: tuple, d: int, size: int, step: int) -> Tensor:
    """Each window element's gradient added at the position it reads (overlaps sum)."""
    be = g._device._be
    n_out = g.shape[d]
    idx = wrap(_window_index(be.xp, n_out, size, step), _dtype.int64, g._device)
    zeros = wrap(_zeros(shape, g), g.dtype, g._device)
    return zeros.index_add(d, idx, _windows_flat(g, d))


@method("unfold")
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Mirrors ``Tensor.unfold(dimension, size, step)``: the windows ``[i*step, i*step +
    size)`` of dim ``dimension`` along a new last dim. A view (strided where the backend's
    arrays have strides, else a copy that writes back through the view machinery)."""
    if input.ndim == 0:
        if size > 1:
            raise RuntimeError(f"maximum size for tensor at dimension 0 is 1 but size is "
                               f"{size}")
        return reshape(input, (1,))[:size] if size == 0 else reshape(input, (1,))
    d = wrap_dim(dimension, input.ndim)
    n = input.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is "
                           f"{size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    n_out = (n - size) // step + 1
    be = input._device._be
    res = view_of(input, _windows_data(be, input._data, d, size, step, n_out))
    shape = tuple(input._data.shape)
    mark_view(res, input, (_WindowsView, d, size, step, shape))
    if GRAD.enabled and input._requires_grad:
        record(res, "UnfoldBackward0", (input,),
               lambda g: (_unfold_backward(g, shape, d, size, step),))
    return res


class _WindowsView(PartView):
    """``Tensor.unfold``'s windows as the part of the base a write through them replaces
    (where windows overlap, the last window's value of an element wins)."""

    __slots__ = ("d", "size", "step", "shape")

    def __init__(self, d: int, size: int, step: int, shape: tuple):
        self.d, self.size, self.step, self.shape = d, size, step, shape

    def _index(self, xp, n_out: int):
        return _window_index(xp, n_out, self.size, self.step)

    def layout(self, off: int, bs: tuple) -> tuple:
        """(offset, strides) of the windows of a base at ``off`` with strides ``bs``."""
        d = self.d
        return off, bs[:d] + (bs[d] * self.step,) + bs[d + 1:] + (bs[d],)

    def set(self, be, base, view):
        xp = be.xp
        d = self.d
        n_out = view.shape[d]
        flat = xp.moveaxis(view, -1, d + 1) if hasattr(xp, "moveaxis") else \
            xp.permute_dims(view, tuple(range(d + 1)) + (view.ndim - 1,) +
                            tuple(range(d + 1, view.ndim - 1)))
        flat = xp.reshape(flat, tuple(base.shape[:d]) + (n_out * self.size,) +
                          tuple(base.shape[d + 1:]))
        key = (slice(None),) * d + (self._index(xp, n_out),)
        return be.setitem(base, key, flat)

    def grads(self, keep: bool):
        d, size, step = self.d, self.size, self.step

        def fn(g):
            view_grad = unfold(g, d, size, step)
            if not keep:
                return None, view_grad
            be = g._device._be
            xp = be.xp
            n = g.shape[d]
            covered = be.setitem(xp.ones((n,), dtype=be.native_dtype(g.dtype)),
                                 (self._index(xp, view_grad.shape[d]),), 0)
            mask = wrap(xp.reshape(covered, (n,) + (1,) * (g.ndim - d - 1)), g.dtype,
                        g._device)
            return g * mask, view_grad
        return fn
