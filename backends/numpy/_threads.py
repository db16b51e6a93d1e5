"""The numpy backend's threads: how many (``ember.set_num_threads``, else
``OMP_NUM_THREADS``, else the CPUs this process may use, as PyTorch counts them), applied to
numpy's BLAS through ``threadpoolctl`` and to the backend's own kernels, which split large
elementwise, im2col/col2im and pooling passes over a small pool (numpy releases the GIL
inside its loops, so the pieces run in parallel).

Splitting costs ~10-20 us per piece (handing a task to a worker and waiting for it), so a
pass is split only when every piece gets at least ``MIN_ELEMENTS`` elements."""
from __future__ import annotations

import threading

__all__ = ["MIN_ELEMENTS", "apply", "blocked", "map_ranges", "num_threads", "parallel", "pieces",
           "split"]

#: the fewest elements worth a thread of their own (~20-50 us of memory-bound numpy work)
MIN_ELEMENTS = 1 << 16

_STATE = {"n": 1, "pool": None, "size": 0}
_LOCK = threading.Lock()


def num_threads() -> int:
    return _STATE["n"]


def apply(n: int, blas: bool = True) -> None:
    """Use ``n`` threads from now on: in the kernels below and, with ``blas``, in numpy's
    BLAS (where ``threadpoolctl`` is installed; otherwise the BLAS keeps the count it started
    with, which ``OMP_NUM_THREADS`` sets before numpy loads)."""
    _STATE["n"] = max(1, int(n))
    if not blas:
        return
    _STATE["applied"] = True  # BLAS libraries loaded later get the limit re-applied
    try:
        from threadpoolctl import ThreadpoolController, threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=_STATE["n"], user_api="blas")
    if _ONE_THREAD:
        ThreadpoolController().select(filepath=list(_ONE_THREAD)).limit(limits=1)


# BLAS libraries kept at one thread whatever the count: scipy's own OpenBLAS where it is
# not numpy's, used only for memory-bound axpy; a second pool of spinning BLAS workers
# beside numpy's made whole training steps at 2 threads slower than at 1 (LSTM LM step
# 218 ms against 139 ms without it, on 2 cores)
_ONE_THREAD: set = set()


def keep_at_one_thread(load) -> None:
    """Run ``load()`` (an import that may bring in a BLAS library) and keep any BLAS
    library it loads, other than those already loaded, at one thread."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        load()
        return
    before = {i["filepath"] for i in threadpool_info() if i["user_api"] == "blas"}
    load()
    new = {i["filepath"] for i in threadpool_info() if i["user_api"] == "blas"} - before
    if new:
        _ONE_THREAD.update(new)
        from threadpoolctl import ThreadpoolController
        ThreadpoolController().select(filepath=list(new)).limit(limits=1)


def pieces(size: int, min_elements: int = MIN_ELEMENTS) -> int:
    """How many threads a pass over ``size`` elements is worth (1: do not split)."""
    n = _STATE["n"]
    if n == 1 or size < 2 * min_elements:
        return 1
    return min(n, size // min_elements)


def _pool(k: int):
    with _LOCK:
        if _STATE["size"] < k:
            from concurrent.futures import ThreadPoolExecutor
            old = _STATE["pool"]
            _STATE["pool"] = ThreadPoolExecutor(k, thread_name_prefix="ember-numpy")
            _STATE["size"] = k
            if old is not None:
                old.shutdown(wait=False)
        return _STATE["pool"]


def parallel(fn, bounds: list) -> None:
    """``fn(lo, hi)`` for each ``(lo, hi)`` in ``bounds``: the first on the calling thread,
    the others on the pool, all finished on return (an exception in any is raised here)."""
    if len(bounds) == 1:
        fn(*bounds[0])
        return
    pool = _pool(len(bounds) - 1)
    futures = [pool.submit(fn, lo, hi) for lo, hi in bounds[1:]]
    try:
        fn(*bounds[0])
    finally:
        for f in futures:
            f.result()


def map_ranges(fn, bounds: list) -> list:
    """``[fn(lo, hi) for (lo, hi) in bounds]``, run as :func:`parallel` runs them."""
    out: list = [None] * len(bounds)
    index = {lo: i for i, (lo, _) in enumerate(bounds)}

    def run(lo, hi):
        out[index[lo]] = fn(lo, hi)
    parallel(run, bounds)
    return out


def split(n: int, k: int) -> list:
    """``k`` nearly equal ``(lo, hi)`` ranges covering ``range(n)``."""
    return [(n * i // k, n * (i + 1) // k) for i in range(k)]


def blocked(n: int, block: int, fn, scratch=None, size: int | None = None,
            min_elements: int = MIN_ELEMENTS) -> None:
    """``fn(lo, hi)`` over consecutive blocks of at most ``block`` of ``range(n)`` (blocks
    whose arrays stay in cache while several passes run over them), the blocks spread over
    the threads in contiguous pieces as :func:`pieces` says for ``size`` elements (default
    n). ``scratch(m)``: a work buffer made once per piece for blocks of up to m, passed as
    fn's third argument."""
    def run(lo, hi):
        if scratch is None:
            for b in range(lo, hi, block):
                fn(b, min(hi, b + block))
            return
        buf = scratch(min(block, hi - lo))
        for b in range(lo, hi, block):
            fn(b, min(hi, b + block), buf)
    parallel(run, split(n, pieces(n if size is None else size, min_elements)))
