"""``ember.optim.Rprop``: mirrors ``torch.optim.Rprop`` (resilient backpropagation: per-element
step sizes grown by etaplus while the gradient keeps its sign and shrunk by etaminus when it
flips, clamped to step_sizes), following its single-tensor update step by step."""
from __future__ import annotations

from ._scalars import check_capturable, scalar_state
from .optimizer import Optimizer, bump_step, check, write, zeros_state

__all__ = ["Rprop"]


class Rprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group):
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        capturable = group["capturable"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                from .._creation import full_like
                st["step"] = scalar_state(0.0, p.device if capturable else None)
                st["prev"] = zeros_state(p)
                st["step_size"] = full_like(p.detach(), group["lr"])
            if capturable:
                check_capturable(p, "params and state_steps")
            xp = p._device._be.xp
            bump_step(st["step"])
            sign = xp.sign(g * st["prev"]._data)
            size = st["step_size"]._data
            # torch writes etaplus / etaminus / 1 into the sign tensor and multiplies by it
            size = xp.where(sign > 0, size * etaplus, xp.where(sign < 0, size * etaminus, size))
            size = xp.clip(size, lo, hi)
            write(st["step_size"], size)
            g = xp.where(sign < 0, xp.zeros_like(g), g)  # a sign flip skips this update
            a = p._data
            a -= xp.sign(g) * size
            write(p, a)
            write(st["prev"], g)
