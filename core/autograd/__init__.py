"""``ember.autograd``: mirrors ``torch.autograd`` (backward, grad, Function, grad modes,
gradcheck)."""
from __future__ import annotations

from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .graph import Node
from .api import backward, grad
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Node", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "gradcheck",
           "gradgradcheck", "functional"]


def __getattr__(name):
    # ``ember.autograd.functional`` loads on first use: it needs Tensor, which imports this
    # package first
    if name == "functional":
        import importlib
        return importlib.import_module(f"{__name__}.functional")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
