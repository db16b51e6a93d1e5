"""In-place ops (``add_``, ``x[i] = v``, ...): how a result goes back into its tensor.

Without autograd the result is written into the existing array (augmented assignment, so
numpy/cupy mutate the buffer and anything aliasing it sees the change; JAX rebinds). With
autograd the op runs out of place on a shallow copy that keeps the old value and grad_fn,
and the tensor takes the result and its grad_fn; either way the version counter is bumped,
which is how autograd detects a saved tensor modified later (PyTorch's error).
"""
from __future__ import annotations

from .. import _dtype
from ..autograd import graph as _graph
from ._util import GRAD, Tensor, wrap
from ._views import check_write, propagate

__all__ = ["check_inplace", "shallow", "commit", "run_inplace", "can_cast"]

_LEAF_ERR = ("a leaf Variable that requires grad is being used in an in-place operation.")
_VIEW_LEAF_ERR = ("a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation.")


def can_cast(frm, to) -> bool:
    """PyTorch's in-place rule: no float into int, no complex into real, nothing into bool
    except bool."""
    if frm._cat > to._cat:
        return False
    return True


def check_inplace(self: Tensor, result_dtype) -> None:
    if result_dtype is not self.dtype and not can_cast(result_dtype, self.dtype):
        raise RuntimeError(f"result type {result_dtype.scalar_name} can't be cast to the "
                           f"desired output type {self.dtype.scalar_name}")
    if GRAD.enabled and self._requires_grad and self._grad_fn is None:
        base = self._base
        raise RuntimeError(_VIEW_LEAF_ERR if base is not None and base._requires_grad
                           else _LEAF_ERR)


def shallow(self: Tensor) -> Tensor:
    """A stand-in holding self's current value and place in the graph."""
    t = wrap(self._data, self.dtype, self._device)
    t._grad_fn, t._requires_grad, t._out_nr, t._accum = (self._grad_fn, self._requires_grad,
                                                        self._out_nr, self._accum)
    t._vc = [self._vc[0] if self._vc is not None else 0]
    if _graph.FORWARD is not None:  # a dual level is open: and its tangent
        from ..autograd.forward_ad import rebind_tangent
        rebind_tangent(t, self)
    return t


def commit(self: Tensor, out: Tensor) -> Tensor:
    """Make self hold ``out`` (same shape). Mutable backends write into the buffer, so views
    and numpy aliases see the change; under autograd a non-view rebinds instead (its old
    buffer may be saved for backward). A view made by indexing passes the write on to its
    bases, graph included (PyTorch's CopySlices)."""
    if out.shape != self.shape:
        raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                           f"shape {list(out.shape)}")
    data = out._data
    if out.dtype is not self.dtype:
        data = self._device._be.astype(data, self.dtype)
    be = self._device._be
    tracked = out._grad_fn is not None
    if be.mutable and hasattr(self._data, "__setitem__") and (not tracked or
                                                             self._base is not None):
        self._data[...] = data
    else:
        self._data = data
    if tracked:
        self._grad_fn, self._requires_grad, self._out_nr = out._grad_fn, True, out._out_nr
        # the node's metadata already describes this tensor (same shape, dtype, device)
    self._bump()
    if tracked:
        # out *is* self from now on: if the op saved it for backward (exp_, sigmoid_, ...),
        # later in-place changes to self must be caught by the version check
        node = out._grad_fn
        out._vc = self._vc
        if node._saved:
            now = self._vc[0]
            node._saved = tuple((t, now) if t is out else (t, v) for t, v in node._saved)
        if _graph.FORWARD is not None:  # a dual level is open: self takes out's tangent
            from ..autograd.forward_ad import rebind_tangent
            rebind_tangent(self, out)
    propagate(self, tracked)
    return self


def run_inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """``self = fn(self, *args)`` in place, with autograd when needed."""
    if self._view_src is not None:
        check_write(self, GRAD.enabled)
    tracked = GRAD.enabled and (self._requires_grad or any(
        getattr(a, "_requires_grad", False) for a in args))
    if tracked:
        if self._requires_grad and self._grad_fn is None:
            check_inplace(self, self.dtype)
        base = self._base
        if (self._requires_grad and base is not None and base._requires_grad
                and base._grad_fn is None):
            raise RuntimeError(_VIEW_LEAF_ERR)
        old = shallow(self)
        be = self._device._be
        if self._base is not None and be.mutable:
            old._data = be.copy(self._data)  # commit writes into the shared buffer
        out = fn(old, *args, **kwargs)
    else:
        out = fn(self, *args, **kwargs)
    check_inplace(self, out.dtype)
    return commit(self, out)


def is_bool(t) -> bool:
    return t.dtype is _dtype.bool
