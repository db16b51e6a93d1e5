"""The random draws the samplers and the loader make, all through ember's generators so
``ember.manual_seed`` (or an explicit ``generator``) makes them reproducible."""
from __future__ import annotations

from typing import Any

def draw_seed(generator: Any = None) -> int:
    """A fresh seed in ``[0, 2**63)``: ``torch.empty((), dtype=torch.int64)
    .random_(generator=g).item()``, as PyTorch's samplers and worker base seeds draw it."""
    from ... import _creation, _dtype
    return int(_creation.zeros((), dtype=_dtype.int64).random_(generator=generator).item())


def weighted_indices(weights, num_samples: int, replacement: bool, generator: Any) -> list[int]:
    """``torch.multinomial(weights, num_samples, replacement, generator=g).tolist()`` for a
    1-d float64 weight tensor (PyTorch's algorithm and errors: ``ember.multinomial``)."""
    from ...ops.sampling import multinomial
    return multinomial(weights.detach().cpu(), num_samples, replacement,
                       generator=generator).tolist()
