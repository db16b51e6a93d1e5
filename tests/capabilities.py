"""What the backend behind a device can do, for tests that cannot hold everywhere: they skip
on a capability (``Backend.mutable``, dtype support), never on a backend's name.

Use the ``shares_memory`` marker (conftest turns it into a skip for the test's ``device``
parameter, else cpu), or call these from a test body for one case of many."""
from __future__ import annotations

import functools
import re

import pytest

import ember
from ember.backends import registry


def backend(device: str = "cpu"):
    """The backend serving ``device`` (None where nothing can)."""
    try:
        return registry.resolve(ember.device(device).type)
    except RuntimeError:
        return None


def immutable_reason(device: str = "cpu") -> str | None:
    """Why ``device``'s backend cannot share memory, or None if it can."""
    be = backend(device)
    if be is None or be.mutable:
        return None
    return (f"the {be.name} backend's arrays are immutable (Backend.mutable is False): "
            "tensors cannot share memory with numpy arrays, a view does not see later "
            "in-place changes of its base, and views do not follow strides")


def need_shared_memory(device: str = "cpu") -> None:
    """Skip the calling test where ``device``'s backend has immutable arrays."""
    why = immutable_reason(device)
    if why:
        pytest.skip(why)


def supports(device: str, dtype) -> bool:
    """True if tensors of ``dtype`` can live on ``device``."""
    be = backend(device)
    return be is not None and be.supports_dtype(dtype)


def need_dtype(device: str, *dtypes) -> None:
    """Skip the calling test where ``device``'s backend lacks one of ``dtypes``."""
    for dt in dtypes:
        if not supports(device, dt):
            pytest.skip(f"the {backend(device).name} backend has no {dt} "
                        "(Backend.supports_dtype is False)")


@functools.lru_cache(maxsize=None)
def missing_dtypes(device: str = "cpu"):
    """({dtype name or alias: dtype} the backend serving ``device`` lacks, a regex that finds
    those names in text, or None when nothing is missing)."""
    from ember import _dtype
    if backend(device) is None:
        return {}, None
    missing = {name: dt for name, dt in _dtype._BY_NAME.items() if not supports(device, dt)}
    if not missing:
        return {}, None
    return missing, re.compile(r"(?<![A-Za-z0-9])(%s)(?![A-Za-z0-9])" % "|".join(missing))


def missing_dtype_named_in(text: str, device: str = "cpu"):
    """The first dtype ``text`` names (``"half"``, ``"dtype=lib.bfloat16"``) that the backend
    serving ``device`` lacks, or None."""
    missing, pattern = missing_dtypes(device)
    m = pattern.search(text) if pattern is not None else None
    return missing[m.group(1)] if m else None


def need_dtypes_of(fn, device: str = "cpu") -> None:
    """Skip the calling test where the source of ``fn`` (a case's lambda) names a dtype the
    backend serving ``device`` lacks."""
    import inspect
    dt = missing_dtype_named_in(inspect.getsource(fn), device)
    if dt is not None:
        pytest.skip(f"the {backend(device).name} backend has no {dt} "
                    "(Backend.supports_dtype is False)")
