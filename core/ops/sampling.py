"""Random sampling from a tensor of weights: ``multinomial``.

Draws come from the device's generator (``ember.manual_seed`` / ``generator=``), so they
are reproducible in ember but not equal to PyTorch's streams."""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from .._creation import _generator_for
from ._util import Tensor, method, wrap

__all__ = ["multinomial"]


def _uniform(dev, generator, shape, dt):
    """Uniform [0, 1) draws (a backend array)."""
    return dev._be.random_uniform(_generator_for(dev, generator), shape, dt, 0.0, 1.0,
                                  dev.index)


def _check(input: Tensor, num_samples: int, replacement: bool, xp, p) -> None:
    dt = input.dtype
    if not dt.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{dt.scalar_name}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if p.size and not bool(xp.all(xp.isfinite(p) & (p >= 0))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if p.size and not bool(xp.all(xp.sum(p, axis=-1) > 0)):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


@takes_out(resize="silent")
@method("multinomial")
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Mirrors ``torch.multinomial``: ``num_samples`` category indices per row of weights
    (need not sum to 1). With replacement: inverse-CDF draws. Without: PyTorch's algorithm,
    the top ``num_samples`` of ``p / q`` with ``q ~ Exp(1)`` (a Gumbel-top-k), so
    zero-weight categories come last, as in PyTorch."""
    dev = input._device
    xp = dev._be.xp
    p = input._data
    _check(input, num_samples, replacement, xp, p)
    # float64 keys: float32 CDFs lose the last categories' tiny weights
    p64 = dev._be.astype(p, _dtype.float64)
    rows = p64 if input.ndim == 2 else xp.reshape(p64, (1, -1))
    nrow, ncat = rows.shape
    if replacement:
        cdf = xp.cumulative_sum(rows, axis=-1)
        total = cdf[:, -1:]
        u = _uniform(dev, generator, (nrow, num_samples), _dtype.float64) * total
        idx = xp.stack([xp.searchsorted(cdf[i, ...], u[i, ...], side="right")
                        for i in range(nrow)])
        idx = xp.minimum(idx, ncat - 1)  # u * total may round up to the last edge
    else:
        q = -xp.log1p(-_uniform(dev, generator, (nrow, ncat), _dtype.float64))
        keys = rows / q
        idx = xp.argsort(-keys, axis=-1, stable=True)[:, :num_samples]
    idx = xp.astype(idx, dev._be.native_dtype(_dtype.int64))
    if input.ndim == 1:
        idx = xp.reshape(idx, (num_samples,))
    res = wrap(idx, _dtype.int64, dev)
    return res
