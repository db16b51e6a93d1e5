"""default_collate / default_convert against PyTorch's: output types, dtypes, values and
error messages, for every kind of element the docs list."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import ember
from ember.utils.data import default_collate, default_convert
from ember.utils.data.collate import collate, collate_tensor_fn, default_collate_fn_map

Point = collections.namedtuple("Point", ["x", "y"])


def _plain(obj, tensor_type):
    """A comparable structure: tensors become (dtype name, shape, values)."""
    if isinstance(obj, tensor_type):
        return ("T", str(obj.dtype).split(".")[-1], tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: _plain(v, tensor_type) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [_plain(v, tensor_type) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v, tensor_type) for v in obj])
    return obj


def _batches(lib):
    """The same batches built from ember or torch tensors."""
    t = lib.tensor
    return {
        "tensors": [t([1.0, 2.0]), t([3.0, 4.0]), t([5.0, 6.0])],
        "scalar tensors": [t(1), t(2)],
        "int tensors 2d": [t([[1, 2], [3, 4]]), t([[5, 6], [7, 8]])],
        "mixed dtype tensors": [t([1, 2]), t([0.5, 1.5])],
        "floats": [1.5, 2.0, -3.25],
        "ints": [1, 2, 3],
        "bools": [True, False],
        "int then float": [1, 2.5],
        "strings": ["a", "bc"],
        "bytes": [b"x", b"y"],
        "numpy arrays": [np.arange(3, dtype=np.float32), np.ones(3, dtype=np.float32)],
        "numpy int arrays": [np.arange(4).reshape(2, 2), np.zeros((2, 2), dtype=np.int64)],
        "numpy scalars f32": [np.float32(1.5), np.float32(2)],
        "numpy scalars i32": [np.int32(1), np.int32(2)],
        "numpy scalars f64": [np.float64(1.5), np.float64(2)],
        "tuples": [(t([1.0]), 1, "a"), (t([2.0]), 2, "b")],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"x": t([1.0, 2.0]), "y": 0}, {"x": t([3.0, 4.0]), "y": 1}],
        "ordered dicts": [collections.OrderedDict(a=1.0), collections.OrderedDict(a=2.0)],
        "namedtuples": [Point(t([1]), 1.0), Point(t([2]), 2.0)],
        "nested": [{"a": [(1, t([1.0]))], "b": {"c": "s"}},
                   {"a": [(2, t([2.0]))], "b": {"c": "t"}}],
    }


@pytest.mark.parametrize("case", list(_batches(ember).keys()))
def test_default_collate_matches_torch(torch, case):
    import torch.utils.data as tud
    want = _plain(tud.default_collate(_batches(torch)[case]), torch.Tensor)
    got = _plain(default_collate(_batches(ember)[case]), ember.Tensor)
    assert got == want


@pytest.mark.parametrize("case", list(_batches(ember).keys()))
def test_default_convert_matches_torch(torch, case):
    import torch.utils.data as tud
    want = _plain(tud.default_convert(_batches(torch)[case]), torch.Tensor)
    got = _plain(default_convert(_batches(ember)[case]), ember.Tensor)
    assert got == want


def _error_cases(lib):
    t = lib.tensor
    return {
        "object": [object(), object()],
        "None": [None, None],
        "complex": [1 + 2j, 3j],
        "ragged lists": [[1, 2], [1]],
        "numpy strings": [np.array(["a"]), np.array(["b"])],
        "numpy objects": [np.array([None]), np.array([None])],
        "unequal tensors": [t([1.0, 2.0, 3.0]), t([1.0, 2.0]), t([1.0])],
        "unequal 2d tensors": [t([[1.0, 2.0]]), t([[1.0], [2.0]])],
        "tensor then number": [t([1.0]), 2],
        "unequal numpy": [np.zeros(2), np.zeros(3)],
        "missing key": [{"a": 1}, {"b": 2}],
    }


@pytest.mark.parametrize("case", list(_error_cases(ember).keys()))
def test_default_collate_errors_match_torch(torch, case):
    import torch.utils.data as tud
    with pytest.raises(Exception) as want:
        tud.default_collate(_error_cases(torch)[case])
    with pytest.raises(type(want.value)) as got:
        default_collate(_error_cases(ember)[case])
    assert str(got.value) == str(want.value)


def test_collate_tensor_batch_is_a_copy_not_a_view():
    rows = [ember.zeros(3), ember.ones(3)]
    out = default_collate(rows)
    out.numpy()[...] += 5
    assert rows[0].tolist() == [0.0, 0.0, 0.0]


def test_collate_fn_map_extends_by_type():
    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    fn_map = {**default_collate_fn_map, Box: collate_box}
    out = collate([(Box(1), 1.0), (Box(2), 2.0)], collate_fn_map=fn_map)
    assert out[0] == 3 and out[1].dtype == ember.float64


def test_stack_of_tensors_keeps_dtype_and_device(device):
    rows = [ember.arange(4, device=device).reshape(2, 2) for _ in range(3)]
    out = collate_tensor_fn(rows)
    assert out.shape == (3, 2, 2) and out.dtype == ember.int64
    assert str(out.device) == str(rows[0].device)
    assert out.tolist() == [[[0, 1], [2, 3]]] * 3
