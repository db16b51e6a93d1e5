"""Tensor creation: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``/``ones``/``full``/
``empty`` (+ ``_like``), ``arange``, ``linspace``, ``eye``, random draws and ``Generator``.
Each mirrors the torch function of the same name, with ``dtype=``, ``device=``,
``requires_grad=``. Python data is read on the host with numpy and then placed on the
target backend, so every backend infers dtypes and shapes the same way."""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

from . import _dtype
from ._device import device as _Device
from ._tensor import Tensor, wrap
from .backends import registry

__all__ = ["tensor", "as_tensor", "from_numpy", "asarray", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range", "linspace",
           "logspace", "eye", "rand", "randn", "randint", "randperm", "normal", "rand_like",
           "randn_like", "randint_like", "bernoulli", "manual_seed", "seed", "initial_seed",
           "Generator", "default_generator", "get_default_device", "set_default_device",
           "scalar_tensor", "empty_strided", "tril_indices", "triu_indices", "from_dlpack"]

_DEFAULT_DEVICE_STACK: list = []
_default_device = None


def get_default_device():
    """Mirrors ``torch.get_default_device``."""
    if _DEFAULT_DEVICE_STACK:
        return _DEFAULT_DEVICE_STACK[-1]
    return _default_device if _default_device is not None else _Device("cpu")


def set_default_device(dev) -> None:
    """Mirrors ``torch.set_default_device``."""
    global _default_device
    _default_device = None if dev is None else _Device(dev)


_CPU = None


def _forget_cpu() -> None:
    global _CPU
    _CPU = None


registry.on_change(_forget_cpu)  # set_provider("cpu", ...) must reach new tensors


def resolve_device(dev=None):
    """The canonical device (with its backend attached) a new tensor goes to."""
    global _CPU
    if dev is None:
        if not _DEFAULT_DEVICE_STACK and _default_device is None:
            if _CPU is None or _CPU._be is None:
                _CPU = registry.canonical(_Device("cpu"))
            return _CPU
        dev = get_default_device()
    elif type(dev) is str or type(dev) is int:
        dev = _Device(dev)
    elif not isinstance(dev, _Device):
        raise TypeError(f"expected a device (str, int or ember.device), got "
                        f"{type(dev).__name__}")
    return registry.canonical(dev)


def _shape(size) -> tuple:
    """``f(2, 3)``, ``f([2, 3])``, ``f((2, 3))`` and ``f(Size)`` all mean shape (2, 3)."""
    if len(size) == 1 and not isinstance(size[0], (int, Tensor)):
        size = size[0]
    try:
        shape = tuple(int(s) if not isinstance(s, builtins.bool) else _bad_size(size)
                      for s in size)
    except TypeError:
        raise TypeError(f"size must be a sequence of ints, got {size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _bad_size(size):
    raise TypeError(f"size must be a sequence of ints, got {size!r}")


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t.requires_grad_(True)
    return t


# --- from data ------------------------------------------------------------------------------

def _infer_host(data: Any, dtype):
    """(numpy array, ember dtype) for Python data, with PyTorch's inference rules."""
    import numpy as np
    if isinstance(data, Tensor):
        arr = np.asarray(data._device._be.to_numpy(data._data))
        return arr, dtype or data.dtype
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        arr = np.asarray(data)
        if arr.dtype.kind in "OUSV" and arr.dtype.name != "bfloat16":
            raise TypeError(f"can't convert np.ndarray of type numpy.{arr.dtype.name}. The only "
                            "supported types are: float64, float32, float16, complex64, "
                            "complex128, int64, int32, int16, int8, uint8, and bool.")
        if dtype is None:
            dtype = _dtype.from_numpy_name(arr.dtype.name) if arr.dtype.name != "bfloat16" \
                else _dtype.bfloat16
        return arr, dtype
    if hasattr(data, "__dlpack__") and not isinstance(data, (list, tuple)):
        arr = np.from_dlpack(data)
        return arr, dtype or _dtype.from_numpy_name(arr.dtype.name)
    flat = _flatten_checked(data)
    if dtype is None:
        dtype = _infer_scalar_dtype(flat)
    try:
        arr = np.array(data if not flat or not isinstance(flat[0], Tensor) else
                       _tensors_to_lists(data), dtype=_host_np_dtype(dtype))
    except OverflowError:
        raise RuntimeError(f"value cannot be converted to type {dtype.name} without "
                           "overflow") from None
    return arr, dtype


def _host_np_dtype(dtype):
    if dtype is _dtype.bfloat16:
        import ml_dtypes
        return ml_dtypes.bfloat16
    return dtype._np


def _tensors_to_lists(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_lists(d) for d in data]
    return data


def _flatten_checked(data) -> list:
    """The leaves of nested sequences; ValueError in PyTorch's words if they are ragged."""
    out = []
    _walk(data, 0, [], out)
    return out


def _walk(x, depth, lengths, out):
    if isinstance(x, (list, tuple)):
        n = len(x)
        if len(lengths) <= depth:
            if lengths and len(out) and depth > len(lengths):
                pass
            lengths.append(n)
        elif lengths[depth] != n:
            raise ValueError(f"expected sequence of length {lengths[depth]} at dim {depth} "
                             f"(got {n})")
        for item in x:
            _walk(item, depth + 1, lengths, out)
        return
    if len(lengths) != depth and out:
        raise ValueError(f"expected sequence of length {lengths[depth]} at dim {depth} "
                         f"(got {type(x).__name__})" if depth < len(lengths) else
                         "setting an array element with a sequence.")
    if isinstance(x, Tensor) and x.numel() != 1 and x.ndim:
        # a list of n-d tensors: PyTorch reads them as nested sequences too
        lengths_here = list(x.shape)
        del lengths_here
    out.append(x)


def _infer_scalar_dtype(flat) -> "_dtype.dtype":
    if not flat:
        return _dtype.get_default_dtype()
    has_float = has_complex = False
    all_bool = True
    tensor_dt = None
    for v in flat:
        t = type(v)
        if t is builtins.bool:
            continue
        all_bool = False
        if t is int:
            continue
        if t is float:
            has_float = True
        elif t is complex:
            has_complex = True
        elif isinstance(v, Tensor):
            tensor_dt = v.dtype if tensor_dt is None else _dtype.promote_types(tensor_dt, v.dtype)
        else:
            try:
                d = _dtype.scalar_dtype(v)
            except TypeError:
                raise TypeError(f"Could not infer dtype of {t.__name__}") from None
            if d.is_complex:
                has_complex = True
            elif d.is_floating_point:
                has_float = True
    if tensor_dt is not None and not (has_float or has_complex):
        return tensor_dt
    if has_complex:
        return _dtype.default_complex()
    if has_float:
        return _dtype.get_default_dtype()
    return _dtype.bool if all_bool else _dtype.int64


def _place(arr, dtype, dev) -> Tensor:
    be = dev._be
    if arr.dtype.name != dtype.name:
        arr = arr.astype(_host_np_dtype(dtype))
    return wrap(be.from_numpy(arr, dev.index), dtype, dev)


def tensor(data: Any, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Mirrors ``torch.tensor``: always copies ``data``."""
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.clone().detach() or sourceTensor.clone().detach()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        out = data.detach().to(device=device if device is not None else data.device,
                               dtype=dtype or data.dtype, copy=True)
        return _finish(out, requires_grad)
    import numpy as np
    dev = resolve_device(device)
    arr, dt = _infer_host(data, dtype)
    if isinstance(data, np.ndarray) or arr.base is not None:
        arr = np.array(arr, copy=True)
    return _finish(_place(arr, dt, dev), requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Mirrors ``torch.as_tensor``: shares memory with a tensor or numpy array when the
    dtype and device already match."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device,
                       dtype=dtype or data.dtype)
    dev = resolve_device(device)
    arr, dt = _infer_host(data, dtype)
    return _place(arr, dt, dev)


asarray = as_tensor


def from_numpy(ndarray) -> Tensor:
    """Mirrors ``torch.from_numpy``: a CPU tensor sharing the array's memory."""
    import numpy as np
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dt = _dtype.bfloat16 if ndarray.dtype.name == "bfloat16" else \
        _dtype.from_numpy_name(ndarray.dtype.name)
    dev = resolve_device("cpu")
    return wrap(dev._be.from_numpy(ndarray, None), dt, dev)


def from_dlpack(ext) -> Tensor:
    """Mirrors ``torch.from_dlpack``: a CPU tensor sharing the producer's memory."""
    if isinstance(ext, Tensor):
        return ext.detach()
    import numpy as np
    return from_numpy(np.from_dlpack(ext))


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full((), s, dtype=dtype or _dtype.get_default_dtype(), device=device,
                requires_grad=requires_grad)


# --- filled ---------------------------------------------------------------------------------

def _filled(shape, value, dtype, dev) -> Tensor:
    be = dev._be
    xp = be.xp
    nat = be.native_dtype(dtype)
    if value == 0:
        data = xp.zeros(shape, dtype=nat)
    elif value == 1:
        data = xp.ones(shape, dtype=nat)
    else:
        data = xp.full(shape, value, dtype=nat)
    if dev.index is not None and hasattr(be, "place"):
        data = be.place(data, dev.index)
    return wrap(data, dtype, dev)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False) -> Tensor:
    """Mirrors ``torch.zeros``."""
    return _finish(_filled(_shape(size), 0, dtype or _dtype.get_default_dtype(),
                           resolve_device(device)), requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False) -> Tensor:
    """Mirrors ``torch.ones``."""
    return _finish(_filled(_shape(size), 1, dtype or _dtype.get_default_dtype(),
                           resolve_device(device)), requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    """Mirrors ``torch.empty`` (ember fills with zeros: uninitialised memory buys little
    in Python and makes results irreproducible)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False) -> Tensor:
    """Mirrors ``torch.full``: the dtype is inferred from ``fill_value`` when not given."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = dtype or _dtype.scalar_dtype(fill_value)
    return _finish(_filled(_shape((size,)), fill_value, dt, resolve_device(device)),
                   requires_grad)


def _like(t, dtype, device):
    return (dtype or t.dtype), (t._device if device is None else resolve_device(device))


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return _finish(_filled(input._data.shape, 0, dt, dev), requires_grad)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return _finish(_filled(input._data.shape, 1, dt, dev), requires_grad)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return _finish(_filled(input._data.shape, fill_value, dt, dev), requires_grad)


# --- ranges ---------------------------------------------------------------------------------

def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """Mirrors ``torch.arange``: int64 unless an argument is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = _dtype.int64 if all(isinstance(v, int) for v in vals) else \
            _dtype.get_default_dtype()
    n = max(0, math.ceil((end - start) / step))
    import numpy as np
    arr = (start + step * np.arange(n, dtype=np.float64)) if dtype.is_floating_point else \
        np.arange(start, end, step, dtype=np.int64)[:n]
    return _finish(_place(np.asarray(arr), dtype, resolve_device(device)), requires_grad)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):  # noqa: A001
    """Mirrors the deprecated ``torch.range``: includes ``end``."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    return arange(0, n, dtype=dtype or _dtype.get_default_dtype(), device=device) * step + start


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """Mirrors ``torch.linspace``."""
    import numpy as np
    dt = dtype or _dtype.get_default_dtype()
    arr = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    import numpy as np
    dt = dtype or _dtype.get_default_dtype()
    arr = np.logspace(float(start), float(end), int(steps), base=base)
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    """Mirrors ``torch.eye``."""
    dev = resolve_device(device)
    dt = dtype or _dtype.get_default_dtype()
    data = dev._be.xp.eye(n, n if m is None else m, dtype=dev._be.native_dtype(dt))
    return _finish(wrap(data, dt, dev), requires_grad)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    import numpy as np
    return _place(np.stack(np.tril_indices(row, offset, col)), dtype or _dtype.int64,
                  resolve_device(device))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    import numpy as np
    return _place(np.stack(np.triu_indices(row, offset, col)), dtype or _dtype.int64,
                  resolve_device(device))


# --- random ---------------------------------------------------------------------------------

_initial_seed = 67280421310721  # PyTorch's default seed


class Generator:
    """Mirrors ``torch.Generator``: a seedable random state for one device's backend."""

    def __init__(self, device="cpu"):
        self.device = _Device(device) if not isinstance(device, _Device) else device
        self._seed = _initial_seed
        self._state = None  # the backend's rng, made on first draw

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xffff_ffff_ffff_ffff:
            raise RuntimeError(f"Overflow when unpacking long long: {seed}")
        self._seed = seed & 0xffff_ffff_ffff_ffff
        self._state = None
        return self

    def seed(self) -> int:
        import random as _random
        self.manual_seed(_random.SystemRandom().getrandbits(63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def rng(self, be):
        if self._state is None or self._state[0] is not be:
            self._state = (be, be.rng(self._seed))
        return self._state[1]

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (pickled backend state), for ``set_state``."""
        import pickle
        import numpy as np
        st = None if self._state is None else self._state[1]
        blob = pickle.dumps((self._seed, getattr(st, "bit_generator", st).state
                             if hasattr(st, "bit_generator") else None))
        return from_numpy(np.frombuffer(blob, dtype=np.uint8).copy())

    def set_state(self, state: Tensor) -> "Generator":
        import pickle
        seed, bg = pickle.loads(bytes(state.numpy().tobytes()))  # noqa: S301 - our own blob
        self.manual_seed(seed)
        if bg is not None:
            be = resolve_device(self.device)._be
            rng = self.rng(be)
            rng.bit_generator.state = bg
        return self


default_generator = Generator("cpu")
_device_generators: dict = {}


def _generator_for(dev, generator):
    if generator is not None:
        return generator.rng(dev._be)
    if dev.type == "cpu":
        return default_generator.rng(dev._be)
    g = _device_generators.get(dev)
    if g is None:
        g = _device_generators[dev] = Generator(dev).manual_seed(default_generator._seed)
    return g.rng(dev._be)


def manual_seed(seed: int) -> Generator:
    """Mirrors ``torch.manual_seed``: seeds every device's default generator."""
    default_generator.manual_seed(seed)
    for g in _device_generators.values():
        g.manual_seed(seed)
    return default_generator


def seed() -> int:
    s = default_generator.seed()
    for g in _device_generators.values():
        g.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def _float_dtype(dtype, fn):
    dt = dtype or _dtype.get_default_dtype()
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f'"{fn}" not implemented for \'{_KERNEL_NAMES[dt.name]}\'')
    return dt


_KERNEL_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool", "float32": "Float", "float64": "Double",
                 "float16": "Half", "bfloat16": "BFloat16", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.rand``: uniform on [0, 1)."""
    dt = _float_dtype(dtype, "check_uniform_bounds")
    dev = resolve_device(device)
    data = dev._be.random_uniform(_generator_for(dev, generator), _shape(size), dt, 0.0, 1.0,
                                  dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.randn``: standard normal."""
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = resolve_device(device)
    data = dev._be.random_normal(_generator_for(dev, generator), _shape(size), dt, 0.0, 1.0,
                                 dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def randint(low, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False) -> Tensor:
    """Mirrors ``torch.randint(low=0, high, size)``: int64 unless ``dtype`` says otherwise."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    dt = dtype or _dtype.int64
    dev = resolve_device(device)
    data = dev._be.random_integers(_generator_for(dev, generator), _shape((size,)), dt,
                                   int(low), int(high), dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.randperm``."""
    dt = dtype or _dtype.int64
    dev = resolve_device(device)
    data = dev._be.random_permutation(_generator_for(dev, generator), int(n), dt, dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return rand(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    dt, dev = _like(input, dtype, device)
    return randn(input.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False, memory_format=None) -> Tensor:
    if high is None:
        low, high = 0, low
    dt, dev = _like(input, dtype, device)
    return randint(low, high, input.shape, dtype=dt, device=dev)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False) -> Tensor:
    """Mirrors ``torch.normal``: tensor or float ``mean``/``std`` (broadcast), or floats
    with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        if isinstance(mean, Tensor) and isinstance(std, Tensor):
            from .ops.shape import broadcast_shapes
            shape = broadcast_shapes(mean.shape, std.shape)
        else:
            shape = ref.shape
        z = randn(shape, generator=generator, dtype=ref.dtype, device=ref.device)
        with _no_grad():
            return z * std + mean
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = resolve_device(device)
    data = dev._be.random_normal(_generator_for(dev, generator), _shape((size,)), dt,
                                 float(mean), float(std), dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *, generator=None, out=None) -> Tensor:
    """Mirrors ``torch.bernoulli``: 1 with probability ``input`` (or ``p``)."""
    dev = input._device
    u = rand(input.shape, generator=generator, dtype=input.dtype, device=dev)
    probs = input.detach() if p is None else p
    with _no_grad():
        return (u < probs).to(input.dtype)


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def _legacy_new(cls, *args, **kwargs):
    """``Tensor(data)`` / ``Tensor(2, 3)``: PyTorch's legacy float32 constructor."""
    if cls is not Tensor and hasattr(cls, "_from_tensor"):
        raise TypeError("use the subclass's own constructor")
    if not args:
        return zeros(0)
    if len(args) == 1 and isinstance(args[0], (list, tuple, Tensor)) or \
            (len(args) == 1 and hasattr(args[0], "__array__")):
        return tensor(args[0], dtype=_dtype.float32, **kwargs)
    return zeros(*args, dtype=_dtype.float32, **kwargs)
