"""``DistributedDataParallel``: mirrors ``torch.nn.parallel.DistributedDataParallel`` over
``ember.distributed``.

How it works, as in PyTorch's reducer:

- construction checks that every rank has the same parameters (count, shapes, dtypes),
  then broadcasts parameters and buffers from rank 0;
- parameters are packed into buckets in reverse registration order (gradients become ready
  roughly backwards), the first bucket capped at 1 MiB (or ``bucket_cap_mb`` if smaller),
  the others at ``bucket_cap_mb`` (25 MiB); each bucket owns one flat host buffer;
- a post-accumulate-grad hook on each parameter copies its fresh ``.grad`` into its bucket;
  when a bucket is full its all-reduce starts at once on ember.distributed's MPI helper
  thread (MPI's blocking ``Allreduce``, which releases the GIL, so it moves the data while
  backward goes on here; Open MPI's non-blocking all-reduce, even its fast algorithm that
  ``dist.all_reduce`` uses, moves data only when polled, between hooks, and gave 2-4x
  fewer samples/s in ``benchmarks/ddp_scaling.py``), buckets starting in index order on
  every rank so the collectives match;
- when the last bucket has started, the reducer waits for all of them (bounded by the
  process group's timeout), divides by the world size and writes the averages into each
  ``.grad``;
- ``find_unused_parameters=True`` walks the autograd graph of the forward's outputs and marks
  the parameters it cannot reach ready at once (zeros); a parameter used on no rank keeps
  its ``.grad`` (None stays None);
- ``no_sync()``: forwards and backwards inside it accumulate gradients locally; the first
  backward after it reduces the accumulated gradients;
- ``broadcast_buffers``: buffers are broadcast from rank 0 at each forward.

Differences: inputs are not moved to ``device_ids`` (put them there yourself);
``gradient_as_bucket_view``/``static_graph`` are accepted and change nothing;
``register_comm_hook`` and ``join`` are not provided.
"""
from __future__ import annotations

import contextlib
import itertools
from typing import Any

import numpy as np

from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024
_WIDEN = {"float16", "bfloat16"}
_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by \n"
    "making sure all `forward` function outputs participate in calculating loss. ")


class _Bucket:
    __slots__ = ("params", "offsets", "flat", "pending", "req", "index")

    def __init__(self, index: int, params: list, np_dtype) -> None:
        self.index = index
        self.params = params
        self.offsets = list(itertools.accumulate([0] + [p.numel() for p in params]))
        self.flat = np.zeros(self.offsets[-1], dtype=np_dtype)
        self.pending = len(params)
        self.req = None


def _np_dtype(t):
    from ...distributed._host import Host
    if t.dtype.name in _WIDEN:
        return np.dtype(np.float32)
    return Host(t).arr.dtype


class DistributedDataParallel(Module):
    """Mirrors ``torch.nn.parallel.DistributedDataParallel`` (see the module docstring)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs: Any) -> None:
        super().__init__()
        from ... import distributed as dist
        pg = dist._state._resolve(process_group)  # PyTorch's error before init
        self.module = module
        self.process_group = pg
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        self._params = params
        self._comm = pg._comm
        self._verify_same_model(params)
        if init_sync:
            self._broadcast(list(module.parameters()) + list(module.buffers()))
        self._buckets = self._make_buckets(params)
        self._where = {}  # id(param) -> (bucket, position)
        for b in self._buckets:
            for k, p in enumerate(b.params):
                self._where[id(p)] = (b, k)
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                         for p in params]
        self._sync_now = False    # this iteration's backward reduces
        self._started = False     # a hook fired since the forward
        self._next = 0            # the next bucket to launch
        self._used = np.ones(len(params), dtype=np.int32)

    # --- construction -------------------------------------------------------------------
    def _verify_same_model(self, params) -> None:
        from ... import distributed as dist
        mine = [(tuple(p.shape), p.dtype.name) for p in params]
        everyone: list = [None] * self.process_group.size()
        dist.all_gather_object(everyone, mine, group=self.process_group)
        for r, theirs in enumerate(everyone):
            if theirs != mine:
                if len(theirs) != len(mine):
                    raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                                       f"{self._comm.rank} has {len(mine)} params, while rank "
                                       f"{r} has inconsistent {len(theirs)} params.")
                k = next(i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b)
                raise RuntimeError(f"DDP expects same model across all ranks, but parameter "
                                   f"{k} is {mine[k]} on rank {self._comm.rank} and "
                                   f"{theirs[k]} on rank {r}.")

    def _broadcast(self, tensors) -> None:
        """Rank 0's values into every rank's tensors, one message per dtype."""
        from ...distributed._host import Host
        groups: dict = {}
        for t in tensors:
            groups.setdefault(t.dtype.name, []).append(t)
        for ts in groups.values():
            hosts = [Host(t) for t in ts]
            flat = np.concatenate([h.arr.reshape(-1) for h in hosts])
            self._comm.run(self._comm.ibcast(flat, 0), "DistributedDataParallel broadcast")
            if self._comm.rank != 0:
                off = 0
                for h in hosts:
                    n = h.arr.size
                    h.store(flat[off:off + n])
                    off += n

    def _make_buckets(self, params) -> list[_Bucket]:
        buckets, current, size, key = [], [], 0, None
        cap = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(params):
            k = (p.dtype.name, str(p.device))
            nbytes = p.numel() * p.dtype.itemsize
            if current and (k != key or size + nbytes > cap):
                buckets.append(_Bucket(len(buckets), current, _np_dtype(current[0])))
                current, size, cap = [], 0, self.bucket_bytes_cap
            current.append(p)
            size += nbytes
            key = k
        if current:
            buckets.append(_Bucket(len(buckets), current, _np_dtype(current[0])))
        return buckets

    # --- forward ------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        from ...autograd.grad_mode import is_grad_enabled
        if self._started and self._sync_now:
            raise RuntimeError(_UNFINISHED)
        if self.broadcast_buffers and self.require_forward_param_sync:
            bufs = list(self.module.buffers())
            if bufs and self.process_group.size() > 1:
                self._broadcast(bufs)
        out = self.module(*inputs, **kwargs)
        self._sync_now = bool(is_grad_enabled() and self.require_backward_grad_sync)
        if self._sync_now:
            self._prepare(out)
        return out

    def _prepare(self, out) -> None:
        """Reset the reducer for the backward of this forward's output."""
        for b in self._buckets:
            b.pending, b.req = len(b.params), None
        self._next = 0
        self._started = False
        self._used[:] = 1
        if self.find_unused_parameters:
            reached = _reachable_leaves(out)
            for i, p in enumerate(self._params):
                if id(p) not in reached:
                    self._used[i] = 0
                    b, k = self._where[id(p)]
                    b.flat[b.offsets[k]:b.offsets[k + 1]] = 0
                    self._mark(b)

    # --- backward: the reducer ----------------------------------------------------------
    def _grad_ready(self, p) -> None:
        if not self._sync_now:
            return  # inside no_sync(), or a forward without grad
        from ...distributed._host import Host
        b, k = self._where[id(p)]
        self._started = True
        b.flat[b.offsets[k]:b.offsets[k + 1]] = Host(p.grad).arr.reshape(-1)
        self._mark(b)

    def _mark(self, b: _Bucket) -> None:
        b.pending -= 1
        if b.pending < 0:
            raise RuntimeError("Expected to mark a variable ready only once. This error is "
                               "caused by one of the following reasons: 1) Use of a module "
                               "parameter outside the `forward` function; 2) Reused parameters "
                               "in multiple reentrant backward passes.")
        from ...distributed._types import ReduceOp
        comm = self._comm
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            nb = self._buckets[self._next]
            # MPI's blocking all-reduce on the helper thread: it runs while backward goes on
            # here (mpi4py releases the GIL), in bucket order on every rank
            nb.req = comm.submit(lambda flat=nb.flat: comm.allreduce(flat, ReduceOp.SUM))
            self._next += 1
        if self._next == len(self._buckets) and self._started:
            self._finish()

    def _finish(self) -> None:
        from ...distributed._host import Host
        from ...distributed._types import ReduceOp
        comm = self._comm
        handles = [b.req for b in self._buckets]
        used = self._used.copy()
        if self.find_unused_parameters:
            handles.append(comm.submit(lambda: comm.allreduce(used, ReduceOp.MAX)))
        comm.wait_submitted(handles, comm.deadline(),
                            "DistributedDataParallel gradient all-reduce")
        n = self.process_group.size()
        where = {id(p): j for j, p in enumerate(self._params)}
        for b in self._buckets:
            b.flat /= n
            for k, p in enumerate(b.params):
                j = where[id(p)]
                if not used[j]:
                    continue  # unused on every rank: .grad stays as it is
                vals = b.flat[b.offsets[k]:b.offsets[k + 1]]
                if p.grad is None:
                    from ..._creation import zeros
                    p.grad = zeros(p.shape, dtype=p.dtype, device=p.device)
                Host(p.grad).store(vals)
        self._sync_now = False
        self._started = False

    # --- public -------------------------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self):
        """Mirrors ``DistributedDataParallel.no_sync``: gradients of the forward/backward
        passes inside accumulate locally, the first synchronised backward after reduces
        them all."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state, hook):
        raise NotImplementedError("ember's DistributedDataParallel has no communication hooks")

    def join(self, *args, **kwargs):
        raise NotImplementedError("ember's DistributedDataParallel has no join() (uneven "
                                  "inputs); give every rank the same number of batches, e.g. "
                                  "with DistributedSampler(drop_last=True)")


def _reachable_leaves(out) -> set:
    """ids of the leaf tensors the autograd graph of ``out``'s tensors reaches."""
    from ..._tensor import Tensor
    from ...autograd.graph import AccumulateGrad
    roots, stack = [], [out]
    while stack:  # tensors anywhere in nested outputs
        o = stack.pop()
        if isinstance(o, Tensor):
            roots.append(o)
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    seen, found = set(), set()
    nodes = [t._grad_fn for t in roots if t._grad_fn is not None]
    found.update(id(t) for t in roots if t._grad_fn is None and t._requires_grad)
    while nodes:
        n = nodes.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if type(n) is AccumulateGrad:
            found.add(id(n.variable))
            continue
        nodes.extend(nx for nx, _ in n.next_functions if nx is not None)
    return found
