"""The op table: every differentiable op described once.

Each ``OpInfo`` names an op, how to call it (``fn(lib, *tensors)`` where ``lib`` is either
``ember`` or ``torch``, so one lambda serves both), sample inputs (numpy arrays, made
deterministically; broadcasting, empty and 0-d cases included) and the dtypes it supports.
``tests/test_optable.py`` turns the table into: forward vs PyTorch, gradients vs PyTorch,
gradcheck vs finite differences (float64), all on every device under test.

Add ops in the module for their kind (``elementwise.py``, ``reduction.py``, ...); each
module defines ``OPS: list[OpInfo]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

FLOATS = ("float32", "float64")
INTS = ("int64", "int32")
ALL_REAL = FLOATS + INTS + ("bool",)


@dataclass
class Sample:
    """Inputs for one call: arrays become tensors (in the dtype under test unless
    ``keep`` says otherwise); ``kwargs`` pass through unchanged."""
    arrays: tuple
    kwargs: dict = field(default_factory=dict)
    keep: tuple = ()          # indices of arrays whose own dtype is kept (e.g. int indices)
    grad: tuple | None = None  # indices that get requires_grad (default: all float arrays)
    name: str = ""

    def __repr__(self):
        shapes = ",".join("x".join(map(str, np.shape(a))) or "()" for a in self.arrays)
        return self.name or f"[{shapes}]{self.kwargs or ''}"


@dataclass
class OpInfo:
    name: str
    fn: Callable[..., Any]
    samples: Callable[[np.random.Generator], list]
    dtypes: tuple = FLOATS
    grad: bool = True
    gradcheck: bool = True
    atol: float = 1e-5
    rtol: float = 1.3e-6
    # inputs must avoid these regions for finite differences (e.g. |x| near 0 for abs)
    domain: Callable[[np.ndarray], np.ndarray] | None = None
    # samples whose PyTorch gradient changed between releases (a derivative added, a
    # backward fixed): test_grad_matches_torch marks them torch_exact
    torch_exact_grad: Callable[[Sample], bool] | None = None

    def __repr__(self):
        return self.name


def S(*arrays, keep=(), grad=None, name="", **kwargs) -> Sample:
    return Sample(tuple(arrays), kwargs, tuple(keep), grad, name)


def r(rng, *shape, low=-2.0, high=2.0):
    """A float64 array of the shape, uniform in [low, high)."""
    return rng.uniform(low, high, size=shape)


def away_from(rng_arr, points=(0.0,), gap=0.1):
    """Push values at least ``gap`` away from the given points (kinks, poles)."""
    a = np.array(rng_arr, dtype=np.float64)
    for p in points:
        near = np.abs(a - p) < gap
        a = np.where(near, p + np.where(a >= p, gap, -gap) * 2, a)
    return a


def unary_samples(rng, low=-2.0, high=2.0, points=()):
    """The standard unary cases: matrix, vector, 0-d, empty."""
    out = [S(r(rng, 3, 4, low=low, high=high)), S(r(rng, 5, low=low, high=high)),
           S(np.array(rng.uniform(low, high))), S(np.zeros((0, 3)))]
    if points:
        out = [S(away_from(s.arrays[0], points)) for s in out]
    return out


def binary_samples(rng, low=-2.0, high=2.0):
    """The standard binary cases: same shape, broadcasting both ways, 0-d, empty."""
    return [S(r(rng, 3, 4, low=low, high=high), r(rng, 3, 4, low=low, high=high)),
            S(r(rng, 3, 1, low=low, high=high), r(rng, 1, 4, low=low, high=high)),
            S(r(rng, 2, 3, 4, low=low, high=high), r(rng, 4, low=low, high=high)),
            S(r(rng, 3, 4, low=low, high=high), np.array(rng.uniform(low, high))),
            S(np.zeros((0, 4)), r(rng, 4, low=low, high=high))]


def all_ops() -> list:
    import importlib
    import pkgutil
    ops = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        ops.extend(importlib.import_module(f"{__name__}.{mod}").OPS)
    return ops
