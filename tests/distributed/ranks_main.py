"""A torchrun-style script the tests start with ``ember run --nproc N`` (torch is ember
there). Every rank runs every check and prints ``CHECK <rank> <name> OK|FAIL ...``; the
references are computed in this process from all ranks' (deterministic) inputs."""
import copy
import datetime
import os
import sys
import traceback

import numpy as np
from mpi4py import MPI  # noqa: F401 - MPI starts here: ember run chose libnbc's all-reduce
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

rank = int(os.environ.get("RANK", "-1"))


def check(name):
    def run(fn):
        try:
            fn()
            print(f"CHECK {rank} {name} OK", flush=True)
        except Exception:  # noqa: BLE001 - reported to the test
            print(f"CHECK {rank} {name} FAIL " + traceback.format_exc().replace("\n", " | "),
                  flush=True)
    return run


def raises(exc, fn, words):
    try:
        fn()
    except exc as e:
        assert words in str(e), str(e)
        return
    raise AssertionError(f"no {exc.__name__}")


@check("before_init")
def _():
    raises(ValueError, lambda: dist.all_reduce(torch.ones(2)),
           "Default process group has not been initialized")
    raises(ValueError, lambda: dist.get_rank(), "Default process group has not been")
    assert not dist.is_initialized()


dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=30))
n = dist.get_world_size()
assert rank == dist.get_rank()


def x_of(r, dtype=np.float64):
    return (np.arange(6, dtype=np.float64).reshape(2, 3) * (r + 1) + r - 2).astype(dtype)


ALL = np.stack([x_of(r) for r in range(n)])


def t(a):
    return torch.from_numpy(np.array(a))


@check("env")
def _():
    assert os.environ["WORLD_SIZE"] == str(n) and 0 <= int(os.environ["LOCAL_RANK"]) < n
    assert dist.is_initialized() and dist.get_backend() == "gloo"
    raises(ValueError, lambda: dist.init_process_group("gloo"), "trying to initialize the "
           "default process group twice!")


@check("all_reduce")
def _():
    for op, ref in ((dist.ReduceOp.SUM, ALL.sum(0)), (dist.ReduceOp.AVG, ALL.mean(0)),
                    (dist.ReduceOp.MAX, ALL.max(0)), (dist.ReduceOp.MIN, ALL.min(0)),
                    (dist.ReduceOp.PRODUCT, ALL.prod(0))):
        x = t(x_of(rank))
        dist.all_reduce(x, op=op)
        np.testing.assert_allclose(x.numpy(), ref, rtol=1e-12, err_msg=str(op))
    xi = t(x_of(rank, np.int64))
    dist.all_reduce(xi)
    np.testing.assert_array_equal(xi.numpy(), sum(x_of(r, np.int64) for r in range(n)))
    xb = torch.tensor([rank == 0, False, True])
    dist.all_reduce(xb, op=dist.ReduceOp.MAX)
    assert xb.tolist() == [True, False, True]
    try:
        xh = t(x_of(rank)).half()
    except TypeError:  # a backend without float16 (the array-API-strict one)
        xh = None
    if xh is not None:
        dist.all_reduce(xh)
        np.testing.assert_allclose(xh.float().numpy(), ALL.sum(0), rtol=1e-3)
    # a non-contiguous view is written back through the view
    base = t(x_of(rank))
    dist.all_reduce(base.t())
    np.testing.assert_allclose(base.numpy(), ALL.sum(0))
    # >= 64 KiB: all-reduce through libnbc's Rabenseifner Iallreduce (ember run set it for
    # every rank before the import of mpi4py above), the other collectives MPI's blocking
    # forms on the helper thread
    assert dist.group.WORLD._comm.fast_allreduce
    big = torch.arange(40_000, dtype=torch.float64) * (rank + 1)
    dist.all_reduce(big)
    assert big[-1].item() == 39_999 * n * (n + 1) / 2
    for op, ref in ((dist.ReduceOp.AVG, (n + 1) / 2), (dist.ReduceOp.MAX, n),
                    (dist.ReduceOp.PRODUCT, float(np.prod(np.arange(1, n + 1))))):
        b32 = torch.full((300_001,), float(rank + 1))  # odd: halves of unequal size
        dist.all_reduce(b32, op=op)
        assert b32.min().item() == b32.max().item() == ref, (op, b32.min(), b32.max())
    one = torch.tensor([float(rank)])  # fewer elements than ranks: libnbc's ring
    dist.all_reduce(one)
    assert one.item() == n * (n - 1) / 2
    dist.broadcast(big, src=n - 1)
    g = torch.zeros(n * 40_000, dtype=torch.float64)
    dist.all_gather_into_tensor(g, torch.full((40_000,), float(rank), dtype=torch.float64))
    assert g.view(n, -1)[:, 7].tolist() == [float(r) for r in range(n)]
    w = dist.all_reduce(x := t(x_of(rank)), async_op=True)
    w.wait()
    assert w.is_completed()
    np.testing.assert_allclose(x.numpy(), ALL.sum(0))


@check("broadcast_reduce")
def _():
    src = n - 1
    x = t(x_of(rank))
    dist.broadcast(x, src=src)
    np.testing.assert_array_equal(x.numpy(), x_of(src))
    x = t(x_of(rank))
    dist.reduce(x, dst=src, op=dist.ReduceOp.SUM)
    np.testing.assert_array_equal(x.numpy(), ALL.sum(0) if rank == src else x_of(rank))


@check("all_gather")
def _():
    out = [torch.zeros(2, 3, dtype=torch.float64) for _ in range(n)]
    dist.all_gather(out, t(x_of(rank)))
    for r in range(n):
        np.testing.assert_array_equal(out[r].numpy(), x_of(r))
    flat = torch.zeros(2 * n, 3, dtype=torch.float64)
    dist.all_gather_into_tensor(flat, t(x_of(rank)))
    np.testing.assert_array_equal(flat.numpy(), ALL.reshape(2 * n, 3))
    stacked = torch.zeros(n, 2, 3, dtype=torch.float64)
    dist.all_gather_into_tensor(stacked, t(x_of(rank)))
    np.testing.assert_array_equal(stacked.numpy(), ALL)


@check("reduce_scatter")
def _():
    ins = [t(x_of(rank) + 10 * j) for j in range(n)]
    out = torch.zeros(2, 3, dtype=torch.float64)
    dist.reduce_scatter(out, ins)
    np.testing.assert_allclose(out.numpy(), ALL.sum(0) + 10 * rank * n)
    big = t(np.concatenate([x_of(rank) + 10 * j for j in range(n)]))
    out = torch.zeros(2, 3, dtype=torch.float64)
    dist.reduce_scatter_tensor(out, big, op=dist.ReduceOp.AVG)
    np.testing.assert_allclose(out.numpy(), ALL.mean(0) + 10 * rank)


@check("gather_scatter")
def _():
    dst = n - 1
    gl = [torch.zeros(2, 3, dtype=torch.float64) for _ in range(n)] if rank == dst else None
    dist.gather(t(x_of(rank)), gl, dst=dst)
    if rank == dst:
        for r in range(n):
            np.testing.assert_array_equal(gl[r].numpy(), x_of(r))
    out = torch.zeros(2, 3, dtype=torch.float64)
    sl = [t(x_of(r) * 7) for r in range(n)] if rank == 0 else None
    dist.scatter(out, sl, src=0)
    np.testing.assert_array_equal(out.numpy(), x_of(rank) * 7)
    a2a = torch.zeros(n, 2, dtype=torch.float64)
    dist.all_to_all_single(a2a, t(np.array([[rank * 100 + j] * 2 for j in range(n)],
                                           dtype=np.float64)))
    np.testing.assert_array_equal(a2a.numpy()[:, 0], [r * 100 + rank for r in range(n)])


@check("p2p")
def _():
    nxt, prv = (rank + 1) % n, (rank - 1) % n
    s = dist.isend(t(x_of(rank)), dst=nxt)
    got = torch.zeros(2, 3, dtype=torch.float64)
    w = dist.irecv(got, src=prv)
    w.wait()
    s.wait()
    np.testing.assert_array_equal(got.numpy(), x_of(prv))
    if rank == 0:
        for r in range(1, n):
            buf = torch.zeros(1)
            src = dist.recv(buf)  # any source
            assert buf.item() == src
    else:
        dist.send(torch.tensor([float(rank)]), dst=0)


@check("objects")
def _():
    objs = [{"r": rank}, "x" * rank] if rank == 1 else [None, None]
    dist.broadcast_object_list(objs, src=1)
    assert objs == [{"r": 1}, "x"]
    out = [None] * n
    dist.all_gather_object(out, (rank, torch.ones(rank + 1)))
    assert [o[0] for o in out] == list(range(n))
    assert [o[1].shape[0] for o in out] == [r + 1 for r in range(n)]
    g = [None] * n if rank == 0 else None
    dist.gather_object(rank * 3, g, dst=0)
    if rank == 0:
        assert g == [r * 3 for r in range(n)]
    so = [None]
    dist.scatter_object_list(so, [f"to{r}" for r in range(n)] if rank == 0 else None, src=0)
    assert so == [f"to{rank}"]
    dist.barrier()


@check("new_group")
def _():
    members = [0, n - 1]
    g = dist.new_group(members)
    if rank in members:
        x = t(x_of(rank))
        dist.all_reduce(x, group=g)
        np.testing.assert_array_equal(x.numpy(), x_of(0) + x_of(n - 1))
        assert dist.get_rank(g) == members.index(rank) and dist.get_world_size(g) == 2
        y = t(x_of(rank))
        dist.broadcast(y, src=n - 1, group=g)  # src is a global rank
        np.testing.assert_array_equal(y.numpy(), x_of(n - 1))
    else:
        assert dist.get_rank(g) == -1
        assert dist.all_reduce(t(x_of(rank)), group=g) is None
    # groups of one rank: the reduction is the values themselves (ember makes no MPI call)
    solo = [dist.new_group([r]) for r in range(n)][rank]
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
        x = t(x_of(rank))
        work = dist.all_reduce(x, op=op, group=solo, async_op=True)
        assert work.wait() and work.is_completed()
        np.testing.assert_array_equal(x.numpy(), x_of(rank))
    xi = t(x_of(rank, np.int64))
    assert dist.all_reduce(xi, op=dist.ReduceOp.AVG, group=solo) is None
    np.testing.assert_array_equal(xi.numpy(), x_of(rank, np.int64))
    raises(ValueError, lambda: dist.all_reduce(t(x_of(rank)), op=dist.ReduceOp.PREMUL_SUM,
                                                group=solo), "PREMUL_SUM")


@check("mismatch")
def _():
    raises(RuntimeError, lambda: dist.all_reduce(torch.ones(2 + rank)), "disagree")
    raises(RuntimeError, lambda: dist.broadcast(
        torch.ones(3, dtype=torch.float64 if rank else torch.float32), src=0), "float32")
    x = torch.ones(2)
    dist.all_reduce(x)  # the group still works
    assert x.tolist() == [float(n)] * 2


# --- DistributedDataParallel ------------------------------------------------------------

def mlp():
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3)).double()


B = 4 * n
rng = np.random.default_rng(0)
XS = [rng.standard_normal((B, 5)) for _ in range(20)]
YS = [rng.standard_normal((B, 3)) for _ in range(20)]
mine = slice(rank * (B // n), (rank + 1) * (B // n))


@check("ddp_mlp_20_steps")
def _():
    torch.manual_seed(0)
    ref = mlp()
    torch.manual_seed(100 + rank)  # different start on every rank: DDP broadcasts rank 0's
    model = mlp()
    if rank == 0:
        model.load_state_dict(ref.state_dict())
    ddp = DDP(model, bucket_cap_mb=0.0005)  # ~500 bytes: several buckets
    assert len(ddp._buckets) > 1
    assert all(k.startswith("module.") for k in ddp.state_dict())
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for x, y in zip(XS, YS):
        opt_ref.zero_grad()
        nn.functional.mse_loss(ref(t(x)), t(y)).backward()
        opt_ref.step()
        opt.zero_grad()
        nn.functional.mse_loss(ddp(t(x[mine])), t(y[mine])).backward()
        opt.step()
    for (k, a), b in zip(ref.named_parameters(), ddp.module.parameters()):
        err = float((a - b).abs().max())
        assert err < 1e-10, (k, err)


@check("ddp_no_sync")
def _():
    torch.manual_seed(0)
    ref = mlp()
    ddp = DDP(copy.deepcopy(ref))
    for i in (0, 1):
        nn.functional.mse_loss(ref(t(XS[i])), t(YS[i])).backward()
    with ddp.no_sync():
        nn.functional.mse_loss(ddp(t(XS[0][mine])), t(YS[0][mine])).backward()
    local = [p.grad.clone() for p in ddp.parameters()]
    nn.functional.mse_loss(ddp(t(XS[1][mine])), t(YS[1][mine])).backward()
    for a, b in zip(ref.parameters(), ddp.parameters()):
        assert float((a.grad - b.grad).abs().max()) < 1e-10
    assert any(float((a - b.grad).abs().max()) > 1e-6 for a, b in zip(local, ddp.parameters()))


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.a, self.b, self.never = (nn.Linear(5, 4), nn.Linear(4, 3),
                                                 nn.Linear(4, 3), nn.Linear(4, 3))

    def forward(self, x, use_b):
        h = self.body(x).tanh()
        return self.a(h) + (self.b(h) if use_b else 0)


@check("ddp_find_unused")
def _():
    torch.manual_seed(1)
    ref = TwoHeads().double()
    ddp = DDP(copy.deepcopy(ref), find_unused_parameters=True)
    x, y = XS[0], YS[0]
    for r in range(n):  # rank r uses head b only when r == 0
        part = slice(r * (B // n), (r + 1) * (B // n))
        (nn.functional.mse_loss(ref(t(x[part]), r == 0), t(y[part])) / n).backward()
    nn.functional.mse_loss(ddp(t(x[mine]), rank == 0), t(y[mine])).backward()
    for (k, a), b in zip(ref.named_parameters(), ddp.module.parameters()):
        if k.startswith("never"):
            assert b.grad is None, k
        else:
            assert float((a.grad - b.grad).abs().max()) < 1e-10, k


@check("ddp_buffers_and_errors")
def _():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4)).double()
    with torch.no_grad():
        m[1].running_mean.fill_(float(rank))
    ddp = DDP(m)  # construction broadcasts buffers too
    assert m[1].running_mean.tolist() == [0.0] * 4
    with torch.no_grad():
        m[1].running_mean.fill_(float(rank + 5))
    ddp.eval()
    ddp(t(XS[0][mine]))  # forward broadcasts buffers from rank 0
    assert m[1].running_mean.tolist() == [5.0] * 4
    raises(RuntimeError, lambda: DDP(nn.Linear(3 + rank, 2)), "DDP expects same model")
    # a parameter without a gradient and no find_unused_parameters: PyTorch's error
    ddp2 = DDP(TwoHeads().double())
    ddp2(t(XS[0][mine]), False).sum().backward()
    raises(RuntimeError, lambda: ddp2(t(XS[0][mine]), False), "Expected to have finished "
           "reduction in the prior iteration")


@check("sampler")
def _():
    s = DistributedSampler(range(10), shuffle=True, seed=3)
    s.set_epoch(2)
    mine_idx = list(s)
    everyone = [None] * n
    dist.all_gather_object(everyone, mine_idx)
    flat = sum(everyone, [])
    assert len(mine_idx) == len(s) == -(-10 // n)
    assert set(flat) == set(range(10))  # padded by repeats, nothing missing


dist.destroy_process_group()
assert not dist.is_initialized()
print(f"DONE {rank}", flush=True)
sys.stdout.flush()
