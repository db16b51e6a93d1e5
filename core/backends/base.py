"""The backend protocol: what the frontend asks of an array library.

A backend is a subclass of :class:`Backend`. It names itself, the device types it serves and
its priority, says whether it is available (and why not), and after :meth:`load` exposes
``xp``: an array namespace following the Python array API standard (numpy 2.x, cupy,
``jax.numpy``, ``array_api_strict`` all qualify). The frontend writes every kernel once
against ``xp`` and array operators.

The kernels the standard lacks are methods here, each with a generic default written over
``xp`` (or, where the standard has no way at all, a host round trip through numpy). A
backend overrides the ones it can do natively and faster. Nothing heavy is imported until
:meth:`load` runs, which the registry does on first use of a device the backend serves.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import _dtype
from ._indexing import getitem as _generic_getitem, host_key as _host_key
from ._indexing import scalar_like as _scalar_like, setitem as _generic_setitem

__all__ = ["Backend"]


class Backend:
    """Base class of every ember backend. Override what your library does better."""

    #: short unique name, e.g. "numpy"
    name: str = "?"
    #: device types served, e.g. ("cpu",) or ("cuda",)
    device_types: tuple[str, ...] = ()
    #: higher wins when several backends serve one device type (the override beats both)
    priority: int = 0
    #: the array namespace, set by :meth:`load`
    xp: Any = None
    #: True when arrays can be mutated in place (numpy, cupy); False for JAX
    mutable: bool = True
    #: True when indexing raises IndexError for out-of-range integer index arrays (numpy);
    #: False (cupy wraps, JAX clamps) makes the frontend check them first
    checks_index_bounds: bool = False
    #: False when a forked child cannot use the library its parent loaded (JAX's threads):
    #: DataLoader workers then spawn instead of forking
    fork_safe: bool = True
    #: False when failed factorizations (singular, not positive-definite) give NaNs instead
    #: of raising (XLA): the frontend then checks results to raise PyTorch's error
    raises_linalg_errors: bool = True

    # --- availability and loading ---------------------------------------------------------
    def is_available(self) -> bool:
        """True if the library imports and (for accelerators) a device is present."""
        return self.unavailable_reason() is None

    def unavailable_reason(self) -> str | None:
        """A sentence saying why the backend cannot be used, or None if it can."""
        return None

    def version(self) -> str:
        """The version of the array library behind the backend."""
        return getattr(self.xp, "__version__", "?") if self.xp is not None else "?"

    def load(self) -> None:
        """Import the library and set ``self.xp``. Called once, on first use; the registry
        then builds the dtype tables (:meth:`_build_dtype_tables`) from ``xp``."""
        raise NotImplementedError

    def __getattr__(self, name: str):
        # the dtype tables, built on first use after load() set xp (load itself may need
        # them, before the registry builds them)
        if name in ("_to_native", "_from_native") and self.__dict__.get("xp") is not None:
            self._build_dtype_tables()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _build_dtype_tables(self) -> None:
        """Map ember dtypes to the namespace's dtype objects, skipping ones it lacks. The
        registry calls it right after :meth:`load`; a backend need not."""
        self._to_native: dict = {}
        self._from_native: dict = {}
        for d in _dtype.ALL:
            nat = getattr(self.xp, d._np, None)
            if nat is not None:
                self._to_native[d] = nat
                self._from_native[nat] = d
                try:
                    self._from_native[self.dtype_of_native(nat)] = d
                except Exception:  # noqa: BLE001 - best effort for odd dtype objects
                    pass

    @staticmethod
    def dtype_of_native(nat: Any) -> Any:
        """The object an array's ``.dtype`` compares equal to, for a namespace dtype: numpy's
        dtype where the namespace uses numpy's (numpy, cupy, JAX), else ``nat`` itself."""
        import numpy as np
        try:
            return np.dtype(nat)
        except TypeError:
            return nat

    # --- devices --------------------------------------------------------------------------
    def device_count(self, device_type: str) -> int:
        """How many devices of ``device_type`` there are (CPU-like backends: 1)."""
        return 1

    def current_index(self, device_type: str) -> int:
        return 0

    def synchronize(self, index: int | None = None) -> None:
        """Wait for queued work to finish (a no-op on synchronous backends)."""

    def index_of(self, x: Any) -> int | None:
        """The device index array ``x`` lives on, or None where the backend does not tell
        devices apart (one device per type: the default)."""
        return None

    def place(self, x: Any, index: int | None) -> Any:
        """Array ``x`` (just made by ``xp`` on the current device) on device ``index``
        (None: where it is). The default moves it through the host when :meth:`index_of`
        says it is elsewhere; a multi-device backend overrides it with a device copy."""
        if index is None:
            return x
        at = self.index_of(x)
        if at is None or at == index:
            return x
        return self.from_numpy(self.to_numpy(x), index)

    def from_backend(self, x: Any, src: "Backend", index: int | None) -> Any | None:
        """Array ``x`` of backend ``src`` as one of this backend's on device ``index``
        without a host round trip (DLPack, a shared device), or None to let the frontend go
        through the host (``src.to_numpy`` then :meth:`from_numpy`): the default."""
        return None

    # What ``ember.cuda`` / ``ember.accelerator`` ask of an accelerator backend; the defaults
    # suit a backend with one device and no memory pool of its own.
    def set_current_index(self, device_type: str, index: int) -> None:
        """Make ``index`` the current device (``ember.cuda.set_device``)."""

    def device_name(self, device_type: str, index: int) -> str:
        return f"{self.name} {device_type}:{index}"

    def memory_allocated(self, index: int) -> int:
        """Bytes held by live arrays on device ``index`` (0 where not tracked)."""
        return 0

    def max_memory_allocated(self, index: int) -> int:
        return self.memory_allocated(index)

    def reset_peak_memory_stats(self, index: int) -> None:
        pass

    def empty_cache(self) -> None:
        """Give cached, unused device memory back to the driver."""

    def pin_memory(self, host: Any) -> Any:
        """A copy of numpy array ``host`` in page-locked memory, for faster transfers to this
        backend's devices; the default returns ``host`` (nothing to pin)."""
        return host

    def is_pinned(self, host: Any) -> bool:
        return False

    # --- dtypes ---------------------------------------------------------------------------
    def supports_dtype(self, d: "_dtype.dtype") -> bool:
        """True if tensors of ember dtype ``d`` can live here (after :meth:`load`)."""
        return d in self._to_native

    def native_dtype(self, d: "_dtype.dtype") -> Any:
        try:
            return self._to_native[d]
        except KeyError:
            raise TypeError(f"dtype {d!r} is not supported by the {self.name} backend") from None

    def ember_dtype(self, native: Any) -> "_dtype.dtype":
        try:
            return self._from_native[native]
        except KeyError:
            return _dtype.from_numpy_name(str(native))

    # --- creation and transfer ------------------------------------------------------------
    def asarray(self, obj: Any, dtype: "_dtype.dtype", index: int | None) -> Any:
        """An array on device ``index`` from Python data or a host numpy array."""
        return self.xp.asarray(obj, dtype=self.native_dtype(dtype))

    def from_numpy(self, arr: Any, index: int | None) -> Any:
        """A device array from a numpy array; shares memory where the backend can."""
        return self.xp.asarray(arr)

    def to_numpy(self, x: Any) -> Any:
        """A numpy array with x's values; shares memory where the backend can."""
        import numpy as np
        try:
            return np.from_dlpack(x)
        except Exception:  # noqa: BLE001 - not every array speaks DLPack on every device
            return np.asarray(x)

    def astype(self, x: Any, dtype: "_dtype.dtype") -> Any:
        nat = self.native_dtype(dtype)
        try:
            return self.xp.astype(x, nat)
        except TypeError:  # the standard forbids complex -> real casts; PyTorch allows them
            xp = self.xp
            if not xp.isdtype(x.dtype, "complex floating"):
                raise
            if dtype is _dtype.bool:
                return x != 0
            return xp.astype(xp.real(x), nat)  # the imaginary part dropped, as PyTorch does

    def view_dtype(self, x: Any, dtype: "_dtype.dtype") -> Any:
        """x's bytes seen as ember dtype ``dtype`` (``Tensor.view(dtype)``), sharing memory.
        Generic default: the array's own ``view``, else numpy's on the host array (which
        shares memory where ``to_numpy``/``from_numpy`` do, as on CPU namespaces)."""
        if hasattr(x, "view"):
            return x.view(self.native_dtype(dtype))
        import numpy as np
        return self.from_numpy(np.asarray(self.to_numpy(x)).view(_np_name(dtype)), None)

    def copy(self, x: Any) -> Any:
        return self.xp.asarray(x, copy=True)

    def owns(self, x: Any) -> bool:
        """True if no other live array can see x's memory (so autograd may keep it as a
        leaf's .grad without copying). Immutable backends: always True."""
        return not self.mutable

    # --- kernels the standard lacks -------------------------------------------------------
    #: a ``scipy.special``-like module (``jax.scipy.special``, ``cupyx.scipy.special``)
    #: whose erf/erfc/erfinv replace the generic series below; set it in :meth:`load`
    special: Any = None

    def erf(self, x: Any) -> Any:
        """erf of a float array (same dtype). Generic default: a float64 series over xp."""
        if self.special is not None:
            return self.special.erf(x)
        from ._special import erf
        return erf(self.xp, x)

    def erfc(self, x: Any) -> Any:
        if self.special is not None:
            return self.special.erfc(x)
        from ._special import erfc
        return erfc(self.xp, x)

    def erfinv(self, x: Any) -> Any:
        if self.special is not None:
            return self.special.erfinv(x)
        from ._special import erfinv
        return erfinv(self.xp, x)

    def gelu(self, x: Any) -> tuple:
        """Exact GELU of a float array and the Φ(x) its backward reuses: ``(x Φ(x), Φ(x))``
        with ``Φ(x) = 0.5 (1 + erf(x / √2))`` (``torch.nn.functional.gelu``'s formula). A
        backend overrides it to make fewer passes over memory; results must stay these
        formulas' bit for bit."""
        cdf = 0.5 * (1 + self.erf(x * math.sqrt(0.5)))
        return x * cdf, cdf

    def gelu_backward(self, g: Any, x: Any, cdf: Any) -> Any:
        """GELU's input gradient ``g (Φ(x) + x φ(x))`` with the forward's ``cdf`` = Φ(x),
        φ(x) = exp(-x²/2) / √(2π); the same formulas bit for bit where overridden."""
        return g * (cdf + x * (self.xp.exp(x * x * -0.5) * (1.0 / math.sqrt(2.0 * math.pi))))

    def masked_fill(self, x: Any, mask: Any, value: Any) -> Any:
        """``value`` (a number, or a 0-d array of x's dtype) where the bool array ``mask``
        (x's shape) is True, x elsewhere: a new array. Generic default: ``xp.where``."""
        return self.xp.where(mask, value, x)

    def getitem(self, x: Any, key: Any) -> Any:
        """``x[key]`` for a key the namespace refused (the frontend indexes directly and asks
        here only then). Generic default: the key rewritten in the array API standard's
        form (a view still), else computed on the host (``ember.backends._indexing``)."""
        return _generic_getitem(self, x, key)

    def setitem(self, x: Any, key: Any, value: Any) -> Any:
        """``x[key] = value``; returns the updated array (a new one on immutable backends).
        Keys beyond the standard's take the generic path of :meth:`getitem`."""
        try:
            x[key] = value
        except IndexError:
            return _generic_setitem(self, x, key, value)
        except TypeError:  # the standard casts no Python float into ints (nor int into bool)
            if hasattr(value, "shape"):
                raise
            return self.setitem(x, key, _scalar_like(self, x, value))
        return x

    def index_add(self, x: Any, key: Any, values: Any) -> Any:
        """x with ``values`` added at ``key``, duplicates accumulating (``np.add.at``).
        Returns a new array. Generic default: a host round trip through numpy."""
        import numpy as np
        host = np.array(self.to_numpy(x), copy=True)
        np.add.at(host, _host_key(self, key), self.to_numpy(values))
        return self.from_numpy(host, None)

    def index_reduce(self, x: Any, key: Any, values: Any, reduce: str) -> Any:
        """x with ``values`` combined in at ``key`` by ``reduce`` ("sum", "prod", "amax",
        "amin"), duplicates all taking part (``np.maximum.at`` ...). Returns a new array.
        Generic default: a host round trip through numpy."""
        import numpy as np
        ufunc = {"sum": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}[reduce]
        host = np.array(self.to_numpy(x), copy=True)
        ufunc.at(host, _host_key(self, key), values if not hasattr(values, "shape")
                 else self.to_numpy(values))
        return self.from_numpy(host, None)

    # --- discrete Fourier transforms -----------------------------------------------------
    def fft(self, x: Any, kind: str, axes: tuple, norm: str, last_size: int | None = None) -> Any:
        """The DFT of ``x`` over ``axes`` with numpy's ``norm`` ("backward", "ortho",
        "forward"). ``kind``: "fft"/"ifft" (complex to complex, x complex), "rfft" (real x to
        its one-sided spectrum over the last axis), "irfft" (one-sided spectrum to real, the
        last axis ``last_size`` long). Generic default: the namespace's fft extension (numpy,
        cupy, jax.numpy and array_api_strict have one), else a round trip through numpy.fft."""
        mod = getattr(self.xp, "fft", None)
        if mod is not None:
            return _run_fft(mod, x, kind, axes, norm, last_size)
        import numpy as np
        res = _run_fft(np.fft, self.to_numpy(x), kind, axes, norm, last_size)
        return self.from_numpy(np.ascontiguousarray(res), self.index_of(x))

    # --- convolution and pooling ----------------------------------------------------------
    # Arrays are (N, C, H, W) (1-d ops arrive with H == 1); stride, padding (zeros on both
    # sides), dilation, kernel are (h, w) pairs. Generic defaults: im2col by strided slicing
    # and matmul (ember.backends._conv); override with native convolutions.
    def im2col(self, x: Any, kernel, stride, padding, dilation, out_hw) -> Any:
        """x's windows as (N, C, kh * kw, OH, OW) (zero padding); what the generic
        convolutions are built on, so a backend with a faster one overrides only this."""
        from ._conv import im2col
        return im2col(self, x, kernel, stride, padding, dilation, out_hw)

    def col2im(self, cols: Any, out_hw, kernel, stride, padding, dilation) -> Any:
        """The adjoint of im2col: (N, C, kh * kw, H, W) summed back into (N, C, *out_hw)."""
        from ._conv import col2im
        return col2im(self, cols, out_hw, kernel, stride, padding, dilation)

    def conv2d(self, x: Any, w: Any, stride, padding, dilation, groups: int) -> Any:
        """Cross-correlation of x with w (O, C/groups, kh, kw): (N, O, OH, OW)."""
        from ._conv import conv2d
        return conv2d(self, x, w, stride, padding, dilation, groups)

    def conv_transpose2d(self, x: Any, w: Any, stride, padding, out_hw, dilation,
                         groups: int) -> Any:
        """The adjoint of conv2d in its input (w is (Ci, Co/groups, kh, kw)), cropped to
        ``out_hw``: the gradient of conv2d's input and ConvTranspose2d's forward."""
        from ._conv import conv_transpose2d
        return conv_transpose2d(self, x, w, stride, padding, out_hw, dilation, groups)

    def conv2d_save(self, x: Any, w: Any, stride, padding, dilation, groups: int):
        """(conv2d's output, what conv2d_weight may reuse for this x: the im2col columns
        here; None where a backend keeps nothing)."""
        from ._conv import conv2d
        return conv2d(self, x, w, stride, padding, dilation, groups, keep=True)

    def conv2d_weight(self, x: Any, g: Any, weight_shape, stride, padding, dilation,
                      groups: int, saved: Any = None) -> Any:
        """The gradient of conv2d in its weight, given the output gradient g (and what
        conv2d_save kept for x, if anything)."""
        from ._conv import conv2d_weight
        return conv2d_weight(self, x, g, weight_shape, stride, padding, dilation, groups,
                             saved)

    def max_pool2d(self, x: Any, kernel, stride, padding, dilation, ceil_mode: bool):
        """(window maxima, int64 flat index ``h * W + w`` of each maximum in x)."""
        from ._conv import max_pool2d
        return max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode)

    def max_pool2d_backward(self, g: Any, idx: Any, in_shape) -> Any:
        """g added into zeros of ``in_shape`` at the flat indices (duplicates accumulate)."""
        from ._conv import max_pool2d_backward
        return max_pool2d_backward(self, g, idx, in_shape)

    def avg_pool2d(self, x: Any, kernel, stride, padding, ceil_mode: bool,
                   count_include_pad: bool, divisor_override) -> Any:
        from ._conv import avg_pool2d
        return avg_pool2d(self, x, kernel, stride, padding, ceil_mode, count_include_pad,
                          divisor_override)

    def avg_pool2d_backward(self, g: Any, in_hw, kernel, stride, padding, ceil_mode: bool,
                            count_include_pad: bool, divisor_override) -> Any:
        from ._conv import avg_pool2d_backward
        return avg_pool2d_backward(self, g, in_hw, kernel, stride, padding, ceil_mode,
                                   count_include_pad, divisor_override)

    # --- fused optimizer updates --------------------------------------------------------
    def adam_update(self, a: Any, g: Any, m: Any, v: Any, beta1: float, beta2: float,
                    step_size: float, bc2_sqrt: float, eps: float, vmax: Any = None):
        """One Adam step on arrays with PyTorch's single-tensor formulas (the role of
        ``torch._fused_adam_``): ``m.lerp_(g, 1 - beta1)``; ``v = beta2 v + (1 - beta2)
        g g``; under amsgrad ``vmax = max(vmax, v)``; ``a -= step_size m / (sqrt(v or vmax)
        / bc2_sqrt + eps)``. Returns (a, m, v, vmax), updated in place where arrays are
        mutable (new arrays otherwise). A backend with a one-launch kernel overrides it."""
        m = lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        if vmax is not None:
            vmax = self.xp.maximum(vmax, v)
        a -= step_size * (m / (self.xp.sqrt(v if vmax is None else vmax) / bc2_sqrt + eps))
        return a, m, v, vmax

    def axpy_(self, y: Any, x: Any, alpha: float) -> Any:
        """``y += alpha * x`` (the optimizers' ``p.add_(d, alpha=-lr)``); returns y, updated
        in place where arrays are mutable. A backend overrides it to skip the temporary."""
        y += alpha * x
        return y

    # --- softmax over one axis (the passes of softmax/log_softmax and their backward) ----
    def softmax(self, x: Any, axis: int, log: bool) -> Any:
        """``softmax`` (or ``log_softmax`` with ``log``) of a float array along ``axis``
        (not empty), the maximum subtracted first; a new array. A backend overrides it to
        make fewer passes over memory (ember_numpy: row blocks in cache, split over
        threads); results must stay these formulas' bit for bit."""
        xp = self.xp
        z = x - xp.max(x, axis=axis, keepdims=True)
        s = xp.sum(xp.exp(z), axis=axis, keepdims=True)
        return z - xp.log(s) if log else xp.exp(z) / s

    def softmax_backward(self, y: Any, g: Any, axis: int, log: bool) -> Any:
        """The gradient of softmax's (``log``: log_softmax's) input from its result ``y``
        and the gradient ``g`` of it: ``g y - y sum(g y)`` (``g - exp(y) sum(g)``); a new
        array."""
        xp = self.xp
        if log:
            return g + xp.exp(y) * -xp.sum(g, axis=axis, keepdims=True)
        gy = g * y
        return gy - y * xp.sum(gy, axis=axis, keepdims=True)

    # --- random numbers -------------------------------------------------------------------
    # A backend's generator state is whatever rng() returns; the default draws on the host
    # with numpy's PCG64 and moves the result over, so every backend is seedable.
    def rng(self, seed: int) -> Any:
        import numpy as np
        return np.random.Generator(np.random.PCG64(seed))

    def _host(self, arr, dtype, index):
        import numpy as np
        # np.asarray(order="C"), not ascontiguousarray: that turns a 0-d draw into shape (1,)
        return self.from_numpy(np.asarray(arr.astype(_np_name(dtype), copy=False), order="C"),
                               index)

    def random_uniform(self, rng: Any, shape: Sequence[int], dtype, low: float, high: float,
                       index=None) -> Any:
        return self._host(rng.uniform(low, high, size=tuple(shape)), dtype, index)

    def random_normal(self, rng: Any, shape: Sequence[int], dtype, mean: float, std: float,
                      index=None) -> Any:
        return self._host(rng.normal(mean, std, size=tuple(shape)), dtype, index)

    def random_integers(self, rng: Any, shape: Sequence[int], dtype, low: int, high: int,
                        index=None) -> Any:
        return self._host(rng.integers(low, high, size=tuple(shape)), dtype, index)

    def random_permutation(self, rng: Any, n: int, dtype, index=None) -> Any:
        return self._host(rng.permutation(n), dtype, index)

    def random_full_range(self, rng: Any, shape: Sequence[int], dtype, index=None) -> Any:
        """``Tensor.random_()`` with no bounds: integers in [0, the dtype's max] (for floating
        dtypes [0, 2**mantissa digits])."""
        from .. import _dtype
        if dtype is _dtype.bool:
            high = 2
        elif dtype.is_floating_point:
            high = 2 ** {"float16": 11, "bfloat16": 8, "float32": 24}.get(dtype.name, 53) + 1
        else:  # int64: [0, 2**63 - 1) (an exclusive bound of 2**63 overflows int64 libraries)
            high = min(_dtype.iinfo(dtype).max + 1, (1 << 63) - 1)
        return self.random_integers(rng, shape, dtype, 0, high, index)

    def random_bernoulli(self, rng: Any, shape: Sequence[int], dtype, p, index=None) -> Any:
        """0/1 draws of ``dtype``, 1 with probability ``p`` (a float, or a backend array
        broadcastable to ``shape``)."""
        from .. import _dtype
        u = self.random_uniform(rng, shape, _dtype.float64, 0.0, 1.0, index)
        return self.astype(u < p, dtype)

    def random_exponential(self, rng: Any, shape: Sequence[int], dtype, lambd: float,
                           index=None) -> Any:
        """Exponential(lambd) draws of ``dtype`` (``-log1p(-u) / lambd``)."""
        from .. import _dtype
        u = self.random_uniform(rng, shape, _dtype.float64, 0.0, 1.0, index)
        return self.astype((-1.0 / lambd) * self.xp.log1p(-u), dtype)

    def __repr__(self) -> str:
        return f"<ember backend {self.name!r} serving {', '.join(self.device_types)}>"


def _run_fft(mod, x, kind: str, axes: tuple, norm: str, last_size):
    """One call into an fft module of the array API's fft extension (numpy.fft's names)."""
    if kind == "fft":
        return mod.fftn(x, axes=axes, norm=norm)
    if kind == "ifft":
        return mod.ifftn(x, axes=axes, norm=norm)
    if kind == "rfft":
        return mod.rfftn(x, axes=axes, norm=norm)
    s = [x.shape[a] for a in axes[:-1]] + [last_size]
    return mod.irfftn(x, s=s, axes=axes, norm=norm)


def lerp_(a, b, w: float):
    """``a.lerp_(b, w)`` on arrays with PyTorch's two-sided formula; returns the result (a
    itself, updated in place where arrays are mutable, on the common w < 0.5 path)."""
    if w < 0.5:
        a += w * (b - a)
        return a
    return b - (b - a) * (1 - w)


def _np_name(d: "_dtype.dtype"):
    """What numpy's astype takes for an ember dtype (bfloat16 comes from ml_dtypes)."""
    if d is _dtype.bfloat16:
        import ml_dtypes
        return ml_dtypes.bfloat16
    return d._np
