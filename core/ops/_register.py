"""The op kit: how an op becomes part of ember's API, written once.

An op file only declares; this module attaches and wraps:

- :func:`method` / :func:`attach`: put a function (or property) on ``Tensor`` under each
  name. Every Tensor member an op file adds goes through here and is listed in
  :data:`MEMBERS`, from which ``core/_tensor.pyi`` is generated (``python -m
  ember.ops._stub``), so editors and type checkers see every method.
- :func:`inplace`: the ``name_`` form of an op, run through the in-place machinery
  (version counter, autograd rebinding, writes through views).
- :func:`reflected`: Python's operator protocol as ``torch.Tensor``
  follows it (``NotImplemented`` for operands a tensor does not take, so ``[1, 2] * t``
  repeats the list).
- :func:`apply2`: run an elementwise kernel over two (or more) arrays with PyTorch's
  broadcast error instead of the backend's; :func:`binary` defines a whole binary op from
  a table row (kernel, dtype rule, derivatives), beside ``unary()`` in ``elementwise.py``.
- ``out=``: :func:`finalize` wraps every public function of a namespace that declares an
  ``out`` parameter, so ``out=`` is honoured in one place with PyTorch's semantics
  (:func:`write_out`). The ops themselves never look at ``out``; Tensor methods are the bare
  functions (``torch.Tensor`` methods take no ``out=`` either), so the operator and method
  hot paths pay nothing for it.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import STATE as GRAD

__all__ = ["MEMBERS", "attach", "method", "inplace", "reflected", "export",
           "apply2", "broadcast_fail", "binary", "write_out", "outable", "finalize", "can_cast", "takes_out"]

# Tensor member name -> what the kit attached (function, property); the stub is made from it
MEMBERS: dict[str, Any] = {}

_OPERAND = (Tensor, int, float, bool, complex)


def attach(name: str, obj: Any) -> Any:
    """Make ``obj`` the Tensor member ``name`` (a method, operator or property)."""
    setattr(Tensor, name, obj)
    MEMBERS[name] = obj
    return obj


def method(*names: str) -> Callable:
    """Decorator: attach the function to Tensor under each name (``"add"``, ``"__add__"``)."""
    def deco(fn):
        for n in names:
            attach(n, fn)
        return fn
    return deco


def export(ns: dict, fn: Callable, *names: str) -> Callable:
    """Bind ``fn`` in a module namespace ``ns`` (its ``globals()``) under each name and list
    the names in its ``__all__``."""
    all_ = ns.setdefault("__all__", [])
    for n in names:
        ns[n] = fn
        if n not in all_:
            all_.append(n)
    return fn


def inplace(fn: Callable, *names: str, export_to: dict | None = None) -> Callable:
    """``Tensor.<name>`` running ``fn`` in place (``add_``, ``__iadd__``); with ``export_to``
    (a module's globals) also ``ember.<name>`` for the names PyTorch exports (``relu_``)."""
    from .inplace import run_inplace

    def m(self, *args, **kwargs):
        return run_inplace(self, fn, *args, **kwargs)
    m.__name__ = m.__qualname__ = names[0]
    m.__doc__ = f"In-place form of ``{fn.__name__}`` (mirrors ``Tensor.{names[0]}``)."
    m.__signature__ = _signature_without_out(fn)
    for n in names:
        attach(n, m)
    if export_to is not None:
        export(export_to, m, *(n for n in names if not n.startswith("__")))
    return m


def _scalar_like(x) -> bool:
    """A number, or a numpy (or like) scalar: what PyTorch's reflected operators take."""
    return isinstance(x, _OPERAND) or (hasattr(x, "item") and getattr(x, "ndim", 1) == 0
                                       and not hasattr(x, "__len__"))


def operand(x) -> bool:
    """What a binary op accepts on its other side: tensors, numbers, numpy (or other)
    arrays and their scalars. Anything else (lists, tuples, None, str) is PyTorch's
    TypeError, and NotImplemented from an operator."""
    return isinstance(x, _OPERAND) or hasattr(x, "__array__")


def reflected(fn: Callable) -> Callable:
    """``fn(self, other)`` as a reflected operator (``__radd__``): only numbers (and
    tensors) on the left, as in PyTorch; for anything else NotImplemented, so Python falls
    back to the left side's own meaning (``[1, 2] * t`` repeats the list) or its TypeError
    (``np.ones(2) * t``)."""
    def op(self, other):
        return fn(self, other) if _scalar_like(other) else NotImplemented
    op.__name__ = op.__qualname__ = fn.__name__
    op.__doc__ = fn.__doc__
    return op


# --- running a kernel over two operands ------------------------------------------------------
def broadcast_fail(*operands) -> None:
    """Raise PyTorch's error ("The size of tensor a (3) must match the size of tensor b (4)
    at non-singleton dimension 1") if the operands' shapes do not broadcast; return if they
    do. For the few hot ops that keep their own ``try`` around a backend expression (a
    call through :func:`apply2` costs a Python frame per op): call it from the ``except``."""
    from .shape import broadcast_shapes
    broadcast_shapes(*(tuple(getattr(x, "shape", ())) for x in operands))


def apply2(kernel: Callable, a, b, *more):
    """``kernel(a, b, *more)`` over backend arrays (or scalars), with PyTorch's error when
    the shapes do not broadcast ("The size of tensor a (3) must match ...") instead of the
    backend's (numpy raises ValueError, JAX TypeError). Other errors propagate unchanged."""
    try:
        return kernel(a, b, *more)
    except (ValueError, TypeError):  # numpy: ValueError, JAX: TypeError
        broadcast_fail(a, b, *more)
        raise


def binary(name: str, kernel: Callable, grads: tuple | None, *, ints: str = "same",
           errors: dict | None = None, node: str | None = None, tensor_other: bool = False,
           aliases: tuple = (), doc: str = "", ns: dict | None = None,
           saves_result: bool = False) -> Callable:
    """Define ``ember.<name>``, ``Tensor.<name>`` and ``Tensor.<name>_`` for an elementwise
    binary op from one table row.

    kernel: ``fn(xp, a, b)`` over promoted backend arrays. grads: ``(dx, dy)``, each
    ``fn(g, x, y, res)`` with Tensor ops (so higher-order gradients work), or None when the
    op has no derivative (comparisons, bitwise). ints: "same" (bool/int inputs keep their
    dtype) or "float" (they compute in the default float dtype, as atan2). errors:
    ``{"bool" | "int" | "complex" | "float": kernel name}`` for dtypes PyTorch rejects with
    its ``"<kernel>_cpu" not implemented for 'Bool'`` error. tensor_other: ``other`` must be
    a Tensor (PyTorch's TypeError otherwise). ns: the module globals to export into.
    saves_result: the derivatives read ``res`` (so an in-place change of the result before
    backward is PyTorch's version error); otherwise they get ``res`` but must not use it.
    """
    from .. import _dtype
    from ..autograd.graph import record
    from ._util import prep2, wrap
    node = node or "".join(p.capitalize() for p in name.split("_")) + "Backward0"
    dx, dy = grads if grads is not None else (None, None)

    def op(input: Tensor, other) -> Tensor:
        if tensor_other and not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                            f"{type(other).__name__}")
        a, b, dt, dev = prep2(input, other)
        if errors:
            kind = ("complex" if dt.is_complex else "float" if dt.is_floating_point else
                    "bool" if dt is _dtype.bool else "int")
            if kind in errors:
                from .elementwise import not_implemented
                raise not_implemented(errors[kind], dt, dev)
        if ints == "float" and not (dt.is_floating_point or dt.is_complex):
            dt = _dtype.get_default_dtype()
            a = dev._be.astype(a, dt)
            if isinstance(other, Tensor):
                b = dev._be.astype(b, dt)
        xp = dev._be.xp
        res = wrap(apply2(lambda p, q: kernel(xp, p, q), a, b), dt, dev)
        if GRAD.enabled and (input._requires_grad or getattr(other, "_requires_grad", False)):
            if grads is None:
                return res  # PyTorch: no derivative, the result does not require grad
            ot = isinstance(other, Tensor)
            ra, rb = input._requires_grad, ot and other._requires_grad

            def fn(g):
                return (dx(g, input, other, res) if ra else None,
                        dy(g, input, other, res) if rb else None)[:2 if ot else 1]
            ins = (input, other) if ot else (input,)
            record(res, node, ins, fn, saved=ins + (res,) if saves_result else ins)
        return res

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Mirrors ``torch.{name}``." + (f" {doc}" if doc else "")
    takes_out(op)
    method(name, *aliases)(op)
    inplace(op, *(n + "_" for n in (name,) + aliases))
    if ns is not None:
        export(ns, op, name, *aliases)
    return op


# --- out= ---------------------------------------------------------------------------------------
def can_cast(frm, to) -> bool:
    """PyTorch's rule for writing a result into an existing tensor (in-place ops, ``out=``):
    no float into int, no complex into real, nothing into bool except bool."""
    return frm._cat <= to._cat


def write_out(out: Tensor, res: Tensor, name: str, resize="warn") -> Tensor:
    """Write an op's result into its ``out=`` tensor, as PyTorch does: refused when autograd
    is involved; the result must be castable to ``out``'s dtype; an ``out`` of another shape
    is resized (with PyTorch's deprecation warning unless it was empty); the values go into
    ``out``'s own buffer, so a view passes them on to its base."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if GRAD.enabled and (res._requires_grad or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    if res.dtype is not out.dtype and not can_cast(res.dtype, out.dtype):
        raise RuntimeError(f"result type {res.dtype.scalar_name} can't be cast to the desired "
                           f"output type {out.dtype.scalar_name}")
    if res._device != out._device:
        raise RuntimeError(f"Expected out tensor to have device {res._device}, but got "
                           f"{out._device} instead")
    be = out._device._be
    data = res._data if res.dtype is out.dtype else be.astype(res._data, out.dtype)
    if tuple(out._data.shape) != tuple(data.shape):
        if out._base is not None:
            raise RuntimeError(f"{name}(): the out= view of shape {list(out.shape)} cannot be "
                               f"resized to {list(res.shape)}: its storage is not resizable")
        if out.numel() and resize == "warn":
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out.shape)}, which does not match the required output shape "
                f"{list(res.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=4)
        elif out.numel() and callable(resize):
            msg = resize(tuple(out.shape), tuple(res.shape))
            if msg:
                warnings.warn(msg, UserWarning, stacklevel=4)
        out._data = data
        out._bump()
        return out
    from ._views import store
    store(out, data)
    return out


def _write_outs(out, res, name: str, resize):
    if isinstance(res, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(res):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(res)} Tensors")
        done = [write_out(o, r, name, resize) for o, r in zip(out, res)]
        return tuple(done) if type(res) is tuple else type(res)(tuple(done))
    return write_out(out, res, name, resize)


def _signature_without_out(fn) -> inspect.Signature | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return sig.replace(parameters=[p for n, p in sig.parameters.items() if n != "out"])


def _signature_with_out(fn) -> inspect.Signature | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    ps = list(sig.parameters.values())
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None,
                            annotation="Tensor | None")
    at = len(ps) - (1 if ps and ps[-1].kind is ps[-1].VAR_KEYWORD else 0)
    return sig.replace(parameters=ps[:at] + [out] + ps[at:])


def _is_factory(fn) -> bool:
    try:
        ps = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "dtype" in ps and "device" in ps


def _factory_out(out, kwargs: dict) -> dict:
    """A factory called with ``out=``: builds in out's dtype, on its device, unless told."""
    if isinstance(out, Tensor):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = out.dtype
        if kwargs.get("device") is None:
            kwargs["device"] = out._device
    return kwargs


def forwarding(fn, extra: tuple = ("out=None",),
               unset_from: str | None = None) -> tuple[str, str, dict, list] | None:
    """(parameter list, call arguments, defaults, names defaulted to ``_UNSET``) to write a
    wrapper with fn's own signature plus the keyword-only ``extra`` parameters, or None
    where fn's signature cannot be read. Required parameters from ``unset_from`` on get the
    default ``_UNSET`` (the wrapper checks them itself: ``dim`` may come as ``axis=``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    P = inspect.Parameter
    params, call, defaults, star, kw = [], [], {}, False, None
    unset, seen = [], False
    for p in sig.parameters.values():
        seen = seen or p.name == unset_from
        d = ""
        if p.default is not P.empty:
            defaults[p.name] = p.default
            d = f"=_d[{p.name!r}]"
        elif seen and p.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
            d = "=_UNSET"
            unset.append(p.name)
        if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD):
            params.append(p.name + d)
            call.append(p.name)
        elif p.kind is P.VAR_POSITIONAL:
            params.append("*" + p.name)
            call.append("*" + p.name)
            star = True
        elif p.kind is P.KEYWORD_ONLY:
            if not star:
                params.append("*")
                star = True
            params.append(p.name + d)
            call.append(f"{p.name}={p.name}")
        else:
            kw = p.name
    if not star:
        params.append("*")
    params.extend(extra)
    if kw:
        params.append("**" + kw)
        call.append("**" + kw)
    return ", ".join(params), ", ".join(call), defaults, unset


def outable(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` with PyTorch's ``out=`` (see :func:`write_out`); ``fn`` itself never receives
    ``out``. A factory (a function taking ``dtype`` and ``device``) builds its result in
    ``out``'s dtype and on its device unless they are given, as PyTorch's do.

    The wrapper is written with fn's own parameters (not ``*args, **kwargs``), so the call
    without ``out`` costs one plain Python call; it keeps fn's name, docstring, and its
    signature plus ``out``."""
    name = name or fn.__name__
    resize = getattr(fn, "__out__", "warn")
    factory = _is_factory(fn)
    if factory and resize == "warn":
        resize = "silent"  # PyTorch's factories resize their out without a word
    fwd = forwarding(fn)
    if fwd is None or (factory and "dtype" not in fwd[1]):
        def call(*args, out=None, **kwargs):
            if out is None:
                return fn(*args, **kwargs)
            if factory:
                kwargs = _factory_out(out, kwargs)
            return _write_outs(out, fn(*args, **kwargs), name, resize)
    else:
        params, args, defaults, _ = fwd
        if factory:
            args = args.replace("dtype=dtype", "dtype=dtype if dtype is not None or out is None "
                                "else out.dtype").replace(
                "device=device", "device=device if device is not None or out is None "
                "else out._device")
        src = (f"def {fn.__name__}({params}):\n"
               f"    if out is None:\n        return _fn({fwd[1]})\n"
               f"    return _write(out, _fn({args}), _name, _resize)\n")
        env = {"_fn": fn, "_d": defaults, "_write": _write_outs, "_name": name,
               "_resize": resize}
        exec(compile(src, f"<out= wrapper of {name}>", "exec"), env)  # noqa: S102
        call = env[fn.__name__]
    functools.update_wrapper(call, fn)
    del call.__wrapped__  # inspect would follow it to fn's signature, which has no out
    call.__signature__ = _signature_with_out(fn)
    call.__wrapped_op__ = fn
    return call


def finalize(ns: dict, prefix: str = "") -> None:
    """Give every public function of a namespace (a module's globals) declared with
    :func:`takes_out` PyTorch's ``out=``: called at the end of each public module
    (``ember``, ``ember.linalg``, ``ember.special``, ``ember.nn.functional``). Idempotent.
    ``prefix`` names the op in errors as PyTorch does (``linalg.inv``). One op exported
    under several names or from several namespaces gets one wrapper (``ember.special.expit
    is ember.sigmoid``, as in torch)."""
    for n in list(ns.get("__all__", [k for k in ns if not k.startswith("_")])):
        fn = ns.get(n)
        if not getattr(fn, "__out__", False) or hasattr(fn, "__wrapped_op__"):
            continue
        w = fn.__dict__.get("__out_wrapper__")
        if w is None:
            w = fn.__out_wrapper__ = outable(fn, prefix + n)
        ns[n] = w


def takes_out(fn: Callable | None = None, *, resize: str | Callable = "warn") -> Callable:
    """Declare that the public function ``fn`` takes PyTorch's ``out=``: :func:`finalize`
    gives its public binding an ``out`` keyword handled by :func:`write_out`. The op's own
    body never sees ``out``, and its Tensor method takes none (as ``torch.Tensor``'s do:
    ``x.add(1, out=y)`` is a TypeError). ``resize``: what resizing a non-empty ``out`` of
    another shape says, as PyTorch's kernel for this op does: "warn" (the usual deprecation
    warning), "silent" (factories, addbmm, bernoulli ...), or ``fn(out_shape, shape)``
    returning the op's own warning text. Use as ``@takes_out`` or ``@takes_out(resize=...)``.
    """
    def mark(f):
        f.__out__ = resize
        return f
    return mark if fn is None else mark(fn)
