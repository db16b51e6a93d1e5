"""``ember.random``: mirrors ``torch.random`` (seeding and the global random state)."""
from __future__ import annotations

from ._creation import default_generator, initial_seed, manual_seed, seed
from ._random_state import fork_rng, get_rng_state, set_rng_state

__all__ = ["default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed",
           "seed", "set_rng_state"]
