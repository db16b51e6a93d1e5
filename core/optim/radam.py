"""``ember.optim.RAdam``: mirrors ``torch.optim.RAdam`` (rectified Adam; the plain momentum
step while the variance estimate is not yet tractable, rho_t <= 5), following its
single-tensor update step by step."""
from __future__ import annotations

from ..backends.base import lerp_
from ._scalars import check_capturable, scalar_state
from .optimizer import Optimizer, bump_step, check, write, zeros_state

__all__ = ["RAdam"]


class RAdam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach=None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        capturable = group["capturable"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = scalar_state(0.0, p.device if capturable else None)
                st["exp_avg"] = zeros_state(p)
                st["exp_avg_sq"] = zeros_state(p)
            if capturable:
                check_capturable(p, "params and state_steps")
            xp = p._device._be.xp
            step = bump_step(st["step"])
            a = p._data
            if wd != 0:
                if decoupled:
                    a *= 1 - lr * wd
                else:
                    g = g + wd * a
            m = lerp_(st["exp_avg"]._data, g, 1 - beta1)
            write(st["exp_avg"], m)
            v = st["exp_avg_sq"]._data
            v *= beta2
            v += (1 - beta2) * (g * g)
            write(st["exp_avg_sq"], v)
            bc1 = 1 - beta1 ** step
            bc2 = 1 - beta2 ** step
            corrected = m / bc1
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = (bc2 ** 0.5) / (xp.sqrt(v) + eps)
                a -= corrected * lr * adaptive * rect
            else:
                a -= corrected * lr
            write(p, a)
