"""``ember.optim.Adadelta``: mirrors ``torch.optim.Adadelta`` (lr=1.0, rho, eps)."""
from __future__ import annotations

from .optimizer import Optimizer, bump_step, check, step_tensor, write, zeros_state

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable,
                                      foreach=foreach, differentiable=differentiable))

    def _update_group(self, group):
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = step_tensor()
                st["square_avg"] = zeros_state(p)
                st["acc_delta"] = zeros_state(p)
            xp = p._device._be.xp
            bump_step(st["step"])
            a = p._data
            if wd != 0:
                g = g + wd * a
            sq, acc = st["square_avg"]._data, st["acc_delta"]._data
            sq *= rho
            sq += (1 - rho) * (g * g)
            write(st["square_avg"], sq)
            delta = xp.sqrt(acc + eps) / xp.sqrt(sq + eps) * g
            acc *= rho
            acc += (1 - rho) * (delta * delta)
            write(st["acc_delta"], acc)
            a -= lr * delta
            write(p, a)
