"""Tensor repr/str (placeholder: being replaced by a PyTorch-faithful formatter)."""
from __future__ import annotations


def tensor_repr(t) -> str:
    import numpy as np
    arr = np.asarray(t._device._be.to_numpy(t._data))
    body = np.array2string(arr, separator=", ", prefix="tensor(")
    extra = ""
    if t._grad_fn is not None:
        extra = f", grad_fn=<{t._grad_fn.name()}>"
    elif t._requires_grad:
        extra = ", requires_grad=True"
    return f"tensor({body}{extra})"


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    pass
