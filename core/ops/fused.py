"""Small fused arithmetic PyTorch exposes: ``addcmul``/``addcdiv`` (+ in-place), used by
hand-written optimizers. Composed from the differentiable ops, so autograd comes free."""
from __future__ import annotations

from ._register import takes_out
from ._register import inplace
from ._util import Tensor, method
from .arith import add, div, mul

__all__ = ["addcmul", "addcdiv"]


@takes_out
@method("addcmul")
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """Mirrors ``torch.addcmul``: ``input + value * tensor1 * tensor2``."""
    return add(input, mul(mul(tensor1, tensor2), value) if value != 1 else mul(tensor1, tensor2))


@takes_out
@method("addcdiv")
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """Mirrors ``torch.addcdiv``: ``input + value * tensor1 / tensor2`` (float only, as torch)."""
    if not (tensor1.dtype.is_floating_point or tensor1.dtype.is_complex) and \
            not (tensor2.dtype.is_floating_point or tensor2.dtype.is_complex):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                           "future release addcdiv will perform a true division of tensor1 and "
                           "tensor2. The historic addcdiv behavior can be implemented as "
                           "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) "
                           "for integer inputs and as (input + value * tensor1 / tensor2) for "
                           "float inputs. The future addcdiv behavior is just the latter "
                           "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
    q = div(tensor1, tensor2)
    return add(input, mul(q, value) if value != 1 else q)


addcmul_ = inplace(addcmul, "addcmul_")
addcdiv_ = inplace(addcdiv, "addcdiv_")
