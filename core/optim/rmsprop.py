"""``ember.optim.RMSprop``: mirrors ``torch.optim.RMSprop`` (alpha, eps, centered, momentum,
weight_decay, maximize)."""
from __future__ import annotations

from ..backends.base import lerp_
from .optimizer import Optimizer, bump_step, check, step_tensor, write, zeros_state

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mom, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = step_tensor()
                st["square_avg"] = zeros_state(p)
                if mom > 0:
                    st["momentum_buffer"] = zeros_state(p)
                if centered:
                    st["grad_avg"] = zeros_state(p)
            xp = p._device._be.xp
            bump_step(st["step"])
            a = p._data
            if wd != 0:
                g = g + wd * a
            sq = st["square_avg"]._data
            sq *= alpha
            sq += (1 - alpha) * (g * g)
            write(st["square_avg"], sq)
            if centered:
                ga = lerp_(st["grad_avg"]._data, g, 1 - alpha)
                write(st["grad_avg"], ga)
                avg = xp.sqrt(sq - ga * ga) + eps
            else:
                avg = xp.sqrt(sq) + eps
            if mom > 0:
                buf = st["momentum_buffer"]._data
                buf *= mom
                buf += g / avg
                write(st["momentum_buffer"], buf)
                a -= lr * buf
            else:
                a -= lr * (g / avg)
            write(p, a)
