"""``ember.optim.Adam`` and ``AdamW``: mirror torch's (betas, eps, weight_decay, amsgrad,
maximize, decoupled_weight_decay), following its single-tensor update step by step."""
from __future__ import annotations

from .optimizer import Optimizer, bump_step, check, step_tensor, write, zeros_state

__all__ = ["Adam", "AdamW"]


def _check_adam(lr, eps, betas, weight_decay):
    check(0.0 <= lr, f"Invalid learning rate: {lr}")
    check(0.0 <= eps, f"Invalid epsilon value: {eps}")
    check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False):
        _check_adam(lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = step_tensor()
                st["exp_avg"] = zeros_state(p)
                st["exp_avg_sq"] = zeros_state(p)
                if amsgrad:
                    st["max_exp_avg_sq"] = zeros_state(p)
            step = bump_step(st["step"])
            a = p._data
            if wd != 0:
                if decoupled:
                    a *= 1 - lr * wd
                else:
                    g = g + wd * a
            step_size = lr / (1 - beta1 ** step)
            bc2_sqrt = (1 - beta2 ** step) ** 0.5
            # one backend call for the whole update: a single kernel where the backend fuses it
            a, m, v, mx = p._device._be.adam_update(
                a, g, st["exp_avg"]._data, st["exp_avg_sq"]._data, beta1, beta2, step_size,
                bc2_sqrt, eps, st["max_exp_avg_sq"]._data if amsgrad else None)
            write(st["exp_avg"], m)
            write(st["exp_avg_sq"], v)
            if amsgrad:
                write(st["max_exp_avg_sq"], mx)
            write(p, a)


class AdamW(Adam):
    """Mirrors ``torch.optim.AdamW``: Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach=None, capturable: bool = False,
                 differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
