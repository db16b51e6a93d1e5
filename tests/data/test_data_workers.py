"""Multi-process loading: results, seeding, sharding, and the reliability promises of
issue 4 (worker errors, killed workers, timeouts, clean shutdown, persistent workers,
fork and spawn). Every test has a hard time limit so a hang fails instead of blocking."""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
import re
import signal
import time

import pytest
from _data_helpers import (BigArrays, FailsAt, InitMarked, KillsItself, Range, Slow, Squares,
                           WhoLoads, failing_init, record_init)

import ember
from ember.utils.data import DataLoader, _transport

pytestmark = pytest.mark.timeout(60)


def _ours() -> list:
    return [p for p in mp.active_children() if p.name.startswith("ember-dataloader-worker")]


def _wait_no_workers(limit: float = 5.0) -> None:
    """Workers must be gone within ``limit`` seconds (active_children also reaps them)."""
    deadline = time.monotonic() + limit
    while _ours() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    assert _ours() == []


def _shm_files() -> list[str]:
    prefix = f"ember-dl-{os.getpid()}-"
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)] \
        if os.path.isdir("/dev/shm") else []


def _values(batches):
    return [(x.tolist(), y.tolist()) for x, y in batches]


def test_workers_give_what_the_main_process_gives():
    ds = Squares(20)
    want = _values(DataLoader(ds, batch_size=3))
    got = _values(DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="fork"))
    assert got == want
    _wait_no_workers()


def test_batches_arrive_as_plain_leaf_tensors():
    b, i = next(iter(DataLoader(Squares(6), batch_size=3, num_workers=1)))
    assert isinstance(b, ember.Tensor) and b.dtype == ember.float32 and b.shape == (3, 2)
    assert b.is_leaf and b.grad_fn is None and not b.requires_grad
    assert i.dtype == ember.int64
    _wait_no_workers()


def test_spawn_context_object_and_worker_init_fn():
    ctx = mp.get_context("spawn")
    loader = DataLoader(InitMarked(), batch_size=None, num_workers=2,
                        multiprocessing_context=ctx, worker_init_fn=record_init)
    assert sorted(loader) == [0, 0, 1, 1]  # round robin: each worker loaded two
    _wait_no_workers()


def test_worker_info_and_per_worker_seeds():
    def run(**kw):
        ember.manual_seed(1234)
        return list(DataLoader(WhoLoads(8), batch_size=None, num_workers=2, **kw))

    first, again = run(), run()
    assert [s["worker"] for s in first] == [0, 1] * 4
    assert {s["pid"] for s in first}.isdisjoint({os.getpid()})
    base = first[0]["seed"]
    assert all(s["seed"] == base + s["worker"] for s in first)
    # each worker's ember, numpy and Python RNGs are seeded apart from the other's ...
    w0 = [s for s in first if s["worker"] == 0][0]
    w1 = [s for s in first if s["worker"] == 1][0]
    for key in ("py", "np", "ember"):
        assert w0[key] != w1[key]
    # ... and reproducibly from ember.manual_seed
    assert first == [{**s, "pid": f["pid"]} for s, f in zip(again, first)]
    # an explicit generator decides the base seed instead
    g = ember.Generator().manual_seed(7)
    with_gen = run(generator=g)
    assert with_gen[0]["seed"] != base
    assert with_gen[0]["seed"] == run(generator=ember.Generator().manual_seed(7))[0]["seed"]
    assert ember.utils.data.get_worker_info() is None  # in the main process
    _wait_no_workers()


def test_worker_exception_reraises_with_worker_traceback():
    loader = DataLoader(FailsAt(bad=5), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as err:
        for _ in loader:
            pass
    msg = str(err.value)
    assert re.match(r"Caught ValueError in DataLoader worker process [01]\.\n"
                    r"Original Traceback \(most recent call last\):", msg)
    assert "bad sample 5" in msg and "__getitem__" in msg
    del err
    _wait_no_workers()


def test_worker_init_fn_error_is_reported():
    loader = DataLoader(Squares(4), num_workers=1, worker_init_fn=failing_init)
    with pytest.raises(RuntimeError, match="Caught RuntimeError in DataLoader worker process 0"):
        list(loader)
    _wait_no_workers()


def test_worker_killed_by_sigkill_is_reported_fast():
    loader = DataLoader(KillsItself(bad=6), batch_size=2, num_workers=2)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker [01] \(pid \d+\) is killed by "
                                           r"signal: .*SIGKILL"):
        list(loader)
    assert time.monotonic() - t0 < 5
    _wait_no_workers()


def test_worker_killed_from_outside_while_loader_waits():
    it = iter(DataLoader(Slow(0.3, n=40), batch_size=2, num_workers=2))
    next(it)
    victim = it._worker_pids[1]
    os.kill(victim, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"worker 1 \(pid {victim}\) is killed by signal"):
        for _ in it:
            pass
    assert time.monotonic() - t0 < 5
    del it
    _wait_no_workers()


def test_worker_exit_code_is_reported():
    loader = DataLoader(KillsItself(bad=1, exit_code=3), num_workers=1)
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(loader)
    _wait_no_workers()


def test_timeout_raises():
    it = iter(DataLoader(Slow(2.0, n=4), num_workers=1, timeout=0.3))
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0\.3 seconds$"):
        next(it)
    assert time.monotonic() - t0 < 1.5
    del it  # the worker is still inside __getitem__: shutdown must not wait it out
    _wait_no_workers(limit=3.0)


def test_breaking_out_early_leaves_no_workers():
    for i, _ in enumerate(DataLoader(Squares(40), batch_size=2, num_workers=2)):
        if i == 1:
            break
    _wait_no_workers()


def test_exception_in_training_loop_leaves_no_workers():
    def train():
        for _ in DataLoader(Squares(40), batch_size=2, num_workers=2):
            raise KeyError("loss is nan")

    with pytest.raises(KeyError):
        train()
    _wait_no_workers()


def test_persistent_workers_are_reused_and_stop_with_the_loader():
    loader = DataLoader(Squares(10), batch_size=3, num_workers=2, persistent_workers=True)
    want = _values(DataLoader(Squares(10), batch_size=3))
    assert _values(loader) == want
    pids = loader._iterator._worker_pids
    for i, _ in enumerate(loader):  # abandon an epoch half way ...
        if i == 1:
            break
    assert _values(loader) == want  # ... the next one is whole, and nothing stale leaks in
    assert loader._iterator._worker_pids == pids
    assert {p.pid for p in _ours()} == set(pids)
    del loader
    _wait_no_workers()


def test_iterable_dataset_sharding_and_len():
    ds = Range(0, 10)
    loader = DataLoader(ds, batch_size=2, num_workers=2)
    got = sorted(v for b in loader for v in b.tolist())
    assert got == list(range(10))
    assert len(loader) == 5
    # without sharding every worker yields the whole stream, as in PyTorch
    dup = sorted(v.item() for v in DataLoader(Range(0, 4, shard=False), num_workers=2))
    assert dup == [0, 0, 1, 1, 2, 2, 3, 3]
    _wait_no_workers()


def test_iterable_dataset_persistent_workers_epochs():
    loader = DataLoader(Range(0, 7), batch_size=3, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(v for b in loader for v in b.tolist()) == list(range(7))
    del loader
    _wait_no_workers()


def test_out_of_order_delivery_gives_every_batch():
    loader = DataLoader(Squares(21), batch_size=2, num_workers=2, in_order=False)
    got = sorted(i for _, idx in loader for i in idx.tolist())
    assert got == list(range(21))
    _wait_no_workers()


def test_big_batches_travel_through_shared_memory_without_leaks(monkeypatch):
    calls = []
    real = _transport.loads

    def spy(frame, fd=None):
        calls.append(frame[:1])
        return real(frame, fd)

    monkeypatch.setattr(_transport, "loads", spy)
    loader = DataLoader(BigArrays(8, size=100_000), batch_size=4, num_workers=2)
    batches = list(loader)
    assert [b.shape for b in batches] == [(4, 100_000)] * 2
    assert [float(x) for x in batches[1].numpy()[:, -1]] == [4.0, 5.0, 6.0, 7.0]
    if os.path.isdir("/dev/shm"):
        assert b"S" in calls  # the 1.6 MB batches went through shared memory
    # abandoning an epoch with batches in flight leaves no files behind either
    for _ in loader:
        break
    _wait_no_workers()
    assert _shm_files() == []


def test_default_context_and_generator_shuffle_match_single_process():
    g1 = ember.Generator().manual_seed(3)
    g2 = ember.Generator().manual_seed(3)
    a = _values(DataLoader(Squares(12), batch_size=5, shuffle=True, generator=g1))
    b = _values(DataLoader(Squares(12), batch_size=5, shuffle=True, generator=g2,
                           num_workers=2))
    assert a == b
    _wait_no_workers()


def test_a_batch_that_cannot_be_sent_is_reported():
    from _data_helpers import Unpicklable
    loader = DataLoader(Unpicklable("lambda"), num_workers=1, collate_fn=lambda b: b)
    with pytest.raises(Exception, match=r"Caught \w+ in DataLoader worker process 0\.\n"
                                        r"Original Traceback"):
        list(loader)
    # autograd state never crosses the boundary: PyTorch's refusal, raised in the main process
    loader = DataLoader(Unpicklable("graph"), num_workers=1, batch_size=None)
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor "
                                           "which requires_grad"):
        list(loader)
    _wait_no_workers()


def test_key_error_message_stays_readable():
    from _data_helpers import MissingKey
    with pytest.raises(KeyError) as err:
        list(DataLoader(MissingKey(), num_workers=1))
    text = str(err.value)
    assert text.startswith("Caught KeyError in DataLoader worker process 0.\nOriginal Traceback")
    assert "\\n" not in text  # not repr()-escaped
    del err
    _wait_no_workers()
