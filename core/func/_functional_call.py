"""``ember.func.functional_call`` and ``stack_module_state``: mirror ``torch.func``'s (and
``torch.nn.utils.stateless``'s reparametrisation), with PyTorch's checks and error texts.

A call swaps the given tensors into the module's ``_parameters``/``_buffers`` slots (plain
attributes for names the module does not hold), runs it, and swaps the originals back
even when the call raises; a tensor the module rebinds during the call is written back into
the caller's dict, as PyTorch does."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._tensor import Tensor

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def _untie(module, given: dict) -> dict:
    names: dict = {}  # id(tensor) -> names it has in the module
    for n, t in [*module.named_parameters(remove_duplicate=False),
                 *module.named_buffers(remove_duplicate=False)]:
        names.setdefault(id(t), set()).add(n)
    tied = {n: group for group in names.values() if len(group) > 1 for n in group}
    given_tied = [n for n in given if n in tied]
    for n in given_tied:
        group = tied[n]
        if len(group & set(given_tied)) > 1 and len({id(given[k]) for k in group
                                                     if k in given}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, "
                             "which are tied. Consider using tie_weights=False")
    out = dict(given)
    for n in given_tied:
        for k in tied[n]:
            out[k] = given[n]
    return out


def _owner(module, name: str):
    *path, leaf = name.split(".")
    m = module
    for p in path:
        m = getattr(m, p)
    return m, leaf


def _swap(module, name: str, value):
    """Put ``value`` in the slot ``name`` names; return what was there (``_MISSING``)."""
    m, leaf = _owner(module, name)
    for slots in (m.__dict__.get("_parameters"), m.__dict__.get("_buffers")):
        if slots is not None and leaf in slots:
            old = slots[leaf]
            if value is _MISSING:
                del slots[leaf]
            else:
                slots[leaf] = value
            return old
    old = m.__dict__.get(leaf, _MISSING)
    if value is _MISSING:
        m.__dict__.pop(leaf, None)
    else:
        m.__dict__[leaf] = value
    return old


def _current(module, name: str):
    m, leaf = _owner(module, name)
    for slots in (m.__dict__.get("_parameters"), m.__dict__.get("_buffers")):
        if slots is not None and leaf in slots:
            return slots[leaf]
    return m.__dict__.get(leaf, _MISSING)


def functional_call(module, parameter_and_buffer_dicts, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """Mirrors ``torch.func.functional_call``: ``module(*args, **kwargs)`` with its
    parameters and buffers replaced by the given tensors (one dict or a sequence of dicts)."""
    if isinstance(parameter_and_buffer_dicts, dict):
        given = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts: dict = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        given = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    from ..nn.parallel import DataParallel
    if isinstance(module, DataParallel):
        raise RuntimeError("The stateless API can't be used with nn.DataParallel module")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    values = _untie(module, given) if tie_weights else given
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
        errors = []
        if unexpected:
            errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if errors:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                module._get_name(), "\n\t".join(errors)))
    saved: list = []
    try:
        for name, value in values.items():
            saved.append((name, _swap(module, name, value)))
        return module(*args, **kwargs)
    finally:
        for name, old in reversed(saved):
            now = _current(module, name)
            _swap(module, name, old)
            if name in given and now is not _MISSING:
                given[name] = now


def stack_module_state(models) -> tuple[dict, dict]:
    """Mirrors ``torch.func.stack_module_state``: each parameter and buffer stacked over the
    models (new leaves; parameters require grad), for ``vmap`` over ``functional_call``."""
    from ..ops.joining import stack
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors, name: str) -> Tensor:
        req = [t.requires_grad for t in tensors]
        if any(req) and not all(req):
            raise RuntimeError(f"Expected {name} from each model to have the same "
                               ".requires_grad")
        out = stack(tensors)
        return out.detach().requires_grad_() if all(req) else out

    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: stacked(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: stacked(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers
