"""Hook handles and the full-backward-hook plumbing of ``Module``.

Mirrors ``torch.utils.hooks.RemovableHandle`` and ``BackwardHook``: a module's inputs and
outputs pass through identity nodes so the gradients flowing through them can be seen
(and replaced) by ``register_full_backward_hook`` / ``register_full_backward_pre_hook``.
"""
from __future__ import annotations

import itertools
import weakref

from ..._tensor import Tensor
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as _GRAD

__all__ = ["RemovableHandle", "BackwardHook"]

_ids = itertools.count()


class RemovableHandle:
    """Mirrors ``torch.utils.hooks.RemovableHandle``: ``remove()`` takes the hook out of
    every dict it was put in; also a context manager."""

    def __init__(self, hooks_dict, *, extra_dict=None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(_ids)
        if extra_dict is None:
            extra_dict = []
        elif isinstance(extra_dict, dict):
            extra_dict = [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extra_dict)

    def remove(self) -> None:
        d = self.hooks_dict_ref()
        if d is not None and self.id in d:
            del d[self.id]
        for ref in self.extra_dict_ref:
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __getstate__(self):
        return (self.hooks_dict_ref(), self.id) if not self.extra_dict_ref else \
            (self.hooks_dict_ref(), self.id, tuple(r() for r in self.extra_dict_ref))

    def __setstate__(self, state) -> None:
        self.hooks_dict_ref = weakref.ref(state[0]) if state[0] is not None else \
            (lambda: None)
        self.id = state[1]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in state[2]) if len(state) > 2 \
            else ()

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _identity(tensors, name, on_grads):
    """Pass ``tensors`` through one node whose backward hands the incoming gradients to
    ``on_grads(grads) -> grads`` before they flow on."""
    idx = [i for i, t in enumerate(tensors) if isinstance(t, Tensor) and t._requires_grad]
    if not idx or not _GRAD.enabled:
        return tensors, False
    outs = tuple(tensors[i].detach() for i in idx)  # share the arrays: no copy
    ins = tuple(tensors[i] for i in idx)

    def backward(*grads):
        return tuple(on_grads(grads))
    record(outs if len(outs) > 1 else outs[0], name, ins, backward)
    res = list(tensors)
    for i, o in zip(idx, outs):
        res[i] = o
    return tuple(res), True


class BackwardHook:
    """Runs a module's full backward (pre-)hooks around its forward, as PyTorch does."""

    def __init__(self, module, hooks, pre_hooks) -> None:
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_tracked = False

    def setup_input_hook(self, args):
        self.n_inputs = len(args)
        if not self.hooks:
            return args

        def on_grads(grads):
            return self._run_hooks(grads)
        args, self.input_tracked = _identity(tuple(args), "BackwardHookFunctionBackward",
                                             on_grads)
        return args

    def _run_hooks(self, grad_inputs):
        for hook in self.hooks:
            out = hook(self.module, tuple(grad_inputs), self.grad_outputs)
            if out is not None:
                out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
                if len(out) != len(grad_inputs):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input,"
                                       f" got {len(out)}, but expected {len(grad_inputs)}")
                grad_inputs = out
        return grad_inputs

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result

        def on_grads(grads):
            for hook in self.pre_hooks:
                new = hook(self.module, tuple(grads))
                if new is not None:
                    grads = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            self.grad_outputs = tuple(grads)
            if self.hooks and not self.input_tracked:
                # no input needs a gradient: the hooks run now, with None for grad_input
                self._run_hooks((None,) * self.n_inputs)
            return grads
        outs, _ = _identity(outs, "BackwardHookFunctionBackward", on_grads)
        return outs[0] if single else outs
