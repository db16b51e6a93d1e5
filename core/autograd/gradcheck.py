"""``ember.autograd.gradcheck`` / ``gradgradcheck``: compare autograd's Jacobian with
central finite differences. Mirrors ``torch.autograd.gradcheck`` (use float64 or complex128
inputs).

Jacobians are built on the host, laid out as PyTorch lays them out (one row per input
element, one column per output element), and the mismatch error names the output and
input and prints both Jacobians, as PyTorch's does. Complex numbers are checked as PyTorch's
slow mode checks them, as pairs of reals: a complex input contributes a row for the real
and one for the imaginary part of each element (perturbed by eps and by eps·i), and a
complex output is checked part by part ("While considering the real part of complex
outputs only, ..."), its imaginary part's analytical column coming from a backward with
grad_output i. Under PyTorch's convention (the gradient of z is dL/dRe(z) + i dL/dIm(z))
these pairs must match the finite differences exactly.
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
    a = t.detach().numpy(force=True)
    return np.array(a, dtype=np.complex128 if np.iscomplexobj(a) else np.float64,
                    copy=True).reshape(-1)


def _parts(o) -> tuple:
    """The parts of an output checked one by one: ("real",), or ("real", "imag")."""
    return ("real", "imag") if o.dtype.is_complex else ("real",)


def _rows(v, complex_in: bool):
    """One column's entries for an input's rows: real parts, then imaginary parts (complex
    inputs)."""
    import numpy as np
    return np.concatenate([v.real, v.imag]) if complex_in else v.real


def _numerical(fn, inputs, i, eps, outs_meta):
    """d(outputs)/d(inputs[i]) by central differences: ``[{part: (rows, out_numel)}]`` per
    output, rows as :func:`_rows` lays them out."""
    import numpy as np
    from .._creation import tensor
    x = inputs[i]
    base = np.array(x.detach().numpy(force=True), copy=True)
    cx = np.iscomplexobj(base)

    def at(k, delta):
        pert = base.copy()
        pert.reshape(-1)[k] += delta
        args = list(inputs)
        args[i] = tensor(pert, dtype=x.dtype, device=x.device, requires_grad=x.requires_grad)
        return [_host(o) for o in _outputs(fn, args)]

    steps = [eps, eps * 1j] if cx else [eps]
    rows = [[] for _ in outs_meta]
    for step in steps:
        for k in range(base.size):
            for j, (p, m) in enumerate(zip(at(k, step), at(k, -step))):
                rows[j].append((p - m) / (2 * eps))
    res = []
    for j, parts in enumerate(outs_meta):
        d = np.stack(rows[j], axis=0) if rows[j] else np.zeros((0, 0))
        res.append({part: (d.real if part == "real" else d.imag) for part in parts})
    return res


def _analytical(outs, wrt):
    """``{(j, i): {part: (rows, out_numel)}}`` from one backward per output element and
    part (grad_output 1 for the real part, i for the imaginary part)."""
    import numpy as np
    from .._creation import tensor
    from .api import grad
    jac = {}
    for j, o in enumerate(outs):
        n = o.numel()
        cols = {}
        for part in _parts(o):
            rows = {i: np.zeros(((2 if x.dtype.is_complex else 1) * x.numel(), n))
                    for i, x in wrt}
            if o._requires_grad:
                for m in range(n):
                    onehot = np.zeros(n, dtype=np.complex128 if o.dtype.is_complex else None)
                    onehot[m] = 1 if part == "real" else 1j
                    go = tensor(onehot.reshape(tuple(o.shape)), dtype=o.dtype, device=o.device)
                    got = grad([o], [x for _, x in wrt], [go], retain_graph=True,
                               allow_unused=True)
                    for (i, x), g in zip(wrt, got):
                        if g is not None:
                            if tuple(g.shape) != tuple(x.shape):
                                raise GradcheckError(
                                    f"Gradient has incorrect shape for input {i}: "
                                    f"{tuple(g.shape)} vs {tuple(x.shape)}")
                            rows[i][:, m] = _rows(_host(g), x.dtype.is_complex)
            cols[part] = rows
        for i, _ in wrt:
            jac[(j, i)] = {part: cols[part][i] for part in cols}
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
    meta = [_parts(o) for o in outs]
    for i, _ in wrt:
        num = _numerical(func, inputs, i, eps, meta)
        for j in range(len(outs)):
            for part in meta[j]:
                a = ana[(j, i)][part]
                n = num[j][part].reshape(a.shape)
                if not np.allclose(a, n, rtol=rtol, atol=atol):
                    if raise_exception:
                        prefix = (f"While considering the {part} part of complex outputs "
                                  "only, " if len(meta[j]) == 2 else "")
                        raise GradcheckError(f"{prefix}Jacobian mismatch for output {j} with "
                                             f"respect to input {i},\nnumerical:{_fmt(n)}\n"
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
