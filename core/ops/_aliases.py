"""numpy's keyword spellings PyTorch accepts: ``axis=`` for ``dim=`` and ``keepdims=`` for
``keepdim=`` (``torch.cat(ts, axis=1)``, ``x.sort(axis=0)``, ``x.argmax(axis=1,
keepdims=True)``). PyTorch's argument parser takes them for every op with a ``dim``; ember's
reductions take them in their own bodies, and :func:`apply` gives the other ``dim`` ops a
wrapper with the op's own parameters plus the two aliases (one plain call when they are not
used)."""
from __future__ import annotations

import functools
import inspect

from ._register import MEMBERS, attach, forwarding

__all__ = ["with_dim_alias", "apply"]


def with_dim_alias(fn):
    """``fn`` also taking ``axis=`` (for its ``dim``) and, if it has ``keepdim``,
    ``keepdims=``; fn itself unchanged when its signature cannot be read or it has no
    ``dim``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    ps = sig.parameters
    if "dim" not in ps or "axis" in ps or any(p.kind is p.VAR_KEYWORD for p in ps.values()):
        return fn
    extra = ("axis=_UNSET", "keepdims=_UNSET") if "keepdim" in ps else ("axis=_UNSET",)
    params, call, defaults, required = forwarding(fn, extra, unset_from="dim")
    fix = "    if axis is not _UNSET:\n        dim = axis\n"
    for r in required:
        fix += (f"    if {r} is _UNSET:\n        raise TypeError(\"{fn.__name__}() missing "
                f"required argument '{r}'\")\n")
    if "keepdim" in ps:
        fix += "    if keepdims is not _UNSET:\n        keepdim = keepdims\n"
    src = f"def {fn.__name__}({params}):\n{fix}    return _fn({call})\n"
    env = {"_fn": fn, "_d": defaults, "_UNSET": _UNSET}
    exec(compile(src, f"<axis= alias of {fn.__name__}>", "exec"), env)  # noqa: S102
    w = env[fn.__name__]
    functools.update_wrapper(w, fn)
    del w.__wrapped__
    # (its own signature, axis and keepdims included: out= wrappers are built from it)
    return w


_UNSET = object()


def apply(ns: dict, names) -> None:
    """Give each op ``name`` of the namespace ``ns`` (a module's globals) and its Tensor
    method of the same function the aliases."""
    for n in names:
        fn = ns.get(n)
        if fn is None:
            continue
        w = with_dim_alias(fn)
        if w is fn:
            continue
        ns[n] = w
        for m, obj in list(MEMBERS.items()):
            if obj is fn:
                attach(m, w)
