"""Collation: mirrors ``torch.utils.data._utils.collate`` (``default_collate``,
``default_convert``, the extensible ``collate(batch, collate_fn_map=...)`` and
``default_collate_fn_map``), with PyTorch's output types and error messages.

Stacking a batch of tensors is the loader's hot path: when no sample needs grad, the
samples' backend arrays are joined with one ``xp.concat`` (about twice as fast as
``np.stack`` for many small rows) and wrapped once, with no autograd bookkeeping."""
from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

from ... import _creation, _dtype
from ..._tensor import Tensor, wrap

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map",
           "collate_tensor_fn", "collate_numpy_array_fn", "collate_numpy_scalar_fn",
           "collate_float_fn", "collate_int_fn", "collate_str_fn"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, "
                                  "numbers, dicts or lists; found {}")


def _rebuild_mapping(elem, items: dict):
    """A mapping of ``elem``'s type holding ``items`` (a plain dict when the type can't be
    rebuilt), as PyTorch's collate and convert do."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(items)
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def _rebuild_sequence(elem, items: list):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(items):
                clone[i] = v
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def default_convert(data: Any) -> Any:
    """Mirrors ``torch.utils.data.default_convert``: numpy arrays and scalars become
    tensors, inside any mapping, namedtuple or sequence; everything else is unchanged.
    (The loader's ``collate_fn`` when automatic batching is off.)"""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and \
                np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return _creation.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as in PyTorch
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate(batch, *, collate_fn_map: dict | None = None):
    """Mirrors ``torch.utils.data._utils.collate.collate``: dispatch on the first
    element's type through ``collate_fn_map`` (exact type, then ``isinstance`` in
    insertion order), recursing into mappings, namedtuples and sequences."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(elem_type)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch],
                                                    collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if list(map(len, batch)).count(len(elem)) != len(batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a list, as in PyTorch
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map: dict | None = None) -> Tensor:
    """``torch.stack(batch, 0)``: tensors of one shape gain a leading batch dimension."""
    elem = batch[0]
    dt, dev = elem.dtype, elem._device
    arrays: list = []
    append = arrays.append
    try:
        for t in batch:
            if t.dtype is not dt or t._device is not dev or t._requires_grad:
                break
            append(t._data)
        else:
            out = _stack_same(arrays, dev._be.xp)
            if out is not None:
                return wrap(out, dt, dev)
    except AttributeError:  # not all tensors: _stack_checked says which, as torch does
        pass
    return _stack_checked(batch)


def _stack_same(arrays: list, xp):
    """One backend stack of same-dtype arrays, or None when their shapes differ.
    ``concat`` + ``reshape`` beats ``stack`` (which builds an expanded view of every
    array); concat itself checks ndim and trailing dims, so only leading dims need a look."""
    shape = arrays[0].shape
    if not shape:
        return None if any(a.shape for a in arrays) else xp.stack(arrays)
    n = len(arrays)
    if [a.shape[0] for a in arrays].count(shape[0]) != n:
        return None
    try:
        return xp.reshape(xp.concat(arrays, axis=0), (n, *shape))
    except Exception:  # noqa: BLE001 - trailing dims differ: _stack_checked reports it
        return None


def _stack_checked(batch) -> Tensor:
    """The general case of ``torch.stack``: PyTorch's errors for non-tensors, unequal
    shapes and mixed devices; type promotion; autograd when a sample requires grad."""
    elem = batch[0]
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    for i, t in enumerate(batch):
        if t.shape != elem.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(elem.shape)} at entry 0 and {list(t.shape)} at entry "
                               f"{i}")
        if t._device is not elem._device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {elem._device} and {t._device}!")
    if any(t._requires_grad for t in batch):
        from ... import ops
        return ops.stack(batch, 0)
    dt = elem.dtype
    for t in batch:
        dt = _dtype.promote_types(dt, t.dtype)
    be = elem._device._be
    arrays = [t._data if t.dtype is dt else be.astype(t._data, dt) for t in batch]
    return wrap(_stack_same(arrays, be.xp), dt, elem._device)


def collate_numpy_array_fn(batch, *, collate_fn_map: dict | None = None) -> Tensor:
    """numpy arrays of one shape: stacked on the host, then one tensor (PyTorch converts
    each with ``as_tensor`` and stacks)."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    import numpy as np
    if all(type(b) is np.ndarray and b.dtype == elem.dtype for b in batch):
        out = _stack_same(batch, np)
        if out is not None:
            return _creation.as_tensor(out)
    return collate([_creation.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map: dict | None = None) -> Tensor:
    return _creation.as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map: dict | None = None) -> Tensor:
    return _creation.tensor(batch, dtype=_dtype.float64)


def collate_int_fn(batch, *, collate_fn_map: dict | None = None) -> Tensor:
    return _creation.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map: dict | None = None):
    return batch


def _default_map() -> dict:
    import numpy as np
    return {Tensor: collate_tensor_fn, np.ndarray: collate_numpy_array_fn,
            (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
            float: collate_float_fn, int: collate_int_fn, str: collate_str_fn,
            bytes: collate_str_fn}


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = _default_map()


def default_collate(batch):
    """Mirrors ``torch.utils.data.default_collate``: tensors, numpy arrays and numbers
    become batched tensors (Python floats as float64, ints as int64), strings and bytes
    stay lists, and mappings, namedtuples and sequences are collated field by field."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
