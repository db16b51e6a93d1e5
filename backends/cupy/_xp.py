"""CuPy's namespace where it differs from the array API standard that ember's frontend
speaks (``Backend.xp``): everything is CuPy's own function, except the few whose signature
the standard spells otherwise. Built once, at load, as a module object, so a lookup
costs what ``cupy.<name>`` costs."""
from __future__ import annotations

import math
import types


def namespace(cupy) -> types.ModuleType:
    ns = types.ModuleType("ember_cupy.xp", "CuPy under the array API standard's signatures")
    ns.__dict__.update({k: v for k, v in vars(cupy).items() if not k.startswith("__")})

    # The standard's sort/argsort take ``descending`` and ``stable``; CuPy's take neither.
    # CuPy sorts are always stable (radix/merge sort), so ``stable`` needs nothing.
    def argsort(x, /, *, axis: int = -1, descending: bool = False, stable: bool = True):
        if not descending:
            return cupy.argsort(x, axis=axis)
        # reversed input sorted ascending, mapped back: equal keys keep their order
        n = x.shape[axis]
        return (n - 1) - cupy.flip(cupy.argsort(cupy.flip(x, axis), axis=axis), axis)

    def sort(x, /, *, axis: int = -1, descending: bool = False, stable: bool = True):
        out = cupy.sort(x, axis=axis)
        return cupy.flip(out, axis) if descending else out

    # CuPy fills with a memset when the value == 0, which turns -0.0 into +0.0 (and a 0-d
    # asarray is filled, not copied): PyTorch keeps the sign (it prints, and 1 / -0.0 < 0)
    def _negative_zero(value) -> bool:
        return isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0

    def full(shape, fill_value, dtype=None, **kw):
        if _negative_zero(fill_value):
            return cupy.negative(cupy.zeros(shape, dtype=dtype, **kw))
        return cupy.full(shape, fill_value, dtype=dtype, **kw)

    def asarray(obj, dtype=None, **kw):
        out = cupy.asarray(obj, dtype=dtype, **kw)
        if out.ndim == 0 and out.dtype.kind in "fc" and not isinstance(obj, cupy.ndarray):
            # through a 1-element copy, which keeps the bits
            import numpy
            out = cupy.asarray(numpy.asarray(obj, dtype=out.dtype).reshape(1)).reshape(())
        return out

    ns.argsort, ns.sort, ns.full, ns.asarray = argsort, sort, full, asarray
    return ns
