"""``ember.optim.SparseAdam``: mirrors ``torch.optim.SparseAdam``'s constructor, checks and
``state_dict``. Torch's SparseAdam only takes sparse gradients (it raises on dense ones); ember
has no sparse gradients yet, so every step with a gradient raises torch's error for dense
gradients."""
from __future__ import annotations

from .optimizer import Optimizer, check

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        check(0.0 < lr, f"Invalid learning rate: {lr}")
        check(0.0 < eps, f"Invalid epsilon value: {eps}")
        check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        sparse, complex_ = [], []
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                if getattr(p, "is_sparse", False):
                    sparse.append([i, j])
                if p.is_complex():
                    complex_.append([i, j])
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense "
                             "parameter tensors")
        if complex_:
            raise ValueError(f"Complex params at indices {complex_}: SparseAdam does not "
                             "support complex parameters")

    def _update_group(self, group):
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if not getattr(g, "is_sparse", False):
                raise RuntimeError("SparseAdam does not support dense gradients, please "
                                   "consider Adam instead")
            raise NotImplementedError("ember has no sparse gradients yet")  # pragma: no cover
