"""In-place ops: values, aliasing through views and numpy, and autograd through in-place
writes on views (PyTorch's CopySlices semantics) — compared with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def _both(torch, fn):
    out = []
    for lib in (torch, ember):
        out.append(fn(lib))
    return out


def test_inplace_on_views_under_autograd_matches_torch(torch):
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = a * 2
        y[0].mul_(3)
        y[1:3].add_(y[1:3])
        y[3].clamp_(max=5.0) if hasattr(y[3], "clamp_") else None
        (y * lib.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
        return y.detach().tolist(), a.grad.tolist()
    t, e = _both(torch, run)
    assert e == t


def test_inplace_on_a_non_view_keeps_old_value_for_backward(torch):
    def run(lib):
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        b = lib.tensor([0.5, 0.25, 2.0], requires_grad=True)
        y = a + 0
        y.mul_(b)  # backward needs the old y for b's gradient
        y.sum().backward()
        return y.detach().tolist(), a.grad.tolist(), b.grad.tolist()
    t, e = _both(torch, run)
    assert e == t


def test_inplace_without_grad_writes_through_numpy_and_views(device):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ember.from_numpy(arr)
    t.add_(1)
    t[0].mul_(10)
    if t.device._be.mutable:
        assert arr.tolist() == [[10, 20, 30], [4, 5, 6]]
    assert t.tolist() == [[10, 20, 30], [4, 5, 6]]


def test_saved_tensor_modified_in_place_is_detected(device):
    x = ember.tensor([1.0, 2.0], requires_grad=True, device=device)
    a = x * 2
    b = a * a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_leaf_inplace_errors_and_no_grad_allows_it(device):
    w = ember.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        w.add_(1)
    with ember.no_grad():
        w.add_(1)
    assert w.tolist() == [2.0, 2.0, 2.0] and w.is_leaf and w.requires_grad


def test_inplace_dtype_rules_match_torch(torch):
    for lib in (torch, ember):
        i = lib.tensor([1, 2, 3])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):
            i.add_(1.5)
        f = lib.tensor([1.0, 2.0])
        f.add_(lib.tensor([1, 1]))
        assert f.tolist() == [2.0, 3.0] and f.dtype == lib.float32


def test_output_saved_by_an_inplace_op_is_version_checked(torch):
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 1
        y.exp_()  # saves its result (y itself) for backward
        with lib.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.exp_()
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx(torch.tensor([1.0, 2.0]).exp().tolist())


def test_floating_point_edge_cases_are_silent_like_torch():
    # in a fresh interpreter: pytest resets warning filters around each test
    import subprocess
    import sys
    code = ("import ember, numpy as np\n"
            "x = ember.tensor([0.0, -1.0, 1.0])\n"
            "print(x.log().tolist(), (x / 0).tolist(), x.sqrt().tolist())\n"
            "np.log(np.zeros(1))\n")
    r = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[-inf, nan, 0.0] [nan, -inf, inf] [0.0, nan, 1.0]"
    # the only warning left is the one from the user's own numpy call
    fp = [ln for ln in r.stderr.splitlines() if "encountered in" in ln]
    assert len(fp) == 1 and fp[0].startswith("<string>:4"), r.stderr


VIEW_WRITES = {
    "narrow": lambda lib, y: y.narrow(0, 0, 2).mul_(3),
    "select": lambda lib, y: y.select(0, 1).add_(5),
    "view": lambda lib, y: y.view(2, 2).mul_(2),
    "transpose": lambda lib, y: y.view(2, 2).t().mul_(lib.tensor([[1.0, 2.0], [3.0, 4.0]])),
    "index_of_view": lambda lib, y: y.view(2, 2)[1].mul_(10),
    "view_of_slice": lambda lib, y: y[1:].view(3).add_(y[1:].detach().view(3)),
    "permute": lambda lib, y: y.view(1, 2, 2).permute(2, 0, 1).sub_(1),
    "unsqueeze_chunk": lambda lib, y: y.unsqueeze(0).narrow(1, 2, 2).clamp_(max=5.0),
}


@pytest.mark.parametrize("name", sorted(VIEW_WRITES))
def test_inplace_through_any_view_reaches_the_base_graph(name, torch):
    out = []
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = x * 2
        VIEW_WRITES[name](lib, y)
        (y * lib.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
        out.append((y.detach().tolist(), x.grad.tolist()))
    assert out[1] == out[0]


VIEW_WRITE_EXPRS = ["x.view(3, 3)", "x.reshape(3, 3).t()", "x.unsqueeze(0)", "x.narrow(0, 2, 4)",
               "x.view(3, 3)[1]", "x.view(3, 3).select(1, 0)", "x.view(3, 3).permute(1, 0)[2]",
               "x.view(3, 3).diagonal()", "x.view(3, 3).diagonal(1)",
               "x.view(3, 3).t().diagonal(-1)", "x.view(1, 3, 3).diagonal(0, 1, 2)", "x[2:5]"]


@pytest.mark.parametrize("base_grad", [False, True], ids=["plain_base", "grad_base"])
@pytest.mark.parametrize("make", VIEW_WRITE_EXPRS)
def test_grad_requiring_write_through_a_view_reaches_the_base(make, base_grad, device, torch):
    """PyTorch's CopySlices: a write of a grad-requiring value into any view gives the base
    the new values and a place in the graph, whether or not the base required grad."""
    def run(lib, dev):
        leaf = lib.ones(9, device=dev, requires_grad=True)
        x = leaf * 1.0 if base_grad else lib.zeros(9, device=dev)
        w = lib.tensor([2.0], device=dev, requires_grad=True)
        v = eval(make, {"x": x})
        v.mul_(w)
        v.add_(w * 3)
        (x * lib.arange(9.0, device=dev)).sum().backward()
        return (x.detach().cpu().tolist(), w.grad.cpu().tolist(),
                leaf.grad.cpu().tolist() if base_grad else None)
    assert run(ember, device) == run(torch, "cpu")


@pytest.mark.parametrize("split", [
    lambda t: t.unbind(0), lambda t: t.split(2, 1), lambda t: t.chunk(2, 0),
    lambda t: t.split([1, 3], 0)])
def test_multi_output_views_refuse_inplace_under_autograd_like_torch(split, device, torch):
    """unbind/split/chunk pieces: PyTorch's error for an in-place write under autograd;
    without grad the write reaches the base, on every backend."""
    x = ember.ones(4, 4, device=device, requires_grad=True)
    tx = torch.ones(4, 4, requires_grad=True)
    with pytest.raises(RuntimeError) as te:
        split(tx * 1)[1].add_(1)
    with pytest.raises(RuntimeError) as ee:
        split(x * 1)[1].add_(1)
    assert str(ee.value) == str(te.value)
    b = ember.zeros(4, 4, device=device)
    tb = torch.zeros(4, 4)
    split(b)[1].add_(3)
    split(tb)[1].add_(3)
    np.testing.assert_array_equal(b.cpu().numpy(), tb.numpy())


def test_writes_into_an_expanded_view_are_refused_like_torch(device, torch):
    e = ember.zeros(1, 3, device=device).expand(2, 3)
    te = torch.zeros(1, 3).expand(2, 3)
    # (t[0] = v is refused too, where PyTorch writes the shared row: a deliberate difference,
    # as ember's expanded arrays are read-only broadcasts)
    for op in (lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.copy_(t.clone())):
        with pytest.raises(RuntimeError) as tx:
            op(te)
        with pytest.raises(RuntimeError) as ex:
            op(e)
        assert str(ex.value) == str(tx.value)
    # filling it is fine (one value everywhere): the base takes it, in both
    b, tb = ember.zeros(1, 3, device=device), torch.zeros(1, 3)
    b.expand(2, 3).fill_(2)
    tb.expand(2, 3).fill_(2)
    np.testing.assert_array_equal(b.cpu().numpy(), tb.numpy())


def _views_after_base_writes(lib, dev):
    """Views and detach() taken *before* in-place writes into their base (or into a
    sibling view) show the new values, and writing through such a view keeps the rest."""
    out = []
    a = lib.zeros(4, device=dev)
    v = a[1:3]
    a.add_(1)
    out.append(v.tolist())
    v.mul_(5)
    out.append(a.tolist())
    w, d = a.view(2, 2), a.detach()
    a.add_(1)
    out += [w.tolist(), d.tolist()]
    m = lib.arange(9.0, device=dev).reshape(3, 3)
    dg, t, inner = m.diagonal(), m.t(), m[1:][:, 1:]
    row = inner[0]
    m.mul_(2)
    m[0, 1] = 100.0
    out += [dg.tolist(), t.tolist(), row.tolist()]
    row.fill_(-1.0)
    out += [m.tolist(), dg.tolist(), t.tolist()]
    first, second = lib.arange(6.0, device=dev).view(2, 3).unbind(0)
    first._base.add_(10) if first._base is not None else None
    out.append(second.tolist())
    return out


def test_views_see_later_writes_into_their_base_like_torch(device, torch):
    """On every backend, including immutable ones (JAX), where ember refreshes live views
    after a write instead of sharing memory."""
    got = _views_after_base_writes(ember, device)
    assert got[:-1] == _views_after_base_writes(torch, "cpu")[:-1]
    assert got[-1] == [13.0, 14.0, 15.0]  # torch has no _base attribute to write through
