"""The JAX backend's kernels: the generic defaults, replaced where JAX has a native way.

Arrays are immutable: ``setitem``/``index_add``/``index_reduce`` return new arrays through
``x.at[key]``, ``copy`` returns its argument (nothing can change it), and transfers from the
host copy (JAX's CPU client may alias a numpy array it is given, which numpy could then
change under JAX).
"""
from __future__ import annotations

import importlib.util
import os
import weakref
from typing import Any, Sequence

from ember.backends import Backend

__all__ = ["JaxBackend"]

# JAX CUDA plugins (pip install "jax[cuda12]"): where one is installed, JAX can serve `cuda`.
_CUDA_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin")


class _Key:
    """A ``jax.random`` key that each draw advances: the backend's generator state.

    ``bit_generator.state`` is the raw key data, so ``ember.Generator.get_state`` and
    ``set_state`` round-trip it as they do numpy's generator state."""

    __slots__ = ("key", "_jr")

    def __init__(self, jr, key):
        self._jr, self.key = jr, key

    def next(self):
        self.key, sub = self._jr.split(self.key)
        return sub

    @property
    def bit_generator(self) -> "_Key":
        return self

    @property
    def state(self):
        import numpy as np
        return np.asarray(self._jr.key_data(self.key)).tolist()

    @state.setter
    def state(self, data) -> None:
        import jax.numpy as jnp
        self.key = self._jr.wrap_key_data(jnp.asarray(data, dtype=jnp.uint32))


class JaxBackend(Backend):
    name = "jax"
    priority = 10  # below numpy (cpu) and cupy (cuda): JAX serves those only when chosen
    mutable = False
    fork_safe = False  # XLA's thread pools do not survive fork
    raises_linalg_errors = False  # XLA's factorizations return NaNs instead

    def __init__(self) -> None:
        cuda = any(importlib.util.find_spec(m) is not None for m in _CUDA_PLUGINS)
        self._pool_slots = _Memo()
        self.device_types = ("jax", "cpu", "cuda") if cuda else ("jax", "cpu")

    def unavailable_reason(self) -> str | None:
        for mod in ("jax", "jaxlib"):
            if importlib.util.find_spec(mod) is None:
                return f"{mod} is not installed (pip install 'ember[jax]', i.e. jax and jaxlib)"
        return None

    def version(self) -> str:
        import jax
        return jax.__version__

    def load(self) -> None:
        import jax
        import jax.numpy as jnp
        import numpy as np
        jax.config.update("jax_enable_x64", True)  # int64/float64 as in PyTorch
        # float32 matmuls and convolutions in full float32, as PyTorch's default
        # (allow_tf32 False): on a GPU, JAX's default precision runs them in TF32 (~1e-3)
        jax.config.update("jax_default_matmul_precision", "highest")
        # CPU computations run on the calling thread, as PyTorch's do: handing each one to
        # XLA's dispatch thread and waiting for it costs ~40 us per call, twice a compiled
        # small training step (README "Compiling"). Takes effect where JAX has not made its
        # CPU client yet; EMBER_JAX_ASYNC_DISPATCH=1 keeps JAX's asynchronous default.
        if os.environ.get("EMBER_JAX_ASYNC_DISPATCH", "") not in ("1", "true", "True"):
            try:
                jax.config.update("jax_cpu_enable_async_dispatch", False)
            except AttributeError:  # a JAX without the option
                pass
        self.jax, self.np, self.jr = jax, np, jax.random
        self._cpu = jax.devices("cpu")[0]
        self._devices = jax.devices()
        try:
            self._gpus = jax.devices("gpu")
        except RuntimeError:
            self._gpus = []
        from jax.scipy import special
        self.special = special
        self.xp = jnp

    # --- devices ----------------------------------------------------------------------------
    def device_count(self, device_type: str) -> int:
        if device_type == "cpu":
            return 1
        return len(self._gpus if device_type == "cuda" else self._devices)

    def _dev(self, index):
        # index None is ember's cpu; "jax:N" and "cuda:N" both number the default platform's
        # devices (the GPUs wherever JAX has them)
        return self._cpu if index is None else self._devices[index]

    def synchronize(self, index=None) -> None:
        self.jax.effects_barrier()

    # --- creation and transfer --------------------------------------------------------------
    def asarray(self, obj, dtype, index):
        nat = self.native_dtype(dtype)
        if isinstance(obj, self.np.ndarray):
            return self.from_numpy(obj.astype(nat, copy=False), index)
        return self.xp.asarray(obj, dtype=nat, device=self._dev(index))

    def from_numpy(self, arr, index):
        # a private host copy: JAX's CPU client may keep the very buffer it is given, which
        # numpy could then change under an immutable array
        return self.jax.device_put(self.np.array(arr, copy=True), self._dev(index))

    def to_numpy(self, x):
        # a writable copy: JAX's own buffer must not change under it
        return self.np.array(x)

    def from_backend(self, data, src, index):
        """Device to device through DLPack (CuPy on a GPU), copied so the source library
        cannot change the JAX array later; None lets the caller go through the host."""
        if src is self or index is None or not hasattr(data, "__dlpack__"):
            return None
        try:
            got = self.jax.dlpack.from_dlpack(data)
        except Exception:  # noqa: BLE001 - a device JAX cannot read: go through the host
            return None
        return self.xp.array(self.jax.device_put(got, self._dev(index)), copy=True)

    def copy(self, x):
        return x

    def astype(self, x, dtype):
        nat = self.native_dtype(dtype)
        if dtype.name == "bool" or dtype.is_floating_point or dtype.is_complex or \
                not self.xp.isdtype(x.dtype, "real floating"):
            return x.astype(nat)
        # float -> integer as PyTorch on x86 (XLA would saturate): out of range and NaN give
        # the minimum of int32 (of int64 for int64); narrower types wrap from int32
        bits = 64 if dtype.itemsize == 8 else 32
        wide = self.xp.int64 if bits == 64 else self.xp.int32
        lo, hi = -2.0 ** (bits - 1), 2.0 ** (bits - 1)  # exact in every float type
        y = self.xp.where((x >= lo) & (x < hi), x, lo).astype(wide)
        return y if dtype.itemsize * 8 == bits else y.astype(nat)

    # --- kernels the standard lacks ---------------------------------------------------------
    def _like(self, x, value):
        """value as x's dtype: ember casts as PyTorch does (2.7 into int64 is 2), and JAX
        warns about scatters that would cast implicitly."""
        if getattr(value, "dtype", None) == x.dtype:
            return value
        return self.xp.asarray(value).astype(x.dtype)

    def setitem(self, x, key, value):
        return x.at[key].set(self._like(x, value))

    def index_add(self, x, key, values):
        return x.at[key].add(self._like(x, values))

    def index_reduce(self, x, key, values, reduce):
        at, values = x.at[key], self._like(x, values)
        return {"sum": at.add, "prod": at.multiply, "amax": at.max, "amin": at.min}[reduce](
            values)

    def adam_update(self, a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax=None):
        # inside ember.compile the bias corrections arrive as float64 0-d arrays (the step
        # count is traced): cast them to the parameter's dtype, as a Python float is in
        # eager mode, so a float32 parameter stays float32
        if hasattr(step_size, "dtype"):
            step_size = step_size.astype(a.dtype)
        if hasattr(bc2_sqrt, "dtype"):
            bc2_sqrt = bc2_sqrt.astype(a.dtype)
        return super().adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax)

    # --- convolution and pooling: XLA kernels (backends/jax/_conv.py) -----------------------
    def conv2d(self, x, w, stride, padding, dilation, groups):
        from . import _conv
        return _conv.conv2d(x, w, *_pairs(stride, padding, dilation), groups)

    def conv_transpose2d(self, x, w, stride, padding, out_hw, dilation, groups):
        from . import _conv
        stride, padding, out_hw, dilation = _pairs(stride, padding, out_hw, dilation)
        return _conv.conv_transpose2d(x, w, stride, padding, out_hw, dilation, groups)

    def conv2d_save(self, x, w, stride, padding, dilation, groups):
        return self.conv2d(x, w, stride, padding, dilation, groups), None  # XLA keeps nothing

    def conv2d_weight(self, x, g, weight_shape, stride, padding, dilation, groups, saved=None):
        from . import _conv
        return _conv.conv2d_weight(x, g, *_pairs(weight_shape, stride, padding, dilation),
                                   groups)

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        from . import _conv
        geo = _pairs(kernel, stride, padding, dilation)
        out, idx, k = _conv.max_pool2d(x, *geo, bool(ceil_mode))
        kernel, stride, padding, dilation = geo
        if padding == (0, 0) and all(
                (o - 1) * s + (kk - 1) * d < n for o, s, kk, d, n in
                zip(out.shape[2:], stride, kernel, dilation, x.shape[2:])):
            # every window inside the input: the backward spreads by window slot
            self._pool_slots.remember(idx, (k, kernel, stride, dilation))
        return out, idx

    def max_pool2d_backward(self, g, idx, in_shape):
        from . import _conv
        got = self._pool_slots.get(idx)
        if got is not None:
            k, kernel, stride, dilation = got
            return _conv.max_pool2d_backward_slots(g, k, tuple(int(v) for v in in_shape[2:]),
                                                   kernel, stride, dilation)
        return _conv.max_pool2d_backward(g, idx, tuple(int(v) for v in in_shape))

    def avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                   divisor_override):
        from . import _conv
        return _conv.avg_pool2d(x, *_pairs(kernel, stride, padding), bool(ceil_mode),
                                bool(count_include_pad), divisor_override)

    def avg_pool2d_backward(self, g, in_hw, kernel, stride, padding, ceil_mode,
                            count_include_pad, divisor_override):
        from . import _conv
        return _conv.avg_pool2d_backward(g, *_pairs(in_hw, kernel, stride, padding),
                                         bool(ceil_mode), bool(count_include_pad),
                                         divisor_override)

    # --- random numbers: a jax.random key per generator, split on every draw -----------------
    def rng(self, seed: int) -> _Key:
        return _Key(self.jr, self.jr.key(self.np.uint64(seed)))

    def _put(self, arr, index):
        return self.jax.device_put(arr, self._dev(index))

    def random_uniform(self, rng: _Key, shape: Sequence[int], dtype, low: float, high: float,
                       index=None) -> Any:
        out = self.jr.uniform(rng.next(), tuple(shape), self.native_dtype(dtype), low, high)
        return self._put(out, index)

    def random_normal(self, rng: _Key, shape: Sequence[int], dtype, mean: float, std: float,
                      index=None) -> Any:
        out = self.jr.normal(rng.next(), tuple(shape), self.native_dtype(dtype))
        if std != 1.0 or mean != 0.0:
            out = out * std + mean
        return self._put(out, index)

    def random_integers(self, rng: _Key, shape: Sequence[int], dtype, low: int, high: int,
                        index=None) -> Any:
        out = self.jr.randint(rng.next(), tuple(shape), low, high, dtype=self.xp.int64)
        return self._put(out.astype(self.native_dtype(dtype)), index)

    def random_permutation(self, rng: _Key, n: int, dtype, index=None) -> Any:
        out = self.jr.permutation(rng.next(), n)
        return self._put(out.astype(self.native_dtype(dtype)), index)


class _Memo:
    """Facts about arrays this backend returned, looked up by identity while the array
    lives: the window slots of a max pool's indices (``max_pool2d_backward`` receives
    the indices only; the slots let it spread the gradient without a scatter). An entry
    goes when its array is collected; nothing here keeps an array alive."""

    __slots__ = ("_d",)

    def __init__(self) -> None:
        self._d: dict = {}

    def remember(self, arr, info) -> None:
        key, d = id(arr), self._d
        d[key] = (weakref.ref(arr, lambda _, key=key: d.pop(key, None)), info)

    def get(self, arr):
        got = self._d.get(id(arr))
        return got[1] if got is not None and got[0]() is arr else None


def _pairs(*args):
    """Geometry arguments as tuples of ints: hashable, so jit caches a kernel per shape."""
    return tuple(tuple(int(v) for v in a) for a in args)
