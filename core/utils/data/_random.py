"""The random draws the samplers and the loader make, all through ember's generators so
``ember.manual_seed`` (or an explicit ``generator``) makes them reproducible."""
from __future__ import annotations

from typing import Any

_INT63 = (1 << 63) - 1


def draw_seed(generator: Any = None) -> int:
    """A fresh seed in ``[0, 2**63 - 1)``: what ``torch.empty((), dtype=torch.int64)
    .random_(generator=g).item()`` gives PyTorch's samplers and worker base seeds."""
    from ... import _creation
    return int(_creation.randint(0, _INT63, (), generator=generator).item())


def weighted_indices(weights, num_samples: int, replacement: bool, generator: Any) -> list[int]:
    """``torch.multinomial(weights, num_samples, replacement, generator=g).tolist()`` for a
    1-d float64 weight tensor, with PyTorch's errors for float64 weights. Uniform draws
    come from ember's generator; the search over cumulative weights runs on the host."""
    import numpy as np
    from ... import _creation, _dtype
    w = np.asarray(weights.numpy(force=True), dtype=np.float64)
    if not replacement and num_samples > w.size:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not w.sum() > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    u = _creation.rand(num_samples if replacement else w.size, generator=generator,
                       dtype=_dtype.float64).numpy()
    if replacement:
        cdf = np.cumsum(w)
        idx = np.searchsorted(cdf, u * cdf[-1], side="right")
        return np.minimum(idx, w.size - 1).tolist()
    # without replacement: the k smallest exponential keys -log(u)/w (Efraimidis-Spirakis)
    with np.errstate(divide="ignore"):
        keys = -np.log1p(-u) / w
    return np.argsort(keys, kind="stable")[:num_samples].tolist()
