"""Strides, contiguity and ``view``'s errors match PyTorch on every backend, including those
whose arrays have no strides (JAX, array_api_strict): ember follows the chain of views to
the strides PyTorch would have (``ember._strides``)."""
from __future__ import annotations

import pytest

import ember
from ember import _strides

# (name, fn(lib, t, x)) with t a 3x4 and x a 2x3x4 arange, both C-contiguous
CASES = [
    ("t", lambda L, t, x: t),
    ("t.t()", lambda L, t, x: t.t()),
    ("t.T", lambda L, t, x: t.T),
    ("t.t().view(-1)", lambda L, t, x: t.t().view(-1)),
    ("t.T.view(12)", lambda L, t, x: t.T.view(12)),
    ("t.t().reshape(-1)", lambda L, t, x: t.t().reshape(-1)),
    ("t.t().contiguous()", lambda L, t, x: t.t().contiguous()),
    ("t.t().t().view(-1)", lambda L, t, x: t.t().t().view(-1)),
    ("permute", lambda L, t, x: x.permute(2, 0, 1)),
    ("permute.view(4, 6)", lambda L, t, x: x.permute(2, 0, 1).view(4, 6)),
    ("permute.view(24)", lambda L, t, x: x.permute(2, 0, 1).view(24)),
    ("transpose(0,1).view(3, 8)", lambda L, t, x: x.transpose(0, 1).view(3, 8)),
    ("transpose(1,2).view(2, 12)", lambda L, t, x: x.transpose(1, 2).view(2, 12)),
    ("transpose(1,2).view(2, 4, 3)", lambda L, t, x: x.transpose(1, 2).view(2, 4, 3)),
    ("transpose(0,1).view(3, 2, 2, 2)", lambda L, t, x: x.transpose(0, 1).view(3, 2, 2, 2)),
    ("transpose(0,1).unsqueeze(1)", lambda L, t, x: x.transpose(0, 1).unsqueeze(1)),
    ("transpose(0,1).flatten(1)", lambda L, t, x: x.transpose(0, 1).flatten(1)),
    ("transpose(0,1).flatten(0, 1)", lambda L, t, x: x.transpose(0, 1).flatten(0, 1)),
    ("mT", lambda L, t, x: x.mT),
    ("mT.mT.view(-1)", lambda L, t, x: x.mT.mT.view(-1)),
    ("1x4 t()", lambda L, t, x: L.ones(1, 4, device=t.device).t()),
    ("1x4 t().view(-1)", lambda L, t, x: L.ones(1, 4, device=t.device).t().view(-1)),
    ("t.t()[0]", lambda L, t, x: t.t()[0]),
    ("t.t()[1].view(-1)", lambda L, t, x: t.t()[1].view(-1)),
    ("x.transpose(0, 2)[1]", lambda L, t, x: x.transpose(0, 2)[1]),
    ("expand", lambda L, t, x: t[:, :1].contiguous().expand(3, 5)),
    ("expand lead", lambda L, t, x: t.expand(2, 3, 4)),
    ("expand.view(-1)", lambda L, t, x: t.expand(2, 3, 4).view(-1)),
    ("expand(1,...).view", lambda L, t, x: t.expand(1, 3, 4).view(12)),
    ("swapaxes.unsqueeze.squeeze", lambda L, t, x: x.swapaxes(1, 2).unsqueeze(0).squeeze(0)),
    # slices, selects and the other views: strides and storage offsets as PyTorch's
    ("t[1]", lambda L, t, x: t[1]),
    ("t[-1, 1:]", lambda L, t, x: t[-1, 1:]),
    ("t[:, 2]", lambda L, t, x: t[:, 2]),
    ("t[1:, ::2]", lambda L, t, x: t[1:, ::2]),
    ("x[..., 1:3]", lambda L, t, x: x[..., 1:3]),
    ("x[1, ..., ::3]", lambda L, t, x: x[1, ..., ::3]),
    ("x[:, 1:][1]", lambda L, t, x: x[:, 1:][1]),
    ("x[1:].transpose(1, 2)[0, 2:]", lambda L, t, x: x[1:].transpose(1, 2)[0, 2:]),
    ("t[2:].view(-1)[1:]", lambda L, t, x: t[2:].view(-1)[1:]),
    ("t[:, 1:3].view(-1)", lambda L, t, x: t[:, 1:3].view(-1)),
    ("narrow", lambda L, t, x: x.narrow(2, 1, 2)),
    ("select", lambda L, t, x: x.select(1, 2)),
    ("unbind", lambda L, t, x: x.unbind(2)[3]),
    ("chunk", lambda L, t, x: x.chunk(2, 2)[1]),
    ("split", lambda L, t, x: t.split([1, 2])[1]),
    ("diagonal", lambda L, t, x: t.diagonal(1)),
    ("diagonal 3-d", lambda L, t, x: x.diagonal(-1, 1, 2)),
    ("t.t().diagonal()", lambda L, t, x: t.t().diagonal()),
    ("unfold", lambda L, t, x: x[1:].unfold(2, 2, 1)),
    ("t[1].expand(2, 4)", lambda L, t, x: t[1].expand(2, 4)),
]


def _layout(lib, fn, dev):
    t = lib.arange(12.0, device=dev).reshape(3, 4)
    x = lib.arange(24.0, device=dev).reshape(2, 3, 4)
    try:
        r = fn(lib, t, x)
    except RuntimeError as e:
        return ("RuntimeError", str(e))
    return (tuple(r.shape), tuple(r.stride()), r.storage_offset(), r.is_contiguous(),
            r.flatten().tolist())


def test_strides_contiguity_and_view_errors_match_torch(device, torch, torch_device):
    mismatched = []
    for name, fn in CASES:
        want = _layout(torch, fn, torch_device or "cpu")
        got = _layout(ember, fn, device)
        if got != want:
            mismatched.append((name, got, want))
    assert mismatched == []


def test_transposed_view_raises_torch_error(device):
    t = ember.arange(6.0, device=device).reshape(2, 3)
    assert t.is_contiguous() and not t.t().is_contiguous()
    with pytest.raises(RuntimeError, match=r"view size is not compatible with input tensor's "
                                           r"size and stride .*Use \.reshape\(\.\.\.\) instead"):
        t.t().view(-1)
    r = t.t().reshape(-1)  # a copy, as in PyTorch
    assert r.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0] and r.is_contiguous()


@pytest.mark.parametrize("old,strides,new", [
    ((3, 4), (4, 1), (12,)),
    ((4, 3), (1, 4), (12,)),
    ((4, 3), (1, 4), (4, 3, 1)),
    ((4, 3), (1, 4), (1, 4, 1, 3)),
    ((2, 3, 4), (12, 4, 1), (6, 4)),
    ((3, 2, 4), (4, 12, 1), (3, 8)),
    ((3, 2, 4), (4, 12, 1), (3, 2, 2, 2)),
    ((2, 2, 3), (6, 1, 2), (4, 3)),
    ((0, 4), (4, 1), (4, 0)),
    ((), (), (1, 1)),
])
def test_view_strides_follow_aten_compute_stride(torch, old, strides, new):
    base = torch.empty(1000).as_strided(old, strides)
    try:
        want = tuple(base.view(new).stride())
    except RuntimeError:
        want = None
    assert _strides.view_strides(old, strides, new) == want


def test_a_long_chain_of_views_is_walked_once_without_recursion(device):
    x = ember.arange(6.0, device=device).reshape(2, 3)
    for _ in range(3001):
        x = x.t()
    assert x.shape == (3, 2) and x.stride() == (1, 3) and not x.is_contiguous()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(6)


class _DeviceArray:
    """A stand-in for a CuPy array: its memory named by ``__cuda_array_interface__`` (no
    ``__array_interface__``), views keeping their base in ``.base``, as CuPy's do."""

    def __init__(self, arr, base=None):
        self._a, self.base = arr, base

    def __getitem__(self, key):
        return _DeviceArray(self._a[key], self if self.base is None else self.base)

    @property
    def T(self):
        return _DeviceArray(self._a.T, self if self.base is None else self.base)

    def __getattr__(self, name):  # shape, strides, flags, itemsize, size, nbytes
        if name.startswith("__array"):  # device memory: no host array interface
            raise AttributeError(name)
        return getattr(self._a, name)

    @property
    def __cuda_array_interface__(self):
        return {"data": (self._a.__array_interface__["data"][0], False)}


@pytest.mark.parametrize("key", [(1,), (slice(None), 2), (slice(1, None), slice(None, None, 2)),
                                 "T"])
def test_buffer_layout_reads_device_addresses_as_numpy_addresses(key):
    """``buffer_layout`` (what ember.save uses to write CuPy views of one buffer once) finds
    the root, offset and strides from ``__cuda_array_interface__`` as it does for numpy."""
    np = pytest.importorskip("numpy")
    host = np.arange(24.0).reshape(4, 6)
    root = _DeviceArray(host)
    view = root.T if key == "T" else root[key]
    want = _strides.buffer_layout(host.T if key == "T" else host[key])
    got = _strides.buffer_layout(view)
    assert got is not None and got[0] is root and got[1:] == want[1:]
    assert getattr(view, "__array_interface__", None) is None
