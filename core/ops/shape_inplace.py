"""In-place shape changes: ``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``,
``swapdims_``/``swapaxes_``, ``resize_``/``resize_as_``, and the same-shape ``triu_``/``tril_``.

A shape op run in place makes the tensor itself take the new shape: the out-of-place op runs
on a stand-in holding the tensor's current value and place in the graph (so its backward
sees the old shape), and the tensor takes the result's array and grad_fn. Deliberate
difference: a view reshaped in place keeps sharing its base's buffer where the backend can
alias memory (numpy, CuPy), but no longer replays later writes onto its base on backends
that cannot (JAX).
"""
from __future__ import annotations

from ._register import inplace, method
from ._util import GRAD, Tensor
from .inplace import shallow

__all__ = ["resize_as_"]

_LEAF_ERR = "a leaf Variable that requires grad is being used in an in-place operation."


def _become(self: Tensor, fn, *args) -> Tensor:
    """``self = fn(self, *args)`` for a shape-changing ``fn``, in place."""
    if GRAD.enabled and self._requires_grad and self._grad_fn is None:
        raise RuntimeError(_LEAF_ERR)
    out = fn(shallow(self) if GRAD.enabled and self._requires_grad else self, *args)
    self._data = out._data
    if out._grad_fn is not None:
        self._grad_fn, self._out_nr = out._grad_fn, out._out_nr
    self._view_src = None
    self._bump()
    return self


def _shape_inplace(name: str, op):
    def m(self: Tensor, *args, **kwargs) -> Tensor:
        return _become(self, lambda t, *a: op(t, *a, **kwargs), *args)
    m.__name__ = m.__qualname__ = name
    m.__doc__ = f"Mirrors ``Tensor.{name}``: ``{op.__name__}`` changing the tensor itself."
    return method(name)(m)


for _n, _op in (("unsqueeze_", Tensor.unsqueeze), ("squeeze_", Tensor.squeeze),
                ("t_", Tensor.t), ("transpose_", Tensor.transpose),
                ("swapdims_", Tensor.transpose), ("swapaxes_", Tensor.transpose)):
    _shape_inplace(_n, _op)


@method("resize_")
def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Mirrors ``Tensor.resize_``: the tensor takes the shape ``sizes``, keeping its first
    elements in row-major order. Where PyTorch leaves new memory uninitialised, ember fills
    it with zeros. A tensor that requires grad cannot be resized (PyTorch's error)."""
    from .shape import _sizes
    shape = tuple(_sizes(sizes))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    be = self._device._be
    xp = be.xp
    n = 1
    for s in shape:
        n *= s
    flat = xp.reshape(self._data, (-1,))
    have = flat.shape[0]
    if n <= have:
        flat = flat[:n]
    else:
        flat = xp.concat([flat, xp.zeros((n - have,), dtype=flat.dtype)])
    self._data = xp.reshape(flat, shape)
    self._view_src = None
    self._bump()
    return self


@method("resize_as_")
def resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    """Mirrors ``Tensor.resize_as_``: ``resize_`` to the template's shape."""
    return resize_(self, tuple(the_template.shape))


@method("resize", "resize_as")
def _resize_out_of_place(self: Tensor, *sizes) -> Tensor:
    """Mirrors the deprecated ``Tensor.resize``/``resize_as``: a resized copy."""
    if len(sizes) == 1 and isinstance(sizes[0], Tensor):
        sizes = (tuple(sizes[0].shape),)
    out = self.detach().clone()
    return resize_(out, *sizes)


inplace(Tensor.triu, "triu_")
inplace(Tensor.tril, "tril_")
