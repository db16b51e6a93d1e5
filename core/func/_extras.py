"""The rest of ``torch.func``: ``functionalize``, ``replace_all_batch_norm_modules_`` and
``debug_unwrap``, as they behave in eager mode."""
from __future__ import annotations

import functools
from typing import Callable

from .._tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten

__all__ = ["functionalize", "replace_all_batch_norm_modules_", "debug_unwrap"]


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """Mirrors ``torch.func.functionalize``. PyTorch rewrites in-place ops as out-of-place
    ones in the program it traces and then applies the inputs' mutations back, so in eager
    mode the results and the inputs' final values are ``func``'s own: ember runs ``func``
    as it is. ``remove="mutations_and_views"`` additionally returns no output that is a view
    (each such output is a copy), as PyTorch's ``{view}_copy`` replacements give."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}."
            " Valid options are:\n"
            "     remove='mutations': all inplace and out= operators will be removed from the "
            "program, and replaced with their out-of-place equivalents.\n"
            "     remove='mutations_and_views': In addition to the above, all aliasing "
            "operators {view} will be replaced with their non-aliasing counterparts, "
            "{view}_copy.\n")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        out = func(*args, **kwargs)
        if remove == "mutations":
            return out
        flat, spec = tree_flatten(out)
        return tree_unflatten([t.clone() if isinstance(t, Tensor) and t._base is not None
                               else t for t in flat], spec)

    return wrapped


def replace_all_batch_norm_modules_(root):
    """Mirrors ``torch.func.replace_all_batch_norm_modules_``: every batch norm under
    ``root`` stops tracking running statistics (so ``vmap`` over it sees no shared buffer
    update)."""
    from ..nn.modules.batchnorm import _BatchNorm
    for m in [root, *root.modules()]:
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def debug_unwrap(tensor, *, recurse: bool = True):
    """Mirrors ``torch.func.debug_unwrap``: ember's transforms hand functions plain tensors
    (no wrapper to take off), so the tensor itself."""
    return tensor
