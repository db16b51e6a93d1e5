"""Global switches PyTorch scripts set at the top: determinism, thread counts, matmul
precision, denormals, ``torch.compile``. ember records each setting and reports it back as
PyTorch does; what it changes (and what it cannot) is in each docstring.

Which settings are per thread follows PyTorch (checked against torch 2.x): grad mode and
inference mode (``autograd.grad_mode.STATE``), the default device (``set_default_device``
and ``with ember.device(...)``, held in :data:`THREAD` below) and autocast are per thread,
and a new thread starts from the defaults (grad on, cpu, no autocast) whatever the thread
that started it had set; the default dtype (``set_default_dtype``) and the switches in this
module are process-wide."""
from __future__ import annotations

import os
import threading
import warnings

__all__ = [
    "are_deterministic_algorithms_enabled",
    "compile",
    "get_deterministic_debug_mode",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_warn_always_enabled",
    "set_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_num_interop_threads",
    "set_num_threads",
    "set_warn_always",
    "use_deterministic_algorithms",
]


class _ThreadState(threading.local):
    """This thread's default-device and autocast state (``__init__`` runs once per thread,
    giving every new thread PyTorch's starting values)."""

    def __init__(self) -> None:
        #: the device ``set_default_device`` chose in this thread, or None (cpu)
        self.device = None
        #: ``with ember.device(...)`` blocks open in this thread, innermost last
        self.device_stack: list = []
        #: reserved for autocast (``torch.autocast`` state is per thread too): ember has no
        #: autocast yet; when it comes, its (device_type -> dtype, enabled) state lives here
        self.autocast = None


#: per-thread settings; read as ``THREAD.device`` etc. (one attribute lookup per read)
THREAD = _ThreadState()

_STATE = {"deterministic": False, "warn_only": False, "threads": None, "interop": None,
          "matmul": "highest", "warn_always": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Mirrors ``torch.use_deterministic_algorithms``. Recorded only: ember's kernels are
    deterministic already (the numpy backend has no atomics; index accumulation is
    ordered), so there is nothing to switch."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must "
                        f"be bool, not {type(mode).__name__}")
    _STATE["deterministic"], _STATE["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Mirrors ``torch.are_deterministic_algorithms_enabled``."""
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Mirrors ``torch.is_deterministic_algorithms_warn_only_enabled``."""
    return _STATE["warn_only"]


_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode) -> None:
    """Mirrors ``torch.set_deterministic_debug_mode``: 0/"default" off, 1/"warn" and
    2/"error" on (warn-only for 1), as ``use_deterministic_algorithms`` sets them."""
    if isinstance(debug_mode, str):
        if debug_mode not in _MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _MODES.index(debug_mode)
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """Mirrors ``torch.get_deterministic_debug_mode``."""
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["warn_only"] else 2


def _check_threads(n, fn: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        # PyTorch raises RuntimeError here, not TypeError
        raise RuntimeError(f"{fn} expects an int, but got {type(n).__name__}")  # noqa: TRY004
    if n <= 0:
        raise RuntimeError(f"{fn} expects a positive integer")
    return n


#: callables ``f(n)`` run when the thread count changes: a backend applies it to its own
#: kernels and its BLAS (the numpy backend registers one when it loads)
THREAD_LISTENERS: list = []


def set_num_threads(int: int) -> None:
    """Mirrors ``torch.set_num_threads``: the threads ember's CPU kernels use (the numpy
    backend's BLAS, through ``threadpoolctl``, and its own kernel threads), as the intra-op
    thread count does for PyTorch."""
    _STATE["threads"] = _check_threads(int, "set_num_threads")
    for listener in THREAD_LISTENERS:
        listener(_STATE["threads"])


def _worker_threads() -> None:
    """A DataLoader worker's threads: 1, as PyTorch's workers set. numpy's BLAS follows only
    where ``threadpoolctl`` is loaded already (inherited from the parent): importing it costs
    each worker's start 15-20 ms, and epochs restart their workers."""
    import sys
    _STATE["threads"] = 1
    for listener in THREAD_LISTENERS:
        listener(1, blas="threadpoolctl" in sys.modules)


def get_num_threads() -> int:
    """Mirrors ``torch.get_num_threads``: the value set, else ``OMP_NUM_THREADS`` where it
    is a positive integer (as PyTorch reads it), else the CPUs this process may use."""
    if _STATE["threads"] is not None:
        return _STATE["threads"]
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def set_num_interop_threads(int: int) -> None:
    """Mirrors ``torch.set_num_interop_threads`` (recorded only: ember runs ops in the
    calling thread)."""
    _STATE["interop"] = _check_threads(int, "set_num_interop_threads")


def get_num_interop_threads() -> int:
    """Mirrors ``torch.get_num_interop_threads``."""
    return _STATE["interop"] if _STATE["interop"] is not None else get_num_threads()


def set_float32_matmul_precision(precision: str) -> None:
    """Mirrors ``torch.set_float32_matmul_precision`` ("highest", "high", "medium").
    Recorded only: ember's float32 matmuls always run in full float32 (no TF32)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _STATE["matmul"] = precision


def get_float32_matmul_precision() -> str:
    """Mirrors ``torch.get_float32_matmul_precision``."""
    return _STATE["matmul"]


def set_flush_denormal(mode: bool) -> bool:
    """Mirrors ``torch.set_flush_denormal``: returns whether the setting is supported. The
    numpy backend cannot change the CPU's denormal mode, so this returns False (the
    answer PyTorch gives on CPUs without SSE3)."""
    return False


def set_warn_always(b: bool) -> None:
    """Mirrors ``torch.set_warn_always`` (ember's warnings follow Python's filters)."""
    _STATE["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    """Mirrors ``torch.is_warn_always_enabled``."""
    return _STATE["warn_always"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
            options=None, disable: bool = False, **kwargs):
    """Mirrors ``torch.compile``; see :func:`ember.compiler.compile` (JAX: one XLA program
    per guard case; CuPy: CUDA graphs; numpy: the function comes back unchanged)."""
    from .compiler import compile as _compile
    return _compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                    options=options, disable=disable, **kwargs)
