"""The numpy backend's fused optimizer updates: in place, no temporaries the size of a
parameter, and blocked so that the dozen elementwise passes of an Adam step run on data
in cache.

Why blocked: a 1M-parameter Adam step written as whole-array numpy operations makes ~15
passes over 4 MB arrays (and ~8 temporaries of 4 MB, each fresh pages from the OS); done
over blocks of ``BLOCK`` elements, every pass after the first reads the block from cache,
and the only temporary is one block-sized scratch array per thread. Large tensors are
split across the backend's threads (numpy releases the GIL in its loops).
"""
from __future__ import annotations

import numpy as np

from . import _threads

__all__ = ["adam_update", "axpy_"]

#: elements per block: the block's 5 float32 arrays (2.5 MiB) stay in a core's L2 or the
#: shared L3; measured on 10 x 1M-parameter Adam steps, 1 / 2 threads: 1 << 15: 20.8 /
#: 15.3 ms, 1 << 16: 19.2 / 13.4 ms, 1 << 17: 18.9 / 12.6-14.8 ms (fewer numpy calls per
#: element); later, A/B in one process at 1 thread (CPU time, medians of 12): 1 << 16:
#: 17.9-18.4 ms, 1 << 17: 16.8-17.5 ms, 1 << 18: 16.4 ms, 1 << 19: 17.4 ms. The passes
#: run in cache, ~7 us per 64k elements each: their count (12), not memory, sets the time
#: (a pass folded away saved 2-3%, but the update then differs from the generic default's
#: formulas by rounding, and they are kept bit for bit). numexpr, tried for the update as 3
#: evaluations with out= (float32 constants), took 69 ms against 21 ms for these blocks
#: (its virtual machine is not vectorized here)
BLOCK = 1 << 17


def _blocks(n: int, fn) -> None:
    """``fn(lo, hi, scratch)`` over blocks of range(n), the blocks spread over threads."""
    # (float64 scratch fits every float dtype)
    _threads.blocked(n, BLOCK, fn, scratch=lambda m: np.empty(m, np.float64),
                     min_elements=max(_threads.MIN_ELEMENTS, BLOCK))


def _flat(*arrays):
    """1-d views of C-contiguous arrays, or None when one is not (then the caller falls
    back to whole-array operations)."""
    if not all(a.flags.c_contiguous for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]


def adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax=None):
    """``Backend.adam_update`` (PyTorch's single-tensor Adam formulas) in place, blocked."""
    arrays = (a, g, m, v) if vmax is None else (a, g, m, v, vmax)
    flat = _flat(*arrays) if len({x.dtype for x in arrays}) == 1 else None
    if flat is None:
        return None
    fa, fg, fm, fv = flat[:4]
    fx = flat[4] if vmax is not None else None
    dt = a.dtype.type
    if 1 - beta1 >= 0.5:  # lerp's other side, b - (b - a)(1 - w): rare (beta1 <= 0.5)
        return None
    w1, b2, w2 = dt(1 - beta1), dt(beta2), dt(1 - beta2)
    bc2, eps_, neg_step = dt(bc2_sqrt), dt(eps), dt(-step_size)

    def block(lo, hi, buf):
        t = buf.view(a.dtype)[:hi - lo]
        ga, gg, gm, gv = fa[lo:hi], fg[lo:hi], fm[lo:hi], fv[lo:hi]
        np.subtract(gg, gm, out=t)       # m.lerp_(g, 1 - beta1) (w < 0.5: m + w (g - m))
        t *= w1
        gm += t
        np.multiply(gg, gg, out=t)       # v = beta2 v + (1 - beta2) g²
        t *= w2
        gv *= b2
        gv += t
        den = gv
        if fx is not None:               # amsgrad: vmax = max(vmax, v)
            gx = fx[lo:hi]
            np.maximum(gx, gv, out=gx)
            den = gx
        np.sqrt(den, out=t)              # a -= step_size m / (sqrt(v) / bc2_sqrt + eps)
        t /= bc2
        t += eps_
        np.divide(gm, t, out=t)
        t *= neg_step
        ga += t
    _blocks(fa.size, block)
    return a, m, v, vmax


_AXPY = {}


def _blas_axpy(dtype):
    """scipy's BLAS ``saxpy``/``daxpy`` for float32/float64 (None for other dtypes or
    without scipy). BLAS axpy is one fused pass in place: ~0.28 ms for 2 M float32 at one
    thread, where the blocked multiply-then-add below takes ~0.8 ms (PyTorch's add_: 0.26).
    Where scipy brings its own BLAS library (not numpy's), that library is kept at one
    thread (``_threads.keep_at_one_thread``): axpy is memory-bound, and a second pool of
    BLAS workers slows everything else."""
    key = dtype.type
    if key not in _AXPY:
        got = []

        def load():
            try:
                from scipy.linalg import blas
                got.append(blas)
            except ImportError:
                pass
        _threads.keep_at_one_thread(load)
        _AXPY[key] = None if not got else \
            {np.float32: got[0].saxpy, np.float64: got[0].daxpy}.get(key)
    return _AXPY[key]


def axpy_(y, x, alpha: float):
    """``y += alpha * x`` in place (y returned): BLAS axpy where it serves, else blocked
    (no temporary of y's size)."""
    flat = _flat(y, x) if y.dtype == x.dtype and y.shape == x.shape else None
    if flat is None:
        y += alpha * x
        return y
    fy, fx = flat
    fn = _blas_axpy(y.dtype) if fy.size >= _threads.MIN_ELEMENTS else None
    if fn is not None:
        r = fn(fx, fy, n=fy.size, a=alpha)
        if r is not fy:  # f2py made a copy (it should not for a contiguous 1-d array)
            fy[...] = r
        return y
    al = y.dtype.type(alpha)

    def block(lo, hi, buf):
        t = buf.view(y.dtype)[:hi - lo]
        np.multiply(fx[lo:hi], al, out=t)
        fy[lo:hi] += t
    _blocks(fy.size, block)
    return y
