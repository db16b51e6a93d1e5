"""Shape ops that are views: reshape/view, permute, transpose, expand, squeeze, unsqueeze,
flatten, ravel, broadcast_tensors, atleast_Nd. On mutable backends the result shares memory
*and* the version counter with its base (as PyTorch views do), so an in-place change
through either is seen by autograd. ``reshape`` copies exactly where PyTorch does (when no
view can express the new shape); that copy is a fresh tensor, not a view."""
from __future__ import annotations

from .. import _dtype, _strides
from .._size import Size
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim
from ._views import EXPANDED, SAME, FullView, mark_view, view_of

__all__ = ["adjoint", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes",
           "broadcast_tensors", "broadcast_to", "expand", "expand_as", "flatten", "permute",
           "ravel", "reshape", "squeeze", "swapaxes", "swapdims", "t", "transpose", "unsqueeze",
           "view"]

_NOT_VIEWABLE = ("view size is not compatible with input tensor's size and stride (at least "
                 "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                 "instead.")


def _reshape_full(new: tuple, old: tuple, xp) -> FullView:
    return FullView(lambda t: reshape(t, new), lambda a: xp.reshape(a, old))


def _permute_full(order: tuple, inv: tuple, xp) -> FullView:
    return FullView(lambda t: permute(t, order), lambda a: xp.permute_dims(a, inv))


def _transpose_full(d0: int, d1: int, order: tuple, xp) -> FullView:
    return FullView(lambda t: transpose(t, d0, d1), lambda a: xp.permute_dims(a, order))


def _infer_shape(shape, numel):
    if -1 not in shape:  # the common case: fully given and valid
        known = 1
        for v in shape:
            if v < 0:
                break
            known *= v
        else:
            if known == numel:
                return shape
    shape = list(shape)
    neg = -1
    known = 1
    for i, s in enumerate(shape):
        if s == -1:
            if neg >= 0:
                raise RuntimeError("only one dimension can be inferred")
            neg = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {shape}")
        else:
            known *= s
    if neg >= 0:
        if known == 0:
            if numel == 0:
                raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {shape} "
                                   "because the unspecified dimension size -1 can be any value "
                                   "and is ambiguous")
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        if numel % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        shape[neg] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
    return tuple(shape)


def _sizes(args) -> tuple:
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``, ``f(Size)`` as a tuple of ints."""
    if len(args) == 1 and type(args[0]) is not int:
        args = tuple(args[0])
    for a in args:
        if type(a) is not int:
            return tuple(int(a) for a in args)
    return args


def _reshape_data(xp, data, new, input=None):
    """(array of the new shape, whether it is a view of ``data``)."""
    flags = getattr(data, "flags", None)
    if flags is not None and flags.c_contiguous:  # numpy/cupy fast path: surely a view
        return data.reshape(new), True
    if flags is None and input is not None:
        # a backend without strides: PyTorch's logical strides decide (``_strides``); where
        # they allow a view, the reshape is one (the views module carries writes back where
        # the array library does not share memory)
        if _strides.view_strides(data.shape, input.stride(), new) is None:
            return xp.reshape(data, new), False
        return xp.reshape(data, new), True
    try:
        return xp.reshape(data, new, copy=False), True
    except (ValueError, AttributeError):  # no strides express it (array_api_strict raises
        return xp.reshape(data, new), False  # AttributeError): PyTorch copies here too
    except TypeError:  # a namespace without ``copy=``: its reshape is as good as a view
        return xp.reshape(data, new), True


def _as_shape(input: Tensor, new: tuple, name: str, must_view: bool = False) -> Tensor:
    """``input`` seen with shape ``new`` (same numel): a view where strides allow."""
    old = input._data.shape
    if new == old:
        res = view_of(input, input._data)
        mark_view(res, input, SAME)
    else:
        data, is_view = _reshape_data(input._device._be.xp, input._data, new, input)
        if is_view:
            res = view_of(input, data)
            mark_view(res, input, (_reshape_full, new, old, input._device._be.xp))
        elif must_view:
            raise RuntimeError(_NOT_VIEWABLE)
        else:
            res, name = wrap(data, input.dtype, input._device), "UnsafeViewBackward0"
    if input._requires_grad and GRAD.enabled:
        record(res, name, (input,), lambda g: (reshape(g, old),))
    return res


@method("reshape")
def reshape(input: Tensor, *shape) -> Tensor:
    """Mirrors ``torch.reshape``: a view when strides allow, else a copy."""
    return _as_shape(input, _infer_shape(_sizes(shape), input._data.size), "ViewBackward0")


@method("view")
def view(input: Tensor, *shape) -> Tensor:
    """Mirrors ``Tensor.view``: always a view (PyTorch's error when strides forbid it);
    ``view(dtype)`` reinterprets the bits."""
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        return _view_dtype(input, shape[0])
    return _as_shape(input, _infer_shape(_sizes(shape), input._data.size), "ViewBackward0",
                     must_view=True)


def _view_dtype(input: Tensor, dt) -> Tensor:
    old, new = input.dtype.itemsize, dt.itemsize
    shape = input._data.shape
    if old != new and (not shape or (shape[-1] * old) % new):
        raise RuntimeError(f"self.size(-1) must be divisible by {new // old if new > old else 1}"
                           f" to view {input.dtype.scalar_name} as {dt.scalar_name} "
                           f"(different element sizes), but got {shape[-1] if shape else 0}")
    out = view_of(input, input._device._be.view_dtype(input._data, dt))
    out.dtype = dt
    out._base = None  # PyTorch: shares memory and version counter, yet is not a view
    return out


@method("view_as")
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``Tensor.view_as``."""
    return view(input, other.shape)


@method("reshape_as")
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``Tensor.reshape_as``."""
    return reshape(input, other.shape)


@method("ravel")
def ravel(input: Tensor) -> Tensor:
    """Mirrors ``torch.ravel``: flattened, a view where possible."""
    return _as_shape(input, (input.numel(),), "ViewBackward0")


@method("permute")
def permute(input: Tensor, *dims) -> Tensor:
    """Mirrors ``torch.permute``."""
    n = input.ndim
    order = tuple(wrap_dim(d, n) for d in _sizes(dims))
    if len(order) != n:
        # PyTorch's wording, "(sparse_coo)" included
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {n} is not equal to len(dims) = {len(order)}")
    if len(set(order)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    xp = input._device._be.xp
    res = view_of(input, xp.permute_dims(input._data, order))
    inv = [0] * n
    for i, p in enumerate(order):
        inv[p] = i
    mark_view(res, input, (_permute_full, order, tuple(inv), xp))
    if GRAD.enabled and input._requires_grad:
        record(res, "PermuteBackward0", (input,), lambda g: (permute(g, inv),))
    return res


@method("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Mirrors ``torch.transpose``."""
    return _transpose(input, dim0, dim1, "TransposeBackward0")


def _transpose(input: Tensor, dim0: int, dim1: int, name: str) -> Tensor:
    data = input._data
    n = len(data.shape)
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    if n < 2:
        res = view_of(input, data)
    else:
        order = list(range(n))
        order[d0], order[d1] = order[d1], order[d0]
        xp = input._device._be.xp
        # a matrix's transpose (matmul's backward, .t(), .mT): the array API's ``.T``
        # attribute, a fraction of the cost of a permute_dims call
        res = view_of(input, data.T if n == 2 and d0 != d1 else
                      xp.permute_dims(data, tuple(order)))
        mark_view(res, input, (_transpose_full, d0, d1, tuple(order), xp))
    if GRAD.enabled and input._requires_grad:
        record(res, name, (input,), lambda g: (transpose(g, d0, d1),))
    return res


swapaxes = swapdims = transpose


@method("t")
def t(input: Tensor) -> Tensor:
    """Mirrors ``torch.t``: transpose of a ≤2-D tensor."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return _transpose(input, 0, -1, "TBackward0")


@method("adjoint")
def adjoint(input: Tensor) -> Tensor:
    """Mirrors ``torch.adjoint``: conjugate transpose of the last two dims."""
    return input.mH


def broadcast_shapes(*shapes) -> Size:
    """Mirrors ``torch.broadcast_shapes``; the error names both shapes."""
    out: list = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i in range(1, len(shape) + 1):
            a, b = out[-i], shape[-i]
            if a == b or b == 1:
                continue
            if a == 1:
                out[-i] = b
            else:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                                   f"({b}) at non-singleton dimension {len(out) - i}")
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    """Mirrors ``torch.broadcast_tensors``: views expanded to one shape."""
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(x._data.shape for x in tensors))
    return tuple(expand(x, shape) for x in tensors)


@method("expand")
def expand(input: Tensor, *sizes) -> Tensor:
    """Mirrors ``Tensor.expand`` (-1 keeps a dimension)."""
    old = input._data.shape
    target = expand_target(input, _sizes(sizes))
    if target == old:
        res = view_of(input, input._data)
    else:
        data = input._device._be.xp.broadcast_to(input._data, target)
        res = view_of(input, data)
        if data.size != input._data.size:
            mark_view(res, input, EXPANDED)  # elements repeat: PyTorch refuses writes into it
    if GRAD.enabled and input._requires_grad:
        record(res, "ExpandBackward0", (input,), lambda g: (g,))  # the engine sums back
    return res


def expand_target(input: Tensor, sizes: tuple) -> tuple:
    """The shape ``input.expand(*sizes)`` has (-1 resolved), or PyTorch's error."""
    old = input._data.shape
    if len(sizes) < len(old):
        raise RuntimeError(f"expand({input.type()}{{{list(old)}}}, size={list(sizes)}): the "
                           f"number of sizes provided ({len(sizes)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({len(old)})")
    lead = len(sizes) - len(old)
    target = list(sizes)
    for i in range(lead):
        if sizes[i] < 0:
            raise RuntimeError(f"The expanded size of the tensor ({sizes[i]}) isn't allowed in "
                               f"a leading, non-existing dimension {i}")
    for i, s in enumerate(old):
        want = sizes[lead + i]
        if want == -1:
            target[lead + i] = s
        elif s != want and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}.  "
                               f"Target sizes: {list(sizes)}.  Tensor sizes: {list(old)}")
    return tuple(target)


@method("expand_as")
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``Tensor.expand_as``."""
    return expand(input, other.shape)


@method("broadcast_to")
def broadcast_to(input: Tensor, size) -> Tensor:
    """Mirrors ``torch.broadcast_to``."""
    return expand(input, tuple(size))


@method("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Mirrors ``torch.unsqueeze``."""
    shape = input._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    return _as_shape(input, shape[:d] + (1,) + shape[d:], "UnsqueezeBackward0")


@method("squeeze")
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Mirrors ``torch.squeeze`` (``dim`` None, an int or a tuple of ints)."""
    shape = input._data.shape
    n = len(shape)
    if dim is None:
        axes, name = {i for i, s in enumerate(shape) if s == 1}, "SqueezeBackward0"
    else:
        if isinstance(dim, int):
            ds, name = (dim,), "SqueezeBackward1"
        else:
            ds, name = tuple(dim), "SqueezeBackward2"
        axes = set()
        for d in ds:
            a = wrap_dim(d, n)
            if a in axes:
                raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
            axes.add(a)
        if n:
            axes = {a for a in axes if shape[a] == 1}
        else:
            axes = set()
    return _as_shape(input, tuple(s for i, s in enumerate(shape) if i not in axes), name)


@method("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Mirrors ``torch.flatten``: returns ``input`` itself when there is nothing to merge,
    as PyTorch does."""
    shape = input._data.shape
    n = len(shape)
    if n == 0:
        return _as_shape(input, (1,), "ViewBackward0")
    s, e = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    mid = 1
    for x in shape[s:e + 1]:
        mid *= x
    return _as_shape(input, shape[:s] + (mid,) + shape[e + 1:], "ViewBackward0")


def _atleast(n: int, tensors):
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
        many = True
    else:
        many = len(tensors) != 1
    out = []
    for x in tensors:
        shape = x._data.shape
        if len(shape) >= n:
            out.append(x)
        elif n == 3 and len(shape) == 2:
            out.append(unsqueeze(x, -1))  # PyTorch's (m, n) -> (m, n, 1)
        elif n == 3 and len(shape) == 1:
            out.append(reshape(x, (1,) + shape + (1,)))
        else:
            out.append(reshape(x, (1,) * (n - len(shape)) + shape))
    return tuple(out) if many else out[0]


def atleast_1d(*tensors):
    """Mirrors ``torch.atleast_1d``."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Mirrors ``torch.atleast_2d``."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Mirrors ``torch.atleast_3d``: 2-D (m, n) becomes (m, n, 1), 1-D (n) becomes (1, n, 1)."""
    return _atleast(3, tensors)
