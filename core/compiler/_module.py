"""``OptimizedModule``: what ``ember.compile(module)`` returns."""
from __future__ import annotations

from ..nn.modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """Mirrors ``torch._dynamo.eval_frame.OptimizedModule``: the compiled module. The
    original is ``_orig_mod`` (so ``state_dict`` keys gain the ``_orig_mod.`` prefix, as in
    PyTorch); other attributes are read from it. Calling it runs the original module's
    ``__call__`` (hooks included) compiled."""

    def __init__(self, mod: Module, call, to_jax: bool = False):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = call
        self.__dict__["_to_jax"] = to_jax

    def forward(self, *args, **kwargs):
        if self.__dict__["_to_jax"]:
            from . import _back, _to_jax_args
            args, kwargs, dev = _to_jax_args(args, kwargs)
            out = self.__dict__["_compiled"](*args, **kwargs)
            return out if dev is None else _back(out, dev)
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)
