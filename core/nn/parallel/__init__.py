"""``ember.nn.parallel``: mirrors ``torch.nn.parallel`` -- ``DistributedDataParallel``
(over ``ember.distributed``) and ``DataParallel`` (one device)."""
from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
