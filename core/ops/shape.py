"""Shape ops that are views: reshape/view, permute, transpose, expand, squeeze, unsqueeze,
flatten. On mutable backends the result shares memory *and* the version counter with its
base (as PyTorch views do), so an in-place change through either is seen by autograd."""
from __future__ import annotations

from .._size import Size
from ._util import GRAD, Tensor, method, record, wrap, wrap_dim

__all__ = ["reshape", "view", "permute", "transpose", "swapaxes", "swapdims", "expand",
           "expand_as", "broadcast_to", "broadcast_shapes", "unsqueeze", "squeeze", "flatten",
           "t", "view_of"]


def view_of(base: Tensor, data) -> Tensor:
    """Wrap ``data`` (a view of base's array) as a tensor sharing base's version counter."""
    out = wrap(data, base.dtype, base._device)
    if base._vc is None:
        base._vc = [0]
    out._vc = base._vc
    out._base = base if base._base is None else base._base
    return out


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _sizes(args):
    if len(args) == 1 and not isinstance(args[0], int):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


@method("reshape")
def reshape(input: Tensor, *shape) -> Tensor:
    """Mirrors ``torch.reshape``."""
    old = input._data.shape
    new = _infer_shape(_sizes(shape), input.numel())
    if new == old:
        res = view_of(input, input._data)
    else:
        res = view_of(input, input._device._be.xp.reshape(input._data, new))
    if GRAD.enabled and input._requires_grad:
        record(res, "ViewBackward0", (input,), lambda g: (reshape(g, old),))
    return res


@method("view")
def view(input: Tensor, *shape) -> Tensor:
    """Mirrors ``Tensor.view`` (shape form; ``view(dtype)`` reinterprets bits)."""
    from .. import _dtype
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        dt = shape[0]
        be = input._device._be
        return wrap(input._data.view(be.native_dtype(dt)), dt, input._device)
    return reshape(input, *shape)


@method("view_as")
def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


@method("reshape_as")
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


@method("permute")
def permute(input: Tensor, *dims) -> Tensor:
    """Mirrors ``torch.permute``."""
    n = input.ndim
    order = tuple(wrap_dim(d, n) for d in _sizes(dims))
    if len(order) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {n} is not equal to len(dims) = {len(order)}"
                           .replace("(sparse_coo)", ""))
    if len(set(order)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    res = view_of(input, input._device._be.xp.permute_dims(input._data, order))
    if GRAD.enabled and input._requires_grad:
        inv = [0] * n
        for i, p in enumerate(order):
            inv[p] = i
        record(res, "PermuteBackward0", (input,), lambda g: (permute(g, inv),))
    return res


@method("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Mirrors ``torch.transpose``."""
    n = input.ndim
    if n == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return view_of(input, input._data)
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    order = list(range(n))
    order[d0], order[d1] = order[d1], order[d0]
    res = view_of(input, input._device._be.xp.permute_dims(input._data, tuple(order)))
    if GRAD.enabled and input._requires_grad:
        record(res, "TransposeBackward0", (input,), lambda g: (transpose(g, d0, d1),))
    return res


swapaxes = swapdims = transpose


@method("t")
def t(input: Tensor) -> Tensor:
    """Mirrors ``torch.t``: transpose of a ≤2-D tensor."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


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


@method("expand")
def expand(input: Tensor, *sizes) -> Tensor:
    """Mirrors ``Tensor.expand`` (-1 keeps a dimension)."""
    sizes = _sizes(sizes)
    old = input._data.shape
    if len(sizes) < len(old):
        raise RuntimeError(f"expand({input.type()}{{{list(old)}}}, size={list(sizes)}): the "
                           "number of sizes provided ({}) must be greater or equal to the number "
                           "of dimensions in the tensor ({})".format(len(sizes), len(old)))
    lead = len(sizes) - len(old)
    target = list(sizes)
    for i, s in enumerate(old):
        want = sizes[lead + i]
        if want == -1:
            target[lead + i] = s
        elif s != want and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}.  "
                               f"Target sizes: {list(sizes)}.  Tensor sizes: {list(old)}")
    target = tuple(target)
    if target == old:
        return input
    res = view_of(input, input._device._be.xp.broadcast_to(input._data, target))
    if GRAD.enabled and input._requires_grad:
        record(res, "ExpandBackward0", (input,), lambda g: (g,))  # the engine sums back
    return res


@method("expand_as")
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


@method("broadcast_to")
def broadcast_to(input: Tensor, size) -> Tensor:
    """Mirrors ``torch.broadcast_to``."""
    return expand(input, tuple(size))


@method("unsqueeze")
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Mirrors ``torch.unsqueeze``."""
    n = input.ndim
    d = wrap_dim(dim, n + 1)
    shape = input._data.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


@method("squeeze")
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Mirrors ``torch.squeeze`` (``dim`` None, an int or a tuple)."""
    shape = input._data.shape
    n = len(shape)
    if dim is None:
        axes = {i for i, s in enumerate(shape) if s == 1}
    else:
        ds = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = {wrap_dim(d, n) for d in ds} if n else set()
        axes = {a for a in axes if shape[a] == 1}
    if not axes:
        return reshape(input, shape)
    return reshape(input, tuple(s for i, s in enumerate(shape) if i not in axes))


@method("flatten")
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Mirrors ``torch.flatten``."""
    shape = input._data.shape
    n = len(shape)
    if n == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    mid = 1
    for x in shape[s:e + 1]:
        mid *= x
    return reshape(input, shape[:s] + (mid,) + shape[e + 1:])
