"""Shared memory behind the DataLoader leaves nothing in /dev/shm, whoever is killed: a
segment has no name while a batch is in flight (its descriptor travels with the frame), so
a SIGKILL of the main process -- what the OOM killer does -- with big batches queued leaves
no ``ember-dl-*`` file behind."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import ember
from ember.utils.data import _transport

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not hasattr(os, "fork") or not os.path.isdir("/dev/shm"),
                                 reason="needs /dev/shm and Unix sockets")]


def _named(prefix: str) -> list[str]:
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


def test_a_batch_in_flight_has_no_name_in_dev_shm():
    prefix = f"ember-dl-test-{os.getpid()}-"
    a, b = mp.Pipe(duplex=True)
    try:
        big = ember.arange(300_000, dtype=ember.float32)  # 1.2 MB: over SHM_MIN_BYTES
        _transport.send(a, {"x": big, "tag": "t"}, prefix)
        assert b.poll(5)
        assert _named(prefix) == []       # sent, not yet received: nothing named exists
        got = _transport.recv(b)
        assert got["tag"] == "t"
        np.testing.assert_array_equal(got["x"].numpy(), big.numpy())
    finally:
        a.close()
        b.close()


def test_a_pipe_that_cannot_carry_descriptors_sends_inline():
    r, w = mp.Pipe(duplex=False)
    try:
        big = ember.ones(100_000)  # more than a pipe holds: send from another thread
        t = threading.Thread(target=_transport.send, args=(w, big, "ember-dl-test-inline-"))
        t.start()
        got = _transport.recv(r)
        t.join(10)
        assert got.shape == (100_000,) and float(got.sum()) == 100_000.0
    finally:
        r.close()
        w.close()


_MAIN = textwrap.dedent("""
    import os, sys, time
    import ember
    from ember.utils.data import DataLoader, Dataset

    class Big(Dataset):  # 4 MiB batches, made slowly enough to be in flight at the kill
        def __len__(self):
            return 64
        def __getitem__(self, i):
            return ember.full((256 * 1024,), float(i))

    loader = DataLoader(Big(), batch_size=4, num_workers=2, prefetch_factor=4)
    it = iter(loader)
    next(it)
    print(it._pool.shm_prefix, *it._pool.pids, flush=True)
    time.sleep(60)  # batches keep arriving; the test kills us now
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) holds no files either
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_of_the_main_process_with_batches_in_flight_leaves_nothing():
    env = dict(os.environ)
    env.pop("EMBER_PROVIDERS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(os.path.dirname(
        ember.__file__)), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-c", _MAIN], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line, proc.stderr.read()
        prefix, workers = line[0], [int(p) for p in line[1:]]
        time.sleep(0.3)  # let the workers fill the prefetch queue
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10  # workers notice the dead parent within ~0.5 s
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "orphaned DataLoader workers"
        assert _named(prefix) == []
        assert _named(prefix.split("-")[0] + "-dl-" + str(proc.pid) + "-") == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
