"""Linear algebra products: matmul (``@``), mm, bmm, mv, dot, vdot, outer, inner,
addmm, addmv, baddbmm, addbmm, tensordot, kron. Operands must share a dtype (no promotion,
as in PyTorch) and errors use PyTorch's wording for the kernel PyTorch would reach.
``einsum`` lives in ``einsum.py``."""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from ._register import attach
from ._util import GRAD, Tensor, method, record, reflected, same_device, wrap
from .shape import broadcast_shapes, expand_target, permute, reshape, squeeze, unsqueeze

__all__ = ["addbmm", "addmm", "addmv", "baddbmm", "bmm", "dot", "ger", "inner", "kron", "matmul",
           "mm", "mv", "outer", "tensordot", "vdot"]


def _tn(t: Tensor) -> str:
    return t.dtype.scalar_name


def _no_bool(t: Tensor, kernel: str) -> None:
    if t.dtype is _dtype.bool:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n


def _mm_dtype(a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.c_name} != {b.dtype.c_name}")


def _mm_shapes(sa, sb) -> None:
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and "
                           f"{sb[0]}x{sb[1]})")


def _mv_dtype(vec_or_in: Tensor, mat: Tensor, vec: Tensor) -> None:
    if not (vec_or_in.dtype is mat.dtype is vec.dtype):
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_tn(vec_or_in)}, {_tn(mat)}, and {_tn(vec)}")


def _mv_shapes(n_in: int, sm, sv) -> None:
    if sm[1] != sv[0] or n_in != sm[0]:
        raise RuntimeError(f"size mismatch, got input ({n_in}), mat ({sm[0]}x{sm[1]}), vec "
                           f"({sv[0]})")


def _bmm_shapes(sa, sb) -> None:
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{sa[0]}, {sa[2]}] but got: [{sb[0]}, {sb[1]}].")


def _dot_checks(a: Tensor, b: Tensor) -> None:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_tn(a)} and {_tn(b)}")
    na, nb = a._data.shape[0], b._data.shape[0]
    if na != nb:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{na}] and src [{nb}] to "
                           f"have the same number of elements, but got {na} and {nb} elements "
                           f"respectively")


def _product_backward(g, a, b, ra, rb):
    """Gradients of ``a @ b`` for any matmul shapes (batch broadcasting is summed away by
    the engine); conjugates make it right for complex too."""
    da, db = a.ndim, b.ndim
    if a.dtype.is_complex:
        a, b = a.conj(), b.conj()
    if da == 1 and db == 1:
        return (g * b if ra else None), (g * a if rb else None)
    a2 = unsqueeze(a, 0) if da == 1 else a
    b2 = unsqueeze(b, -1) if db == 1 else b
    g2 = g
    if da == 1:
        g2 = unsqueeze(g2, -2)
    if db == 1:
        g2 = unsqueeze(g2, -1)
    ga = matmul(g2, b2.mT) if ra else None
    gb = matmul(a2.mT, g2) if rb else None
    if ga is not None and da == 1:
        ga = squeeze(ga, -2)
    if gb is not None and db == 1:
        gb = squeeze(gb, -1)
    return ga, gb


def _record_product(res, name, a, b):
    ra, rb = a._requires_grad, b._requires_grad
    if ra or rb:
        record(res, name, (a, b), lambda g: _product_backward(g, a, b, ra, rb), saved=(a, b),
               holomorphic=False)  # _product_backward conjugates itself
    return res


# --- matmul --------------------------------------------------------------------------------

def _matmul_kernel(a: Tensor, b: Tensor) -> tuple:
    """(the PyTorch kernel a @ b reaches, whether it folds a batch into a matrix)."""
    na, nb = a.ndim, b.ndim
    if na <= 2 and nb <= 2:
        return {(1, 1): "dot", (2, 1): "mv"}.get((na, nb), "mm"), False
    larger_first = na >= nb
    small = nb if larger_first else na
    if small > 2:
        return "bmm", False
    # PyTorch's should_fold: fold the larger operand's batch into mm/mv rows when that
    # needs no copy (a contiguous larger first operand) or the smaller one needs a grad
    fold = (b if larger_first else a)._requires_grad or (
        na != 2 and (larger_first or _prod(b._data.shape) == 0 or b._data.shape[-2] == 1))
    if not fold:
        return "bmm", False
    return ("mv" if small == 1 else "mm"), True


def _matmul_error(a: Tensor, b: Tensor) -> Exception:
    """PyTorch's error for a @ b whose shapes do not fit (the message of the kernel that
    PyTorch's matmul dispatches to)."""
    sa, sb = a._data.shape, b._data.shape
    kernel, fold = _matmul_kernel(a, b)
    if kernel == "dot":
        try:
            _dot_checks(a, b)
        except RuntimeError as e:
            return e
    if not fold and kernel in ("mv", "mm"):
        ma = sa if len(sa) == 2 else (1, sa[0])
        try:
            _mv_shapes(sa[0], sa, sb) if kernel == "mv" else _mm_shapes(ma, sb)
        except RuntimeError as e:
            return e
    if fold:
        transpose = len(sb) > len(sa)
        t1 = sb[:-2] + (sb[-1], sb[-2]) if transpose else sa
        t2 = ((sa[1], sa[0]) if len(sa) == 2 else sa) if transpose else sb
        rows = _prod(t1[:-1])
        try:
            _mm_shapes((rows, t1[-1]), t2) if len(t2) == 2 else \
                _mv_shapes(rows, (rows, t1[-1]), t2)
        except RuntimeError as e:
            return e
    n = sa[-2] if len(sa) > 1 else 1
    m2 = sb[-2] if len(sb) > 1 else sb[0]
    try:
        batch = broadcast_shapes(sa[:-2], sb[:-2])
    except RuntimeError as e:
        return e
    count = _prod(batch)
    try:
        _bmm_shapes((count, n, sa[-1]), (count, m2, 0))
    except RuntimeError as e:
        return e
    return RuntimeError(f"matmul: shapes {list(sa)} and {list(sb)} cannot be multiplied")


_BOOL_KERNEL = {"dot": "dot", "mv": "addmv_impl_cpu", "mm": "addmm_impl_cpu_", "bmm": "bmm"}
_NAME = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4",
         (2, 2): "MmBackward0"}


def _matmul_dtype_error(a: Tensor, b: Tensor, kernel: str) -> Exception:
    if kernel == "dot":
        return RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                            f"{_tn(a)} and {_tn(b)}")
    if kernel == "mv":
        return RuntimeError(f"addmv input tensors must have the same dtype, but got {_tn(b)}, "
                            f"{_tn(a)}, and {_tn(b)}")
    if kernel == "mm":
        return RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                            f"{a.dtype.c_name} != {b.dtype.c_name}")
    return RuntimeError(f"expected scalar type {_tn(a)} but found {_tn(b)}")


@takes_out
@method("matmul", "__matmul__")
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.matmul``: 1-D/2-D/batched with broadcasting of batch dims."""
    if not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    dev = input._device
    if other._device is not dev:
        dev = same_device(input, other)
    a, b = input._data, other._data
    na, nb = len(a.shape), len(b.shape)
    if not na or not nb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    dt = input.dtype
    if dt is not other.dtype or dt is _dtype.bool:
        kernel = _matmul_kernel(input, other)[0]
        if dt is not other.dtype:
            raise _matmul_dtype_error(input, other, kernel)
        _no_bool(input, _BOOL_KERNEL[kernel])
    try:
        data = dev._be.xp.matmul(a, b)
    except Exception:  # noqa: BLE001 - any backend's shape complaint becomes PyTorch's
        raise _matmul_error(input, other) from None
    res = wrap(data, dt, dev)
    if GRAD.enabled and (input._requires_grad or other._requires_grad):
        _record_product(res, _NAME.get((na, nb), "UnsafeViewBackward0"), input, other)
    return res


def _rmatmul(self: Tensor, other) -> Tensor:
    return matmul(other, self)


# --- fixed-rank products -------------------------------------------------------------------

def _product(a: Tensor, b: Tensor, kernel: str, name: str) -> Tensor:
    """a @ b once the caller has checked ranks, dtypes and shapes as PyTorch's kernel
    does."""
    _no_bool(a, kernel)
    dev = same_device(a, b)
    res = wrap(dev._be.xp.matmul(a._data, b._data), a.dtype, dev)
    if GRAD.enabled:
        _record_product(res, name, a, b)
    return res


@takes_out
@method("mm")
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Mirrors ``torch.mm``: matrix @ matrix, no broadcasting."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _mm_dtype(input, mat2)
    _mm_shapes(input._data.shape, mat2._data.shape)
    return _product(input, mat2, "addmm_impl_cpu_", "MmBackward0")


@takes_out
@method("bmm")
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Mirrors ``torch.bmm``: batches of matrices, equal batch sizes, no broadcasting."""
    if input.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _bmm_shapes(input._data.shape, mat2._data.shape)
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"expected scalar type {_tn(input)} but found {_tn(mat2)}")
    return _product(input, mat2, "bmm", "BmmBackward0")


@takes_out
@method("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Mirrors ``torch.mv``: matrix @ vector."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, "
                           f"{vec.ndim}")
    _mv_dtype(vec, input, vec)
    sm = input._data.shape
    _mv_shapes(sm[0], sm, vec._data.shape)
    return _product(input, vec, "addmv_impl_cpu", "MvBackward0")


@takes_out
@method("dot")
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Mirrors ``torch.dot``: two 1-D tensors of one dtype and length (no conjugation)."""
    _dot_checks(input, tensor)
    return _product(input, tensor, "dot", "DotBackward0")


@takes_out
@method("vdot")
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.vdot``: like dot, with the first vector conjugated."""
    _dot_checks(input, other)
    _no_bool(input, "dot")
    dev = same_device(input, other)
    xp = dev._be.xp
    a = xp.conj(input._data) if input.dtype.is_complex else input._data
    res = wrap(xp.matmul(a, other._data), input.dtype, dev)
    if GRAD.enabled and (input._requires_grad or other._requires_grad):
        ra, rb = input._requires_grad, other._requires_grad
        cx = input.dtype.is_complex

        def back(g):
            ga = (g.conj() if cx else g) * other if ra else None
            gb = g * input if rb else None
            return ga, gb
        record(res, "VdotBackward0", (input, other), back, saved=(input, other),
               holomorphic=False)  # conj(input) is not holomorphic: back is PyTorch's
    return res


@method("outer", "ger")
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Mirrors ``torch.outer`` (``ger``): promotes dtypes, as PyTorch's mul-based outer does."""
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return unsqueeze(input, 1) * vec2


ger = outer


@takes_out
@method("inner")
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.inner``: sums over the last dims (a product with a 0-d operand)."""
    if not input.ndim or not other.ndim:
        return input * other
    if input.dtype is not other.dtype:
        raise RuntimeError("both inputs should have same dtype")
    sa, sb = input._data.shape, other._data.shape
    if sa[-1] != sb[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(sa)} and {list(sb)}")
    return tensordot(input, other, ([-1], [-1]))


@takes_out
def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Mirrors ``torch.tensordot``: ``dims`` an int (the last/first that many), a pair of
    lists, or a tensor of either. Built from permute, reshape and mm, as PyTorch does."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got "
                               f"dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    from ._util import wrap_dim
    da = [wrap_dim(d, a.ndim) for d in da]
    db = [wrap_dim(d, b.ndim) for d in db]
    sa, sb = a._data.shape, b._data.shape
    for x, y in zip(da, db):
        if sa[x] != sb[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{sa[x]} in dim {x} and second has size {sb[y]} in dim {y}")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [i for i in range(b.ndim) if i not in db]
    k = _prod(sa[i] for i in da)
    am = reshape(permute(a, fa + da), (_prod(sa[i] for i in fa), k))
    bm = reshape(permute(b, db + fb), (k, _prod(sb[i] for i in fb)))
    return reshape(mm(am, bm), tuple(sa[i] for i in fa) + tuple(sb[i] for i in fb))


@takes_out
@method("kron")
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Mirrors ``torch.kron`` (promotes dtypes): every product of an entry of ``input``
    with all of ``other``, laid out block-wise."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + input._data.shape
    sb = (1,) * (n - other.ndim) + other._data.shape
    a_shape, b_shape = [], []
    for x, y in zip(sa, sb):
        a_shape += [x, 1]
        b_shape += [1, y]
    prod = reshape(input, a_shape) * reshape(other, b_shape)
    return reshape(prod, tuple(x * y for x, y in zip(sa, sb)))


# --- fused multiply-adds -------------------------------------------------------------------

def _fused(input: Tensor, a: Tensor, b: Tensor, target: tuple, beta, alpha,
           batch_sum: bool = False) -> Tensor:
    """``beta * input + alpha * (a @ b)`` (summed over the batch for addbmm) with ``input``
    broadcast to ``target`` (PyTorch's expand error otherwise); ``beta == 0`` ignores
    input, NaNs included. Shapes and dtypes are checked by the caller."""
    if input._data.shape != target:
        expand_target(input, target)
    dev = same_device(a, b)
    xp = dev._be.xp
    data = xp.matmul(a._data, b._data)
    if batch_sum:
        data = xp.sum(data, axis=0)
    if alpha != 1:
        data = data * alpha
    if beta != 0:
        data = data + (input._data if beta == 1 else input._data * beta)
    dt = a.dtype
    if data.dtype != a._data.dtype:
        data = dev._be.astype(data, dt)
    return wrap(data, dt, dev)


def _scaled(t, s):
    # a gradient scaled by a complex beta/alpha takes its conjugate (PyTorch's convention)
    return t if s == 1 else t * (s.conjugate() if type(s) is complex else s)


def _record_fused(res, name, input, a, b, beta, alpha, reduce_batch=False):
    ri, ra, rb = input._requires_grad, a._requires_grad, b._requires_grad
    if not GRAD.enabled or not (ri or ra or rb):
        return res

    def back(g):
        gi = _scaled(g, beta) if ri else None
        gp = unsqueeze(g, 0).expand(a.shape[0], -1, -1) if reduce_batch else g
        ga, gb = _product_backward(gp, a, b, ra, rb)
        return gi, (_scaled(ga, alpha) if ga is not None else None), \
            (_scaled(gb, alpha) if gb is not None else None)
    record(res, name, (input, a, b), back, saved=(a, b),
           holomorphic=False)  # _product_backward and _scaled conjugate themselves
    return res


@takes_out
@method("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Mirrors ``torch.addmm``: ``beta * input + alpha * (mat1 @ mat2)``."""
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D tensor")
    for first, fname in ((input, "self"), (mat1, "mat1")):
        if first.dtype is not mat2.dtype:
            raise RuntimeError(f"{fname} and mat2 must have the same dtype, but got "
                               f"{_tn(first)} and {_tn(mat2)}")
    s1, s2 = mat1._data.shape, mat2._data.shape
    _mm_shapes(s1, s2)
    _no_bool(mat1, "addmm_impl_cpu_")
    res = _fused(input, mat1, mat2, (s1[0], s2[1]), beta, alpha)
    return _record_fused(res, "AddmmBackward0", input, mat1, mat2, beta, alpha)


@takes_out
@method("addmv")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Mirrors ``torch.addmv``: ``beta * input + alpha * (mat @ vec)``."""
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    _mv_dtype(input, mat, vec)
    sm = mat._data.shape
    n_in = input._data.shape[0] if input.ndim and input._data.shape[0] != 1 else sm[0]
    _mv_shapes(n_in, sm, vec._data.shape)
    _no_bool(mat, "addmv_impl_cpu")
    res = _fused(input, mat, vec, (sm[0],), beta, alpha)
    return _record_fused(res, "AddmvBackward0", input, mat, vec, beta, alpha)


def _batch_checks(input: Tensor, b1: Tensor, b2: Tensor) -> None:
    for name, m in (("batch1", b1), ("batch2", b2)):
        if m.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if input.dtype is not b1.dtype or input.dtype is not b2.dtype:
        if input.dtype is b1.dtype:
            raise RuntimeError(f"expected scalar type {_tn(b1)} but found {_tn(b2)}")
        raise RuntimeError(f"Input dtypes must be the same, got: input {input.dtype.c_name}, "
                           f"batch1: {b1.dtype.c_name}, batch2: {b2.dtype.c_name}")
    _no_bool(b1, "bmm")


@takes_out
@method("baddbmm")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Mirrors ``torch.baddbmm``: ``beta * input + alpha * bmm(batch1, batch2)``."""
    _batch_checks(input, batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    _bmm_shapes(s1, s2)
    res = _fused(input, batch1, batch2, (s1[0], s1[1], s2[2]), beta, alpha)
    return _record_fused(res, "BaddbmmBackward0", input, batch1, batch2, beta, alpha)


@takes_out(resize="silent")
@method("addbmm")
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """Mirrors ``torch.addbmm``: ``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _batch_checks(input, batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    if s1[0] != s2[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {s1[0]} "
                           f"and {s2[0]}")
    _bmm_shapes(s1, s2)
    res = _fused(input, batch1, batch2, (s1[1], s2[2]), beta, alpha, batch_sum=True)
    return _record_fused(res, "AddbmmBackward0", input, batch1, batch2, beta, alpha,
                              reduce_batch=True)


attach("__rmatmul__", reflected(_rmatmul))
