"""``ember.optim.Adafactor``: mirrors ``torch.optim.Adafactor`` (factored second moments: a
row and a column variance for parameters of 2+ dims, a full variance for vectors; relative
step size and update clipping by ``d``), following its single-tensor update step by step."""
from __future__ import annotations

from ..backends.base import lerp_
from ._scalars import scalar_state
from .optimizer import Optimizer, bump_step, check, write

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    def __init__(self, params, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach=None, maximize: bool = False):
        check(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        check(0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}")
        check(eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}")
        check(0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}")
        check(1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}")
        check(0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

    def _update_group(self, group):
        from .._creation import zeros
        lr, decay, (eps1, eps2) = group["lr"], group["beta2_decay"], group["eps"]
        d, wd = group["d"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is not None and p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
        for p, g in self._with_grads(group):
            st = self.state[p]
            if not st:
                st["step"] = scalar_state(0.0)
                if g.ndim > 1:
                    shape = list(p.shape)
                    st["row_var"] = zeros(shape[:-1] + [1], dtype=p.dtype, device=p.device)
                    st["col_var"] = zeros(shape[:-2] + [1, shape[-1]], dtype=p.dtype,
                                          device=p.device)
                else:
                    st["variance"] = zeros(list(p.shape), dtype=p.dtype, device=p.device)
            xp = p._device._be.xp
            e1 = xp.finfo(p._data.dtype).eps if eps1 is None else eps1
            step = bump_step(st["step"])
            one_minus_beta2 = step ** decay
            rho = min(lr, 1 / (step ** 0.5))
            a = p._data
            n = max(p.numel(), 1)
            alpha = max(eps2, float(xp.sqrt(xp.sum(a * a))) / (n ** 0.5)) * rho
            if wd != 0:
                a *= 1 - lr * wd
            if g.ndim > 1:
                row_mean = xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True)) ** 2 / g.shape[-1]
                row = lerp_(st["row_var"]._data, row_mean, one_minus_beta2)
                write(st["row_var"], row)
                col_mean = xp.sqrt(xp.sum(g * g, axis=-2, keepdims=True)) ** 2 / g.shape[-2]
                col = lerp_(st["col_var"]._data, col_mean, one_minus_beta2)
                write(st["col_var"], col)
                var = xp.matmul(row, col) / xp.clip(xp.mean(row, axis=-2, keepdims=True), e1,
                                                    None)
            else:
                var = lerp_(st["variance"]._data, g * g, one_minus_beta2)
                write(st["variance"], var)
            update = g / xp.sqrt(xp.clip(var, e1 * e1, None))
            denom = max(1.0, float(xp.sqrt(xp.sum(update * update)))
                        / ((max(update.size, 1) ** 0.5) * d))
            a += (-alpha / denom) * update
            write(p, a)
