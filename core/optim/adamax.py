"""``ember.optim.Adamax``: mirrors ``torch.optim.Adamax`` (Adam with the infinity norm),
following its single-tensor update step by step."""
from __future__ import annotations

from ..backends.base import lerp_
from ._scalars import check_capturable, scalar_state
from .optimizer import Optimizer, bump_step, check, write, zeros_state

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, capturable = group["weight_decay"], group["capturable"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = scalar_state(0.0, p.device if capturable else None)
                st["exp_avg"] = zeros_state(p)
                st["exp_inf"] = zeros_state(p)
            if capturable:
                check_capturable(p, "params and state_steps")
            xp = p._device._be.xp
            step = bump_step(st["step"])
            a = p._data
            if wd != 0:
                g = g + wd * a
            m = lerp_(st["exp_avg"]._data, g, 1 - beta1)
            write(st["exp_avg"], m)
            inf = xp.maximum(st["exp_inf"]._data * beta2, xp.abs(g) + eps)
            write(st["exp_inf"], inf)
            clr = lr / (1 - beta1 ** step)
            a += -clr * (m / inf)
            write(p, a)
