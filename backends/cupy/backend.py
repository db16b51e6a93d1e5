"""The CuPy backend's kernels: the generic defaults, replaced where CuPy has a native way.

- Placement: every array is created under ``cupy.cuda.Device(index)``, so a tensor on
  ``cuda:1`` lives on GPU 1. Kernels run where CuPy runs them (the current device); use
  ``ember.cuda.set_device`` (or ``with ember.cuda.device(i)``) before computing on another
  GPU, as CuPy itself asks.
- ``xp`` is CuPy's namespace with the standard's sort/argsort signatures (``_xp``).
- matmul is CuPy's (cuBLAS). Convolutions are the generic im2col + matmul, with im2col,
  col2im and max pooling as one-launch kernels (``_kernels``; cuDNN is not used: CuPy
  exposes no public convolution API). scatter-add/max/min are ``cupyx.scatter_*``; erf
  family from ``cupyx.scipy.special``; random numbers from one ``cupy.random.RandomState``
  per device.
- ``memory_allocated``/``max_memory_allocated`` read CuPy's memory pool; the peak is tracked
  by wrapping the pool's ``malloc`` (process-wide: ``cupy.cuda.set_allocator`` at load).
- ``pin_memory`` copies a host array into page-locked memory (``cupyx.empty_pinned``).
"""
from __future__ import annotations

import importlib.util
from typing import Any, Sequence

from ember.backends import Backend

__all__ = ["CupyBackend"]

_NOT_INSTALLED = "CuPy is not installed (pip install cupy-cuda12x)"
_NO_DEVICE = "no CUDA device or driver"


class _Rngs:
    """One ``cupy.random.RandomState`` per device, all seeded alike (ember's generator for
    a cuda device draws on that device)."""

    __slots__ = ("seed", "states")

    def __init__(self, seed: int):
        self.seed, self.states = seed, {}


class CupyBackend(Backend):
    name = "cupy"
    device_types = ("cuda",)
    priority = 100

    _reason: str | None = None
    _checked = False

    def unavailable_reason(self) -> str | None:
        if not self._checked:
            self._reason = self._probe()
            self._checked = True
        return self._reason

    @staticmethod
    def _probe() -> str | None:
        if importlib.util.find_spec("cupy") is None:
            return _NOT_INSTALLED
        try:
            import cupy
            n = cupy.cuda.runtime.getDeviceCount()
        except ImportError as e:
            return f"{_NOT_INSTALLED}: importing it failed ({e})"
        except Exception as e:  # noqa: BLE001 - CUDARuntimeError: no driver, old driver, ...
            return f"{_NO_DEVICE} ({type(e).__name__}: {e})"
        return None if n > 0 else _NO_DEVICE

    def version(self) -> str:
        import cupy
        return cupy.__version__

    def load(self) -> None:
        import cupy
        import cupyx
        import numpy as np
        from cupyx.scipy import special
        self.cp, self.cpx, self.np, self.special = cupy, cupyx, np, special
        self._pool = cupy.get_default_memory_pool()
        self._peak: dict[int, int] = {}
        pool, peak = self._pool, self._peak

        def malloc(size: int):
            mem = pool.malloc(size)
            used = pool.used_bytes()
            if used > peak.get(mem.device_id, 0):
                peak[mem.device_id] = used
            return mem
        cupy.cuda.set_allocator(malloc)
        from ._xp import namespace
        self.xp = namespace(cupy)
        self._fast = (np.dtype(np.float32), np.dtype(np.float64))
        self._atomic_extrema = tuple(np.dtype(t) for t in (np.float32, np.int32, np.uint32,
                                                           np.int64, np.uint64))

    # --- devices ----------------------------------------------------------------------------
    def device_count(self, device_type: str) -> int:
        return self.cp.cuda.runtime.getDeviceCount()

    def current_index(self, device_type: str) -> int:
        return self.cp.cuda.runtime.getDevice()

    def set_current_index(self, device_type: str, index: int) -> None:
        self.cp.cuda.Device(index).use()

    def synchronize(self, index: int | None = None) -> None:
        dev = self.cp.cuda.Device(index) if index is not None else self.cp.cuda.Device()
        dev.synchronize()

    def device_name(self, device_type: str, index: int) -> str:
        name = self.cp.cuda.runtime.getDeviceProperties(index)["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def memory_allocated(self, index: int) -> int:
        with self.cp.cuda.Device(index):
            return self._pool.used_bytes()

    def max_memory_allocated(self, index: int) -> int:
        return max(self._peak.get(index, 0), self.memory_allocated(index))

    def reset_peak_memory_stats(self, index: int) -> None:
        self._peak[index] = self.memory_allocated(index)

    def empty_cache(self) -> None:
        self._pool.free_all_blocks()
        self.cp.get_default_pinned_memory_pool().free_all_blocks()

    def pin_memory(self, host: Any) -> Any:
        out = self.cpx.empty_pinned(host.shape, host.dtype)
        out[...] = host
        return out

    def is_pinned(self, host: Any) -> bool:
        try:
            attrs = self.cp.cuda.runtime.pointerGetAttributes(host.ctypes.data)
        except Exception:  # noqa: BLE001 - not a CUDA-known pointer: ordinary pageable memory
            return False
        return attrs.type == self.cp.cuda.runtime.memoryTypeHost

    # --- creation and transfer --------------------------------------------------------------
    def _on(self, index):
        return self.cp.cuda.Device(self.current_index("cuda") if index is None else index)

    def asarray(self, obj, dtype, index):
        with self._on(index):
            return self.xp.asarray(obj, dtype=self.native_dtype(dtype))

    def from_numpy(self, arr, index):
        with self._on(index):
            return self.xp.asarray(arr)

    def to_numpy(self, x):
        return self.cp.asnumpy(x)

    def index_of(self, x):
        return x.device.id

    def place(self, x, index):
        """A device-to-device copy when ``x`` (made on the current GPU) belongs on another."""
        if index is None or x.device.id == index:
            return x
        with self._on(index):
            out = self.cp.empty(x.shape, x.dtype)
            if x.nbytes:
                out.data.copy_from_device(self.cp.ascontiguousarray(x).data, x.nbytes)
        return out

    def from_backend(self, data, src, index):
        """GPU to GPU without the host: another cuda device by a peer copy, another CUDA
        library's array (JAX on a GPU) through DLPack, copied so that neither library sees
        the other's later writes. None lets the caller go through the host."""
        cp = self.cp
        if not isinstance(data, cp.ndarray):
            dl = getattr(data, "__dlpack_device__", None)
            if dl is None or dl()[0] != 2:  # 2 is kDLCUDA
                return None
            try:
                data = cp.from_dlpack(data)
            except Exception:  # noqa: BLE001 - a layout CuPy cannot import: go through host
                return None
        data = cp.ascontiguousarray(data)
        with self._on(index):
            out = cp.empty(data.shape, data.dtype)
            if data.nbytes:
                out.data.copy_from_device(data.data, data.nbytes)
        return out

    def astype(self, x, dtype):
        return x.astype(self.native_dtype(dtype), copy=False)

    def copy(self, x):
        return x.copy()

    def owns(self, x):
        return x.base is None

    # --- kernels the standard lacks ---------------------------------------------------------
    def index_add(self, x, key, values):
        return self.index_reduce(x, key, values, "sum")

    def index_reduce(self, x, key, values, reduce):
        fn = {"sum": "scatter_add", "amax": "scatter_max", "amin": "scatter_min"}.get(reduce)
        # cupyx's scatter_max/min round float64 through float32 (1.7266 comes back as
        # 1.7266000509...): only the dtypes with native atomic max/min go there
        if fn is None or fn != "scatter_add" and x.dtype not in self._atomic_extrema:
            return super().index_reduce(x, key, values, reduce)
        out = x.copy()
        try:
            getattr(self.cpx, fn)(out, key, values)
        except TypeError:  # a dtype cupyx's atomics lack (bool, int8, ...): go through host
            return super().index_reduce(x, key, values, reduce)
        return out

    # --- convolution and pooling: one-launch kernels (ember_cupy._kernels) for float32 and
    # float64 under the generic im2col + cuBLAS matmul convolutions; the rest generic
    def _native(self, name: str, arr, *args):
        """Kernel ``name`` of ``_kernels`` on arr's GPU, or the protocol's generic default
        where arr's dtype has no kernel."""
        if arr.dtype not in self._fast:
            return getattr(Backend, name)(self, arr, *args)
        from . import _kernels
        with self.cp.cuda.Device(arr.device.id):
            return getattr(_kernels, name)(arr, *args)

    def im2col(self, x, kernel, stride, padding, dilation, out_hw):
        return self._native("im2col", x, kernel, stride, padding, dilation, out_hw)

    def col2im(self, cols, out_hw, kernel, stride, padding, dilation):
        return self._native("col2im", cols, out_hw, kernel, stride, padding, dilation)

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        return self._native("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode)

    def max_pool2d_backward(self, g, idx, in_shape):
        return self._native("max_pool2d_backward", g, idx, in_shape)

    def adam_update(self, a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax=None):
        if hasattr(step_size, "dtype"):
            # captured in a CUDA graph (ember.compile): the bias corrections are device
            # scalars, so no host read bakes in one step's values; the generic path with
            # them cast to the parameter's dtype, as a Python float would be
            return super().adam_update(a, g, m, v, beta1, beta2, step_size.astype(a.dtype),
                                       bc2_sqrt.astype(a.dtype), eps, vmax)
        if vmax is not None or g.dtype != a.dtype:  # amsgrad, mixed dtypes: generic
            return super().adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps,
                                       vmax)
        return self._native("adam_update", a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps)

    # --- random numbers ---------------------------------------------------------------------
    def rng(self, seed: int) -> _Rngs:
        return _Rngs(seed)

    def _state(self, rng: _Rngs, index):
        i = self.current_index("cuda") if index is None else index
        st = rng.states.get(i)
        if st is None:
            with self.cp.cuda.Device(i):
                st = rng.states[i] = self.cp.random.RandomState(rng.seed)
        return i, st

    def _draw(self, rng, index, dtype, method: str, *args):
        i, st = self._state(rng, index)
        nat = self.native_dtype(dtype)
        # curand draws float32/float64 only: narrower floats are drawn as float32 and cast
        wide = nat if self.np.dtype(nat).itemsize >= 4 else self.np.float32
        with self.cp.cuda.Device(i):
            return i, nat, getattr(st, method)(*args, dtype=wide)

    def random_uniform(self, rng: _Rngs, shape: Sequence[int], dtype, low: float, high: float,
                       index=None) -> Any:
        i, nat, u = self._draw(rng, index, dtype, "random_sample", tuple(shape))
        # PyTorch's range is [0, 1) in the target dtype: a wider draw just below 1 would
        # round up to 1.0 when cast (half types), so it is held at the largest value under 1
        from ember import finfo
        with self.cp.cuda.Device(i):
            u = self.cp.minimum(u, 1.0 - finfo(dtype).eps / 2).astype(nat, copy=False)
            if low == 0.0 and high == 1.0:
                return u
            return (u * (high - low) + low).astype(nat, copy=False)

    def random_normal(self, rng: _Rngs, shape: Sequence[int], dtype, mean: float, std: float,
                      index=None) -> Any:
        i, nat, out = self._draw(rng, index, dtype, "normal", mean, std, tuple(shape))
        with self.cp.cuda.Device(i):
            return out.astype(nat, copy=False)

    def random_integers(self, rng: _Rngs, shape: Sequence[int], dtype, low: int, high: int,
                        index=None) -> Any:
        i, st = self._state(rng, index)
        with self.cp.cuda.Device(i):
            out = st.randint(low, high, tuple(shape), dtype=self.np.int64)
            return out.astype(self.native_dtype(dtype), copy=False)

    def random_permutation(self, rng: _Rngs, n: int, dtype, index=None) -> Any:
        i, st = self._state(rng, index)
        with self.cp.cuda.Device(i):
            return st.permutation(n).astype(self.native_dtype(dtype), copy=False)
