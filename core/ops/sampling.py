"""Random sampling from a tensor of weights: ``multinomial``.

Draws come from the device's generator (``ember.manual_seed`` / ``generator=``); on the
numpy backend they are PyTorch's (its CPU algorithm, below, over its mt19937 stream)."""
from __future__ import annotations

from ._register import takes_out
from .. import _dtype
from .._creation import _generator_for
from ._util import Tensor, method, wrap

__all__ = ["multinomial"]


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
    (need not sum to 1), by PyTorch's CPU algorithm. Without replacement (or for one
    sample): the top ``num_samples`` of ``p / q`` with ``q ~ Exp(1)`` drawn in p's dtype
    (a Gumbel-top-k; zero-weight categories come last). With replacement: per row, the
    running sum of p in p's dtype (float for the half types) divided by the total, the
    last bucket set to 1, and for each double uniform u the first bucket >= u."""
    dev = input._device
    be = dev._be
    xp = be.xp
    p = input._data
    _check(input, num_samples, replacement, xp, p)
    rows = p if input.ndim == 2 else xp.reshape(p, (1, -1))
    nrow, ncat = rows.shape
    rng = _generator_for(dev, generator)
    if not replacement or num_samples == 1:
        q = be.random_exponential(rng, tuple(p.shape), input.dtype, 1.0, dev.index)
        keys = xp.reshape(p / q, (nrow, ncat))
        if num_samples == 1:
            idx = xp.reshape(xp.argmax(keys, axis=-1), (nrow, 1))
        else:
            idx = xp.argsort(-keys, axis=-1, stable=True)[:, :num_samples]
    else:
        acc = input.dtype if input.dtype in (_dtype.float32, _dtype.float64) else \
            _dtype.float32
        cdf = xp.cumulative_sum(be.astype(rows, acc), axis=-1)
        cdf = cdf / cdf[:, -1:]
        cdf = be.astype(cdf, _dtype.float64)
        ones = xp.ones((nrow, 1), dtype=cdf.dtype)
        cdf = xp.concat([cdf[:, :-1], ones], axis=-1)
        u = be.random_uniform(rng, (nrow, num_samples), _dtype.float64, 0.0, 1.0, dev.index)
        idx = xp.stack([xp.searchsorted(cdf[i, ...], u[i, ...], side="left")
                        for i in range(nrow)])
    idx = xp.astype(idx, be.native_dtype(_dtype.int64))
    if input.ndim == 1:
        idx = xp.reshape(idx, (num_samples,))
    return wrap(idx, _dtype.int64, dev)
