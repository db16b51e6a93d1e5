"""``ember.autograd.gradcheck``: compare autograd's Jacobian with central finite
differences (mirrors ``torch.autograd.gradcheck``; use float64 inputs)."""
from __future__ import annotations

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the two Jacobians disagree (as in PyTorch)."""


def _flat_outputs(fn, inputs):
    from .._tensor import Tensor
    out = fn(*inputs)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in outs if isinstance(o, Tensor)]


def _numerical(fn, inputs, i, eps):
    """d(out)/d(inputs[i]) by central differences: one column per input element."""
    import numpy as np
    from .grad_mode import no_grad
    x = inputs[i]
    base = np.array(x.detach().numpy(force=True), dtype=x.dtype._np, copy=True)
    cols = []
    with no_grad():
        for k in range(base.size):
            def at(delta):
                pert = base.copy()
                pert.reshape(-1)[k] += delta
                args = list(inputs)
                from .._creation import tensor
                args[i] = tensor(pert, device=x.device)
                return [o.detach().numpy(force=True).astype(np.complex128 if o.is_complex()
                                                            else np.float64).reshape(-1)
                        for o in _flat_outputs(fn, args)]
            plus, minus = at(eps), at(-eps)
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical(fn, inputs, i):
    import numpy as np
    from .api import grad
    from .._creation import zeros_like
    outs = _flat_outputs(fn, inputs)
    rows = []
    for oi, o in enumerate(outs):
        for k in range(o.numel()):
            gos = [zeros_like(p) for p in outs]
            gos[oi].view(-1)[k] = 1
            (g,) = grad(outs, [inputs[i]], gos, retain_graph=True, allow_unused=True)
            n = inputs[i].numel()
            rows.append(np.zeros(n) if g is None
                        else g.detach().numpy(force=True).astype(np.float64).reshape(-1))
    return np.stack(rows, axis=0) if rows else np.zeros((0, inputs[i].numel()))


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check ``func``'s gradients w.r.t. every input with ``requires_grad`` against finite
    differences; raises GradcheckError (or returns False) naming the input on mismatch."""
    import numpy as np
    from .._tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype.name not in ("float64", "complex128"):
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision "
                          "floating point. gradcheck should use double precision.",
                          UserWarning, stacklevel=2)
        num = _numerical(func, inputs, i, eps)
        ana = _analytical(func, inputs, i)
        if num.shape != ana.shape or not np.allclose(ana, num, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input "
                                     f"{i},\nnumerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Second-order check: gradcheck of the function ``inputs -> grad(func(inputs))``."""
    from .._tensor import Tensor
    from .api import grad
    from .._creation import ones_like
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def first(*args):
        outs = _flat_outputs(func, args)
        gos = grad_outputs or [ones_like(o) for o in outs]
        wrt = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        return grad(outs, wrt, gos, create_graph=True, allow_unused=True)

    del diff
    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
