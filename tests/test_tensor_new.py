"""The new_* factories and legacy Tensor.new, apply_/map_ and share_memory_ vs PyTorch."""
from __future__ import annotations

import ember
import numpy as np
import pytest

NEW = [
    lambda x, L: x.new_zeros(2, 3),
    lambda x, L: x.new_zeros((2, 3)),
    lambda x, L: x.new_zeros([2]),
    lambda x, L: x.new_zeros(size=(2,)),
    lambda x, L: x.new_ones(2, dtype=L.int32),
    lambda x, L: x.new_ones(()),
    lambda x, L: x.new_empty(0),
    lambda x, L: x.new_empty((2, 2), dtype=L.bool).zero_(),
    lambda x, L: x.new_full((2,), 7),
    lambda x, L: x.new_full([2, 1], True),
    lambda x, L: x.new_full((2,), 1.5, dtype=L.int64),
    lambda x, L: x.new_tensor([1, 2]),
    lambda x, L: x.new_tensor([[1, 2]], dtype=L.int8),
    lambda x, L: x.new_tensor(3.5),
    lambda x, L: x.new(),
    lambda x, L: x.new(2, 3).zero_(),
    lambda x, L: x.new([1, 2]),
    lambda x, L: x.new(L.Size([2])).zero_(),
    lambda x, L: x.new_empty_strided((2, 3), (3, 1)).zero_(),
]


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("i", range(len(NEW)))
def test_new_factories_match_torch(i, dtype, device, torch):
    want = NEW[i](torch.ones(2, dtype=getattr(torch, dtype)), torch)
    got = NEW[i](ember.ones(2, dtype=getattr(ember, dtype), device=device), ember)
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    assert got.device.type == ember.device(device).type
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    assert not got.requires_grad


def test_new_factories_options_and_errors(torch):
    x = ember.ones(2, dtype=ember.float64)
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert x.new_zeros(2, dtype=ember.float32, device="cpu").dtype is ember.float32
    for call in (lambda t, L: t.new_zeros(-1), lambda t, L: t.new_full(2, 1),
                 lambda t, L: L.tensor([1, 2]).new_zeros(2, requires_grad=True),
                 lambda t, L: t.new_zeros(2.5)):
        with pytest.raises(Exception) as want:
            call(torch.ones(2), torch)
        with pytest.raises(Exception) as got:
            call(ember.ones(2), ember)
        assert type(got.value) is type(want.value)
        assert str(got.value) == str(want.value)


def test_new_tensor_from_a_tensor_copies_and_warns():
    src = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="sourceTensor.detach\\(\\).clone\\(\\)"):
        t = ember.ones(1, dtype=ember.float64).new_tensor(src)
    assert t.dtype is ember.float64 and not t.requires_grad
    t[0] = 5.0
    assert src[0].item() == 1.0


def test_apply_and_map_match_torch(torch):
    for make in (lambda L: L.tensor([1.5, 2.5]), lambda L: L.tensor([1, 2]),
                 lambda L: L.tensor([[True, False]])):
        te, tt = make(ember), make(torch)
        assert te.apply_(lambda v: v * 2 + 0.7) is te
        tt.apply_(lambda v: v * 2 + 0.7)
        assert str(te.dtype) == str(tt.dtype)
        np.testing.assert_array_equal(te.numpy(), tt.numpy())
    we, wt = ember.zeros(2, 3), torch.zeros(2, 3)
    we.map_(ember.tensor([1.0, 2.0, 3.0]), lambda a, b: a + b * 10)
    wt.map_(torch.tensor([1.0, 2.0, 3.0]), lambda a, b: a + b * 10)
    np.testing.assert_array_equal(we.numpy(), wt.numpy())


def test_apply_writes_through_views_and_bumps_the_version():
    base = ember.ones(4)
    view = base[:2]
    v0 = base._version
    view.apply_(lambda v: 5.0)
    assert base.tolist() == [5.0, 5.0, 1.0, 1.0]
    assert base._version > v0


def test_apply_refuses_tensors_that_require_grad(torch):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Can't call apply_\\(\\) on Variable that "
                                               "requires grad"):
            lib.ones(2, requires_grad=True).apply_(lambda v: v)


def test_share_memory(torch):
    x = ember.ones(3)
    assert x.is_shared() is torch.ones(3).is_shared() is False
    assert x.share_memory_() is x
    assert x.is_shared()
    assert x.is_pinned() is False
