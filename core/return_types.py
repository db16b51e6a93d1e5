"""``ember.return_types``: the named tuples ops return (``x.max(dim)`` → ``(values,
indices)``). Mirrors ``torch.return_types``: a tuple subclass with named fields, built from
one sequence (``max((v, i))``), printing as ``torch.return_types.max(values=..., ...)``
(the ``torch.`` spelling matches PyTorch's output, as ember's dtypes do)."""
from __future__ import annotations

from operator import itemgetter

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "nanmedian", "mode", "cummax",
           "cummin", "aminmax", "make"]


class _StructSeq(tuple):
    __slots__ = ()
    _fields: tuple = ()

    def __new__(cls, sequence=()):
        seq = tuple(sequence)
        if len(seq) != len(cls._fields):
            raise TypeError(f"torch.return_types.{cls.__name__}() takes a "
                            f"{len(cls._fields)}-sequence ({len(seq)}-sequence given)")
        return tuple.__new__(cls, seq)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"torch.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self):
        return (type(self), (tuple(self),))


def make(name: str, fields: tuple = ("values", "indices")) -> type:
    """A return type named ``name`` with the given field names (for ops elsewhere)."""
    ns = {"__slots__": (), "_fields": fields, "n_fields": len(fields),
          "n_sequence_fields": len(fields), "n_unnamed_fields": 0, "__module__": __name__}
    for i, f in enumerate(fields):
        ns[f] = property(itemgetter(i))
    cls = type(name, (_StructSeq,), ns)
    globals()[name] = cls
    return cls


max = make("max")  # noqa: A001
min = make("min")  # noqa: A001
sort = make("sort")
topk = make("topk")
kthvalue = make("kthvalue")
median = make("median")
nanmedian = make("nanmedian")
mode = make("mode")
cummax = make("cummax")
cummin = make("cummin")
aminmax = make("aminmax", ("min", "max"))
