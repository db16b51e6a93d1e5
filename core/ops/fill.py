"""In-place fills: ``zero_``, ``fill_``, and the random fills ``uniform_``, ``normal_``,
``random_``, ``bernoulli_``, ``exponential_`` that PyTorch code uses
(``w.data.normal_(0, 0.02)``). Each replaces the tensor's values; under autograd the old
values get a zero gradient (PyTorch's FillBackward / NormalBackward)."""
from __future__ import annotations

from .. import _dtype
from ._util import GRAD, Tensor, method, record, wrap
from ._views import EXPANDED
from .inplace import run_inplace

__all__ = []


def _replace(self: Tensor, data, name: str) -> Tensor:
    """self's values replaced by ``data`` (a backend array of self's shape and dtype)."""
    def fn(old):
        res = wrap(data, old.dtype, old._device)
        if GRAD.enabled and old._requires_grad:
            record(res, name, (old,), lambda g: (g * 0,))
        return res
    return run_inplace(self, fn)


def _expanded(self: Tensor) -> Tensor | None:
    """The base of an expanded view being filled outside autograd, else None."""
    src = self._view_src
    if src is not None and src[1] is EXPANDED and not (GRAD.enabled and self._requires_grad):
        return src[0]
    return None


def _fill_expanded(self: Tensor, base: Tensor, value) -> Tensor:
    """zero_/fill_ of an expanded view: every element gets one value, so the repeated
    memory is no obstacle (PyTorch allows it): the base takes the value, and the view
    shows it again."""
    be = self._device._be
    fill_(base, value)
    self._data = be.xp.broadcast_to(base._data, self._data.shape)
    self._bump()
    return self


@method("zero_")
def zero_(self: Tensor) -> Tensor:
    """Mirrors ``Tensor.zero_``."""
    base = _expanded(self)
    if base is not None:
        return _fill_expanded(self, base, 0)
    be = self._device._be
    return _replace(self, be.xp.zeros_like(self._data), "ZeroBackward0")


@method("fill_")
def fill_(self: Tensor, value) -> Tensor:
    """Mirrors ``Tensor.fill_`` (a number or a one-element tensor)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        value = value.item()
    base = _expanded(self)
    if base is not None:
        return _fill_expanded(self, base, value)
    be = self._device._be
    return _replace(self, be.xp.full(self._data.shape, value,
                                     dtype=be.native_dtype(self.dtype)), "FillBackward0")


def _rng(self: Tensor, generator):
    from .._creation import _generator_for
    return _generator_for(self._device, generator)


def _need_float(self: Tensor, fn: str):
    if not (self.dtype.is_floating_point or self.dtype.is_complex):
        raise RuntimeError(f'"{fn}" not implemented for \'{self.dtype.scalar_name}\'')


@method("uniform_")
def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
    """Mirrors ``Tensor.uniform_``."""
    _need_float(self, "check_uniform_bounds")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_}"
                           f" > to={to}")
    dev = self._device
    data = dev._be.random_uniform(_rng(self, generator), self.shape, self.dtype, float(from_),
                                  float(to), dev.index)
    return _replace(self, data, "UniformBackward0")


@method("normal_")
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Mirrors ``Tensor.normal_``."""
    _need_float(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dev = self._device
    data = dev._be.random_normal(_rng(self, generator), self.shape, self.dtype, float(mean),
                                 float(std), dev.index)
    return _replace(self, data, "NormalBackward0")


@method("random_")
def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None) -> Tensor:
    """Mirrors ``Tensor.random_``: integers in [from, to) (to defaults to the dtype's range,
    capped at 2**53 for floats as PyTorch does)."""
    if to is None:
        from_, to = 0, from_ if from_ else None
    dev = self._device
    if to is None:  # PyTorch's random_kernel: [0, the dtype's max] (2**digits for floats)
        data = dev._be.random_full_range(_rng(self, generator), self.shape, self.dtype,
                                         dev.index)
        return _replace(self, data, "RandomBackward0")
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} "
                           f">= to={to}")
    data = dev._be.random_integers(_rng(self, generator), self.shape, _dtype.int64, int(from_),
                                   int(to), dev.index)
    return _replace(self, dev._be.astype(data, self.dtype), "RandomBackward0")


@method("bernoulli_")
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Mirrors ``Tensor.bernoulli_``: 1 with probability ``p`` (a float or a tensor)."""
    dev = self._device
    probs = p.detach().to(self._device)._data if isinstance(p, Tensor) else float(p)
    data = dev._be.random_bernoulli(_rng(self, generator), self.shape, self.dtype, probs,
                                    dev.index)
    return _replace(self, data, "BernoulliBackward0")


@method("exponential_")
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Mirrors ``Tensor.exponential_``."""
    _need_float(self, "exponential_cpu")
    dev = self._device
    data = dev._be.random_exponential(_rng(self, generator), self.shape, self.dtype,
                                      float(lambd), dev.index)
    return _replace(self, data, "ExponentialBackward0")
