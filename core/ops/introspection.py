"""Questions a script asks of a tensor or dtype (``is_signed``, ``is_nonzero``,
``is_same_size``, ``is_conj``/``is_neg``, ``is_inference``, ``isreal``, ``can_cast``,
``typename``) and the no-op resolutions of lazy bits ember does not have (``resolve_conj``,
``resolve_neg``): ember materialises conjugation and negation, so both bits are always
False and the resolutions return the tensor itself, as PyTorch's do for a tensor without
them."""
from __future__ import annotations

from .. import _dtype
from ._register import method
from ._util import Tensor

__all__ = ["is_signed", "is_nonzero", "is_same_size", "is_conj", "is_neg", "is_inference",
           "isreal", "resolve_conj", "resolve_neg", "can_cast", "typename"]


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


@method("is_conj")
def is_conj(input: Tensor) -> bool:
    """Mirrors ``torch.is_conj``: always False (ember has no lazy conjugate bit)."""
    return False


@method("is_neg")
def is_neg(input: Tensor) -> bool:
    """Mirrors ``torch.is_neg``: always False (ember has no lazy negation bit)."""
    return False


@method("is_inference")
def is_inference(input: Tensor) -> bool:
    """Mirrors ``torch.is_inference``: ember's inference mode makes ordinary tensors that do
    not require grad, so this is False (PyTorch marks tensors made under it)."""
    return False


@method("resolve_conj")
def resolve_conj(input: Tensor) -> Tensor:
    """Mirrors ``torch.resolve_conj``: the tensor itself (no conjugate bit to resolve)."""
    return input


@method("resolve_neg")
def resolve_neg(input: Tensor) -> Tensor:
    """Mirrors ``torch.resolve_neg``: the tensor itself (no negation bit to resolve)."""
    return input


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
