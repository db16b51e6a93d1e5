"""The numpy backend's kernels: the generic defaults, replaced where numpy has a native way."""
from __future__ import annotations

from ember.backends import Backend

from . import _random
from . import conv as _conv
from . import optim as _optim
from . import select as _select
from . import softmax as _softmax


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


class NumpyBackend(Backend):
    name = "numpy"
    device_types = ("cpu",)
    priority = 100
    checks_index_bounds = True

    def unavailable_reason(self):
        try:
            import numpy  # noqa: F401
        except ImportError as e:
            return f"numpy is not installed ({e})"
        return None

    def load(self) -> None:
        import warnings

        import numpy as np
        self.np = np
        self.xp = np
        # numpy warns on log(0), 0/0, overflow...; PyTorch silently returns inf/nan. Ignore
        # the floating-point RuntimeWarnings raised from ember's own frames only: the user's
        # numpy settings and warnings from their own numpy code stay untouched.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember(_numpy)?\.")
        # threads: ember.set_num_threads reaches the BLAS and the kernels' own pool
        from ember import _settings

        from . import _threads
        _threads._STATE["n"] = _settings.get_num_threads()
        if _settings._STATE["threads"] is not None:  # set before this backend loaded
            _threads.apply(_settings._STATE["threads"])
        if _threads.apply not in _settings.THREAD_LISTENERS:
            _settings.THREAD_LISTENERS.append(_threads.apply)
        try:
            import ml_dtypes
        except ImportError:  # bfloat16 is then unavailable, everything else works
            return
        from ember import _dtype
        bf16 = np.dtype(ml_dtypes.bfloat16)
        self._to_native[_dtype.bfloat16] = bf16
        self._from_native[bf16] = _dtype.bfloat16

    _special = None

    @property
    def special(self):
        """``scipy.special`` (imported on first use: it costs ~0.1 s) behind an adapter that
        keeps dtypes and has a vectorized float32 erf (``ember_numpy.special``); None
        without scipy, and the generic series serve."""
        if self._special is None:
            try:
                from .special import ScipySpecial
                self._special = ScipySpecial()
            except ImportError:
                self._special = False
        return self._special or None

    @staticmethod
    def dtype_of_native(nat):
        import numpy as np
        return np.dtype(nat)

    def asarray(self, obj, dtype, index):
        return self.np.asarray(obj, dtype=self.native_dtype(dtype))

    def from_numpy(self, arr, index):
        return arr

    def to_numpy(self, x):
        return self.np.asarray(x)

    def astype(self, x, dtype):
        return x.astype(self.native_dtype(dtype), copy=False)

    def copy(self, x):
        return self.np.array(x, copy=True)

    def owns(self, x):
        return getattr(x, "base", 1) is None

    def index_add(self, x, key, values):
        np = self.np
        out = np.array(x, copy=True)
        if (isinstance(key, np.ndarray) and key.ndim == 1 and key.dtype.kind in "iu"
                and isinstance(values, np.ndarray) and values.ndim == x.ndim >= 2
                and values.shape[0] == key.shape[0] and key.shape[0] > 1
                and values.shape[1:] == x.shape[1:]):
            # whole rows (an embedding's backward): np.add.at goes element by element;
            # sorting the keys and summing each run of equal keys with add.reduceat, one
            # vector add a row, is ~2x faster (0.9 ms vs 1.8 for 700 rows of 200 into
            # 10k). Duplicates are summed in another order than np.add.at's (PyTorch's
            # embedding backward sorts its indices too): equal up to rounding.
            order = np.argsort(key, kind="stable")
            sk = key[order]
            starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
            out[sk[starts]] += np.add.reduceat(values[order], starts, axis=0)
            return out
        np.add.at(out, key, values)
        return out

    # --- random numbers: PyTorch's CPU generator and kernels (ember_numpy._random) -------
    def rng(self, seed):
        from ember._mt19937 import TorchCPUGenerator
        return TorchCPUGenerator(seed)

    def _host(self, arr, dtype, index):
        return arr.astype(self.native_dtype(dtype), copy=False)

    def _nat(self, dtype):
        return self.np.dtype(self.native_dtype(dtype))

    def random_uniform(self, rng, shape, dtype, low, high, index=None):
        n = _numel(shape)
        return _random.uniform(rng, n, self._nat(dtype), low, high).reshape(tuple(shape))

    def random_normal(self, rng, shape, dtype, mean, std, index=None):
        n = _numel(shape)
        return _random.normal(rng, n, self._nat(dtype), mean, std).reshape(tuple(shape))

    def random_integers(self, rng, shape, dtype, low, high, index=None):
        out = _random.from_to(rng, _numel(shape), low, high)
        return out.astype(self._nat(dtype), copy=False).reshape(tuple(shape))

    def random_full_range(self, rng, shape, dtype, index=None):
        return _random.full_range(rng, _numel(shape), self._nat(dtype)).reshape(tuple(shape))

    def random_permutation(self, rng, n, dtype, index=None):
        return _random.permutation(rng, n).astype(self._nat(dtype), copy=False)

    def random_bernoulli(self, rng, shape, dtype, p, index=None):
        shape = tuple(shape)
        if isinstance(p, self.np.ndarray):
            out = _random.bernoulli_tensor(rng, self.np.broadcast_to(p, shape))
        else:
            out = _random.bernoulli_scalar(rng, _numel(shape), float(p)).reshape(shape)
        return out.astype(self._nat(dtype))

    def random_exponential(self, rng, shape, dtype, lambd, index=None):
        nat = self._nat(dtype)
        out = _random.exponential(rng, _numel(shape), lambd, double=nat == self.np.float64)
        return out.astype(self._nat(dtype)).reshape(tuple(shape))

    # --- convolution and pooling: im2col convolutions and unpadded max pooling in numpy
    # layouts (ember_numpy.conv); everything else through the generic defaults
    def conv2d(self, x, w, stride, padding, dilation, groups):
        return _conv.conv2d_save(x, w, tuple(stride), tuple(padding), tuple(dilation),
                                 groups)[0]

    def conv2d_save(self, x, w, stride, padding, dilation, groups):
        return _conv.conv2d_save(x, w, tuple(stride), tuple(padding), tuple(dilation), groups)

    def conv2d_weight(self, x, g, weight_shape, stride, padding, dilation, groups,
                      saved=None):
        return _conv.conv2d_weight(x, g, weight_shape, tuple(stride), tuple(padding),
                                   tuple(dilation), groups, saved)

    def conv_transpose2d(self, x, w, stride, padding, out_hw, dilation, groups):
        return _conv.conv_transpose2d(x, w, tuple(stride), tuple(padding), tuple(out_hw),
                                      tuple(dilation), groups)

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        if x.dtype.kind == "f":
            from ember.backends._conv import pool_geometry
            out_hw, extra = pool_geometry(x.shape[2:], kernel, stride, padding, dilation,
                                          ceil_mode)
            res = _conv.max_pool2d(x, tuple(kernel), tuple(stride), tuple(padding),
                                   tuple(dilation), out_hw, extra)
            if res is not None:
                return res
        return super().max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)

    # --- exact GELU: one blocked sweep each way (ember_numpy.special) for float32
    def gelu(self, x):
        res = None
        if self.special is not None:
            from .special import gelu_float32
            res = gelu_float32(x)
        return super().gelu(x) if res is None else res

    def gelu_backward(self, g, x, cdf):
        res = None
        if self.special is not None:
            from .special import gelu_backward_float32
            res = gelu_backward_float32(g, x, cdf)
        return super().gelu_backward(g, x, cdf) if res is None else res

    def masked_fill(self, x, mask, value):
        res = _select.masked_fill(x, mask, value)
        return super().masked_fill(x, mask, value) if res is None else res

    # --- optimizer updates: in place and blocked (ember_numpy.optim)
    def adam_update(self, a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax=None):
        res = _optim.adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps, vmax)
        if res is None:
            return super().adam_update(a, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps,
                                       vmax)
        return res

    def axpy_(self, y, x, alpha):
        return _optim.axpy_(y, x, alpha)

    # --- softmax/log_softmax over the last axis: row blocks in cache (ember_numpy.softmax)
    def softmax(self, x, axis, log):
        res = _softmax.softmax(x, log) if axis in (-1, x.ndim - 1) else None
        return super().softmax(x, axis, log) if res is None else res

    def softmax_backward(self, y, g, axis, log):
        res = _softmax.softmax_backward(y, g, log) if axis in (-1, y.ndim - 1) else None
        return super().softmax_backward(y, g, axis, log) if res is None else res

    def max_pool2d_backward(self, g, idx, in_shape):
        return _conv.max_pool2d_backward(g, idx, in_shape)
