"""``ember.optim.SGD``: mirrors ``torch.optim.SGD`` (momentum, dampening, nesterov,
weight_decay, maximize), following its single-tensor update step by step."""
from __future__ import annotations

from .optimizer import Optimizer, check, write

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None):
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update_group(self, group):
        lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p, d in self._with_grads(group):
            be = p._device._be
            if wd != 0:
                d = d + wd * p._data
            if mom != 0:
                st = self.state[p]  # only momentum keeps state (as in torch)
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = p.grad.detach().clone()
                    buf._data = be.copy(d)
                else:
                    b = buf._data
                    b *= mom
                    write(buf, be.axpy_(b, d, 1 - damp))
                d = d + mom * buf._data if nesterov else buf._data
            write(p, be.axpy_(p._data, d, -lr))  # p.add_(d, alpha=-lr), as torch's step
