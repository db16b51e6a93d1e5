"""``ember.Size``: the tuple subclass ``Tensor.shape`` returns. Mirrors ``torch.Size`` and
prints like it (``torch.Size([2, 3])``), so output written for PyTorch reads the same."""
from __future__ import annotations

__all__ = ["Size"]


class Size(tuple):
    __slots__ = ()
    # No validating __new__: a Python-level constructor would triple the cost of every
    # ``Tensor.shape`` (and of recording each op's output shape). Deliberate difference:
    # ``Size([1.5])`` is not rejected as PyTorch rejects it.

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)

