"""Tensor ``repr``/``str``, character for character PyTorch's (``torch/_tensor_str.py``), and
``set_printoptions``.

The algorithm is PyTorch's: one formatter per tensor (two for complex: real and imaginary
parts) picks integer, fixed (``precision`` decimals) or scientific notation from the
nonzero finite values, then the nested lists are laid out with ``linewidth`` wrapping and
``...`` summaries. It runs on a host numpy copy of only what is shown: a summarised tensor
is cut down to its ``edgeitems`` on the backend first, so printing a huge GPU tensor moves
a few dozen numbers, not the whole array.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


class _PrinterOptions:
    """PyTorch's ``PRINT_OPTS`` (a plain class: ``dataclasses`` would cost ``import ember``
    ~10 ms)."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision, self.threshold, self.edgeitems, self.linewidth = _PROFILES["default"]
        self.sci_mode: bool | None = None



_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}
PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Mirrors ``torch.set_printoptions``: a ``profile`` ("default", "short", "full") first,
    then any option given overrides it. As in PyTorch, ``sci_mode`` is always set (omitting
    it returns to automatic choice)."""
    o = PRINT_OPTS
    if profile is not None and profile in _PROFILES:
        o.precision, o.threshold, o.edgeitems, o.linewidth = _PROFILES[profile]
    if precision is not None:
        o.precision = precision
    if threshold is not None:
        o.threshold = threshold
    if edgeitems is not None:
        o.edgeitems = edgeitems
    if linewidth is not None:
        o.linewidth = linewidth
    o.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Mirrors ``torch._tensor_str.get_printoptions``: kwargs for ``set_printoptions``."""
    return {k: getattr(PRINT_OPTS, k) for k in _PrinterOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Mirrors ``torch._tensor_str.printoptions``: options changed for a ``with`` block."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --- formatting values ------------------------------------------------------------------------

class _Formatter:
    """PyTorch's ``_Formatter``: one width and notation for every value of a tensor."""

    def __init__(self, arr, floating: bool):
        import numpy as np
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        mags = np.abs(vals)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        o = PRINT_OPTS
        self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) \
            if o.sci_mode is None else o.sci_mode
        if self.sci_mode:
            spec, extra = f".{o.precision}e", 0
        elif self.int_mode:
            spec, extra = ".0f", 1  # room for the trailing "." that marks a float
        else:
            spec, extra = f".{o.precision}f", 0
        for v in vals.tolist():
            self.max_width = max(self.max_width, len(format(v, spec)) + extra)

    def format(self, value) -> str:
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                ret = format(value, f"{self.max_width}.{p}e")
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = format(value, f".{p}f")
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(val: complex, real_fmt: _Formatter, imag_fmt: _Formatter) -> str:
    real = real_fmt.format(val.real)
    imag = (imag_fmt.format(val.imag) + "j").lstrip()
    # "-" or "+" already leads for negatives, +0.0 and -0.0; otherwise add the "+"
    return real + imag if imag[0] in "+-" else real + "+" + imag


# --- layout ------------------------------------------------------------------------------------

def _vector_str(arr, cut: bool, indent: int, fmt1: _Formatter, fmt2) -> str:
    o = PRINT_OPTS
    element_length = fmt1.max_width + 2
    if fmt2 is not None:
        element_length += fmt2.max_width + 1
    per_line = max(1, math.floor((o.linewidth - indent) / element_length))

    if fmt2 is not None:
        def f(v):
            return _complex_str(v, fmt1, fmt2)
    else:
        f = fmt1.format
    vals = arr.tolist()
    if cut:
        e = o.edgeitems
        data = [f(v) for v in vals[:e]] + [" ..."] + [f(v) for v in vals[e:]]
    else:
        data = [f(v) for v in vals]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(arr, cut: tuple, indent: int, fmt1: _Formatter, fmt2) -> str:
    ndim = arr.ndim
    if ndim == 0:
        v = arr.item()
        return _complex_str(v, fmt1, fmt2) if fmt2 is not None else fmt1.format(v)
    if ndim == 1:
        return _vector_str(arr, cut[0], indent, fmt1, fmt2)
    rest = cut[1:]
    slices = [_nested_str(arr[i], rest, indent + 1, fmt1, fmt2) for i in range(arr.shape[0])]
    if cut[0]:
        e = PRINT_OPTS.edgeitems
        slices = slices[:e] + ["..."] + slices[e:]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _shown(t, cut: tuple):
    """The host array of what is printed: axes flagged in ``cut`` keep only their first
    and last ``edgeitems`` entries, cut on the backend before the transfer."""
    import numpy as np
    be = t._device._be
    data = t._data
    if any(cut):
        e = PRINT_OPTS.edgeitems
        for ax, c in enumerate(cut):
            if c:
                n = data.shape[ax]
                lead = (slice(None),) * ax
                data = be.xp.concat([data[lead + (slice(0, e), ...)],
                                     data[lead + (slice(n - e, n), ...)]], axis=ax)
    return np.asarray(be.to_numpy(data))


def _tensor_str(t, indent: int) -> str:
    import numpy as np
    if t.numel() == 0:
        return "[]"
    o = PRINT_OPTS
    summarize = t.numel() > o.threshold
    shape = t._data.shape
    if summarize and not o.edgeitems and shape:
        return "[...]"
    cut = tuple(summarize and n > 2 * o.edgeitems for n in shape)
    host = _shown(t, cut)
    dt = t.dtype
    if dt.is_complex:
        host = host.astype(np.complex128)
        fmt1 = _Formatter(host.real, True)
        fmt2 = _Formatter(host.imag, True)
    else:
        if dt.is_floating_point:
            host = host.astype(np.float64)  # exact; bfloat16/half have no host maths
        fmt1, fmt2 = _Formatter(host, dt.is_floating_point), None
    return _nested_str(host, cut, indent, fmt1, fmt2)


def _add_suffixes(tensor_str: str, suffixes: list, indent: int) -> str:
    out = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    width = PRINT_OPTS.linewidth
    for suffix in suffixes:
        n = len(suffix)
        if last_line_len + n + 2 > width:
            out.append(",\n" + " " * indent + suffix)
            last_line_len = indent + n
        else:
            out.append(", " + suffix)
            last_line_len += n + 2
    out.append(")")
    return "".join(out)


def _prefix(t) -> str:
    from ._tensor import Tensor
    cls = type(t)
    if cls is Tensor or (cls.__name__ == "Parameter" and cls.__module__.startswith("ember.")):
        return "tensor("
    return cls.__name__ + "("


def tensor_repr(t, tensor_contents: str | None = None) -> str:
    """PyTorch's ``Tensor.__repr__`` (``_str_intern``) for a strided, dense tensor."""
    from . import _dtype
    prefix = _prefix(t)
    indent = len(prefix)
    suffixes = []
    dev = t._device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    default = _dtype.get_default_dtype()
    if t.numel() == 0:
        if t.ndim != 1:
            suffixes.append("size=" + str(tuple(t._data.shape)))
        if dt is not default:
            suffixes.append(f"dtype={dt!r}")
        body = "[]" if tensor_contents is None else tensor_contents
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(t._data.shape)))
        if dt not in (default, _dtype.default_complex(), _dtype.int64, _dtype.bool):
            suffixes.append(f"dtype={dt!r}")
        body = _tensor_str(t, indent) if tensor_contents is None else tensor_contents
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
