"""``ember.optim.NAdam``: mirrors ``torch.optim.NAdam`` (Adam with Nesterov momentum and
momentum decay; ``decoupled_weight_decay`` gives NAdamW), following its single-tensor update
step by step. ``mu_product`` is a float32 0-d tensor in the state, as in torch."""
from __future__ import annotations

from ..backends.base import lerp_
from ._scalars import check_capturable, scale_scalar, scalar_state
from .optimizer import Optimizer, bump_step, check, write, zeros_state

__all__ = ["NAdam"]


class NAdam(Optimizer):
    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, mdecay = group["weight_decay"], group["momentum_decay"]
        decoupled, capturable = group["decoupled_weight_decay"], group["capturable"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                dev = p.device if capturable else None
                st["step"] = scalar_state(0.0, dev)
                st["mu_product"] = scalar_state(1.0, dev)
                st["exp_avg"] = zeros_state(p)
                st["exp_avg_sq"] = zeros_state(p)
            if capturable:
                check_capturable(p, "params, mu_products and state_steps")
            xp = p._device._be.xp
            step = bump_step(st["step"])
            bc2 = 1 - beta2 ** step
            a = p._data
            if wd != 0:
                if decoupled:
                    a *= 1 - lr * wd
                else:
                    g = g + wd * a
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * mdecay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * mdecay)))
            # float32 product, read back as a float (torch: mu_product *= mu; _get_value)
            mu_product = scale_scalar(st["mu_product"], mu)
            m = lerp_(st["exp_avg"]._data, g, 1 - beta1)
            write(st["exp_avg"], m)
            v = st["exp_avg_sq"]._data
            v *= beta2
            v += (1 - beta2) * (g * g)
            write(st["exp_avg_sq"], v)
            denom = xp.sqrt(v / bc2) + eps
            a += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
            a += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * (m / denom)
            write(p, a)
