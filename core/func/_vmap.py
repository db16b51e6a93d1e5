"""``ember.func.vmap``: mirrors ``torch.func.vmap`` (and ``torch.vmap``).

Mechanism (a deliberate difference, the documented loop fallback): ember has no batched
tensors, so the function runs once per slice along the mapped dimensions and the results are
stacked along ``out_dims``. The values are PyTorch's; so are the argument checks and their
error texts (``in_dims``/``out_dims`` structure, mismatched batch sizes, non-Tensor outputs,
``randomness``, ``chunk_size``). What the loop cannot mirror:

- ``randomness="error"`` is checked after the first slice runs (the random generators'
  states are compared), not at the random call; a draw from a user-made ``Generator`` is
  not seen. ``"same"`` replays the generators' states for each slice; ``"different"`` draws
  afresh.
- ``out_dims=None`` returns the first slice's output; where the slices' outputs differ the
  output was batched and PyTorch's error is raised (equal outputs computed from batched
  inputs pass, where PyTorch would refuse them).
- code PyTorch refuses inside vmap (``.item()``, data-dependent control flow, in-place
  writes of batched values into unbatched tensors) simply runs per slice.
- over a mapped dimension of size 0 the function runs once on zeros shaped as one slice,
  to learn the outputs' shapes.
- ``chunk_size`` is validated; the loop already runs one slice at a time.
The same loop runs on every backend (JAX included), so the transforms compose with
``grad``/``jacrev`` and ember's autograd everywhere.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from .._tensor import Tensor
from ._pytree import broadcast_to_and_flatten, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either "
                 "use the 'same' or 'different' randomness flags on vmap or perform the "
                 "randomness operation out of vmap")


def _get_name(func) -> str:
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_get_name(func.func)}, ...)"
    return repr(func)


def check_randomness_arg(randomness) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


def _check_out_dims(out_dims, func) -> None:
    if isinstance(out_dims, int):
        return
    for d in tree_flatten(out_dims)[0]:
        if d is not None and not isinstance(d, int):
            raise ValueError(
                f"vmap({_get_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an "
                "int, None or a python collection of ints representing where in the outputs "
                "the vmapped dimension should appear.")


def _process_inputs(in_dims, args, func):
    name = _get_name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or "
            "a (potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_in_dims = broadcast_to_and_flatten(in_dims, spec)
    if flat_in_dims is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but "
            f"inputs has structure {spec}.")
    for i, (arg, d) in enumerate(zip(flat_args, flat_in_dims)):
        if not isinstance(d, int) and d is not None:
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                "but in_dim must be either an integer dimension or None.")
        if isinstance(d, int) and not isinstance(arg, Tensor):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                f"but the input is of type {type(arg)}. We cannot vmap over non-Tensor "
                "arguments, please use None as the respective in_dim")
        if d is not None and (d < -arg.dim() or d >= arg.dim()):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {arg.dim()} so expected "
                f"in_dim to satisfy -{arg.dim()} <= in_dim < {arg.dim()}.")
        if d is not None and d < 0:
            flat_in_dims[i] = d % arg.dim()
    sizes = [a.size(d) for d, a in zip(flat_in_dims, flat_args) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_in_dims, flat_args, spec


# --- the random generators' states (randomness="error" / "same") ----------------------------
def _rng_states(devices) -> list:
    from .. import _creation
    for dev in devices:  # made now, so a draw in the first slice finds them (and "same" replays)
        if dev.type != "cpu":
            _creation._generator_for(dev, None)
    gens = [_creation.default_generator, *_creation._device_generators.values()]
    return [(g, g.get_state()) for g in gens]


def _rng_changed(states) -> bool:
    from .. import _creation
    if len(_creation._device_generators) + 1 != len(states):
        return True  # a device generator was made (by a draw) during the call
    return any(not bool((g.get_state() == s).all()) for g, s in states)


def _restore(states) -> None:
    for g, s in states:
        g.set_state(s)


# --- the transform -------------------------------------------------------------------------
def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Mirrors ``torch.func.vmap``: ``func`` mapped over a dimension of its inputs, by the
    per-slice loop this module's docstring describes."""
    check_randomness_arg(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        size, flat_in_dims, flat_args, spec = _process_inputs(in_dims, args, func)
        if size == 0:  # no slice to run: one of zeros gives the outputs' shapes
            probe = [a if d is None else a.new_zeros(a.shape[:d] + a.shape[d + 1:])
                     for a, d in zip(flat_args, flat_in_dims)]
            out = func(*tree_unflatten(probe, spec), **kwargs)
            return _stack_outputs([out], out_dims, func, empty=True)
        states = None
        if randomness != "different":
            from .._creation import get_default_device
            states = _rng_states({get_default_device()}
                                 | {a._device for a in flat_args if isinstance(a, Tensor)})
        outs = []
        for i in range(size):
            if randomness == "same" and i:
                _restore(states)
            sliced = [a if d is None else a.select(d, i) for a, d in zip(flat_args, flat_in_dims)]
            outs.append(func(*tree_unflatten(sliced, spec), **kwargs))
            if randomness == "error" and i == 0 and _rng_changed(states):
                _restore(states)
                raise RuntimeError(_RANDOM_ERROR)
        return _stack_outputs(outs, out_dims, func)

    return wrapped


def _stack_outputs(outs: list, out_dims, func, empty: bool = False):
    from ..ops.joining import stack
    name = _get_name(func)
    flats = [tree_flatten(o) for o in outs]
    flat0, spec = flats[0]

    def incompatible():
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with "
            f"the structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} "
            f"but outputs has structure {spec}.")

    if isinstance(outs[0], Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            flat_out_dims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            flat_out_dims = list(out_dims)
        else:
            incompatible()
    else:
        flat_out_dims = broadcast_to_and_flatten(out_dims, spec)
        if flat_out_dims is None:
            incompatible()
    result = []
    for k, d in enumerate(flat_out_dims):
        column = [f[0][k] for f in flats]
        first = column[0]
        if d is None:
            if isinstance(first, Tensor) and any(
                    c.shape != first.shape or not bool((c == first).all()) for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor "
                                 "when out_dim is None")
            result.append(first)
            continue
        if not isinstance(first, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                             f"{type(first)}. Did you mean to set out_dims= to None for output?")
        out = stack(column, d)
        result.append(out.narrow(d, 0, 0).clone() if empty else out)
    return tree_unflatten(result, spec)
