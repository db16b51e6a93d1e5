"""Complex numbers' parts and builders: ``conj`` (and ``conj_physical``/``resolve_conj``),
``real``/``imag`` (writable views), ``view_as_real``/``view_as_complex``, ``complex`` and
``polar``; ``angle`` and ``sgn`` live with ``abs`` in ``elementwise.py``.

Their gradients are the boundary of PyTorch's conjugate Wirtinger convention (for a real loss
L the gradient of a complex z is dL/dRe(z) + i dL/dIm(z)), written here as PyTorch's
formulas, so each records with ``holomorphic=False`` (the graph conjugates every other op's
plain derivative; see ``autograd.graph``). ember keeps no conjugate or negative bit: ``conj``
makes a new tensor where PyTorch returns a lazy view (the values, gradients and results of
reading it are the same; writing through it does not reach the base).
"""
from __future__ import annotations

from .. import _dtype
from ..autograd.graph import record
from ._register import attach, export, inplace, method, takes_out
from ._util import GRAD, Tensor, prep2, wrap
from ._views import FullView, PartView, mark_view, view_of

__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg",
           "real", "imag", "view_as_real", "view_as_complex", "complex", "polar"]


def _complex_of(dt):
    return _dtype.complex128 if dt is _dtype.float64 else _dtype.complex64


def _as_complex(g: Tensor, dt) -> Tensor:
    """A real gradient as a complex one (imaginary part zero), differentiable."""
    return g if g.dtype.is_complex else g.to(dt)


# --- conjugation -------------------------------------------------------------------------------
@method("conj")
def conj(input: Tensor) -> Tensor:
    """Mirrors ``torch.conj``: the input itself for real tensors; for complex ones the
    conjugate (a new tensor: PyTorch's is a lazy view, ember has no conj bit). Gradient:
    the conjugate of the incoming one."""
    if not input.dtype.is_complex:
        return input
    res = wrap(input._device._be.xp.conj(input._data), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "ConjBackward0", (input,), lambda g: (conj(g),), holomorphic=False)
    return res


@takes_out
@method("conj_physical")
def conj_physical(input: Tensor) -> Tensor:
    """Mirrors ``torch.conj_physical``: the conjugate, materialised (ember's ``conj``
    always is)."""
    if not input.dtype.is_complex:
        return input
    res = wrap(input._device._be.xp.conj(input._data), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        record(res, "ConjPhysicalBackward0", (input,), lambda g: (conj_physical(g),),
               holomorphic=False)
    return res


@method("resolve_conj")
def resolve_conj(input: Tensor) -> Tensor:
    """Mirrors ``torch.resolve_conj``: the input itself (ember never defers a conjugate)."""
    return input


@method("resolve_neg")
def resolve_neg(input: Tensor) -> Tensor:
    """Mirrors ``torch.resolve_neg``: the input itself (ember never defers a negation)."""
    return input


@method("is_conj")
def is_conj(input: Tensor) -> bool:
    """Mirrors ``torch.is_conj``: always False (no lazy conjugate views in ember)."""
    return False


@method("is_neg")
def is_neg(input: Tensor) -> bool:
    """Mirrors ``torch.is_neg``: always False (no lazy negative views in ember)."""
    return False


inplace(conj_physical, "conj_physical_", export_to=globals())


# --- real and imaginary parts: views, writable as in PyTorch --------------------------------------
class _PartOf(PartView):
    """``z.real`` / ``z.imag`` as the part of z a write through it replaces (PartView)."""

    __slots__ = ("which",)

    def __init__(self, which: str):
        self.which = which

    def set(self, be, base, view):
        xp = be.xp
        re, im = (view, xp.imag(base)) if self.which == "real" else (xp.real(base), view)
        return be.astype(re + im * 1j, be.ember_dtype(base.dtype))

    def grads(self, keep: bool):
        real_part = self.which == "real"

        def fn(g):
            # the old base keeps the other part; the view takes this part's gradient
            rest = (_as_complex(g.imag, g.dtype) * 1j if real_part else
                    _as_complex(g.real, g.dtype)) if keep else None
            return rest, (g.real if real_part else g.imag)
        return fn


def _part(input: Tensor, which: str) -> Tensor:
    data = getattr(input._data, which, None)
    if data is None or callable(data):  # a backend whose arrays have no .real/.imag views
        data = getattr(input._device._be.xp, which)(input._data)
    out = view_of(input, data)
    out.dtype = input.dtype.to_real()
    mark_view(out, input, _PartOf(which))
    if GRAD.enabled and input._requires_grad:
        cdt = input.dtype
        if which == "real":
            record(out, "RealBackward0", (input,), lambda g: (_as_complex(g, cdt),),
                   holomorphic=False)
        else:
            record(out, "ImagBackward0", (input,), lambda g: (_as_complex(g, cdt) * 1j,),
                   holomorphic=False)
    return out


@method("real")
def real(input: Tensor) -> Tensor:
    """Mirrors ``torch.real``: the input itself when real, else a writable view of the real
    part (gradient: the incoming one as complex)."""
    return _part(input, "real") if input.dtype.is_complex else input


@method("imag")
def imag(input: Tensor) -> Tensor:
    """Mirrors ``torch.imag``: a writable view of the imaginary part of a complex tensor
    (gradient: i times the incoming one)."""
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _part(input, "imag")


def _set_part(which):
    def setter(self: Tensor, value) -> None:
        # PyTorch: ``z.real = v`` copies v into the part's view (an in-place write, so
        # autograd sees it as one)
        if not isinstance(value, Tensor):
            from .._creation import tensor
            value = tensor(value, dtype=self.dtype.to_real(), device=self._device)
        getattr(self, which).copy_(value)
    return setter


attach("real", property(real, _set_part("real")))
attach("imag", property(imag, _set_part("imag")))


# --- real <-> complex views ---------------------------------------------------------------------
def _reinterpreted(be, data, fn):
    """``fn`` (a numpy reinterpretation: ``a.view(dtype)...``) of a mutable backend's
    numpy-like array, a view of it; None where the backend cannot make one (JAX arrays are
    immutable: writes reach the base through the view record; array_api_strict's have no
    ``view``: there view_as_real/view_as_complex copy)."""
    if not be.mutable or not hasattr(data, "view") or getattr(data, "flags", None) is None:
        return None
    try:
        return fn(data)
    except (ValueError, TypeError, AttributeError):
        return None


def _pairs(be, data, rdt):
    """A complex array as a (..., 2) real one: a view where the backend can make one."""
    xp = be.xp
    out = _reinterpreted(be, data, lambda a: a.view(be.native_dtype(rdt)).reshape(
        tuple(a.shape) + (2,)))
    return out if out is not None else xp.stack([xp.real(data), xp.imag(data)], axis=-1)


def _joined(be, data, cdt):
    """A (..., 2) real array as a complex one: a view where the backend can make one."""
    out = _reinterpreted(be, data, lambda a: a.view(be.native_dtype(cdt))[..., 0])
    return out if out is not None else be.astype(data[..., 0] + data[..., 1] * 1j, cdt)


@method("view_as_real")
def view_as_real(input: Tensor) -> Tensor:
    """Mirrors ``torch.view_as_real``: a complex tensor as a real one with a last dim of 2
    (real, imaginary), sharing memory where the backend can."""
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    be = input._device._be
    rdt = input.dtype.to_real()
    out = view_of(input, _pairs(be, input._data, rdt))
    out.dtype = rdt
    cdt = input.dtype
    mark_view(out, input, FullView(lambda g: view_as_real(g),
                                   lambda a: _joined(be, a, cdt)))
    if GRAD.enabled and input._requires_grad:
        record(out, "ViewAsRealBackward0", (input,), lambda g: (view_as_complex(g),),
               holomorphic=False)
    return out


@method("view_as_complex")
def view_as_complex(input: Tensor) -> Tensor:
    """Mirrors ``torch.view_as_complex``: a float tensor whose last dim is 2 (real,
    imaginary) as a complex one, sharing memory where the backend can."""
    dt = input.dtype
    if dt not in (_dtype.float32, _dtype.float64, _dtype.float16):
        raise RuntimeError("view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: {dt.scalar_name}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input.stride()[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    be = input._device._be
    cdt = _complex_of(dt)
    out = view_of(input, _joined(be, input._data, cdt))
    out.dtype = cdt
    mark_view(out, input, FullView(lambda g: view_as_complex(g),
                                   lambda a: _pairs(be, a, dt)))
    if GRAD.enabled and input._requires_grad:
        record(out, "ViewAsComplexBackward0", (input,), lambda g: (view_as_real(g),),
               holomorphic=False)
    return out


# --- building complex tensors -------------------------------------------------------------------
def _two_floats(name: str, a: Tensor, b: Tensor):
    for t in (a, b):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument '{'real' if t is a else 'imag'}' must be "
                            f"Tensor, not {type(t).__name__}")
    if not (a.dtype.is_floating_point and b.dtype.is_floating_point) or \
            a.dtype is _dtype.bfloat16 or b.dtype is _dtype.bfloat16:
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{a.dtype.scalar_name} and {b.dtype.scalar_name}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"Expected object of scalar type {a.dtype.scalar_name} but got "
                           f"scalar type {b.dtype.scalar_name} for second argument")
    x, y, dt, dev = prep2(a, b)
    return x, y, _complex_of(dt), dev


@takes_out
def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001 - torch's name
    """Mirrors ``torch.complex``: ``real + i imag`` (both Half, Float or Double, one dtype;
    they broadcast). Gradients: the real and imaginary parts of the incoming one."""
    from ._register import apply2
    x, y, cdt, dev = _two_floats("complex", real, imag)
    be = dev._be
    res = wrap(apply2(lambda p, q: be.astype(p + q * 1j, cdt), x, y), cdt, dev)
    if GRAD.enabled and (real._requires_grad or imag._requires_grad):
        ra, rb = real._requires_grad, imag._requires_grad
        record(res, "ComplexBackward0", (real, imag),
               lambda g: (g.real if ra else None, g.imag if rb else None), holomorphic=False)
    return res


@takes_out
def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002 - torch's names
    """Mirrors ``torch.polar``: ``abs * (cos(angle) + i sin(angle))``. Gradients as
    PyTorch's: Re(g conj(e^(i angle))) for abs, Re(g conj(i result)) for angle."""
    x, y, cdt, dev = _two_floats("polar", abs, angle)
    xp = dev._be.xp
    res = wrap(dev._be.astype(x * (xp.cos(y) + xp.sin(y) * 1j), cdt), cdt, dev)
    if GRAD.enabled and (abs._requires_grad or angle._requires_grad):
        ra, rb = abs._requires_grad, angle._requires_grad

        def back(g):
            u = complex(angle.cos(), angle.sin())
            ga = (g * u.conj()).real if ra else None
            gb = (g * (abs * u).conj()).imag if rb else None  # Re(g conj(i r u))
            return ga, gb
        record(res, "PolarBackward0", (abs, angle), back, saved=(abs, angle),
               holomorphic=False)
    return res


export(globals(), complex, "complex")
export(globals(), polar, "polar")
