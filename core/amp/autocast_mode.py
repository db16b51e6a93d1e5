"""``ember.autocast``: mixed precision by op lists. Mirrors ``torch.autocast``.

While an autocast region is active on some thread, the op interceptor
(:mod:`ember.ops._intercept`) wraps the ops on PyTorch's lists (:mod:`ember.amp._lists`):
a wrapped op casts its floating tensor arguments for the device type they live on, then
runs with autocast off for the ops it calls inside (as PyTorch's autocast kernels exclude
the autocast key), so ``F.linear`` is cast once, not again in the ``matmul`` it calls.
Ops on no list run unchanged, so a composite such as ``multi_head_attention_forward``
sees its inner ``linear`` calls autocast, as in PyTorch. With no region active on any
thread the interceptor is removed and ops cost nothing extra.

State is per thread, as in PyTorch: enabled flag and dtype per device type, the
``cache_enabled`` flag, the nesting depth, and the cache of lower-precision copies of
float32 leaf weights (cleared when the outermost region exits).
"""
from __future__ import annotations

import functools
import threading
import warnings
from typing import Any

from .. import _dtype
from .._tensor import Tensor
from ._lists import BANNED_CUDA, BANNED_MESSAGE, POLICIES

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd",
           "is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
           "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache"]

_KEY = "ember.autocast"


class _State(threading.local):
    def __init__(self):
        self.enabled = {}       # device type -> bool
        self.dtype = {}         # device type -> ember dtype
        self.cache_enabled = True
        self.nesting = 0
        self.inside = False     # inside an autocast op: its inner ops run as they are
        self.cache = {}         # id(weight) -> (weight, cast copy)
        self.any = False        # some device type enabled (the wrappers' fast exit)


STATE = _State()
_active_lock = threading.Lock()
_active = [0]  # enabled regions over all threads: the interceptor is in while > 0


def _default_dtype(device_type: str):
    return _dtype.bfloat16 if device_type == "cpu" else _dtype.float16


def is_autocast_available(device_type: str) -> bool:
    """Mirrors ``torch.amp.is_autocast_available``."""
    if device_type in ("cpu", "cuda"):
        return True
    from ..backends import registry
    try:
        return device_type in registry.known_types()
    except Exception:  # noqa: BLE001 - a broken plugin means "not available"
        return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Mirrors ``torch.is_autocast_enabled`` (cuda when no device type is given)."""
    return bool(STATE.enabled.get(device_type or "cuda", False))


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    STATE.enabled[device_type] = bool(enabled)
    STATE.any = any(STATE.enabled.values())


def get_autocast_dtype(device_type: str):
    """Mirrors ``torch.get_autocast_dtype``."""
    return STATE.dtype.get(device_type) or _default_dtype(device_type)


def set_autocast_dtype(device_type: str, dtype) -> None:
    STATE.dtype[device_type] = dtype


def is_autocast_cache_enabled() -> bool:
    return STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    STATE.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    STATE.cache.clear()


class autocast:
    """Mirrors ``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``:
    a context manager and decorator. Default dtype: bfloat16 on cpu, float16 elsewhere;
    cpu accepts bfloat16 and float16 (PyTorch's rule; another dtype warns and disables)."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = (STATE.cache_enabled if cache_enabled is None
                               else bool(cache_enabled))
        if enabled and device_type == "cpu" and self.fast_dtype not in (_dtype.bfloat16,
                                                                        _dtype.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", UserWarning, stacklevel=2)
            enabled = False
        if enabled and device_type == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                              "autocast.", UserWarning, stacklevel=2)
                enabled = False
        self._enabled = bool(enabled)

    def __enter__(self):
        st = STATE
        self._prev = (st.enabled.get(self.device, False), st.dtype.get(self.device),
                      st.cache_enabled)
        st.enabled[self.device] = self._enabled
        st.dtype[self.device] = self.fast_dtype
        st.cache_enabled = self._cache_enabled
        st.any = any(st.enabled.values())
        st.nesting += 1
        self._counted = self._enabled
        if self._counted:
            _activate(+1)
        return self

    def __exit__(self, *exc) -> None:
        st = STATE
        st.nesting -= 1
        if st.nesting == 0:
            st.cache.clear()
        enabled, dtype, cache = self._prev
        st.enabled[self.device] = enabled
        if dtype is None:
            st.dtype.pop(self.device, None)
        else:
            st.dtype[self.device] = dtype
        st.cache_enabled = cache
        st.any = any(st.enabled.values())
        if self._counted:
            _activate(-1)

    def __call__(self, fn):
        @functools.wraps(fn)
        def decorate_autocast(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return fn(*args, **kwargs)
        return decorate_autocast


def _activate(delta: int) -> None:
    from ..ops import _intercept
    with _active_lock:
        _active[0] += delta
        if _active[0] == 1 and delta > 0:
            _intercept.install(_KEY, _make)
        elif _active[0] == 0:
            _intercept.remove(_KEY)


# --- the wrappers -------------------------------------------------------------------------

def _device_type(args, kwargs):
    for a in args:
        if isinstance(a, Tensor):
            return a._device.type
        if isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, Tensor):
                    return b._device.type
    for a in kwargs.values():
        if isinstance(a, Tensor):
            return a._device.type
    return None


def _eligible(t, dev: str) -> bool:
    return (isinstance(t, Tensor) and t._device.type == dev and t.dtype.is_floating_point
            and t.dtype is not _dtype.float64)


def _cast_one(t, to, dev: str, low):
    if not _eligible(t, dev) or t.dtype is to:
        return t
    st = STATE
    cacheable = (st.cache_enabled and to is low and t.dtype is _dtype.float32
                 and t._requires_grad and t._grad_fn is None)
    if cacheable:
        hit = st.cache.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
    out = t.to(to)
    if cacheable:
        st.cache[id(t)] = (t, out)
    return out


def _cast(v, to, dev, low):
    if isinstance(v, Tensor):
        return _cast_one(v, to, dev, low)
    if isinstance(v, (list, tuple)) and v and any(isinstance(x, Tensor) for x in v):
        return type(v)(_cast_one(x, to, dev, low) for x in v)
    return v


def _widest(args, kwargs, dev):
    """The widest floating dtype among the eligible tensors (promote policy)."""
    best = None
    for v in (*args, *kwargs.values()):
        items = v if isinstance(v, (list, tuple)) else (v,)
        for t in items:
            if isinstance(t, Tensor) and t._device.type == dev and t.dtype.is_floating_point:
                best = t.dtype if best is None else _dtype.promote_types(best, t.dtype)
    return best


def _make(name: str, fn):
    policies = {dev: table[name] for dev, table in POLICIES.items() if name in table}
    banned = name in BANNED_CUDA
    if not policies and not banned:
        return fn

    @functools.wraps(fn)
    def autocast_op(*args, **kwargs):
        st = STATE
        if not st.any or st.inside:
            return fn(*args, **kwargs)
        dev = _device_type(args, kwargs)
        if dev is None or not st.enabled.get(dev):
            return fn(*args, **kwargs)
        table_dev = dev if dev in POLICIES else "cuda"
        if banned and table_dev == "cuda":
            raise RuntimeError(BANNED_MESSAGE)
        policy = policies.get(table_dev)
        if policy is None:
            return fn(*args, **kwargs)
        low = st.dtype.get(dev) or _default_dtype(dev)
        if policy == "lower":
            to = low
        elif policy == "fp32":
            to = _dtype.float32
        else:
            to = _widest(args, kwargs, dev)
            if to is None:
                return fn(*args, **kwargs)
        args = tuple(_cast(a, to, dev, low) for a in args)
        kwargs = {k: _cast(v, to, dev, low) for k, v in kwargs.items()}
        st.inside = True
        try:
            return fn(*args, **kwargs)
        finally:
            st.inside = False
    return autocast_op


# --- custom autograd functions ------------------------------------------------------------

def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Mirrors ``torch.amp.custom_fwd`` for ``autograd.Function.forward``: with
    ``cast_inputs``, run forward with autocast off and floating inputs cast to that dtype
    when autocast is on; otherwise forward runs in the surrounding autocast state (which
    ``custom_bwd`` then restores for backward)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._fwd_used_autocast = is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None or not ctx._fwd_used_autocast:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            args = tuple(_cast(a, cast_inputs, device_type, None) for a in args)
            kwargs = {k: _cast(v, cast_inputs, device_type, None) for k, v in kwargs.items()}
            return fwd(*args, **kwargs)
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Mirrors ``torch.amp.custom_bwd``: backward runs in forward's autocast state."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=getattr(ctx, "_fwd_used_autocast", False),
                      dtype=getattr(ctx, "_dtype", None)):
            return bwd(*args, **kwargs)
    return decorate_bwd


def deprecated_alias(device_type: str, name: str) -> None:
    """PyTorch's FutureWarning for ``torch.<device>.amp.<name>``."""
    warnings.warn(f"`torch.{device_type}.amp.{name}(args...)` is deprecated. Please use "
                  f"`torch.amp.{name}('{device_type}', args...)` instead.", FutureWarning,
                  stacklevel=3)


def _device_alias(device_type: str, default_dtype) -> type:
    """``torch.cpu.amp.autocast`` / ``torch.cuda.amp.autocast``: the same class with the
    device fixed, warning as PyTorch's deprecated aliases do."""

    class _autocast(autocast):
        __doc__ = (f"Mirrors ``torch.{device_type}.amp.autocast`` (deprecated): "
                   f"``ember.amp.autocast('{device_type}', ...)``.")

        def __init__(self, enabled: bool = True, dtype: Any = default_dtype,
                     cache_enabled: bool = True) -> None:
            deprecated_alias(device_type, "autocast")
            super().__init__(device_type, dtype=dtype, enabled=enabled,
                             cache_enabled=cache_enabled)

    _autocast.__name__ = _autocast.__qualname__ = "autocast"
    return _autocast
