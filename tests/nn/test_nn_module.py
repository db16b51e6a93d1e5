"""Module: registration, traversal, state_dict / load_state_dict, modes, casting, hooks,
repr, pickling. Compared with PyTorch where PyTorch defines the answer."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
from capabilities import need_dtype
import ember.nn as nn
from nn_oracle import assert_close, copy_weights


def _nested(lib):
    """The same nested model built with either library."""
    n = lib.nn

    class Block(n.Module):
        def __init__(self):
            super().__init__()
            self.fc = n.Linear(4, 4)
            self.norm = n.LayerNorm(4)
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.norm(self.fc(x)).relu()

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.stem = n.Sequential(n.Linear(3, 4), n.ReLU(), n.Dropout(0.1))
            self.blocks = n.ModuleList([Block(), Block()])
            self.heads = n.ModuleDict({"a": n.Linear(4, 2), "b": n.Identity()})
            self.bn = n.BatchNorm1d(4)
            self.scale = n.Parameter(lib.ones(1))
            self.act = n.LeakyReLU(0.2)
            self.emb = n.Embedding(7, 4, padding_idx=0)

        def forward(self, x):
            h = self.stem(x)
            for b in self.blocks:
                h = b(h)
            return self.heads["a"](self.act(self.bn(h))) * self.scale

    return Net()


def test_repr_and_state_dict_keys_match_torch(torch, exact_oracle):
    em, tm = _nested(ember), _nested(torch)
    if exact_oracle:  # LayerNorm's and BatchNorm1d's reprs gained ``bias=`` in torch 2.13
        assert repr(em) == repr(tm)
        assert str(em) == str(tm)
    assert list(em.state_dict().keys()) == list(tm.state_dict().keys())
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in em.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in em.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in em.named_children()] == [n for n, _ in tm.named_children()]


def test_nested_forward_backward_matches_torch(torch, device):
    torch.manual_seed(0)  # deterministic weights: a failure must reproduce
    em, tm = _nested(ember), _nested(torch)
    copy_weights(em, tm, device)
    em.eval(), tm.eval()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    eo = em(ember.tensor(x, device=device))
    to = tm(torch.tensor(x))
    assert_close(eo, to, 1e-5, 1e-5)
    eo.sum().backward()
    to.sum().backward()
    tp = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        if tp[name].grad is None:
            assert p.grad is None
        else:
            assert_close(p.grad, tp[name].grad, 1e-4, 1e-5, name)


def test_state_dict_detached_and_keep_vars():
    m = nn.Linear(2, 3)
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad
    assert sd["weight"].data_ptr() == m.weight.data_ptr() if hasattr(sd["weight"], "data_ptr") \
        else True
    kv = m.state_dict(keep_vars=True)
    assert kv["weight"] is m.weight
    pre = m.state_dict(prefix="model.")
    assert list(pre) == ["model.weight", "model.bias"]


def test_load_state_dict_roundtrip_and_result():
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    res = b.load_state_dict(a.state_dict())
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    # load copies values: the Parameter object stays the same
    w = b.weight
    b.load_state_dict(nn.Linear(4, 3).state_dict())
    assert b.weight is w


def _msg(exc_info):
    return str(exc_info.value)


def test_load_state_dict_errors_match_torch(torch):
    cases = [
        lambda lib: (lib.nn.Linear(4, 2), {"weight": lib.zeros(3, 4), "bias": lib.zeros(2)}),
        lambda lib: (lib.nn.Linear(4, 2), {"weight": lib.zeros(2, 4)}),
        lambda lib: (lib.nn.Linear(4, 2), {"weight": lib.zeros(2, 4), "bias": lib.zeros(2),
                                           "extra": lib.zeros(1), "sub.x": lib.zeros(1)}),
        lambda lib: (lib.nn.Sequential(lib.nn.Linear(4, 2)),
                     {"0.weight": lib.zeros(2, 4), "1.bias": lib.zeros(2),
                      "0.bias": lib.zeros(3)}),
    ]
    for make in cases:
        em, esd = make(ember)
        tm, tsd = make(torch)
        with pytest.raises(RuntimeError) as e_err:
            em.load_state_dict(esd)
        with pytest.raises(RuntimeError) as t_err:
            tm.load_state_dict(tsd)
        assert _msg(e_err) == _msg(t_err)
    # non-strict: same missing/unexpected lists, shape mismatches still raise
    em, esd = cases[2](ember)
    tm, tsd = cases[2](torch)
    assert tuple(em.load_state_dict(esd, strict=False)) == \
        tuple(tm.load_state_dict(tsd, strict=False))
    em, esd = cases[1](ember)
    tm, tsd = cases[1](torch)
    assert repr(em.load_state_dict(esd, strict=False)) == \
        repr(tm.load_state_dict(tsd, strict=False))


def test_load_state_dict_assign():
    m = nn.Linear(2, 2)
    w = ember.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones((2, 2)))


def test_non_persistent_buffer_excluded():
    m = nn.Module()
    m.register_buffer("a", ember.zeros(1))
    m.register_buffer("b", ember.zeros(1), persistent=False)
    assert list(m.state_dict()) == ["a"]
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    m.c = nn.Buffer(ember.ones(2))
    m.d = nn.Buffer(ember.ones(2), persistent=False)
    assert list(m.state_dict()) == ["a", "c"]


def test_registration_errors_match_torch(torch):
    def errs(lib):
        out = []
        m = lib.nn.Linear(2, 2)
        for fn in (lambda: m.register_buffer("weight", lib.zeros(1)),
                   lambda: m.register_buffer("a.b", lib.zeros(1)),
                   lambda: m.register_buffer("", lib.zeros(1)),
                   lambda: m.register_buffer(3, lib.zeros(1)),
                   lambda: m.register_buffer("x", 3),
                   lambda: m.register_parameter("p", lib.zeros(1)),
                   lambda: m.register_parameter("a.b", None),
                   lambda: m.add_module("x", 3),
                   lambda: m.add_module("a.b", lib.nn.ReLU()),
                   lambda: setattr(m, "weight", lib.zeros(2, 2)),
                   lambda: m.get_submodule("nope"),
                   lambda: m.get_parameter("nope"),
                   lambda: getattr(m, "nope")):
            try:
                fn()
                out.append(None)
            except Exception as e:  # noqa: BLE001
                out.append((type(e).__name__, str(e).replace("torch.", "ember.")))
        return out
    mine = errs(ember)
    theirs = errs(torch)
    for a, b in zip(mine, theirs):
        assert a is not None and b is not None
        assert a[0] == b[0]
    # messages naming library types differ only in the package prefix
    for i in (0, 1, 2, 6, 8, 10, 11, 12):
        assert mine[i] == theirs[i]


def test_attribute_semantics():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(2))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("buf", ember.zeros(1))
    m.plain = 3
    assert "w" in m._parameters and "sub" in m._modules and m.plain == 3
    assert {"w", "sub", "buf", "plain", "forward"} <= set(dir(m))
    m.buf = ember.ones(1)  # reassigning a buffer keeps it a buffer
    assert "buf" in m._buffers
    m.w = None
    assert m.w is None and "w" in m._parameters
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError):
        m.sub
    m.sub = nn.Linear(1, 1)
    assert m.get_submodule("sub") is m.sub
    assert m.get_parameter("sub.weight") is m.sub.weight


def test_parameters_dedup_and_shared():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert len(list(seq.modules())) == 3
    assert [n for n, _ in seq.named_parameters(prefix="p")] == ["p.0.weight", "p.0.bias"]
    assert list(seq.parameters(recurse=False)) == []


def test_train_eval_and_requires_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    assert m.training and m[1].training
    assert m.eval() is m and not m[1].training
    m.train()
    assert m[1].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_zero_grad():
    m = nn.Linear(3, 2)
    m(ember.randn(4, 3)).sum().backward()
    assert m.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert float(m.weight.grad.abs().sum()) == 0.0
    m.zero_grad()
    assert m.weight.grad is None


def test_to_dtype_and_back_keeps_parameter_objects(device):
    need_dtype(device, ember.float16)
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    w = m[0].weight
    m.double()
    assert m[0].weight is w and w.dtype == ember.float64
    assert m[1].running_mean.dtype == ember.float64
    assert m[1].num_batches_tracked.dtype == ember.int64  # integers keep their dtype
    m.to(ember.float32)
    assert w.dtype == ember.float32
    m.to(device)
    assert w.device.type == ember.device(device).type
    m.half().float()
    assert w.dtype == ember.float32
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        m.to(ember.int64)
    m.to(ember.zeros(1, dtype=ember.float64))
    assert w.dtype == ember.float64


def test_apply_and_children_order():
    seen = []
    m = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    out = m(ember.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), (m.bias + 1).detach().numpy()[None])
    h1.remove()
    h2.remove()
    h3 = m.register_forward_pre_hook(lambda mod, args, kw: calls.append(kw) or None,
                                     with_kwargs=True)
    h4 = m.register_forward_hook(lambda mod, args, kw, out: calls.append("post"),
                                 with_kwargs=True)
    m(ember.ones(1, 2))
    assert calls == [{}, "post"]
    h3.remove()
    h4.remove()
    assert not m._forward_hooks and not m._forward_pre_hooks


def test_forward_hook_always_call():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError):
        m(ember.ones(1))
    assert seen == [None]


def test_full_backward_hook_matches_torch(torch):
    def run(lib):
        m = lib.nn.Linear(3, 2)
        with lib.no_grad():
            m.weight.copy_(lib.tensor(np.arange(6.0, dtype="float32").reshape(2, 3)))
        got = {}

        def hook(mod, gin, gout):
            got["gin"] = [g.detach().numpy().copy() for g in gin]
            got["gout"] = [g.detach().numpy().copy() for g in gout]
            return (gin[0] * 2,)
        m.register_full_backward_hook(hook)
        x = lib.ones(4, 3, requires_grad=True)
        m(x).sum().backward()
        return got, x.grad.numpy()
    eg, ex = run(ember)
    tg, tx = run(torch)
    for a, b in zip(eg["gin"] + eg["gout"], tg["gin"] + tg["gout"]):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(ex, tx)


def test_forward_unimplemented():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(1)


def test_pickle_and_deepcopy():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m(ember.randn(4, 3))
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert repr(clone) == repr(m)
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
        assert clone[0].weight is not m[0].weight
        for (k, a), (_, b) in zip(m.state_dict().items(), clone.state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
        out = clone(ember.randn(4, 3))
        out.sum().backward()
        assert clone[0].weight.grad is not None and m[0].weight.grad is None


def test_parameter_basics(torch):
    t = ember.ones(2)
    p = nn.Parameter(t)
    assert isinstance(p, ember.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2)))
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == ember.Size([0])
    with ember.no_grad():
        p.mul_(3)
    assert float(t[0]) == 3.0  # shares memory with the tensor it was made from
    assert type(p * 2) is ember.Tensor
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad
