"""ember: the PyTorch programming model over swappable array backends.

``import ember as torch`` runs tutorial-style PyTorch code on numpy (CPU), CuPy (CUDA) or
JAX, picked by device string. Nothing heavy is imported here: numpy and the backend
libraries load on first device use, so ``import ember`` stays fast.
"""
from __future__ import annotations

import math as _math

from . import _dtype
from ._dtype import (bfloat16, bool, complex64, complex128, dtype, finfo, float16, float32,
                     float64, get_default_dtype, iinfo, int8, int16, int32, int64,
                     promote_types, set_default_dtype, uint8)
from ._device import device
from ._size import Size
from ._tensor import Tensor
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from . import ops  # first: ops imports _creation, which declares its ops with ops' kit
from ._creation import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from ._printing import set_printoptions  # noqa: E402
from ._random_state import get_rng_state, set_rng_state  # noqa: E402
from ._settings import *  # noqa: F401,F403,E402 - determinism, threads, compile, ...
from . import autograd  # noqa: F401,E402

__version__ = "0.1.0"

# PyTorch's dtype aliases: ember.float, ember.long, ...
float = float32  # noqa: A001
double = float64
half = float16
cfloat = complex64
cdouble = complex128
long = int64
int = int32  # noqa: A001
short = int16

# PyTorch's legacy tensor types (ember.FloatTensor, ...; ember.cuda.FloatTensor) and
# math constants
from ._legacy import TYPES as _LEGACY_TYPES, set_default_tensor_type  # noqa: E402
globals().update(_LEGACY_TYPES["cpu"])
inf = _math.inf
nan = _math.nan
pi = _math.pi
e = _math.e
newaxis = None

# Submodules load on first attribute access (``ember.nn``), keeping ``import ember`` light.
_LAZY = {"hub", "nn", "optim", "utils", "cuda", "backends", "accelerator", "linalg", "testing",
         "serialization", "special", "random", "distributed", "multiprocessing",
         "distributions", "fft", "amp", "cpu", "profiler", "onnx", "jit", "compiler",
         "func"}


# torch's autocast state functions, from ember.amp on first use
_AMP_STATE = {"is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
              "set_autocast_dtype", "clear_autocast_cache", "is_autocast_cache_enabled",
              "set_autocast_cache_enabled"}


def __getattr__(name):
    if name == "autocast" or name in _AMP_STATE:  # torch.autocast is torch.amp.autocast
        from .amp import autocast_mode
        value = globals()[name] = getattr(autocast_mode, name)
        return value
    if name == "vmap":  # torch.vmap is torch.func.vmap
        from .func import vmap
        value = globals()[name] = vmap
        return value
    if name in _LAZY:
        import importlib
        mod = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


from .fft._stft import istft, stft  # noqa: E402,F401 - also Tensor.stft / Tensor.istft


def save(obj, f, *args, **kwargs) -> None:
    """Mirrors ``torch.save``: PyTorch's zip format, atomic; see :mod:`ember.serialization`."""
    from .serialization import save as _save
    _save(obj, f, *args, **kwargs)


def load(f, map_location=None, *args, **kwargs):
    """Mirrors ``torch.load``; reads ember, safetensors and PyTorch zip checkpoints."""
    from .serialization import load as _load
    return _load(f, map_location, *args, **kwargs)


def result_type(tensor1, tensor2) -> dtype:
    """Mirrors ``torch.result_type`` (tensors or Python scalars)."""
    ts = [t for t in (tensor1, tensor2) if isinstance(t, Tensor)]
    ss = [s for s in (tensor1, tensor2) if not isinstance(s, Tensor)]
    return _dtype.result_dtype(ts, ss)


def is_tensor(obj) -> "bool":
    """Mirrors ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> "bool":
    return input.dtype.is_floating_point


def is_complex(input: Tensor) -> "bool":
    return input.dtype.is_complex


def numel(input: Tensor) -> "int":
    return input.numel()


# out= is honoured in one place: every public function here that declares it (the op kit)
from .ops._register import finalize as _finalize  # noqa: E402
_finalize(globals())
del _finalize
