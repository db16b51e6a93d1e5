"""``ember.optim.Adagrad``: mirrors ``torch.optim.Adagrad`` (lr_decay,
initial_accumulator_value — its state exists from construction, as in torch — eps)."""
from __future__ import annotations

from .optimizer import Optimizer, bump_step, check, step_tensor, write

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check(0.0 <= initial_accumulator_value,
              f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        from .._creation import full_like
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = step_tensor()
                st["sum"] = full_like(p.detach(), group["initial_accumulator_value"])

    def _update_group(self, group):
        lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            xp = p._device._be.xp
            step = bump_step(st["step"])
            a = p._data
            if wd != 0:
                g = g + wd * a
            clr = lr / (1 + (step - 1) * lr_decay)
            s = st["sum"]._data
            s += g * g
            write(st["sum"], s)
            a -= clr * (g / (xp.sqrt(s) + eps))
            write(p, a)
