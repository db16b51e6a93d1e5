"""``ember.Size``: the tuple subclass ``Tensor.shape`` returns. Mirrors ``torch.Size`` and
prints like it (``torch.Size([2, 3])``), so output written for PyTorch reads the same."""
from __future__ import annotations

__all__ = ["Size"]


class Size(tuple):
    __slots__ = ()

    def __new__(cls, sizes=()):
        t = tuple(sizes)
        for s in t:
            if type(s) is not int:
                break
        else:
            return tuple.__new__(cls, t)
        return tuple.__new__(cls, _as_ints(t))

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


def _as_ints(items: tuple) -> list:
    """Anything with ``__index__`` (numpy ints, one-element integer tensors, bools) as int,
    else PyTorch's TypeError naming the first offender."""
    import operator
    out = []
    for i, s in enumerate(items):
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is "
                            f"'{type(s).__name__}')") from None
    return out
