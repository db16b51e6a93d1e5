"""``ember.sparse``: sparse COO tensors and the products and reductions graph networks use.
Mirrors ``torch.sparse`` (``mm``, ``sum``, ``softmax``, ``log_softmax``); the tensors
themselves are :class:`ember.sparse._coo.SparseTensor`, made by ``ember.sparse_coo_tensor``
or ``Tensor.to_sparse()``."""
from __future__ import annotations

from ._coo import log_softmax, mm, softmax, sum  # noqa: A004

__all__ = ["mm", "sum", "softmax", "log_softmax", "addmm"]


def addmm(mat: "ember.Tensor", mat1, mat2, *, beta=1.0, alpha=1.0):  # noqa: F821
    """Mirrors ``torch.sparse.addmm``: ``beta * mat + alpha * (mat1 @ mat2)`` with a sparse
    ``mat1``."""
    return mat * beta + mm(mat1, mat2) * alpha

