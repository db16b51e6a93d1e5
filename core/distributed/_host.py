"""A tensor's values as a contiguous numpy buffer for MPI, and the way back.

On the numpy backend a contiguous tensor *is* its buffer: MPI reads and writes it in
place (no copy) and the version counter is bumped as an in-place op would. Otherwise
(views that are not contiguous, JAX's immutable arrays, CUDA tensors staged through the
host) the values are copied out, and ``store`` copies the result back with ``copy_``.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ._types import ReduceOp

_WIDEN = {"float16", "bfloat16"}  # no MPI datatype: reduced as float32


def check_tensor(t, param: str = "tensor") -> None:
    if not isinstance(t, _tensor_type()):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type "
                        f"torch.Tensor\n             but got {type(t)} instead.")


def _tensor_type() -> type:
    if not _TENSOR:  # imported late: ember.distributed loads while ember does
        from .._tensor import Tensor
        _TENSOR.append(Tensor)
    return _TENSOR[0]


_TENSOR: list = []


def check_list(ts, param: str) -> None:
    Tensor = _tensor_type()
    if not isinstance(ts, (list, tuple)) or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"Invalid function argument. Expected parameter `{param}` of type "
                        f"List[torch.Tensor]\n             but got {type(ts)} instead.")


class Host:
    """``arr``: the tensor's values, C-contiguous and writable."""

    __slots__ = ("t", "arr", "alias")

    def __init__(self, t) -> None:
        be = t._device._be
        arr = be.to_numpy(t._data)
        self.alias = (be.mutable and arr is t._data and isinstance(arr, np.ndarray)
                      and arr.flags.c_contiguous and arr.flags.writeable)
        self.t = t
        self.arr = arr if self.alias else np.array(arr, order="C", copy=True)

    def store(self, values: np.ndarray | None = None) -> None:
        """Make the tensor hold ``values`` (default: ``arr``, after MPI wrote into it)."""
        t = self.t
        if values is None and self.alias:
            t._bump()
            return
        src = self.arr if values is None else values
        if self.alias:
            self.arr[...] = src.reshape(self.arr.shape)
            t._bump()
            return
        from .._creation import from_numpy
        with no_grad():
            t.copy_(from_numpy(np.ascontiguousarray(src).reshape(tuple(t.shape))))


def reduce_buffer(arr: np.ndarray, op: ReduceOp, dtype_name: str) -> np.ndarray:
    """The buffer MPI reduces: ``arr`` itself, or a float32 copy for 16-bit floats."""
    if op is ReduceOp.PREMUL_SUM:
        raise ValueError("ember.distributed: ReduceOp.PREMUL_SUM is not supported")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a torch.distributed.ReduceOp, got {op!r}")
    if arr.dtype.kind == "c" and op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT):
        raise ValueError(f"all_reduce does not support {op} on complex tensors")
    if arr.dtype.kind == "f" and op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        raise RuntimeError(f"ember.distributed: {op} needs an integer or bool tensor, got "
                           f"{dtype_name}")
    return arr.astype(np.float32) if dtype_name in _WIDEN else arr


def finish_reduce(arr: np.ndarray, work: np.ndarray, op: ReduceOp, n: int) -> None:
    """AVG's division (MPI only sums) and the narrowing back from float32."""
    if op is ReduceOp.AVG and work.dtype != np.bool_:
        if work.dtype.kind in "fc":
            work /= n
        else:
            work //= n
    if work is not arr:
        arr[...] = work.astype(arr.dtype)
