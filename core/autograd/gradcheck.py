"""``ember.autograd.gradcheck`` / ``gradgradcheck``: compare autograd's Jacobian with
central finite differences. Mirrors ``torch.autograd.gradcheck`` (use float64 inputs).

Jacobians are built on the host in float64, laid out as PyTorch lays them out (one row per
input element, one column per output element), and the mismatch error names the output and
input and prints both Jacobians, as PyTorch's does. Real dtypes only: PyTorch's Wirtinger
checks for complex inputs are not implemented.
"""
from __future__ import annotations

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the two Jacobians disagree (as in PyTorch)."""


def _outputs(fn, args) -> list:
    from .._tensor import Tensor
    out = fn(*args)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    return [o for o in outs if isinstance(o, Tensor)]


def _host(t):
    import numpy as np
    return np.array(t.detach().numpy(force=True), dtype=np.float64, copy=True).reshape(-1)


def _numerical(fn, inputs, i, eps, n_out):
    """d(outputs)/d(inputs[i]) by central differences: ``[(in_numel, out_numel)] per output``."""
    import numpy as np
    from .._creation import tensor
    x = inputs[i]
    base = np.array(x.detach().numpy(force=True), copy=True)

    def at(k, delta):
        pert = base.copy()
        pert.reshape(-1)[k] += delta
        args = list(inputs)
        args[i] = tensor(pert, dtype=x.dtype, device=x.device, requires_grad=x.requires_grad)
        return [_host(o) for o in _outputs(fn, args)]

    cols = [[] for _ in range(n_out)]
    for k in range(base.size):
        for j, (p, m) in enumerate(zip(at(k, eps), at(k, -eps))):
            cols[j].append((p - m) / (2 * eps))
    return [np.stack(c, axis=0) if c else np.zeros((0, 0)) for c in cols]


def _analytical(outs, wrt):
    """``{(j, i): (in_numel, out_numel)}`` from one backward per output element."""
    import numpy as np
    from .._creation import tensor
    from .api import grad
    jac = {}
    for j, o in enumerate(outs):
        n = o.numel()
        rows = {i: np.zeros((x.numel(), n)) for i, x in wrt}
        if o._requires_grad:
            for m in range(n):
                onehot = np.zeros(n)
                onehot[m] = 1
                go = tensor(onehot.reshape(tuple(o.shape)), dtype=o.dtype, device=o.device)
                got = grad([o], [x for _, x in wrt], [go], retain_graph=True,
                           allow_unused=True)
                for (i, x), g in zip(wrt, got):
                    if g is not None:
                        if tuple(g.shape) != tuple(x.shape):
                            raise GradcheckError(f"Gradient has incorrect shape for input {i}: "
                                                 f"{tuple(g.shape)} vs {tuple(x.shape)}")
                        rows[i][:, m] = _host(g)
        for i, _ in wrt:
            jac[(j, i)] = rows[i]
    return jac


def _fmt(a):
    from .._creation import tensor
    from .. import _dtype
    return repr(tensor(a, dtype=_dtype.float64))


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check ``func``'s gradients w.r.t. every input with ``requires_grad`` against finite
    differences; raises GradcheckError (or returns False) naming the output and input."""
    import warnings

    import numpy as np
    from .._tensor import Tensor
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    wrt = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for i, x in wrt:
        if x.dtype.name not in ("float64", "complex128"):
            warnings.warn(f"Input #{i} requires gradient and is not a double precision "
                          "floating point or complex. This check will likely fail if all the "
                          "inputs are not of double precision floating point or complex. ",
                          UserWarning, stacklevel=2)
    outs = _outputs(func, inputs)
    ana = _analytical(outs, wrt)
    for i, _ in wrt:
        num = _numerical(func, inputs, i, eps, len(outs))
        for j in range(len(outs)):
            a, n = ana[(j, i)], num[j].reshape(ana[(j, i)].shape)
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {j} with respect to "
                                         f"input {i},\nnumerical:{_fmt(n)}\n"
                                         f"analytical:{_fmt(a)}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Second-order check (mirrors ``torch.autograd.gradgradcheck``): gradcheck of
    ``(inputs, grad_outputs) -> grad(func(inputs), inputs, grad_outputs, create_graph=True)``.
    Random grad_outputs (float64, requiring grad) are drawn when none are given."""
    from .._tensor import Tensor
    from .._creation import randn
    from .api import grad
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = [randn(tuple(o.shape), dtype=o.dtype, device=o.device,
                              requires_grad=True) for o in _outputs(func, inputs)]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n_in = len(inputs)

    def first(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _outputs(func, ins)
        wrt = [a for a in ins if isinstance(a, Tensor) and a.requires_grad]
        got = grad(outs, wrt, list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in got if g is not None)

    return gradcheck(first, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
