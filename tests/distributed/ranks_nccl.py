"""NCCL with world size 1 (a CUDA machine; started by test_nccl.py without mpirun): the
collectives on ``cuda`` tensors go through cupy.cuda.nccl, and DDP on cuda matches one
process. Prints ``CHECK 0 <name> OK|FAIL`` like ranks_main.py."""
import traceback

import numpy as np

import ember
import ember.distributed as dist
from ember.nn.parallel import DistributedDataParallel as DDP


def check(name):
    def run(fn):
        try:
            fn()
            print(f"CHECK 0 {name} OK", flush=True)
        except Exception:  # noqa: BLE001 - reported to the test
            print(f"CHECK 0 {name} FAIL " + traceback.format_exc().replace("\n", " | "),
                  flush=True)
    return run


dist.init_process_group("nccl")
dev = "cuda"


@check("nccl_collectives")
def _():
    x = ember.arange(6, dtype=ember.float32, device=dev)
    dist.all_reduce(x)
    assert x.cpu().tolist() == list(range(6))
    dist.all_reduce(x, op=dist.ReduceOp.AVG)
    assert x.cpu().tolist() == list(range(6))
    dist.broadcast(x, src=0)
    out = ember.zeros(6, device=dev)
    dist.all_gather_into_tensor(out, x)
    assert out.cpu().tolist() == list(range(6))
    rs = ember.zeros(6, device=dev)
    dist.reduce_scatter_tensor(rs, x)
    assert rs.cpu().tolist() == list(range(6))
    w = dist.all_reduce(x, async_op=True)
    w.wait()
    assert dist.group.WORLD._nccl, "the cuda tensors did not go through NCCL"


@check("nccl_ddp")
def _():
    ember.manual_seed(0)
    ref = ember.nn.Linear(4, 2).double().to(dev)
    model = ember.nn.Linear(4, 2).double().to(dev)
    model.load_state_dict(ref.state_dict())
    ddp = DDP(model)
    x = ember.randn(8, 4, dtype=ember.float64, device=dev)
    for m in (ref, ddp):
        m(x).pow(2).mean().backward()
    for a, b in zip(ref.parameters(), ddp.module.parameters()):
        assert np.abs((a.grad - b.grad).cpu().numpy()).max() < 1e-12


dist.destroy_process_group()
print("DONE 0", flush=True)
