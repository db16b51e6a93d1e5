"""``DistributedSampler``: mirrors ``torch.utils.data.distributed.DistributedSampler``.

Each rank iterates a disjoint slice (``rank::num_replicas``) of one order of the data set
that every rank computes alike: a permutation from a generator seeded ``seed + epoch``
(call ``set_epoch`` each epoch) or ``range(len)``; padded by repeating its head to a
multiple of ``num_replicas``, or cut with ``drop_last``. The partitioning is PyTorch's
line for line; the permutation comes from ember's ``randperm``, which on the numpy backend
draws PyTorch's numbers, so for the same seed the shuffled indices are PyTorch's.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sized
from typing import TypeVar

from .sampler import Sampler

__all__ = ["DistributedSampler"]

T_co = TypeVar("T_co", covariant=True)


def _order(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()`` with
    ember's generator."""
    from ... import _creation
    g = _creation.Generator()
    g.manual_seed(seed)
    return _creation.randperm(n, generator=g).tolist()


class DistributedSampler(Sampler[T_co]):
    """Mirrors ``torch.utils.data.distributed.DistributedSampler``."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None,
                 rank: int | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            # drop the tail so that every rank gets the same number of samples
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas)
                                         / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[T_co]:
        n = len(self.dataset)
        indices = _order(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        indices = indices[self.rank:self.total_size:self.num_replicas]
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """A different shuffle each epoch (the same on every rank)."""
        self.epoch = epoch
