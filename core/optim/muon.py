"""``ember.optim.Muon``: mirrors ``torch.optim.Muon`` (momentum, then Newton-Schulz
orthogonalisation of each 2-D update, decoupled weight decay, shape-adjusted learning rate),
following its single-tensor update step by step.

Deliberate difference: torch runs the Newton-Schulz iteration in bfloat16; ember runs it in
the parameter's dtype, because not every backend has bfloat16 arrays (numpy has none). The
orthogonalised update then differs from torch's by bfloat16 rounding (~0.5 %)."""
from __future__ import annotations

import math

from ..backends.base import lerp_
from .optimizer import Optimizer, check, write, zeros_state

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(xp, g, ns_coefficients, ns_steps: int, eps: float):
    """torch.optim._muon._zeropower_via_newtonschulz on backend arrays (see module docs)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = g.shape[0] > g.shape[1]
    x = xp.matrix_transpose(g) if tall else g
    x = x / max(float(xp.sqrt(xp.sum(x * x))), eps)
    for _ in range(ns_steps):
        gram = xp.matmul(x, xp.matrix_transpose(x))
        update = b * gram + c * xp.matmul(gram, gram)
        x = a * x + xp.matmul(update, x)
    return xp.matrix_transpose(x) if tall else x


def _adjust_lr(lr: float, adjust_lr_fn, shape) -> float:
    A, B = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(A, B))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple = (DEFAULT_A, DEFAULT_B, DEFAULT_C), eps: float = EPS,
                 ns_steps: int = DEFAULT_NS_STEPS, adjust_lr_fn: str | None = None):
        check(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        check(0.0 <= momentum, f"momentum should be >= 0 but is: {momentum}")
        check(0.0 <= weight_decay, f"weight decay should be >= 0 but is: {weight_decay}")
        check(adjust_lr_fn is None or adjust_lr_fn in ("original", "match_rms_adamw"),
              f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      nesterov=nesterov, ns_coefficients=ns_coefficients,
                                      eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _update_group(self, group):
        lr, wd, mom = group["lr"], group["weight_decay"], group["momentum"]
        for p in group["params"]:
            if p.grad is not None and p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
        for p, g in self._with_grads(group):
            st = self.state[p]
            if "momentum_buffer" not in st:
                st["momentum_buffer"] = zeros_state(p)
            xp = p._device._be.xp
            buf = lerp_(st["momentum_buffer"]._data, g, 1 - mom)
            write(st["momentum_buffer"], buf)
            update = lerp_(g + 0, buf, mom) if group["nesterov"] else buf
            update = _zeropower_via_newtonschulz(xp, update, group["ns_coefficients"],
                                                 group["ns_steps"], group["eps"])
            adjusted = _adjust_lr(lr, group["adjust_lr_fn"], tuple(p.shape))
            a = p._data
            a *= 1 - lr * wd
            a += -adjusted * update
            write(p, a)
