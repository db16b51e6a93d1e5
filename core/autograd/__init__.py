"""``ember.autograd``: mirrors ``torch.autograd`` (backward, grad, Function, grad modes,
gradcheck)."""
from __future__ import annotations

from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .graph import Node
from .api import backward, grad
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Node", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "Variable", "functional", "forward_ad"]


def __getattr__(name):
    # torch.autograd.profiler and torch.autograd.functional, loaded on first use (functional
    # needs Tensor, which imports this package first)
    if name in ("profiler", "functional", "forward_ad"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ember.autograd' has no attribute '{name}'")
