"""``ember.optim.ASGD``: mirrors ``torch.optim.ASGD`` (averaged SGD: ``ax`` holds the
running average of the iterates), following its single-tensor update step by step. ``eta``
and ``mu`` are float32 0-d tensors on the parameter's device, as in torch."""
from __future__ import annotations

from ._scalars import check_capturable, f32, scalar_state, set_scalar
from .optimizer import Optimizer, bump_step, check, write, zeros_state

__all__ = ["ASGD"]


class ASGD(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach=None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        check(0.0 <= lr, f"Invalid learning rate: {lr}")
        check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update_group(self, group):
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        wd = group["weight_decay"]
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = scalar_state(0.0, p.device)
                st["eta"] = scalar_state(lr, p.device)
                st["mu"] = scalar_state(1.0, p.device)
                st["ax"] = zeros_state(p)
            if group["capturable"]:
                check_capturable(p, "params, mus, etas, and state_steps")
            be = p._device._be
            step = bump_step(st["step"])
            a = p._data
            if wd != 0:
                g = g + wd * a
            eta = st["eta"].item()
            a *= 1 - lambd * eta
            a += -eta * g
            write(p, a)
            mu = st["mu"].item()
            if mu != 1:
                ax = st["ax"]._data
                ax += (a - ax) * mu
                write(st["ax"], ax)
            else:
                write(st["ax"], be.copy(a))
            # torch.as_tensor(float) makes a float32 tensor before copying into eta / mu
            set_scalar(st["eta"], f32(lr / ((1 + lambd * lr * step) ** alpha)))
            set_scalar(st["mu"], f32(1 / max(1, step - t0)))
