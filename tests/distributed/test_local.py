"""The single-process parts of ember's distributed stack: the post-accumulate-grad hook,
errors before init, DistributedSampler's partitioning, DataParallel, host staging of
tensors on every backend, ember.multiprocessing (queues through shared memory, spawn),
and `ember run --nproc` without mpirun."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.distributed as dist
from ember.utils.data import distributed as ember_distributed
from ember.utils.data.distributed import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))


def test_post_accumulate_grad_hook_matches_torch(torch, device):
    def run(T, dev):
        w = T.ones(3, requires_grad=True, device=dev)
        seen = []
        h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        h.remove()
        (w * 3).sum().backward()
        T.autograd.grad((w * 2).sum(), w)  # no accumulation: no hook call either way
        return seen
    assert run(ember, device) == run(torch, "cpu")
    w = ember.ones(2, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ember.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_errors_before_init_match_torch(torch):
    import torch.distributed as tdist
    for name in ("get_rank", "get_world_size", "barrier"):
        with pytest.raises(ValueError) as te:
            getattr(tdist, name)()
        with pytest.raises(ValueError) as ee:
            getattr(dist, name)()
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError) as te:
        tdist.all_reduce(torch.ones(2))
    with pytest.raises(ValueError) as ee:
        dist.all_reduce(ember.ones(2))
    assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError) as ee:
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))
    assert str(ee.value) == str(te.value)
    with pytest.raises(TypeError, match="Expected parameter `tensor`"):
        dist.all_reduce([1.0])
    assert not dist.is_initialized()
    assert dist.Backend("GLOO") == "gloo" == tdist.Backend("GLOO")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.Backend("carrier-pigeon")
    assert dist.ReduceOp.AVG.name == "AVG" and repr(dist.ReduceOp.SUM) == repr(
        tdist.ReduceOp.SUM)


@pytest.mark.parametrize("n", [10, 3, 8])
def test_sampler_partitions_match_torch(torch, monkeypatch, n):
    from torch.utils.data.distributed import DistributedSampler as T

    def torch_order(size, seed):  # the same permutation torch draws, to compare partitioning
        g = torch.Generator()
        g.manual_seed(seed)
        return torch.randperm(size, generator=g).tolist()
    for shuffle in (False, True):
        with monkeypatch.context() as m:
            if shuffle:
                m.setattr(ember_distributed, "_order", torch_order)
            for replicas in (1, 3, 4):
                for drop_last in (False, True):
                    for rank in range(replicas):
                        kw = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, seed=7,
                                  drop_last=drop_last)
                        es, ts = DistributedSampler(range(n), **kw), T(range(n), **kw)
                        for epoch in (0, 3):
                            es.set_epoch(epoch)
                            ts.set_epoch(epoch)
                            assert list(es) == list(ts), (kw, epoch)
                            assert len(es) == len(ts)
    with pytest.raises(ValueError) as ee:
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError) as te:
        T(range(4), num_replicas=2, rank=2)
    assert str(ee.value) == str(te.value)


def test_sampler_shuffle_is_a_seeded_permutation():
    def all_ranks(seed, epoch):
        out = []
        for r in range(3):
            s = DistributedSampler(range(9), num_replicas=3, rank=r, seed=seed)
            s.set_epoch(epoch)
            out.append(list(s))
        return out
    a = all_ranks(1, 0)
    assert sorted(sum(a, [])) == list(range(9))
    assert a == all_ranks(1, 0) and a != all_ranks(1, 1) and a != all_ranks(2, 0)


def test_data_parallel_is_the_module_on_one_device(torch):
    m = ember.nn.Linear(3, 2)
    dp = ember.nn.DataParallel(m)
    x = ember.randn(4, 3)
    assert ember.equal(dp(x), m(x)) and dp.module is m
    tm = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert list(dp.state_dict()) == list(tm.state_dict()) == ["module.weight", "module.bias"]
    assert ember.nn.parallel.DataParallel is ember.nn.DataParallel
    with pytest.warns(UserWarning, match="one device"):
        ember.nn.DataParallel(m, device_ids=[0, 1])


def test_host_staging_round_trip(device):
    from ember.distributed._host import Host
    base = ember.arange(12, dtype=ember.float64, device=device).reshape(3, 4)
    # each view made after the previous write (on JAX a view is a snapshot of its base)
    for view in (lambda b: b, lambda b: b.t(), lambda b: b[:, 1]):
        t = view(base)
        h = Host(t)
        np.testing.assert_array_equal(h.arr, t.cpu().numpy())
        assert h.arr.flags.c_contiguous
        h.store(h.arr * 10)
    # base was scaled through its two views and directly: 10 ** 3 on column 1
    want = np.arange(12.0).reshape(3, 4) * 100
    want[:, 1] *= 10
    np.testing.assert_array_equal(base.cpu().numpy(), want)


def test_spawn_and_queue_carry_tensors_through_shared_memory():
    import _mp_workers
    import ember.multiprocessing as mp
    from multiprocessing.reduction import ForkingPickler
    q = mp.get_context("spawn").Queue()
    base = ember.arange(40_000, dtype=ember.float64)  # 320 KB: goes through /dev/shm
    mp.spawn(_mp_workers.put_tensors, args=(q, base, 100_000), nprocs=2)
    got = sorted((q.get(timeout=60) for _ in range(2)), key=lambda d: d["i"])
    for i, d in enumerate(got):
        assert ember.equal(d["scaled"], base * (i + 1))
        assert d["big"].dtype == ember.float64 and d["big"][-1].item() == 99_999
        assert d["small"].tolist() == [1.0] * 3 and d["grad"].requires_grad
    prefix = os.environ["EMBER_MP_SHM_PREFIX"]
    assert not [f for f in os.listdir("/dev/shm") if f.startswith(prefix)]  # read: unlinked
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf"):
        ForkingPickler.dumps(ember.ones(2, requires_grad=True) * 2)
    with pytest.raises(mp.ProcessRaisedException, match="process 0 says no"):
        mp.spawn(_mp_workers.fail, nprocs=1)


def test_run_nproc_without_mpirun_says_how_to_install(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print('hi')\n")
    env = dict(os.environ, PATH=str(tmp_path),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, "-m", "ember", "run", "--nproc", "2", str(script)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "apt-get install openmpi-bin libopenmpi-dev" in r.stderr
    assert "Traceback" not in r.stderr


def test_torchrun_world_without_mpirun_says_how_to_launch():
    pytest.importorskip("mpi4py")
    code = ("import ember.distributed as d\n"
            "try:\n    d.init_process_group('gloo')\n"
            "except RuntimeError as e:\n    print('ERR', e)\n"
            "d.init_process_group('mpi', world_size=1)\n"
            "print('OK', d.get_rank(), d.get_world_size(), d.is_initialized())\n")
    env = dict(os.environ, WORLD_SIZE="2", RANK="0", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert "ERR init_process_group: world_size is 2 but MPI sees one process" in r.stdout, \
        r.stdout + r.stderr
    assert "ember run --nproc 2" in r.stdout
    # an explicit world_size wins over the environment, as in PyTorch: a world of one
    assert "OK 0 1 True" in r.stdout, r.stdout + r.stderr
