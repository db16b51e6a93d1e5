"""Shape, joining and rearranging ops beyond the op table: which results are views (memory
and version counter shared with the base, as PyTorch decides), error types and messages
against PyTorch, split/chunk edge cases, and higher-order gradients."""
from __future__ import annotations

import ember
import numpy as np
import pytest
from capabilities import need_shared_memory

# (name, op) pairs run identically on ember and torch; op(lib, x) -> tensor or tuple
VIEW_OPS = [
    ("reshape", lambda lib, x: x.reshape(3, 4)),
    ("view", lambda lib, x: x.view(-1)),
    ("view_as", lambda lib, x: x.view_as(lib.zeros(4, 3))),
    ("permute", lambda lib, x: x.permute(1, 0)),
    ("transpose", lambda lib, x: x.transpose(0, 1)),
    ("t", lambda lib, x: x.t()),
    ("mT", lambda lib, x: x.mT),
    ("unsqueeze", lambda lib, x: x.unsqueeze(1)),
    ("squeeze", lambda lib, x: x.unsqueeze(0).squeeze(0)),
    ("flatten", lambda lib, x: x.flatten()),
    ("ravel", lambda lib, x: lib.ravel(x)),
    ("unflatten", lambda lib, x: x.unflatten(1, (2, 2))),
    ("movedim", lambda lib, x: lib.movedim(x, 0, 1)),
    ("narrow", lambda lib, x: x.narrow(1, 1, 2)),
    ("select", lambda lib, x: x.select(1, -2)),
    ("diagonal", lambda lib, x: x.diagonal(1)),
    ("split", lambda lib, x: x.split(2, 1)[1]),
    ("split_sizes", lambda lib, x: lib.split(x, [1, 3], 1)[1]),
    ("chunk", lambda lib, x: x.chunk(2, 0)[1]),
    ("unbind", lambda lib, x: x.unbind(1)[2]),
    ("tensor_split", lambda lib, x: lib.tensor_split(x, [1, 3], 1)[1]),
]

COPY_OPS = [
    ("reshape_noncontig", lambda lib, x: x.t().reshape(-1)),
    ("cat_one", lambda lib, x: lib.cat([x])),
    ("stack", lambda lib, x: lib.stack([x])),
    ("flip", lambda lib, x: x.flip(0)),
    ("flip_none", lambda lib, x: lib.flip(x, ())),
    ("roll", lambda lib, x: x.roll(1, 1)),
    ("repeat", lambda lib, x: x.repeat(1, 1)),
    ("tile", lambda lib, x: x.tile((1,))),
    ("repeat_interleave", lambda lib, x: x.repeat_interleave(1, dim=0)),
    ("tril", lambda lib, x: x.tril(5)),
    ("triu", lambda lib, x: x.triu(-5)),
    ("diag", lambda lib, x: lib.diag(x)),
    ("rot90", lambda lib, x: lib.rot90(x, 4)),
    ("hstack", lambda lib, x: lib.hstack([x])),
]


def _pair(torch, device):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    return torch.tensor(a), ember.tensor(a, device=device)


def _mutable(t) -> bool:
    return t._device._be.mutable


@pytest.mark.parametrize("name,op", VIEW_OPS, ids=[n for n, _ in VIEW_OPS])
def test_views_alias_their_base(name, op, device, torch):
    tb, eb = _pair(torch, device)
    tv, ev = op(torch, tb), op(ember, eb)
    assert ev._base is eb and tv._base is tb
    if not _mutable(eb):
        pytest.skip("immutable backend: views cannot share memory")
    ev.add_(100) if ev.dtype.is_floating_point else ev.mul_(1)
    tv.add_(100) if tv.dtype.is_floating_point else tv.mul_(1)
    np.testing.assert_array_equal(eb.cpu().numpy(), tb.numpy())
    assert eb._version == tb._version == ev._version == tv._version
    eb.mul_(2), tb.mul_(2)  # and the other way round: the base's change shows in the view
    np.testing.assert_array_equal(ev.cpu().numpy(), tv.numpy())
    assert ev._version == tv._version


@pytest.mark.parametrize("name,op", COPY_OPS, ids=[n for n, _ in COPY_OPS])
def test_copies_do_not_alias(name, op, device, torch):
    if name == "reshape_noncontig":  # strides decide view or copy
        need_shared_memory(device)
    tb, eb = _pair(torch, device)
    tv, ev = op(torch, tb), op(ember, eb)
    assert tv._base is not tb and ev._base is None
    ev.add_(100)
    tv.add_(100)
    np.testing.assert_array_equal(eb.cpu().numpy(), tb.numpy())
    assert eb._version == tb._version == 0


def test_expand_sees_base_changes(device, torch):
    tb, eb = _pair(torch, device)
    tv, ev = tb[:1].expand(2, 3, 4), eb[:1].expand(2, 3, 4)
    assert ev._base is eb
    if not _mutable(eb):
        pytest.skip("immutable backend: views cannot share memory")
    tb.add_(1), eb.add_(1)
    np.testing.assert_array_equal(ev.cpu().numpy(), tv.numpy())
    assert ev._version == tv._version == 1


def test_view_dtype_shares_memory_and_version_but_is_no_view(device, torch):
    tb, eb = _pair(torch, device)
    tv, ev = tb.view(torch.int32), eb.view(ember.int32)
    assert tv._base is None and ev._base is None
    if not _mutable(eb):
        pytest.skip("immutable backend: views cannot share memory")
    tv.add_(1), ev.add_(1)
    np.testing.assert_array_equal(eb.cpu().numpy(), tb.numpy())
    assert eb._version == tb._version == 1


def test_flatten_and_reshape_identity(device, torch):
    for lib, x in ((torch, torch.zeros(2, 3)), (ember, ember.zeros(2, 3, device=device))):
        assert x.flatten(1, 1) is x          # PyTorch returns the input itself here
        assert x.reshape(2, 3) is not x      # ...but a new view here
        assert x.expand(2, 3) is not x


def test_split_pieces_share_one_grad_fn(device, torch):
    x = ember.randn(5, 3, device=device, requires_grad=True)
    a, b, c = x.split(2)
    assert a.grad_fn is b.grad_fn is c.grad_fn and a.grad_fn.name() == "SplitBackward0"
    (b * 2).sum().backward()  # only one piece used: the others contribute zeros
    expected = np.zeros((5, 3), np.float32)
    expected[2:4] = 2
    np.testing.assert_array_equal(x.grad.cpu().numpy(), expected)


def test_in_place_on_base_invalidates_saved_view(device):
    x = ember.randn(3, 3, device=device, requires_grad=True)
    y = x * 1
    d = y.diagonal()
    z = (d * d).sum()
    y.add_(1)  # d is a view of y: its saved value is now stale
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


@pytest.mark.parametrize("n", range(8))
@pytest.mark.parametrize("k", range(1, 6))
def test_chunk_and_split_sizes_match_torch(n, k, torch):
    tx, ex = torch.zeros(n, 2), ember.zeros(n, 2)
    shapes = lambda ps: [tuple(p.shape) for p in ps]
    assert shapes(ex.chunk(k)) == shapes(tx.chunk(k))
    assert shapes(ex.split(k)) == shapes(tx.split(k))
    assert shapes(ember.tensor_split(ex, k)) == shapes(torch.tensor_split(tx, k))
    assert shapes(ex.unbind()) == shapes(tx.unbind())


def _err(fn, lib):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None


Z = lambda lib, *s, **kw: lib.zeros(*s, **kw)

STRIDED = []  # cases decided by strides: skipped where arrays are immutable (no strides)


def _strided(fn):
    STRIDED.append(fn)
    return fn


ERRORS = [
    lambda lib: lib.cat([]),
    lambda lib: lib.cat([Z(lib, 2, 2), Z(lib, 3, 3)], 1),
    lambda lib: lib.cat([Z(lib, 2, 2), Z(lib, 2, 3, 3)], 1),
    lambda lib: lib.cat([Z(lib, 2, 2), Z(lib, 2, 2)], 2),
    lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]),
    lambda lib: lib.cat([Z(lib, 2), 1]),
    lambda lib: lib.cat(Z(lib, 2)),
    lambda lib: lib.stack([Z(lib, 2, 3), Z(lib, 2, 4)]),
    lambda lib: lib.stack([]),
    lambda lib: lib.stack([Z(lib, 2, 3)], 3),
    lambda lib: lib.hstack([]),
    lambda lib: Z(lib, 2, 3).split([1, 1], 1),
    lambda lib: Z(lib, 2, 3).split([-1, 4], 1),
    lambda lib: Z(lib, 2, 3).split(0, 1),
    lambda lib: Z(lib, 2, 3).split(-1, 1),
    lambda lib: lib.tensor(1.0).split(1),
    lambda lib: Z(lib, 2, 3).chunk(0),
    lambda lib: lib.tensor(1.0).chunk(1),
    lambda lib: lib.tensor(1.0).unbind(),
    lambda lib: lib.tensor_split(Z(lib, 2, 3), 0, 1),
    lambda lib: lib.hsplit(Z(lib, 2, 3), 2),
    lambda lib: lib.vsplit(Z(lib, 3), 1),
    lambda lib: Z(lib, 2, 3).narrow(1, 2, 2),
    lambda lib: Z(lib, 2, 3).narrow(1, 4, 0),
    lambda lib: Z(lib, 2, 3).narrow(1, 1, -1),
    lambda lib: lib.tensor(1.0).narrow(0, 0, 0),
    lambda lib: Z(lib, 2, 3).select(1, 5),
    lambda lib: Z(lib, 2, 3).select(1, -4),
    lambda lib: lib.tensor(1.0).select(0, 0),
    lambda lib: Z(lib, 2, 3).flip(0, 0),
    lambda lib: Z(lib, 2, 3).flip(2),
    lambda lib: lib.fliplr(Z(lib, 3)),
    lambda lib: lib.flipud(lib.tensor(1.0)),
    lambda lib: Z(lib, 2, 3).roll((1, 2), (0,)),
    lambda lib: Z(lib, 2, 3).roll((1, 2)),
    lambda lib: Z(lib, 2, 3).roll(()),
    lambda lib: Z(lib, 2, 3).repeat(2),
    lambda lib: Z(lib, 2, 3).repeat(-1, 3),
    lambda lib: Z(lib, 2, 3).repeat_interleave(-1),
    lambda lib: Z(lib, 2, 3).repeat_interleave(lib.tensor([1, 2]), dim=1),
    lambda lib: Z(lib, 2, 3).repeat_interleave(lib.tensor([1, 2, -1]), dim=1),
    lambda lib: Z(lib, 2, 3).movedim((0, 1), (0,)),
    lambda lib: Z(lib, 2, 3).movedim((0, 0), (0, 1)),
    lambda lib: Z(lib, 2, 3).movedim((0, 1), (1, 1)),
    lambda lib: Z(lib, 2, 3).unflatten(1, (2, 2)),
    lambda lib: Z(lib, 2, 3).unflatten(1, ()),
    lambda lib: Z(lib, 3).tril(),
    lambda lib: Z(lib, 3).triu(),
    lambda lib: lib.diag(Z(lib, 2, 2, 2)),
    lambda lib: lib.diag(lib.tensor(1.0)),
    lambda lib: Z(lib, 2, 3).diagonal(0, 1, 1),
    lambda lib: lib.diag_embed(Z(lib, 2, 3), 0, 1, 1),
    lambda lib: Z(lib, 3).trace(),
    lambda lib: Z(lib, 2, 3, dtype=lib.bool).trace(),
    lambda lib: lib.rot90(Z(lib, 3)),
    lambda lib: lib.rot90(Z(lib, 2, 3), 1, (0, 0)),
    _strided(lambda lib: Z(lib, 2, 3).t().view(6)),
    lambda lib: Z(lib, 2, 3).view(4),
    lambda lib: Z(lib, 2, 3).view(-1, -1),
    lambda lib: Z(lib, 2, 3).reshape(-2, 3),
    lambda lib: Z(lib, 0, 3).reshape(-1, 0),
    lambda lib: Z(lib, 2, 3).view(lib.float64),
    lambda lib: Z(lib, 2, 3).permute(0, 0),
    lambda lib: Z(lib, 2, 3).permute(0),
    lambda lib: Z(lib, 2, 3).transpose(0, 2),
    lambda lib: Z(lib, 2, 3).squeeze(5),
    lambda lib: Z(lib, 2, 3).squeeze((0, 0)),
    lambda lib: Z(lib, 2, 3).unsqueeze(3),
    lambda lib: Z(lib, 2, 3).flatten(1, 0),
    lambda lib: Z(lib, 2, 3).expand(3, 3),
    lambda lib: Z(lib, 2, 3).expand(3),
    lambda lib: Z(lib, 3).expand(-1, 3),
    lambda lib: Z(lib, 2, 3, 4).t(),
    lambda lib: lib.broadcast_tensors(Z(lib, 2), Z(lib, 3)),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k, torch):
    if ERRORS[k] in STRIDED:
        need_shared_memory()
    expected = _err(ERRORS[k], torch)
    assert expected is not None, "the case must fail in PyTorch"
    assert _err(ERRORS[k], ember) == expected


@pytest.mark.parametrize("fn", [
    lambda x: x.narrow(1, 1, 2),
    lambda x: x.select(0, 1) * x.select(1, -1),
    lambda x: x.diagonal(1) * x.diagonal(-1),
    lambda x: x.split(1, 1)[1] * x.chunk(2, 0)[0].sum(),
    lambda x: ember.cat([x, x * x], 1),
    lambda x: ember.stack([x, x * x]).unbind(0)[1],
    lambda x: ember.diag_embed(x) * 2,
    lambda x: x.repeat(2, 1) * x.tile(2, 1),
    lambda x: x.repeat_interleave(ember.tensor([1, 0, 2]), dim=1) ** 2,
    lambda x: x.roll(1, 0).flip(1) * x,
    lambda x: x.trace() * x,
    lambda x: x.tril() * x.triu(1),
], ids=["narrow", "select", "diagonal", "split_chunk", "cat", "stack_unbind", "diag_embed",
        "repeat", "repeat_interleave", "roll_flip", "trace", "tril_triu"])
def test_second_order_gradients(fn, device):
    x = ember.tensor(np.random.default_rng(0).uniform(-1, 1, (3, 3)), dtype=ember.float64,
                     device=device, requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (x,))


STRIDE_CASES = {
    "contiguous": lambda t: t,
    "empty": lambda t: t[:0],
    "scalar": lambda t: t[0, 0, 0],
    "contiguous_copy": lambda t: t.permute(2, 0, 1).contiguous(),
    "transpose": lambda t: t.transpose(0, 2),
    "select": lambda t: t[:, 1],
    "step": lambda t: t[..., ::2],
    "expand": lambda t: t.expand(5, 2, 3, 4),
    "unsqueeze": lambda t: t.unsqueeze(1),
    "mT": lambda t: t.mT,
}


@pytest.mark.parametrize("name", sorted(STRIDE_CASES))
def test_stride_matches_torch(name, device, torch):
    make = STRIDE_CASES[name]
    e = make(ember.ones(2, 3, 4, device=device))
    t = make(torch.ones(2, 3, 4))
    layout_kept = name in ("contiguous", "empty", "scalar", "contiguous_copy")
    if not layout_kept and not hasattr(e._data, "strides"):
        pytest.skip("the backend's arrays have no strides: stride() is the C-contiguous one")
    assert e.stride() == t.stride()
    assert [e.stride(d) for d in range(-e.ndim, e.ndim)] == \
        [t.stride(d) for d in range(-t.ndim, t.ndim)]
