"""``ember.optim.Optimizer``: param groups, state, state_dict, zero_grad. Mirrors
``torch.optim.Optimizer`` (same errors, same ``state_dict`` layout, same repr).

Subclasses update parameters on the backend arrays directly (no graph, no Tensor-op
dispatch): ``Slots`` below gives each update the arrays it needs, and writing back uses
augmented assignment, which mutates on numpy/cupy and rebinds on immutable backends.
"""
from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from typing import Any, Callable, Iterable

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..compiler._state import is_compiling
from ..ops._views import store

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers; mirrors ``torch.optim.Optimizer``."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._step_pre_hooks: dict = {}
        self._step_post_hooks: dict = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.type()}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # --- groups ---------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Mirrors ``Optimizer.add_param_group``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__module__ + "." + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- gradients ------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Mirrors ``Optimizer.zero_grad``: drop the gradients, or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g._grad_fn is not None:
                    g = p.grad = g.detach()
                be = g._device._be
                a = g._data
                if be.mutable and hasattr(a, "__setitem__"):
                    a[...] = 0
                else:
                    g._data = be.xp.zeros_like(a)
                g._bump()

    # --- stepping -------------------------------------------------------------------------
    def step(self, closure: Callable | None = None):
        """Run ``closure`` (with grad enabled) if given, then update every parameter."""
        for hook in list(self._step_pre_hooks.values()):
            hook(self, (), {})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def _with_grads(self, group: dict):
        """(param, gradient array — negated when maximizing) for each parameter of the group
        that has a gradient."""
        maximize = group.get("maximize", False)
        for p in group["params"]:
            g = grad_of(p, maximize)
            if g is not None:
                yield p, g

    def register_step_pre_hook(self, hook):
        return _add_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        return _add_hook(self._step_post_hooks, hook)

    # --- state_dict -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Mirrors ``Optimizer.state_dict``: state keyed by parameter index across groups."""
        index: dict = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Mirrors ``Optimizer.load_state_dict`` (state tensors are copied and cast to each
        parameter's dtype and device, ``step`` excepted)."""
        groups = self.param_groups
        saved = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = {}
        for g, s in zip(groups, saved):
            for old, p in zip(s["params"], g["params"]):
                id_map[old] = p
        self.state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                self.state[p] = {key: _cast_state(p, key, val) for key, val in v.items()}
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
        self.param_groups[:] = saved

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._step_pre_hooks, self._step_post_hooks = {}, {}

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"


def _cast_state(p: Tensor, key: str, value):
    if isinstance(value, Tensor):
        if key != "step" and p.dtype.is_floating_point and value.dtype.is_floating_point:
            value = value.to(device=p.device, dtype=p.dtype)
        else:
            value = value.to(device=p.device)
        return value.detach().clone()  # never share arrays with the dict it came from
    if isinstance(value, dict):
        return {k: _cast_state(p, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(p, key, v) for v in value)
    return value


class _HookHandle:
    def __init__(self, hooks, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


def _add_hook(hooks: dict, hook):
    key = max(hooks, default=-1) + 1
    hooks[key] = hook
    return _HookHandle(hooks, key)


def check(ok: bool, msg: str) -> None:
    """Torch's hyper-parameter validation: ValueError with its message."""
    if not ok:
        raise ValueError(msg)


def zeros_state(p: Tensor) -> Tensor:
    """A zero tensor shaped like p (optimizer state), outside any graph."""
    from .._tensor import wrap
    return wrap(p._device._be.xp.zeros_like(p._data), p.dtype, p._device)


def step_tensor() -> Tensor:
    """PyTorch keeps ``step`` as a float32 0-d tensor in optimizer state."""
    from .._creation import tensor
    from .. import _dtype
    return tensor(0.0, dtype=_dtype.float32)


def bump_step(st: Tensor):
    """Count one more step; the count as a float for the bias corrections. Inside a
    compiled program (``ember.compile``) there is no host read: the count stays a float64
    0-d array and the corrections are computed on the device. The count is written as
    PyTorch's ``step_t += 1`` writes it: a ``detach()`` of it sees the new count."""
    write(st, st._data + 1)
    if is_compiling():
        from .. import _dtype
        return st._device._be.astype(st._data, _dtype.float64)
    return float(st._data)


def grad_of(p: Tensor, maximize: bool):
    """p's gradient array (negated when maximizing); None when p has no gradient."""
    g = p.grad
    if g is None:
        return None
    if g._device is not p._device:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {p._device} and {g._device}!")
    return -g._data if maximize else g._data


def write(t: Tensor, arr) -> None:
    """Store an updated array into t (a parameter or state tensor) and mark the change. An
    update made in place (numpy) only marks it; a new array (JAX, where arrays are
    immutable) is a write, so a tensor that t aliases (``Parameter(w)`` keeps w's
    storage) sees the new values too, as in PyTorch."""
    if arr is t._data or is_compiling():
        # (inside a compiled step t's array is a tracer, and the program's outputs are
        # bound to the tensors it tracks after the call: passing a tracer on to an alias
        # would leak it)
        if arr is not t._data:
            t._data = arr
        t._bump()
    else:
        store(t, arr)
