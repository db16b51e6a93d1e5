"""Tensor creation: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``/``ones``/``full``/
``empty`` (+ ``_like``), ``arange``, ``linspace``, ``eye``, random draws and ``Generator``.
Each mirrors the torch function of the same name, with ``dtype=``, ``device=``,
``requires_grad=``. Python data is read on the host with numpy and then placed on the
target backend, so every backend infers dtypes and shapes the same way."""
from __future__ import annotations

import builtins
import math
from typing import Any

from .ops._register import takes_out
from . import _dtype, _settings
from ._device import device as _Device
from ._from_data import checked_scalar, from_ndarray, host_array, host_cast, tp_name
from ._ranges import arange_values, linspace_values, logspace_values, range_values
from ._tensor import Tensor, wrap
from .backends import registry

__all__ = ["tensor", "as_tensor", "from_numpy", "asarray", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range", "linspace",
           "logspace", "eye", "rand", "randn", "randint", "randperm", "normal", "rand_like",
           "randn_like", "randint_like", "bernoulli", "manual_seed", "seed", "initial_seed",
           "Generator", "default_generator", "get_default_device", "set_default_device",
           "scalar_tensor", "empty_strided", "tril_indices", "triu_indices", "from_dlpack"]

_THREAD = _settings.THREAD  # the default device is per thread, as in PyTorch


def get_default_device():
    """Mirrors ``torch.get_default_device`` (this thread's: see ``_settings``)."""
    th = _THREAD
    if th.device_stack:
        return th.device_stack[-1]
    return th.device if th.device is not None else _Device("cpu")


def set_default_device(dev) -> None:
    """Mirrors ``torch.set_default_device``: for the calling thread only, as in PyTorch
    (other threads, and threads started later, keep cpu)."""
    _THREAD.device = None if dev is None else _Device(dev)


_CPU = None


def _forget_cpu() -> None:
    global _CPU
    _CPU = None


registry.on_change(_forget_cpu)  # set_provider("cpu", ...) must reach new tensors


def resolve_device(dev=None):
    """The canonical device (with its backend attached) a new tensor goes to."""
    global _CPU
    if dev is None:
        th = _THREAD
        if not th.device_stack and th.device is None:
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


def _shape(size: tuple, fn: str = "size", size_kw=None) -> tuple:
    """A shape from PyTorch's size arguments: ``f(2, 3)``, ``f([2, 3])``, ``f((2, 3))``,
    ``f(Size)`` or ``f(size=(2, 3))``; ints, numpy ints and one-element integer tensors count.
    Errors in the words of PyTorch's argument parser for ``fn``."""
    if size_kw is not None:
        if size:
            raise TypeError(f"{fn}() got multiple values for argument 'size'")
        if not isinstance(size_kw, (tuple, list)):
            raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, not "
                            f"{tp_name(size_kw)}")
        size = tuple(size_kw)
    elif len(size) == 1 and _as_int(size[0]) is None:
        if not isinstance(size[0], (tuple, list)):
            raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{tp_name(size[0])}")
        size = size[0]
    elif size and _as_int(size[0]) is None:
        raise TypeError(f"{fn}() takes 1 positional argument but {len(size)} were given")
    shape = []
    for i, s in enumerate(size):
        v = s if type(s) is int else _as_int(s)
        if v is None and i == 0:
            raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, but "
                            f"found element of type {tp_name(s)} at pos 0")
        if v is None and isinstance(s, builtins.bool):
            v = int(s)  # PyTorch's parser takes bools after the first element
        if v is None:
            raise TypeError(f"{fn}(): argument 'size' failed to unpack the object at pos "
                            f"{i + 1} with error \"type must be tuple of ints,but got "
                            f"{tp_name(s)}\"")
        shape.append(v)
    for s in shape:
        if s < 0:
            if fn == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {shape}")
    return tuple(shape)


def _as_int(x):
    """x as an int if PyTorch takes it as one in a size (not bool, not a float tensor)."""
    if type(x) is int:
        return x
    if isinstance(x, builtins.bool) or not hasattr(x, "__index__"):
        return None
    try:
        return x.__index__()
    except (TypeError, RuntimeError):
        return None


def _sized(size: tuple, fn: str, size_kw) -> tuple:
    """``_shape`` for the varargs factories, which need at least one size argument."""
    if not size and size_kw is None:
        raise TypeError(f'{fn}() missing 1 required positional arguments: "size"')
    return _shape(size, fn, size_kw)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t.requires_grad_(True)
    return t


# --- from data ------------------------------------------------------------------------------

def _place(arr, dtype, dev) -> Tensor:
    """A host array (already of ``dtype``'s host type, or cast here) on device ``dev``."""
    return wrap(dev._be.from_numpy(host_cast(arr, dtype), dev.index), dtype, dev)


def tensor(data: Any, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Mirrors ``torch.tensor``: always copies ``data``; dtype inference, ragged-data and
    overflow errors as PyTorch's (see ``ember._from_data``). Deliberate difference: numpy
    arrays with negative strides are accepted (PyTorch refuses them)."""
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        out = data.detach().to(device=device if device is not None else data.device,
                               dtype=dtype or data.dtype, copy=True)
        return _finish(out, requires_grad)
    dev = resolve_device(device)
    arr, dt = host_array(data, dtype)
    if _shares(arr, data):
        arr = arr.copy()
    return _finish(_place(arr, dt, dev), requires_grad)


def _shares(arr, data) -> bool:
    """Whether host array ``arr`` may alias caller memory (so ``tensor`` must copy)."""
    import numpy as np
    return arr is data or arr.base is not None or isinstance(data, np.ndarray)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Mirrors ``torch.as_tensor``: shares memory with a tensor or (on a CPU device) a numpy
    array when no dtype change is asked for; copies otherwise."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device,
                       dtype=dtype or data.dtype)
    dev = resolve_device(device)
    arr, dt = host_array(data, dtype)
    return _place(arr, dt, dev)


asarray = as_tensor


def from_numpy(ndarray) -> Tensor:
    """Mirrors ``torch.from_numpy``: a CPU tensor sharing the array's memory."""
    import numpy as np
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {tp_name(ndarray)})")
    arr, dt = from_ndarray(ndarray)
    dev = resolve_device("cpu")
    return wrap(dev._be.from_numpy(arr, None), dt, dev)


def from_dlpack(ext) -> Tensor:
    """Mirrors ``torch.from_dlpack``: a CPU tensor sharing the producer's memory (an ember
    tensor comes back as a detached alias)."""
    if isinstance(ext, Tensor):
        return ext.detach()
    import numpy as np
    return from_numpy(np.from_dlpack(ext))


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """Mirrors ``torch.scalar_tensor``: a 0-d tensor of the default dtype."""
    return full((), s, dtype=dtype or _dtype.get_default_dtype(), device=device,
                requires_grad=requires_grad)


# --- filled ---------------------------------------------------------------------------------

def _filled(shape, value, dtype, dev) -> Tensor:
    be = dev._be
    xp = be.xp
    nat = be.native_dtype(dtype)
    if value == 0 and not (type(value) is float and math.copysign(1.0, value) < 0):
        data = xp.zeros(shape, dtype=nat)  # (-0.0 keeps its sign: it goes to full)
    elif value == 1:
        data = xp.ones(shape, dtype=nat)
    else:
        data = xp.full(shape, value, dtype=nat)
    if dev.index is not None:
        data = be.place(data, dev.index)
    return wrap(data, dtype, dev)


def _filled_factory(fn, value, size, kw, dtype, device, requires_grad) -> Tensor:
    """zeros/ones/empty: the size arguments (``size=`` as a keyword too), ``out=``."""
    shape = _sized(size, fn, kw.pop("size", None))
    _no_extra(kw, fn)
    dt = dtype or _dtype.get_default_dtype()
    return _finish(_filled(shape, value, dt, resolve_device(device)), requires_grad)


@takes_out
def zeros(*size, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, **kw) -> Tensor:
    """Mirrors ``torch.zeros(*size)`` (``size=`` works as a keyword too)."""
    return _filled_factory("zeros", 0, size, kw, dtype, device, requires_grad)


@takes_out
def ones(*size, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False, **kw) -> Tensor:
    """Mirrors ``torch.ones(*size)``."""
    return _filled_factory("ones", 1, size, kw, dtype, device, requires_grad)


@takes_out
def empty(*size, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, memory_format=None, **kw) -> Tensor:
    """Mirrors ``torch.empty`` (ember fills with zeros: uninitialised memory buys little
    in Python and makes results irreproducible)."""
    return _filled_factory("empty", 0, size, kw, dtype, device, requires_grad)


def _no_extra(kw: dict, fn: str) -> None:
    if kw:
        raise TypeError(f"{fn}() got an unexpected keyword argument '{next(iter(kw))}'")


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """Mirrors ``torch.empty_strided`` (strides are not modelled: a contiguous tensor)."""
    return zeros(_shape((size,), "empty_strided"), dtype=dtype, device=device,
                 requires_grad=requires_grad)


def _fill_dtype(value):
    """The dtype ``torch.full`` infers from a fill value (numpy scalars as PyTorch's parser
    reads them: integers are ints, anything else a float)."""
    t = type(value)
    if t is builtins.bool or t is int or t is float or t is complex:
        return _dtype.scalar_dtype(value), value
    if isinstance(value, Tensor):
        return _fill_dtype(value.item())
    import numpy as np
    if isinstance(value, np.integer):
        return _dtype.int64, int(value)
    if isinstance(value, np.generic):
        v = value.item()
        return _dtype.get_default_dtype(), (v.real if isinstance(v, complex) else float(v))
    for kind in (builtins.bool, int, float, complex):  # subclasses: IntEnum and the like
        if isinstance(value, kind):
            return _fill_dtype(kind(value))
    raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not "
                    f"{tp_name(value)}")


@takes_out
def full(size, fill_value, *, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.full``: the dtype is inferred from ``fill_value`` when not given
    (bool → bool, int → int64, float → the default dtype); values that don't fit raise
    PyTorch's overflow error."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{tp_name(size)}")
    shape = _shape((size,), "full")
    dt, value = _fill_dtype(fill_value)
    dt = dtype or dt
    value = checked_scalar(value, dt)
    return _finish(_filled(shape, value, dt, resolve_device(device)), requires_grad)


def _like(t, dtype, device):
    return (dtype or t.dtype), (t._device if device is None else resolve_device(device))


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Mirrors ``torch.zeros_like``."""
    dt, dev = _like(input, dtype, device)
    return _finish(_filled(input._data.shape, 0, dt, dev), requires_grad)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """Mirrors ``torch.ones_like``."""
    dt, dev = _like(input, dtype, device)
    return _finish(_filled(input._data.shape, 1, dt, dev), requires_grad)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """Mirrors ``torch.empty_like`` (zero-filled, as ``empty``)."""
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    """Mirrors ``torch.full_like``: ``input``'s dtype unless ``dtype`` is given."""
    dt, dev = _like(input, dtype, device)
    value = checked_scalar(_fill_dtype(fill_value)[1], dt)
    return _finish(_filled(input._data.shape, value, dt, dev), requires_grad)


# --- ranges ---------------------------------------------------------------------------------

def _arange_resized(out_shape: tuple, shape: tuple) -> str | None:
    """The warning PyTorch's arange gives when it resizes a non-empty ``out``."""
    n = 1
    for s in out_shape:
        n *= s
    if n == shape[0]:
        return None
    return (f"The number of elements in the out tensor of shape {list(out_shape)} is {n} which "
            f"does not match the computed number of elements {shape[0]}. Note that this may "
            f"occur as a result of rounding error. The out tensor will be resized to a tensor "
            f"of shape ({shape[0]},).")


@takes_out(resize=_arange_resized)
def arange(start=0, end=None, step=1, *, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.arange``: int64 when every argument is an integer, else the default
    float dtype; lengths and values computed as PyTorch's kernel does."""
    arr, dt = arange_values(start, end, step, dtype)
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


@takes_out
def range(start=0, end=None, step=1, *, dtype=None, layout=None, device=None,
          requires_grad=False) -> Tensor:  # noqa: A001 - PyTorch's name
    """Mirrors the deprecated ``torch.range``: includes ``end``; default float dtype."""
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    arr, dt = range_values(start, end, step, dtype or _dtype.get_default_dtype())
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


@takes_out
def linspace(start, end, steps: int, *, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.linspace`` (values rounded as PyTorch's kernel rounds them)."""
    arr, dt = linspace_values(start, end, steps, dtype)
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


@takes_out
def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, layout=None,
             device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.logspace``: ``base ** linspace(start, end, steps)``."""
    arr, dt = logspace_values(start, end, steps, base, dtype)
    return _finish(_place(arr, dt, resolve_device(device)), requires_grad)


def _int_arg(fn: str, name: str, pos: int, v) -> int:
    i = _as_int(v)
    if i is None:
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be int, not "
                        f"{tp_name(v)}")
    return i


@takes_out
def eye(n: int, m: int | None = None, *, dtype=None, layout=None, device=None,
        requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.eye``."""
    n = _int_arg("eye", "n", 1, n)
    m = n if m is None else _int_arg("eye", "m", 2, m)
    for name, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    dev = resolve_device(device)
    dt = dtype or _dtype.get_default_dtype()
    data = dev._be.xp.eye(n, m, dtype=dev._be.native_dtype(dt))
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

_initial_seed = 67280421310721  # PyTorch's default seed (a new Generator's)


class Generator:
    """Mirrors ``torch.Generator``: a seedable random state for one device's backend.

    On the numpy backend (the default CPU) it is PyTorch's CPU generator: after
    ``manual_seed(s)`` the random functions draw PyTorch's numbers (its mt19937 stream and
    its kernels' transforms: ``ember._mt19937``, ``ember_numpy._random``) and the state is
    PyTorch's 5056-byte layout. Other backends keep their own generators (JAX's
    counter-based keys, CuPy's, numpy PCG64 on the array-API host backends): seeded draws
    are reproducible there but are not PyTorch's numbers."""

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
        """Mirrors ``Generator.seed``: reseed from the OS's entropy (64 bits, as PyTorch's
        ``getNonDeterministicRandom``) and return the seed."""
        import os
        self.manual_seed(int.from_bytes(os.urandom(8), "little"))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def rng(self, be):
        if self._state is None or self._state[0] is not be:
            self._state = (be, be.rng(self._seed))
        return self._state[1]

    def get_state(self) -> Tensor:
        """Mirrors ``Generator.get_state``: a uint8 tensor in a fixed layout of
        ``ember._random_state`` (PyTorch's on the numpy backend; no pickle)."""
        import numpy as np
        from ._mt19937 import TorchCPUGenerator
        from ._random_state import encode_state, encode_torch_state
        st = None if self._state is None else self._state[1]
        if st is None and self.device.type == "cpu":
            st = self.rng(resolve_device(self.device)._be)
        data = encode_torch_state(st) if isinstance(st, TorchCPUGenerator) else \
            encode_state(self._seed, st)
        return from_numpy(np.frombuffer(data, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        """Mirrors ``Generator.set_state``: restore a ``get_state`` tensor; a wrong size or
        content raises PyTorch's RuntimeError, a wrong type its TypeError."""
        from ._random_state import check_size, decode_state
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dtype.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        check_size(new_state.numel())  # before touching a byte of it
        data = new_state.detach().cpu().numpy().tobytes()
        from ._random_state import TORCH_STATE_SIZE, decode_torch_state
        if len(data) == TORCH_STATE_SIZE:
            from ._mt19937 import TorchCPUGenerator
            g = decode_torch_state(data)
            be = resolve_device(self.device)._be
            if not isinstance(be.rng(0), TorchCPUGenerator):
                raise RuntimeError("Invalid RNG state: PyTorch's mt19937 state, and this "
                                   "backend's generator is not PyTorch's")
            self._seed, self._state = g.seed, (be, g)
            return self
        seed, kind, payload = decode_state(data)
        self.manual_seed(seed)
        if payload is not None:
            rng = self.rng(resolve_device(self.device)._be)
            bg = getattr(rng, "bit_generator", None)
            if bg is None or (kind == 1) != isinstance(getattr(bg, "state", None), dict):
                raise RuntimeError("Invalid RNG state: it was saved from another backend's "
                                   "generator")
            bg.state = payload
        return self


default_generator = Generator("cpu")
default_generator.seed()  # as PyTorch: an unseeded process starts from a fresh random seed
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
        raise _dtype.not_implemented(fn, dt)
    return dt


def _draw(kind: str, shape: tuple, dt, dev, generator, a: float, b: float):
    """A backend array of uniform [a, b) or normal(a, b) draws. Complex dtypes draw real
    and imaginary parts separately (a complex normal splits the variance between them,
    as PyTorch's does)."""
    be = dev._be
    draw = be.random_uniform if kind == "uniform" else be.random_normal
    rng = _generator_for(dev, generator)
    if not dt.is_complex:
        return draw(rng, shape, dt, a, b, dev.index)
    real = dt.to_real()
    if kind == "normal":
        a, b = a, b / math.sqrt(2)  # PyTorch: normal_ of view_as_real with std / sqrt(2)
    parts = draw(rng, shape + (2,), real, a, b, dev.index)
    return be.astype(parts[..., 0], dt) + be.astype(parts[..., 1], dt) * 1j


@takes_out
def rand(*size, generator=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False, **kw) -> Tensor:
    """Mirrors ``torch.rand``: uniform on [0, 1)."""
    shape = _sized(size, "rand", kw.pop("size", None))
    _no_extra(kw, "rand")
    dt = _float_dtype(dtype, "check_uniform_bounds")
    dev = resolve_device(device)
    res = wrap(_draw("uniform", shape, dt, dev, generator, 0.0, 1.0), dt, dev)
    return _finish(res, requires_grad)


@takes_out
def randn(*size, generator=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False, **kw) -> Tensor:
    """Mirrors ``torch.randn``: standard normal."""
    shape = _sized(size, "randn", kw.pop("size", None))
    _no_extra(kw, "randn")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = resolve_device(device)
    res = wrap(_draw("normal", shape, dt, dev, generator, 0.0, 1.0), dt, dev)
    return _finish(res, requires_grad)


# The C++ names PyTorch's random_ range errors use.
# where random_'s range errors name the type otherwise than dtype.c_name
_RANDOM_NAMES = {"int16": "short", "int64": "long"}


def _random_bounds(low: int, high: int, dt) -> None:
    """PyTorch's ``random_from_to`` checks: [low, high) must be non-empty and fit dt."""
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    if dt is _dtype.bool:
        lo, hi = 0, 1
    elif dt.is_floating_point or dt.is_complex:
        return
    else:
        bits = 8 * dt.itemsize
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if dt.is_signed else \
            (0, (1 << bits) - 1)
    name = _RANDOM_NAMES.get(dt.name, dt.c_name)
    if not lo <= low <= hi:
        raise RuntimeError(f"from is out of bounds for {name}")
    if not lo <= high - 1 <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {name}")


@takes_out
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.randint(low=0, high, size)``: int64 unless ``dtype`` says otherwise."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
        args = (("high", 1, high),)
    elif high is None:
        low, high = 0, low
        args = (("high", 1, high),)
    else:
        args = (("low", 1, low), ("high", 2, high))
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{tp_name(size)}")
    for name, pos, v in args:
        if _as_int(v) is None:
            raise TypeError(f"randint(): argument '{name}' (position {pos}) must be int, not "
                            f"{tp_name(v)}")
    low, high = _as_int(low), _as_int(high)
    for v in (low, high):
        if not -(1 << 63) <= v < (1 << 63):
            raise ValueError("Overflow when unpacking long long")
    dt = dtype or _dtype.int64
    _random_bounds(low, high, dt)
    dev = resolve_device(device)
    data = dev._be.random_integers(_generator_for(dev, generator), _shape((size,), "randint"),
                                   dt, low, high, dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


@takes_out
def randperm(n: int, *, generator=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.randperm``: a random permutation of ``0 .. n-1``."""
    n = _int_arg("randperm", "n", 1, n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    dt = dtype or _dtype.int64
    if n and not (dt.is_floating_point or dt.is_complex):
        checked_scalar(n - 1, dt)
    dev = resolve_device(device)
    data = dev._be.random_permutation(_generator_for(dev, generator), n, dt, dev.index)
    return _finish(wrap(data, dt, dev), requires_grad)


def rand_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    """Mirrors ``torch.rand_like``."""
    dt, dev = _like(input, dtype, device)
    return rand(input.shape, generator=generator, dtype=dt, device=dev,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    """Mirrors ``torch.randn_like``."""
    dt, dev = _like(input, dtype, device)
    return randn(input.shape, generator=generator, dtype=dt, device=dev,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None) -> Tensor:
    """Mirrors ``torch.randint_like(input, low=0, high)``."""
    if high is None:
        low, high = 0, low
    dt, dev = _like(input, dtype, device)
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dt, device=dev,
                   requires_grad=requires_grad)


def _check_std(std) -> None:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")


@takes_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Mirrors ``torch.normal``: tensor or float ``mean``/``std`` (broadcast together), or
    floats with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        if isinstance(mean, Tensor) and isinstance(std, Tensor):
            from .ops.shape import broadcast_shapes
            shape = broadcast_shapes(mean.shape, std.shape)
            dt = _dtype.promote_types(mean.dtype, std.dtype)
        else:
            shape, dt = ref.shape, ref.dtype
            if not isinstance(std, Tensor):
                _check_std(std)
        _float_dtype(dt, "normal_kernel_cpu")
        z = randn(tuple(shape), generator=generator, dtype=dt, device=ref.device)
        with _no_grad():
            return z * std + mean
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    _check_std(std)
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    dev = resolve_device(device)
    res = wrap(_draw("normal", _shape((size,), "normal"), dt, dev, generator, float(mean),
                     float(std)), dt, dev)
    return _finish(res, requires_grad)


@takes_out(resize="silent")
def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """Mirrors ``torch.bernoulli``: 1 with probability ``input`` (or ``p``)."""
    dev = input._device
    probs = input.detach()._data if p is None else float(p)
    data = dev._be.random_bernoulli(_generator_for(dev, generator), tuple(input.shape),
                                    input.dtype, probs, dev.index)
    return wrap(data, input.dtype, dev)


def _no_grad():
    from .autograd.grad_mode import no_grad
    return no_grad()


def _legacy_new(cls, *args, **kwargs):
    """``Tensor(data)`` / ``Tensor(2, 3)``: PyTorch's legacy constructor (default float dtype)."""
    if cls is not Tensor and hasattr(cls, "_from_tensor"):
        raise TypeError("use the subclass's own constructor")
    if not args:
        return zeros(0)
    if len(args) == 1 and isinstance(args[0], (list, tuple, Tensor)) or \
            (len(args) == 1 and hasattr(args[0], "__array__")):
        return tensor(args[0], dtype=_dtype.get_default_dtype(), **kwargs)
    return zeros(*args, dtype=_dtype.get_default_dtype(), **kwargs)
