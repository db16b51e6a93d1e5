"""Sparse COO tensors: ``torch.sparse_coo_tensor``, ``Tensor.to_sparse``/``to_dense``,
``coalesce``, and the sparse @ dense product graph networks use.

A :class:`SparseTensor` is a Tensor subclass holding an int64 ``indices`` tensor
(``sparse_dim x nnz``) and a ``values`` tensor (``nnz x dense dims``) on the backend; it has a
shape, dtype and device like any tensor but no dense array (its ``_data`` only carries the
shape). Autograd goes through the values tensor: every op here is written with ordinary
differentiable ops on it (gathers, ``index_add``), so gradients reach the values (and a
dense operand) without a sparse engine. A sparse leaf made to require grad
(``sparse_coo_tensor(...).requires_grad_()``) gets its gradient as a sparse tensor with its
own indices. On numpy with scipy installed, sparse @ dense runs through ``scipy.sparse``.

Deliberate differences from PyTorch: the gradient of a sparse operand of ``torch.mm``/``@``
is sparse (PyTorch's is dense there, sparse for ``torch.sparse.mm``); only 2-D sparse
matrices with scalar values multiply dense matrices.
"""
from __future__ import annotations

from .. import _dtype
from .._size import Size
from .._tensor import Tensor, wrap
from ..autograd.graph import record
from ..autograd.grad_mode import STATE as GRAD, no_grad
from ._layout import sparse_coo, strided

__all__ = ["SparseTensor", "sparse_coo_tensor", "mm", "spmm", "sum", "softmax",
           "log_softmax"]

class _Shape:
    """What a sparse tensor keeps in ``_data``: only the shape (dense code reading
    ``_data.shape`` sees the logical size)."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple):
        self.shape = shape


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout == torch.sparse_coo``). Build it with
    :func:`sparse_coo_tensor` or ``Tensor.to_sparse()``."""

    is_sparse = True
    layout = sparse_coo

    # --- autograd: through the values tensor ----------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._v._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "SparseTensor":
        self._v.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._v._grad_fn if self._from_graph else None

    @property
    def is_leaf(self) -> bool:
        return not self._from_graph or self._v._grad_fn is None

    @property
    def grad(self):
        g = self._v.grad if not self._from_graph else None
        return None if g is None else _make(self._i, g, self._data.shape, self._coalesced)

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._v.grad = None
        elif isinstance(value, SparseTensor):
            self._v.grad = value.sparse_mask(self)._v
        else:
            raise RuntimeError("ember: a sparse tensor's grad must be a sparse tensor or None")

    def detach(self) -> "SparseTensor":
        return _make(self._i, self._v.detach(), self._data.shape, self._coalesced)

    # --- structure ----------------------------------------------------------------------------
    def sparse_dim(self) -> int:
        """Mirrors ``Tensor.sparse_dim``: the number of indexed dims."""
        return int(self._i.shape[0])

    def dense_dim(self) -> int:
        """Mirrors ``Tensor.dense_dim``: the number of dims each value has."""
        return self._v.ndim - 1

    def _nnz(self) -> int:
        """Mirrors ``Tensor._nnz``: the number of stored entries (duplicates counted)."""
        return int(self._i.shape[1])

    def is_coalesced(self) -> bool:
        """Mirrors ``Tensor.is_coalesced``: indices known sorted and unique."""
        return self._coalesced

    def _indices(self) -> Tensor:
        return self._i

    def _values(self) -> Tensor:
        return self._v

    def indices(self) -> Tensor:
        """Mirrors ``Tensor.indices`` (coalesced tensors only, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._i

    def values(self) -> Tensor:
        """Mirrors ``Tensor.values`` (coalesced tensors only, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._v

    def coalesce(self) -> "SparseTensor":
        """Mirrors ``Tensor.coalesce``: indices sorted and unique, duplicates' values
        summed (differentiably)."""
        if self._coalesced:
            return self
        _check_bounds(self._i, self._data.shape[:self.sparse_dim()])
        lin = _linear(self._i, self._data.shape[:self.sparse_dim()])
        uniq, inv = lin.unique(return_inverse=True)
        vals = self._v.new_zeros((uniq.shape[0],) + tuple(self._v.shape[1:])).index_add(
            0, inv, self._v)
        return _make(_unravel(uniq, self._data.shape[:self.sparse_dim()]), vals,
                     self._data.shape, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """Mirrors ``Tensor.to_dense``: the dense tensor (duplicates summed)."""
        sd = self.sparse_dim()
        ssize = self._data.shape[:sd]
        _check_bounds(self._i, ssize)
        n = 1
        for s in ssize:
            n *= s
        flat = self._v.new_zeros((n,) + tuple(self._v.shape[1:]))
        out = flat.index_add(0, _linear(self._i, ssize), self._v).reshape(self._data.shape)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if layout not in (None, sparse_coo):
            raise NotImplementedError(f"ember: only the sparse COO layout, not {layout}")
        return self

    to_sparse_coo = to_sparse

    def sparse_mask(self, mask: "SparseTensor") -> "SparseTensor":
        """Mirrors ``Tensor.sparse_mask``: this tensor's values at ``mask``'s indices."""
        dense = self.to_dense() if isinstance(self, SparseTensor) else self
        idx = tuple(mask._i[d] for d in range(mask.sparse_dim()))
        return _make(mask._i, dense[idx], mask._data.shape, mask._coalesced)

    def t(self) -> "SparseTensor":
        """Mirrors ``Tensor.t`` for a 2-D sparse matrix: the indices' rows swapped."""
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions,"
                               f" but self is {self.sparse_dim()} sparse and {self.dense_dim()}"
                               " dense")
        s = self._data.shape
        return _make(self._i.flip(0), self._v, (s[1], s[0]), False)

    def transpose(self, dim0: int, dim1: int) -> "SparseTensor":
        d = sorted(x % self.ndim for x in (dim0, dim1))
        if d == [0, 1] and self.ndim == 2:
            return self.t()
        raise NotImplementedError("ember: sparse transpose of a 2-D matrix only")

    # --- products -----------------------------------------------------------------------------
    def mm(self, mat2: Tensor) -> Tensor:
        return mm(self, mat2)

    def matmul(self, other: Tensor) -> Tensor:
        if other.ndim == 1:
            return mm(self, other.unsqueeze(1)).squeeze(1)
        return mm(self, other)

    __matmul__ = matmul

    # --- conversions and arithmetic on values ---------------------------------------------------
    def to(self, *args, **kwargs) -> "SparseTensor":
        v = self._v.to(*args, **kwargs)
        i = self._i.to(v.device) if v.device != self._i.device else self._i
        return self if v is self._v else _make(i, v, self._data.shape, self._coalesced)

    def cpu(self) -> "SparseTensor":
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False) -> "SparseTensor":
        return self.to("cuda" if device is None else device)

    def float(self) -> "SparseTensor":
        return self.to(_dtype.float32)

    def double(self) -> "SparseTensor":
        return self.to(_dtype.float64)

    def clone(self, *, memory_format=None) -> "SparseTensor":
        return _make(self._i.clone(), self._v.clone(), self._data.shape, self._coalesced)

    def __mul__(self, other):
        if isinstance(other, Tensor):
            return NotImplemented if not other.ndim else \
                _make(self._i, self._v * other, self._data.shape, self._coalesced)
        return _make(self._i, self._v * other, self._data.shape, self._coalesced)

    __rmul__ = __mul__
    mul = __mul__

    def __truediv__(self, other):
        return _make(self._i, self._v / other, self._data.shape, self._coalesced)

    div = __truediv__

    def __neg__(self):
        return _make(self._i, -self._v, self._data.shape, self._coalesced)

    def __add__(self, other):
        if not isinstance(other, SparseTensor):
            if isinstance(other, Tensor):
                return self.to_dense() + other
            return NotImplemented
        if tuple(other.shape) != tuple(self.shape):
            raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self "
                               f"has size {list(self.shape)} while other has size "
                               f"{list(other.shape)}")
        from ..ops.joining import cat
        return _make(cat([self._i, other._i], 1), cat([self._v, other._v], 0),
                     self._data.shape, False)

    add = __add__

    def __sub__(self, other):
        return self + (-other)

    def __repr__(self, *, tensor_contents=None) -> str:
        ind = "       "
        i = repr(self._i).replace("\n", "\n" + ind + " " * len("indices="))
        v = repr(self._v).replace("\n", "\n" + ind + " " * len("values="))
        extra = ""
        if self._v.dtype is not _dtype.get_default_dtype():
            extra = f", dtype={self._v.dtype!r}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return (f"tensor(indices={i},\n{ind}values={v},\n{ind}size={tuple(self._data.shape)}, "
                f"nnz={self._nnz()}, layout=torch.sparse_coo{extra})")

    __str__ = __repr__


def _make(indices: Tensor, values: Tensor, size, coalesced: bool) -> SparseTensor:
    """A sparse tensor over ``indices``/``values`` (taken as they are)."""
    t = object.__new__(SparseTensor)
    t._data = _Shape(Size(tuple(size)))
    t.dtype = values.dtype
    t._device = values._device
    t._grad_fn, t._requires_grad = None, False
    Tensor.__dict__["grad"].__set__(t, None)  # the slot (SparseTensor.grad is a property)
    t._vc, t._out_nr, t._accum, t._base, t._view_src = None, 0, None, None, None
    t.__dict__.update(_i=indices, _v=values, _coalesced=bool(coalesced),
                      _from_graph=values._grad_fn is not None)
    return t


# --- index arithmetic ----------------------------------------------------------------------------
def _linear(indices: Tensor, size: tuple) -> Tensor:
    """Row-major linear positions of the index columns in a tensor of ``size``."""
    lin = None
    for d, s in enumerate(size):
        lin = indices[d] if lin is None else lin * s + indices[d]
    return lin if lin is not None else indices.new_zeros((indices.shape[1],))


def _unravel(lin: Tensor, size: tuple) -> Tensor:
    from ..ops.joining import stack
    cols = []
    for s in reversed(size):
        cols.append(lin % s)
        lin = lin // s
    if not cols:
        return lin.reshape(0, -1)
    return stack(cols[::-1], 0)


def _check_bounds(indices: Tensor, size: tuple) -> None:
    """PyTorch's invariant errors for indices outside ``size`` (untrusted input reaches
    here: a bad index must not wrap around or index out of a buffer)."""
    if not indices.shape[1]:
        return
    lo = indices.amin(1).tolist()
    hi = indices.amax(1).tolist()
    for d, s in enumerate(size):
        if lo[d] < 0:
            raise RuntimeError(f"found negative index {lo[d]} for dim {d}")
        if hi[d] >= s:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {s} "
                               f"but found index {hi[d]}")


# --- construction ---------------------------------------------------------------------------------
def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseTensor:
    """Mirrors ``torch.sparse_coo_tensor``: a sparse tensor with ``values[k]`` at
    ``indices[:, k]``. Without ``size`` the size is the indices' maxima plus one. Invariants
    (no negative index, every index inside ``size``) are checked when ``check_invariants``
    is set, and whenever the tensor is densified or coalesced."""
    from .._creation import as_tensor
    i = indices if isinstance(indices, Tensor) else as_tensor(indices, device=device)
    v = values if isinstance(values, Tensor) else as_tensor(values, dtype=dtype, device=device)
    if device is not None:
        v, i = v.to(device), i.to(device)
    if dtype is not None and v.dtype is not dtype:
        v = v.to(dtype)
    if i.dtype is not _dtype.int64:
        if i.dtype.is_floating_point or i.dtype.is_complex or i.dtype is _dtype.bool:
            raise RuntimeError("indices must be an int64 tensor")
        i = i.to(_dtype.int64)
    if i.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(i.shape)}")
    if v.ndim < 1:
        raise RuntimeError(f"values must have at least 1 dimension (nnz), got {v.ndim}")
    nnz = int(i.shape[1])
    if int(v.shape[0]) != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {int(v.shape[0])}")
    sd, dd = int(i.shape[0]), v.ndim - 1
    if size is None:
        if nnz:
            lo = i.amin(1).tolist()
            for d in range(sd):
                if lo[d] < 0:
                    raise RuntimeError(f"found negative index {lo[d]} for dim {d}")
            size = tuple(int(m) + 1 for m in i.amax(1).tolist())
        else:
            size = (0,) * sd
        size = size + tuple(v.shape[1:])
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sd + dd:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: "
                               f"len(size) = {len(size)}, sparse_dim = {sd}, dense_dim = {dd}")
        if tuple(v.shape[1:]) != size[sd:]:
            raise RuntimeError(f"values has incorrect size, expected {[nnz] + list(size[sd:])}"
                               f", got {list(v.shape)}")
        if check_invariants:
            _check_bounds(i, size[:sd])
    if v._requires_grad and GRAD.enabled:
        # the values' graph goes on through the sparse tensor (a non-leaf, as in PyTorch)
        src = v
        v = wrap(src._data, src.dtype, src._device)
        record(v, "SparseCooTensorWithDimsAndTensorsBackward0", (src,), lambda g: (g,))
    else:
        v = v.detach()  # the sparse tensor is its own leaf (its values alias the input's)
    if requires_grad:
        v.requires_grad_(True)
    return _make(i, v, size, bool(is_coalesced) if is_coalesced is not None else nnz <= 1)


def to_sparse(self: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None,
              dense_dim: int | None = None) -> SparseTensor:
    """Mirrors ``Tensor.to_sparse``: the non-zero entries as a coalesced sparse COO tensor
    (the first ``sparse_dim`` dims indexed, the rest dense in each value). Differentiable:
    the values are gathered from the dense tensor."""
    if layout not in (None, sparse_coo):
        raise NotImplementedError(f"ember: only the sparse COO layout, not {layout}")
    sd = self.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 <= sd <= self.ndim:
        raise RuntimeError(f"sparse_dim must be in [0, {self.ndim}], got {sd}")
    mask = self != 0
    if sd < self.ndim:
        mask = mask.reshape(tuple(self.shape[:sd]) + (-1,)).any(-1)
    idx = mask.nonzero().t() if sd else self.new_zeros((0, 1), dtype=_dtype.int64)
    vals = self[tuple(idx[d] for d in range(sd))] if sd else self.unsqueeze(0)
    return _make(idx, vals, tuple(self.shape), True)


# --- products and reductions ----------------------------------------------------------------------
def _scipy_product(s: SparseTensor, dense: Tensor):
    """``s @ dense`` by scipy.sparse when the arrays are numpy's (None otherwise)."""
    import numpy as np
    if type(dense._data) is not np.ndarray or type(s._v._data) is not np.ndarray:
        return None
    try:
        import scipy.sparse as sp
    except ImportError:
        return None
    rows, cols = s._i._data
    m = sp.csr_matrix((s._v._data, (rows, cols)), shape=tuple(s._data.shape))
    return np.asarray(m @ dense._data, dtype=dense._data.dtype)


def mm(mat1, mat2: Tensor) -> Tensor:
    """Mirrors ``torch.sparse.mm`` (and ``torch.mm``/``matmul``/``@`` with a sparse left
    operand): a 2-D sparse matrix times a dense matrix, a dense result. Gradients reach the
    dense matrix (``S.t() @ g``) and the sparse values (``g[row] . dense[col]``)."""
    if not isinstance(mat1, SparseTensor):
        from ..ops.linalg import mm as dense_mm
        return dense_mm(mat1, mat2.to_dense() if isinstance(mat2, SparseTensor) else mat2)
    if isinstance(mat2, SparseTensor):
        mat2 = mat2.to_dense()
    if mat1.sparse_dim() != 2 or mat1.dense_dim():
        raise RuntimeError("ember: sparse @ dense needs a 2-D sparse matrix with scalar values")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    m, k = mat1._data.shape
    if mat2.shape[0] != k:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"expected scalar type {mat2.dtype.scalar_name} but found "
                           f"{mat1.dtype.scalar_name}")
    v, rows, cols = mat1._v, mat1._i[0], mat1._i[1]
    with no_grad():
        _check_bounds(mat1._i, (m, k))
        data = _scipy_product(mat1, mat2)
        if data is None:
            out = mat2.new_zeros((m, mat2.shape[1])).index_add(
                0, rows, v.unsqueeze(1) * mat2.index_select(0, cols))
        else:
            out = wrap(data, mat2.dtype, mat2._device)
    if GRAD.enabled and (v._requires_grad or mat2._requires_grad):
        st = mat1.t()

        def fn(g):
            gv = (g.index_select(0, rows) * mat2.index_select(0, cols)).sum(1) \
                if v._requires_grad else None
            return gv, (mm(st, g) if mat2._requires_grad else None)
        record(out, "SparseAddmmBackward0", (v, mat2), fn, saved=(v, mat2))
    return out


spmm = mm


def sum(input: SparseTensor, dim=None, dtype=None) -> Tensor:  # noqa: A001
    """Mirrors ``torch.sparse.sum``: all entries (a dense 0-d tensor), or over ``dim``
    (a sparse tensor over the dims left; dense when every sparse dim is summed)."""
    if not isinstance(input, SparseTensor):
        raise RuntimeError("torch.sparse.sum expects a sparse tensor")
    v = input._v if dtype is None else input._v.to(dtype)
    if dim is None:
        return v.sum()
    dims = sorted({d % input.ndim for d in ((dim,) if isinstance(dim, int) else dim)})
    sd = input.sparse_dim()
    sparse_sum = [d for d in dims if d < sd]
    dense_sum = [d - sd + 1 for d in dims if d >= sd]
    if dense_sum:
        v = v.sum(dense_sum)
    keep = [d for d in range(sd) if d not in sparse_sum]
    size = tuple(s for d, s in enumerate(input.shape) if d not in dims)
    if not keep:
        return v.sum(0)
    if not sparse_sum:
        return _make(input._i, v, size, input._coalesced)
    return _make(input._i[keep], v, size, False).coalesce()


def _grouped(input: SparseTensor, dim: int):
    """(coalesced input, group id of each entry): entries sharing every index but ``dim``'s
    form one group."""
    s = input.coalesce()
    sd = s.sparse_dim()
    if s.dense_dim():
        raise NotImplementedError("ember: sparse softmax over scalar values only")
    d = dim % s.ndim
    others = [k for k in range(sd) if k != d]
    if not others:
        return s, s._i.new_zeros((s._nnz(),))
    lin = _linear(s._i[others], tuple(s.shape[k] for k in others))
    return s, lin.unique(return_inverse=True)[1]


def _shifted(input: SparseTensor, dim: int, dtype):
    """(s, each stored entry's group along ``dim``, the group count, the values less their
    group's maximum), or (s, None, 0, the values) when nothing is stored."""
    s, grp = _grouped(input, dim)
    v = s._v if dtype is None else s._v.to(dtype)
    if not s._nnz():
        return s, None, 0, v
    n = int(grp.max()) + 1
    with no_grad():
        top = v.new_full((n,), float("-inf")).scatter_reduce(0, grp, v, "amax")
    return s, grp, n, v - top[grp]


def softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Mirrors ``torch.sparse.softmax``: softmax along ``dim`` over the stored entries only
    (missing entries count as minus infinity), differentiable through the values."""
    s, grp, n, z = _shifted(input, dim, dtype)
    if grp is None:
        return _make(s._i, z, s.shape, True)
    e = z.exp()
    tot = e.new_zeros((n,)).index_add(0, grp, e)
    return _make(s._i, e / tot[grp], s.shape, True)


def log_softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Mirrors ``torch.sparse.log_softmax``: the log of :func:`softmax`, computed stably."""
    s, grp, n, z = _shifted(input, dim, dtype)
    if grp is None:
        return _make(s._i, z, s.shape, True)
    lse = z.exp().new_zeros((n,)).index_add(0, grp, z.exp()).log()
    return _make(s._i, z - lse[grp], s.shape, True)


# --- the dense side: Tensor.is_sparse, layout, to_sparse, to_dense --------------------------------
def _attach() -> None:
    from ..ops._register import attach, method
    attach("is_sparse", property(lambda self: False))
    attach("layout", property(lambda self: strided))
    method("to_sparse", "to_sparse_coo")(to_sparse)

    @method("to_dense")
    def to_dense(self: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
        """Mirrors ``Tensor.to_dense``: a dense tensor is its own dense form."""
        return self if dtype is None else self.to(dtype)


_attach()
