"""Questions a script asks of a tensor or dtype (``is_signed``, ``is_nonzero``,
``is_same_size``, ``is_inference``, ``isreal``, ``can_cast``, ``typename``). The conjugate
and negative bits (``is_conj``, ``resolve_conj``, ...) are in ``complex_parts``."""
from __future__ import annotations

from .. import _dtype
from ._register import method
from ._util import Tensor

# is_conj/is_neg/resolve_conj/resolve_neg live with the complex parts (ops/complex_parts.py)
__all__ = ["is_signed", "is_nonzero", "is_same_size", "is_inference", "isreal", "can_cast",
           "typename"]


@method("is_signed")
def is_signed(input: Tensor) -> bool:
    """Mirrors ``torch.is_signed``: the dtype can hold negative values."""
    dt = input.dtype
    return dt.is_floating_point or dt.is_complex or (
        dt is not _dtype.bool and not dt.scalar_name.startswith("Byte")
        and not dt.scalar_name.startswith("UInt"))


@method("is_nonzero")
def is_nonzero(input: Tensor) -> bool:
    """Mirrors ``torch.is_nonzero``: the single element is not zero (PyTorch's error for
    none or several)."""
    return bool(input)


@method("is_same_size")
def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Mirrors ``torch.is_same_size``."""
    return tuple(input.shape) == tuple(other.shape)




@method("is_inference")
def is_inference(input: Tensor) -> bool:
    """Mirrors ``torch.is_inference``: ember's inference mode makes ordinary tensors that do
    not require grad, so this is False (PyTorch marks tensors made under it)."""
    return False




@method("isreal")
def isreal(input: Tensor) -> Tensor:
    """Mirrors ``torch.isreal``: True where the imaginary part is 0 (everywhere for real
    dtypes)."""
    if not input.dtype.is_complex:
        return input.new_ones(tuple(input.shape), dtype=_dtype.bool)
    return input.imag == 0


def can_cast(from_, to) -> bool:
    """Mirrors ``torch.can_cast``: PyTorch's casting rule for in-place and ``out=`` results
    (no float to integer, complex to real, or anything but bool to bool)."""
    from ._register import can_cast as _kit_can_cast
    return _kit_can_cast(from_, to)


def typename(obj) -> str:
    """Mirrors ``torch.typename``: ``"torch.FloatTensor"`` for a tensor, else the qualified
    type name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"
