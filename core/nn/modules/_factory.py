"""What layer constructors share: ``device=``/``dtype=`` factory arguments (PyTorch's
``factory_kwargs``) and the optional affine weight/bias pair of normalisation layers."""
from __future__ import annotations

from ..._creation import empty as _empty
from .. import init
from ..parameter import Parameter

__all__ = ["empty", "affine_params", "reset_affine", "optional_bias"]


def empty(*shape, device=None, dtype=None):
    return _empty(*shape, device=device, dtype=dtype)


def optional_bias(module, bias: bool, shape, device=None, dtype=None) -> None:
    """``module.bias``: a fresh Parameter of ``shape``, or registered as None."""
    if bias:
        module.bias = Parameter(empty(shape, device=device, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def affine_params(module, affine: bool, bias: bool, shape, device=None, dtype=None) -> None:
    """``weight`` (and ``bias`` unless ``bias=False``) when ``affine``; else both None."""
    if affine:
        module.weight = Parameter(empty(shape, device=device, dtype=dtype))
        optional_bias(module, bias, shape, device, dtype)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def reset_affine(module) -> None:
    """Weight 1, bias 0 (PyTorch's normalisation-layer init)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)
