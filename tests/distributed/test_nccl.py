"""NCCL (cupy.cuda.nccl) with world size 1 on a CUDA machine; skips elsewhere."""
from __future__ import annotations

import re
import sys

import pytest

from _dist_helpers import launch, need_mpi

need_mpi()


@pytest.mark.cuda
def test_nccl_world_of_one():
    pytest.importorskip("cupy")
    from ember.distributed import is_nccl_available
    if not is_nccl_available():
        pytest.skip("cupy.cuda.nccl is not available")
    rc, out, _ = launch([sys.executable, "ranks_nccl.py"], timeout=300)
    results = re.findall(r"CHECK 0 (\w+) (OK|FAIL)", out)
    assert results == [("nccl_collectives", "OK"), ("nccl_ddp", "OK")], out
    assert rc == 0 and "DONE 0" in out, out
